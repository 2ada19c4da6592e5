//! One warm headless Chromium with a pool of pages, relaunched when it dies or hangs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use chromiumoxide::cdp::browser_protocol::network::{CookieParam, CookieSameSite};
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams,
};
use chromiumoxide::cdp::browser_protocol::target::CreateTargetParams;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures::StreamExt;
use shared_ids::{CARD_HEIGHT_CSS, CARD_WIDTH_CSS, DEVICE_SCALE};
use tokio::task::JoinHandle;

use crate::error::RenderError;
use crate::telemetry::Metrics;

/// Where Debian puts the Chromium binary itself. Preferred over `/usr/bin/chromium`,
/// a shell wrapper that adds flags from `/etc/chromium.d` and warns about `/dev/shm`.
const DEBIAN_CHROMIUM: &str = "/usr/lib/chromium/chromium";

/// Names tried on `PATH` when `CHROMIUM_PATH` is not set.
const CHROMIUM_NAMES: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// The command that installs what the renderer needs on Debian.
pub const INSTALL_HINT: &str =
    "sudo apt-get install -y chromium fonts-noto-color-emoji fonts-noto-cjk";

/// Chromium flags, as bare keys (chromiumoxide adds the `--`).
///
/// The network ones stop Chromium's background connections (component updates, sync,
/// QUIC probes), which stall on a closed network and are never wanted by a renderer.
/// The throttling ones keep pooled pages that are not in front rendering at full
/// speed, and `disable-frame-rate-limit` lets a screenshot's frame be drawn as soon as
/// it is asked for instead of at the next 60 Hz tick, which took about a quarter off
/// every capture here (a page with nothing changing still draws no frames).
/// `font-render-hinting=none` and `force-color-profile=srgb` make glyphs and colours
/// the same on every host, so one card never looks two ways.
pub const CHROMIUM_ARGS: &[&str] = &[
    "headless",
    "disable-gpu",
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

/// Renders on one document before it is replaced by a fresh navigation.
const SWAPS_PER_DOCUMENT: u32 = 200;

/// Replaces the page's card with the card at `path` (a JSON string argument) and
/// resolves to true once it is ready to capture.
///
/// It fetches the card page from the render site (same origin, so the session cookie
/// goes along and the CSP allows it) and makes the live document the same as the
/// fetched one, changing as little as it can, because Chromium re-rasterises only what
/// changed: when the stylesheet is unchanged it keeps the `<style>` element (and with
/// it the fonts already loaded), and when the body has the same shape as the live one
/// (the same elements, only other text or attributes) it rewrites just the text and
/// attributes that differ, so the background and every unchanged glyph keep their
/// raster tiles; a differently shaped body is replaced whole, and a changed stylesheet
/// (a designer's edit under `--dev`) replaces the whole `<html>`. It then waits as the
/// card's ready script does — layout done, fonts loaded, images decoded, a frame drawn —
/// without re-running that script, whose font probes would only repeat work. The
/// result is the DOM that loading the card page builds, minus navigation and font
/// loading; `html[data-ready]` is set as on a loaded card.
const SWAP_SCRIPT: &str = r#"async (path) => {
  const response = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) return false;
  const next = new DOMParser().parseFromString(await response.text(), "text/html");
  if (!next.documentElement.hasAttribute("data-design")) return false;
  const sameShape = (a, b) =>
    a.nodeName === b.nodeName &&
    a.childNodes.length === b.childNodes.length &&
    Array.from(a.childNodes).every((child, i) => sameShape(child, b.childNodes[i]));
  const syncAttributes = (a, b) => {
    for (const attr of [...a.attributes]) if (!b.hasAttribute(attr.name)) a.removeAttribute(attr.name);
    for (const attr of b.attributes) {
      if (a.getAttribute(attr.name) !== attr.value) a.setAttribute(attr.name, attr.value);
    }
  };
  const morph = (a, b) => {
    if (a.nodeType === Node.ELEMENT_NODE) syncAttributes(a, b);
    else if (a.nodeValue !== b.nodeValue) a.nodeValue = b.nodeValue;
    a.childNodes.forEach((child, i) => morph(child, b.childNodes[i]));
  };
  const style = document.head.querySelector("style");
  const nextStyle = next.head.querySelector("style");
  const root = document.documentElement;
  if (style && nextStyle && style.textContent === nextStyle.textContent) {
    syncAttributes(root, next.documentElement);
    for (const node of [...document.head.childNodes]) if (node !== style) node.remove();
    for (const node of [...next.head.childNodes]) {
      if (node !== nextStyle) document.head.insertBefore(document.adoptNode(node), style);
    }
    if (sameShape(document.body, next.body)) morph(document.body, next.body);
    else document.body.replaceWith(document.adoptNode(next.body));
  } else {
    document.replaceChild(document.adoptNode(next.documentElement), root);
  }
  document.body.getBoundingClientRect();
  await Promise.all(Array.from(document.images, (img) => img.decode().catch(() => undefined)));
  await document.fonts.ready;
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  document.documentElement.dataset.ready = "true";
  return true;
}"#;

