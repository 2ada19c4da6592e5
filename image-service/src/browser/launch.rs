//! Which Chromium, with which flags, and the process tree it runs as: started in a
//! process group of its own,
//! so that one signal reaches the browser and every renderer, GPU and utility process it
//! forked, and reaped when it ends, so that no zombie outlives it.
//!
//! chromiumoxide's own launcher can do neither (its `Command` is private), so the
//! process is spawned here and chromiumoxide only connects to its DevTools socket.
//! Zombies matter because a container often has no reaping init (this one's PID 1 is
//! not): when the browser dies, its children are re-parented, and without a subreaper
//! they stay zombies for good. The service therefore makes itself the subreaper of its
//! descendants and reaps the browser's process group itself.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, Once};
use std::time::Duration;

use chromiumoxide::handler::HandlerConfig;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::{Browser, Handler};
use rustix::process::{Pid, Signal, WaitOptions};
use shared_ids::{CARD_HEIGHT_CSS, CARD_WIDTH_CSS, DEVICE_SCALE};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::task::JoinHandle;

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

/// How long reaping a killed process tree may take before the stragglers are left.
const REAP_TIMEOUT: Duration = Duration::from_secs(2);

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

/// The browser's process tree and its profile directory, which goes with it.
#[derive(Debug)]
pub struct BrowserProcess {
    child: Child,
    pid: u32,
    stderr: JoinHandle<()>,
    profile: Option<tempfile::TempDir>,
}

/// Starts `executable` in a process group of its own with a fresh profile, waits for
/// its DevTools socket (at most [`LAUNCH_TIMEOUT`]) and connects to it.
pub async fn launch(executable: &Path, extra_args: &[String]) -> Result<Launched, RenderError> {
    become_subreaper();
    let profile = tempfile::Builder::new()
        .prefix("ogshot-chromium-")
        .tempdir()
        .map_err(|e| RenderError::Launch(format!("cannot create a profile directory: {e}")))?;
    let mut child = Command::new(executable)
        .args(chromium_command_line(profile.path(), extra_args))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| RenderError::Launch(format!("cannot start {}: {e}", executable.display())))?;
    let pid = child.id().unwrap_or_default();
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut process = BrowserProcess {
        child,
        pid,
        stderr: tokio::spawn(async {}),
        profile: Some(profile),
    };
    let connected = async {
        let (url, rest) = tokio::time::timeout(LAUNCH_TIMEOUT, devtools_url(stderr))
            .await
            .map_err(|_| {
                RenderError::Launch(format!("no DevTools socket within {LAUNCH_TIMEOUT:?}"))
            })??;
        // Chromium blocks once a pipe it logs to is full: keep reading it.
        process.stderr = tokio::spawn(drain(rest));
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

impl BrowserProcess {
    /// The browser's process id, which is also its process group's id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Resolves when the browser process has exited (and is reaped).
    pub async fn exited(&mut self) {
        let _ = self.child.wait().await;
    }

    /// Kills the whole process group, even stopped processes (SIGKILL needs no
    /// cooperation), reaps the browser and every member re-parented to this process,
    /// and deletes the profile directory.
    pub async fn kill_tree(&mut self) {
        let mut members = group_members(self.pid);
        if let Some(group) = Pid::from_raw(self.pid as i32) {
            let _ = rustix::process::kill_process_group(group, Signal::KILL);
        }
        // A process forked just before the kill (a renderer for a new window) is in
        // the group now too, if only as a zombie.
        for member in group_members(self.pid) {
            if !members.contains(&member) {
                members.push(member);
            }
        }
        let _ = tokio::time::timeout(REAP_TIMEOUT, self.child.wait()).await;
        reap(self.pid, members).await;
        reap_leftovers();
        self.stderr.abort();
        if let Some(profile) = self.profile.take() {
            // A profile holds thousands of small files: delete it off the async threads.
            let _ = tokio::task::spawn_blocking(move || drop(profile)).await;
        }
    }
}

impl Drop for BrowserProcess {
    fn drop(&mut self) {
        // The normal path is `kill_tree`; this only keeps a dropped browser from
        // living on (its members are then reaped when this process exits).
        if self.profile.is_some()
            && let Some(group) = Pid::from_raw(self.pid as i32)
        {
            let _ = rustix::process::kill_process_group(group, Signal::KILL);
        }
    }
}

/// Makes this process the reaper of its orphaned descendants, once, so that a killed
/// browser's children become ours to reap rather than PID 1's to forget.
fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Err(error) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
            tracing::warn!(%error, "cannot become the subreaper of Chromium's processes");
        }
    });
}

