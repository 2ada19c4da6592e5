//! Which Chromium, with which flags, and its launch: the process tree spawned (see
//! [`super::process`]), its DevTools socket found on stderr, the CDP client connected.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chromiumoxide::handler::HandlerConfig;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::{Browser, Handler};
use shared_ids::{CARD_HEIGHT_CSS, CARD_WIDTH_CSS, DEVICE_SCALE};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::ChildStderr;

use super::process::BrowserProcess;
use super::profile::Profile;
use crate::error::RenderError;

/// Debian's headless shell (package `chromium-headless-shell`): the same engine without
/// the desktop browser around it, the build family of the Lambda layer. Measured here it
/// starts in 0.5 s against full Chromium's 1.4 s and holds about half the memory.
pub const HEADLESS_SHELL: &str = "/usr/lib/chromium/chromium-headless-shell";

/// Where Debian puts the full Chromium binary itself, used when the headless shell is
/// not installed. Preferred over `/usr/bin/chromium`, a shell wrapper that adds flags
/// from `/etc/chromium.d` and warns about `/dev/shm`.
pub const DEBIAN_CHROMIUM: &str = "/usr/lib/chromium/chromium";

/// Names tried on `PATH` when `CHROMIUM_PATH` is not set and neither Debian binary is.
const CHROMIUM_NAMES: [&str; 5] = [
    "chromium-headless-shell",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// The command that installs what the renderer needs on Debian.
pub const INSTALL_HINT: &str = "sudo apt-get install -y chromium-headless-shell \
     fonts-noto-color-emoji fonts-noto-cjk";

/// Finds the Chromium binary: an explicit path, Debian's headless shell, Debian's full
/// Chromium, then `PATH`.
pub fn find_chromium(explicit: Option<&Path>) -> Result<PathBuf, RenderError> {
    if let Some(path) = explicit {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            Err(RenderError::ChromiumMissing(format!(
                "CHROMIUM_PATH {} does not exist; install Chromium with `{INSTALL_HINT}`",
                path.display()
            )))
        };
    }
    if let Some(debian) = [HEADLESS_SHELL, DEBIAN_CHROMIUM]
        .into_iter()
        .map(Path::new)
        .find(|path| path.is_file())
    {
        return Ok(debian.to_owned());
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .flat_map(|dir| CHROMIUM_NAMES.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            RenderError::ChromiumMissing(format!(
                "no Chromium found (looked for {HEADLESS_SHELL}, {DEBIAN_CHROMIUM} and {} on \
                 PATH); install it \
                 with `{INSTALL_HINT}` or set CHROMIUM_PATH",
                CHROMIUM_NAMES.join(", ")
            ))
        })
}

/// Chromium flags (without the leading `--`).
///
/// The network ones stop Chromium's background connections (component updates, sync,
/// QUIC probes), which stall on a closed network and are never wanted by a renderer.
/// The throttling ones keep pooled pages that are not in front rendering at full
/// speed, and `disable-frame-rate-limit` lets a screenshot's frame be drawn as soon as
/// it is asked for instead of at the next 60 Hz tick, which took about a quarter off
/// every capture here (a page with nothing changing still draws no frames).
/// `font-render-hinting=none` and `force-color-profile=srgb` make glyphs and colours
/// the same on every host, so one card never looks two ways.
/// The rest keep memory down, each measured here at the same speed:
/// `disable-software-rasterizer` keeps the GPU process from starting SwiftShader, which
/// only WebGL would use (cards are composited in software either way), about 15 MiB;
/// `process-per-site` puts every page of the render site in one renderer process
/// instead of one each, about 20 MiB; `NetworkServiceInProcess2` runs the network
/// service in the browser process instead of a utility process of its own, about 15 MiB.
pub const CHROMIUM_ARGS: &[&str] = &[
    "headless",
    "no-sandbox",
    "disable-setuid-sandbox",
    "disable-gpu",
    "disable-software-rasterizer",
    "process-per-site",
    "enable-features=NetworkServiceInProcess2",
    "disable-quic",
    "no-first-run",
    "disable-background-networking",
    "disable-component-update",
    "disable-sync",
    "disable-extensions",
    "disable-default-apps",
    "disable-dev-shm-usage",
    "disable-background-timer-throttling",
    "disable-backgrounding-occluded-windows",
    "disable-renderer-backgrounding",
    "disable-frame-rate-limit",
    "hide-scrollbars",
    "mute-audio",
    "font-render-hinting=none",
    "force-color-profile=srgb",
];

/// How long a browser may take from spawn to an open DevTools socket. The Lambda
/// layer's launcher unpacks Chromium first (about 3 s on a cold environment).
pub const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);