/// How long a health probe of the browser may take before it counts as hung.
const HEALTH_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Finds the Chromium binary: an explicit path, Debian's binary, then `PATH`.
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
    let debian = Path::new(DEBIAN_CHROMIUM);
    if debian.is_file() {
        return Ok(debian.to_owned());
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .flat_map(|dir| CHROMIUM_NAMES.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            RenderError::ChromiumMissing(format!(
                "no Chromium found (looked for {DEBIAN_CHROMIUM} and {} on PATH); install it \
                 with `{INSTALL_HINT}` or set CHROMIUM_PATH",
                CHROMIUM_NAMES.join(", ")
            ))
        })
}

/// The launch configuration of every ogshot browser: the card viewport at device
/// scale 2, [`CHROMIUM_ARGS`] plus `extra_args`, and its own profile directory.
pub fn browser_config(
    executable: &Path,
    profile: &Path,
    extra_args: &[String],
) -> Result<BrowserConfig, String> {
    BrowserConfig::builder()
        .chrome_executable(executable)
        .disable_default_args()
        .no_sandbox()
        .user_data_dir(profile)
        .args(CHROMIUM_ARGS.iter().copied())
        .arg(format!("force-device-scale-factor={DEVICE_SCALE}"))
        .args(extra_args.iter().map(String::as_str))
        // The scale is the browser's own (the flag above), not an emulated override
        // (0 = none): an emulated scale makes every screenshot a second, rescaled
        // capture, about twice as slow for the same 2400x1260 pixels.
        .viewport(Viewport {
            width: CARD_WIDTH_CSS,
            height: CARD_HEIGHT_CSS,
            device_scale_factor: Some(0.0),
            emulating_mobile: false,
            is_landscape: true,
            has_touch: false,
        })
        .build()
}

/// The screenshot every card is captured with.
pub fn capture_params(jpeg_quality: u8) -> CaptureScreenshotParams {
    CaptureScreenshotParams::builder()
        .format(CaptureScreenshotFormat::Jpeg)
        .quality(i64::from(jpeg_quality))
        .from_surface(true)
        .capture_beyond_viewport(false)
        .optimize_for_speed(true)
        .build()
}

/// Decodes the base64 image data of a CDP screenshot.
pub fn screenshot_bytes(data: &impl AsRef<str>) -> Result<Bytes, RenderError> {
    base64::engine::general_purpose::STANDARD
        .decode(data.as_ref())
        .map(Bytes::from)
        .map_err(|e| RenderError::Browser(format!("screenshot is not base64: {e}")))
}

/// What the browser renders and how.
#[derive(Debug, Clone)]
pub struct ChromiumOptions {
    pub executable: PathBuf,
    pub jpeg_quality: u8,
    /// Extra flags for special hosts (e.g. Lambda's single-process Chromium).
    pub extra_args: Vec<String>,
}

/// The render site Chromium loads cards from, and the cookie that admits it there.
#[derive(Clone)]
pub struct RenderOrigin {
    /// e.g. `http://127.0.0.1:41234`, no trailing slash.
    pub base: String,
    pub cookie_name: &'static str,
    pub cookie_value: String,
}

impl std::fmt::Debug for RenderOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The cookie admits whoever holds it: never print it.
        f.debug_struct("RenderOrigin")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// A running browser: the process, the task that drives its CDP connection, and the
/// profile directory that is deleted with it.
struct Instance {
    browser: Browser,
    events: JoinHandle<()>,
    connected: Arc<AtomicBool>,
    generation: u64,
    _profile: tempfile::TempDir,
}

struct PooledPage {
    page: Page,
    generation: u64,
    /// Cards rendered on the current document by swapping (0: needs a navigation).
    swaps: u32,
}