/// The processes of process group `pgid`, from `/proc`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| proc_stat(pid).is_some_and(|stat| stat.pgrp == pgid))
        .collect()
}

/// What `/proc/<pid>/stat` says of a process that matters here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// `R`, `S`, `T` (stopped), `Z` (zombie), ...
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
}

/// Reads `/proc/<pid>/stat`; `None` once the process is gone.
pub fn proc_stat(pid: u32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself hold spaces or parentheses.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some(ProcStat { state, ppid, pgrp })
}

/// Members of killed browsers' groups still there after [`REAP_TIMEOUT`] (a process
/// stuck in the kernel dies late), with their group: reaped by [`reap_leftovers`].
static STRAGGLERS: Mutex<Vec<(u32, u32)>> = Mutex::new(Vec::new());

/// Reaps what killed browsers left behind, once it is dead: the stragglers of their
/// process groups, and full Chromium's crash handlers (`chrome_crashpad_handler`), which
/// detach into process groups of their own, out of reach of the group kill, and exit
/// by themselves once their browser is gone; as the subreaper, this process is then
/// their parent. Only dead processes that are this process's children are reaped, and
/// a straggler only while it is still in its old group, so no other child's exit
/// status is ever taken. (Disabling crashpad with `--disable-crashpad-for-testing`
/// makes Chromium 156's network service crash on start.) Called after every kill and
/// on every idle probe.
pub(super) fn reap_leftovers() {
    let us = std::process::id();
    let dead_child = |pid: u32| proc_stat(pid).filter(|stat| stat.state == 'Z' && stat.ppid == us);
    let waitpid = |pid: u32| {
        if let Some(raw) = Pid::from_raw(pid as i32) {
            let _ = rustix::process::waitpid(Some(raw), WaitOptions::NOHANG);
        }
    };
    STRAGGLERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .retain(|&(pid, pgid)| match proc_stat(pid) {
            Some(stat) if stat.pgrp != pgid => false,
            Some(_) => match dead_child(pid) {
                Some(_) => {
                    waitpid(pid);
                    false
                }
                None => true,
            },
            None => false,
        });
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for pid in entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
        let dead_handler = dead_child(pid).is_some()
            && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.starts_with("chrome_crashpad"));
        if dead_handler {
            waitpid(pid);
        }
    }
}

/// Waits for each of `pids`, members of group `pgid`, to be reaped: by this process
/// once it was re-parented here (a member's parent dies at the same moment, so
/// re-parenting can lag the kill), or by whoever else is its parent. Those still there
/// after [`REAP_TIMEOUT`] are left to [`reap_leftovers`].
async fn reap(pgid: u32, mut pids: Vec<u32>) {
    let deadline = tokio::time::Instant::now() + REAP_TIMEOUT;
    while !pids.is_empty() && tokio::time::Instant::now() < deadline {
        pids.retain(|&pid| {
            let Some(raw) = Pid::from_raw(pid as i32) else {
                return false;
            };
            match rustix::process::waitpid(Some(raw), WaitOptions::NOHANG) {
                Ok(Some(_)) => false,
                // Not ours (yet): pending while it still exists.
                Ok(None) | Err(_) => Path::new(&format!("/proc/{pid}")).exists(),
            }
        });
        if !pids.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    if !pids.is_empty() {
        tracing::warn!(
            pgid,
            left = pids.len(),
            "browser processes outlived the reap; reaped later"
        );
        STRAGGLERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(pids.into_iter().map(|pid| (pid, pgid)));
    }
}