/// The full command line of an ogshot browser: [`CHROMIUM_ARGS`], the card's device
/// scale as the browser's own, a DevTools port chosen by the kernel, the profile
/// directory, then `extra_args` (bare keys, as in [`CHROMIUM_ARGS`]).
///
/// There is no start-up URL: without one the headless shell opens no window, where
/// `about:blank` would start a renderer process for a page nothing uses (about
/// 26 MiB of memory); the service opens its own windows.
pub fn chromium_command_line(profile: &Path, extra_args: &[String]) -> Vec<String> {
    // The scale is the browser's own, not an emulated override: an emulated scale
    // makes every screenshot a second, rescaled capture, about twice as slow for the
    // same 2400x1260 pixels.
    let scale = format!("force-device-scale-factor={DEVICE_SCALE}");
    let profile = format!("user-data-dir={}", profile.display());
    CHROMIUM_ARGS
        .iter()
        .copied()
        .chain([scale.as_str(), "remote-debugging-port=0", profile.as_str()])
        .chain(extra_args.iter().map(String::as_str))
        .map(|arg| format!("--{arg}"))
        .collect()
}

/// What every connection to an ogshot browser applies to new pages: the card's CSS
/// viewport, with no emulated scale (0 = none; see [`chromium_command_line`]).
fn handler_config() -> HandlerConfig {
    HandlerConfig {
        viewport: Some(Viewport {
            width: CARD_WIDTH_CSS,
            height: CARD_HEIGHT_CSS,
            device_scale_factor: Some(0.0),
            emulating_mobile: false,
            is_landscape: true,
            has_touch: false,
        }),
        ..HandlerConfig::default()
    }
}

/// A launched browser: the CDP client, the handler that must be polled for it to make
/// progress, and the process tree behind it.
#[derive(Debug)]
pub struct Launched {
    pub browser: Browser,
    pub handler: Handler,
    pub process: BrowserProcess,
}

/// Starts `executable` in a process group of its own with a fresh profile (see
/// [`super::process`] for how it dies with this process), waits for its DevTools
/// socket (at most [`LAUNCH_TIMEOUT`]) and connects to it.
pub async fn launch(executable: &Path, extra_args: &[String]) -> Result<Launched, RenderError> {
    let profile = Profile::create()
        .map_err(|e| RenderError::Launch(format!("cannot create a profile directory: {e}")))?;
    let args = chromium_command_line(profile.path(), extra_args);
    let (mut process, stderr) = BrowserProcess::spawn(executable, args, profile).await?;
    let connected = async {
        let (url, rest) = tokio::time::timeout(LAUNCH_TIMEOUT, devtools_url(stderr))
            .await
            .map_err(|_| {
                RenderError::Launch(format!("no DevTools socket within {LAUNCH_TIMEOUT:?}"))
            })??;
        // Chromium blocks once a pipe it logs to is full: keep reading it.
        process.reading_stderr(tokio::spawn(drain(rest)));
        Browser::connect_with_config(url, handler_config())
            .await
            .map_err(|e| RenderError::Launch(format!("cannot connect to Chromium: {e}")))
    };
    match connected.await {
        Ok((browser, handler)) => Ok(Launched {
            browser,
            handler,
            process,
        }),
        Err(error) => {
            process.kill_tree().await;
            Err(error)
        }
    }
}

type StderrLines = tokio::io::Lines<BufReader<ChildStderr>>;

/// Reads Chromium's stderr up to its `DevTools listening on ws://…` line.
async fn devtools_url(stderr: ChildStderr) -> Result<(String, StderrLines), RenderError> {
    let mut lines = BufReader::new(stderr).lines();
    let mut last = Vec::new();
    loop {
        match lines.next_line().await {
            Ok(Some(line)) => {
                if let Some((_, url)) = line.rsplit_once("listening on ")
                    && url.starts_with("ws://")
                    && url.contains("/devtools/browser/")
                {
                    return Ok((url.trim().to_owned(), lines));
                }
                if last.len() == 5 {
                    last.remove(0);
                }
                last.push(line);
            }
            Ok(None) | Err(_) => {
                return Err(RenderError::Launch(format!(
                    "Chromium exited before opening its DevTools socket: {}",
                    last.join(" | ")
                )));
            }
        }
    }
}

/// Chromium's later stderr (mostly harmless noise on a headless host), at debug level.
async fn drain(mut lines: StderrLines) {
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(target: "chromium", "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    /// The parent-death signal is sent when the thread that forked the browser exits,
    /// not the process: a browser launched from a thread that ends (a blocking-pool
    /// thread idle for 10 s, a thread that ran a runtime) must live on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_browser_outlives_the_thread_that_launched_it() {
        test_kit::require_chromium(HEADLESS_SHELL, INSTALL_HINT);
        let runtime = tokio::runtime::Handle::current();
        let (launched, thread) = std::thread::spawn(move || {
            let thread = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
            (
                runtime.block_on(launch(Path::new(HEADLESS_SHELL), &[])),
                thread,
            )
        })
        .join()
        .expect("the launching thread");
        let Launched {
            browser,
            mut handler,
            mut process,
        } = launched.expect("Chromium launches");
        let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
        // Gone from the task list only after its exit sent any parent-death signal.
        let thread = Path::new("/proc").join(thread);
        for _ in 0..500 {
            if !thread.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!thread.exists(), "the launching thread never ended");
        // A killed browser can never answer.
        let answered = tokio::time::timeout(Duration::from_secs(5), browser.version()).await;
        events.abort();
        process.kill_tree().await;
        assert!(
            matches!(answered, Ok(Ok(_))),
            "the browser died with the thread that launched it: {answered:?}"
        );
    }
}