/// The warm browser shared by every render.
pub struct Chromium {
    options: ChromiumOptions,
    origin: RenderOrigin,
    instance: tokio::sync::Mutex<Option<Instance>>,
    idle: std::sync::Mutex<Vec<PooledPage>>,
    generation: AtomicU64,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Chromium {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chromium")
            .field("options", &self.options)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Chromium {
    /// Launches the browser now, so the first request finds it warm.
    pub async fn launch(
        options: ChromiumOptions,
        origin: RenderOrigin,
        metrics: Arc<Metrics>,
    ) -> Result<Self, RenderError> {
        let chromium = Self {
            options,
            origin,
            instance: tokio::sync::Mutex::new(None),
            idle: std::sync::Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            metrics,
        };
        let first = chromium.start_instance().await?;
        *chromium.instance.lock().await = Some(first);
        Ok(chromium)
    }

    /// The process id of the running browser, for drills and memory accounting.
    pub async fn pid(&self) -> Option<u32> {
        let mut guard = self.instance.lock().await;
        guard
            .as_mut()?
            .browser
            .get_mut_child()
            .and_then(|child| child.as_mut_inner().id())
    }

    async fn start_instance(&self) -> Result<Instance, RenderError> {
        let profile = tempfile::Builder::new()
            .prefix("ogshot-chromium-")
            .tempdir()
            .map_err(|e| RenderError::Launch(format!("cannot create a profile directory: {e}")))?;
        let config = browser_config(
            &self.options.executable,
            profile.path(),
            &self.options.extra_args,
        )
        .map_err(RenderError::Launch)?;
        let (browser, mut handler) = Browser::launch(config)
            .await
            .map_err(|e| RenderError::Launch(e.to_string()))?;
        let connected = Arc::new(AtomicBool::new(true));
        let events = tokio::spawn({
            let connected = Arc::clone(&connected);
            async move {
                // Never stop on an error: breaking here would drop the CDP connection.
                while let Some(event) = handler.next().await {
                    if let Err(error) = event {
                        tracing::debug!(%error, "chromium event error (ignored)");
                    }
                }
                connected.store(false, Ordering::Release);
            }
        });
        let cookie = CookieParam::builder()
            .name(self.origin.cookie_name)
            .value(self.origin.cookie_value.clone())
            .url(self.origin.base.clone())
            .http_only(true)
            .same_site(CookieSameSite::Strict)
            .build()
            .map_err(RenderError::Launch)?;
        // Both wait on a fresh browser's start-up (its network service, a renderer),
        // so they overlap; the first request then finds a window ready.
        let (cookies, first_page) =
            tokio::join!(browser.set_cookies(vec![cookie]), open_window(&browser));
        cookies.map_err(|e| RenderError::Launch(e.to_string()))?;
        let first_page = first_page?;
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.idle.lock().expect("idle pool lock").push(PooledPage {
            page: first_page,
            generation,
            swaps: 0,
        });
        tracing::info!(generation, "chromium launched");
        Ok(Instance {
            browser,
            events,
            connected,
            generation,
            _profile: profile,
        })
    }

    /// Whether the instance is still usable: connected, process alive, and answering.
    async fn healthy(instance: &mut Instance) -> bool {
        if !instance.connected.load(Ordering::Acquire) {
            return false;
        }
        if !matches!(instance.browser.try_wait(), Ok(None)) {
            return false;
        }
        matches!(
            tokio::time::timeout(HEALTH_PROBE_TIMEOUT, instance.browser.version()).await,
            Ok(Ok(_))
        )
    }

    /// Replaces a dead or hung browser; `seen` is the generation the caller found
    /// broken, so that concurrent callers relaunch it once, not once each. Returns
    /// whether a relaunch happened (here or concurrently).
    async fn relaunch_if(&self, seen: u64) -> Result<bool, RenderError> {
        let mut guard = self.instance.lock().await;
        if let Some(current) = guard.as_mut() {
            if current.generation != seen {
                return Ok(true);
            }
            if Self::healthy(current).await {
                return Ok(false);
            }
        }
        if let Some(mut old) = guard.take() {
            tracing::warn!(
                generation = old.generation,
                "chromium is dead or hung; relaunching"
            );
            shut_down(&mut old).await;
        }
        self.idle.lock().expect("idle pool lock").clear();
        *guard = Some(self.start_instance().await?);
        self.metrics.browser_relaunched();
        Ok(true)
    }

    /// A page of the current browser: an idle pooled one, or a new one. A browser that
    /// was killed or crashed since the last render is noticed and replaced here, before
    /// any of its pages is used.
    async fn checkout(&self) -> Result<PooledPage, RenderError> {
        let mut guard = self.instance.lock().await;
        let alive = guard.as_mut().is_some_and(|instance| {
            instance.connected.load(Ordering::Acquire)
                && matches!(instance.browser.try_wait(), Ok(None))
        });
        if !alive {
            let seen = guard.as_ref().map_or(0, |instance| instance.generation);
            drop(guard);
            self.relaunch_if(seen).await?;
            guard = self.instance.lock().await;
        }
        let instance = guard
            .as_mut()
            .ok_or_else(|| RenderError::Launch("no browser".into()))?;
        let generation = instance.generation;
        loop {
            let pooled = self.idle.lock().expect("idle pool lock").pop();
            match pooled {
                Some(p) if p.generation == generation => return Ok(p),
                Some(stale) => drop(stale),
                None => break,
            }
        }
        let page = open_window(&instance.browser).await?;
        Ok(PooledPage {
            page,
            generation,
            swaps: 0,
        })
    }

    /// Renders the card page at `path` (e.g. `/card/12-34-10`) to a JPEG within
    /// `timeout`.
    ///
    /// On any failure the page is discarded and the browser checked, and relaunched if
    /// it is dead or hung; a render whose browser died under it gets one more try on
    /// the replacement, so a crash costs a crawler time, not a card.
    pub async fn screenshot(&self, path: &str, timeout: Duration) -> Result<Bytes, RenderError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut retried = false;
        loop {
            let mut pooled = tokio::time::timeout_at(deadline, self.checkout())
                .await
                .map_err(|_| RenderError::Timeout(timeout))??;
            let attempt = tokio::time::timeout_at(deadline, self.capture(&mut pooled, path)).await;
            let error = match attempt {
                Ok(Ok(jpeg)) => {
                    self.idle.lock().expect("idle pool lock").push(pooled);
                    return Ok(jpeg);
                }
                Ok(Err(error)) => error,
                Err(_) => RenderError::Timeout(timeout),
            };
            let generation = pooled.generation;
            // Closing a hung page can hang too; a relaunch cleans up anyway.
            let _ = tokio::time::timeout(HEALTH_PROBE_TIMEOUT, pooled.page.close()).await;
            let relaunched = self.relaunch_if(generation).await.unwrap_or_else(|error| {
                tracing::error!(%error, "chromium relaunch failed");
                false
            });
            let time_left = deadline > tokio::time::Instant::now();
            if relaunched && !retried && time_left && !matches!(error, RenderError::Timeout(_)) {
                retried = true;
                continue;
            }
            return Err(error);
        }
    }

    /// Shows the card at `path` on `pooled` and screenshots it.
    ///
    /// A fresh page navigates to the card. A page already showing a card swaps the new
    /// card's document in instead ([`SWAP_SCRIPT`]): the same markup on the same origin,
    /// without tearing down and rebuilding a document, so the render costs little more
    /// than the screenshot itself. Every [`SWAPS_PER_DOCUMENT`] renders the page
    /// navigates afresh, so nothing can build up in a long-lived document.
    async fn capture(&self, pooled: &mut PooledPage, path: &str) -> Result<Bytes, RenderError> {
        let page = &pooled.page;
        let ready = if pooled.swaps == 0 || pooled.swaps >= SWAPS_PER_DOCUMENT {
            page.goto(format!("{}{path}", self.origin.base))
                .await
                .map_err(|e| RenderError::Browser(e.to_string()))?;
            pooled.swaps = 0;
            render_site::READY_EXPRESSION.to_owned()
        } else {
            let path = serde_json::to_string(path).expect("a string serialises");
            format!("({SWAP_SCRIPT})({path})")
        };
        let ready = EvaluateParams::builder()
            .expression(ready)
            .await_promise(true)
            .return_by_value(true)
            .build()
            .map_err(RenderError::Browser)?;
        let ready = page
            .evaluate_expression(ready)
            .await
            .map_err(|e| RenderError::Browser(e.to_string()))?;
        // A 401, 404 or error page has no ready signal: never screenshot one.
        if ready.value() != Some(&serde_json::Value::Bool(true)) {
            return Err(RenderError::NotACard);
        }
        let data = page
            .execute(capture_params(self.options.jpeg_quality))
            .await
            .map_err(|e| RenderError::Browser(e.to_string()))?
            .result
            .data;
        pooled.swaps += 1;
        screenshot_bytes(&data)
    }

    /// Kills the browser process (a drill for tests and the benchmark: the next render
    /// must relaunch it).
    pub async fn kill_for_drill(&self) {
        if let Some(instance) = self.instance.lock().await.as_mut() {
            let _ = instance.browser.kill().await;
        }
    }

    /// Closes the browser and deletes its profile.
    pub async fn shutdown(&self) {
        self.idle.lock().expect("idle pool lock").clear();
        if let Some(mut instance) = self.instance.lock().await.take() {
            shut_down(&mut instance).await;
        }
    }
}

/// A new blank page in its own window: a page in a background tab produces no frames,
/// and a screenshot of it waits for one forever.
async fn open_window(browser: &Browser) -> Result<Page, RenderError> {
    let target = CreateTargetParams::builder()
        .url("about:blank")
        .new_window(true)
        .build()
        .map_err(RenderError::Browser)?;
    browser
        .new_page(target)
        .await
        .map_err(|e| RenderError::Browser(e.to_string()))
}

async fn shut_down(instance: &mut Instance) {
    let closed = tokio::time::timeout(HEALTH_PROBE_TIMEOUT, instance.browser.close()).await;
    if !matches!(closed, Ok(Ok(_))) {
        let _ = instance.browser.kill().await;
    }
    let _ = tokio::time::timeout(HEALTH_PROBE_TIMEOUT, instance.browser.wait()).await;
    instance.events.abort();
}
