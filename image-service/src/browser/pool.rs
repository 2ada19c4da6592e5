//! The warm browser and its pages: a render waits for a browser that is up, takes a
//! pooled page (each in its own window), shows the card on it and captures it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use chromiumoxide::cdp::browser_protocol::network::{CookieParam, CookieSameSite};
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams,
};
use chromiumoxide::cdp::browser_protocol::target::{
    CloseTargetParams, CreateTargetParams, GetTargetsParams,
};
use chromiumoxide::cdp::js_protocol::heap_profiler::CollectGarbageParams;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use chromiumoxide::{Browser, Page};
use futures::StreamExt;
use shared_ids::{DesignToken, SocialId};
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::launch::{BrowserProcess, LAUNCH_TIMEOUT, Launched, launch};
use super::screencast::{PROBE_FRAME_TIMEOUT, Screencast};
use crate::error::RenderError;
use crate::telemetry::Metrics;

/// Renders on one document before it is replaced by a fresh navigation.
const SWAPS_PER_DOCUMENT: u32 = 200;

/// Swaps between full garbage collections of a page's renderer. Each swap leaves a
/// parsed card document behind, and the renderer collects it lazily: at concurrency 2
/// its memory peaked 50–70 MiB higher without these, which cost no measurable speed.
const SWAPS_PER_GARBAGE_COLLECTION: u32 = 10;

/// How long a garbage collection may take; it runs off the request's path.
const GARBAGE_COLLECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// A render still running after this long makes the supervisor probe the browser at
/// once: a warm render takes about 0.1 s and a first navigation about 0.3 s here.
const SLOW_RENDER: Duration = Duration::from_millis(1000);

/// Longest warm-up navigation of a new browser's first window.
const WARM_UP_TIMEOUT: Duration = Duration::from_millis(1000);

/// How long closing a discarded page may take; it runs off the request's path.
const PAGE_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

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
    /// Capture swapped cards by tagged screencast where the browser sends tagged frames
    /// (`false`: always by screenshot).
    pub screencast: bool,
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

/// A browser that is up: the CDP client and what tells whether it still is.
pub(super) struct Live {
    pub(super) browser: Browser,
    pub(super) generation: u64,
    pub(super) pid: u32,
    /// Cleared when the CDP connection ends (the browser died or closed it).
    pub(super) connected: Arc<AtomicBool>,
    /// How this browser's swapped cards are captured: a [`SwapCapture`], found on its
    /// first swaps.
    swap_capture: AtomicU8,
    /// Probes that got no tagged frame in time.
    missed_probes: AtomicU8,
}

/// Probes without a tagged frame before a browser counts as one that sends none: a
/// frame can be late on a loaded machine, and one late frame must not cost a browser
/// its fast capture for good.
const PROBES_BEFORE_SCREENSHOTS: u8 = 3;

/// How a browser's swapped cards are captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SwapCapture {
    /// Not known yet: the next swap tries a tagged screencast, within
    /// [`PROBE_FRAME_TIMEOUT`], and takes a screenshot if no tagged frame came.
    Untried = 0,
    Screencast = 1,
    Screenshot = 2,
}

impl Live {
    fn swap_capture(&self) -> SwapCapture {
        match self.swap_capture.load(Ordering::Acquire) {
            0 => SwapCapture::Untried,
            1 => SwapCapture::Screencast,
            _ => SwapCapture::Screenshot,
        }
    }

    /// Counts a probe that got no tagged frame; the last allowed one settles on
    /// screenshots.
    fn missed_probe(&self) {
        let missed = self.missed_probes.fetch_add(1, Ordering::AcqRel) + 1;
        if missed >= PROBES_BEFORE_SCREENSHOTS {
            self.found_swap_capture(SwapCapture::Screenshot);
        } else {
            tracing::info!(
                generation = self.generation,
                missed,
                "no tagged screencast frame in time; this card is captured by screenshot"
            );
        }
    }

    fn found_swap_capture(&self, found: SwapCapture) {
        let untried = SwapCapture::Untried as u8;
        let newly = self
            .swap_capture
            .compare_exchange(untried, found as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if newly {
            match found {
                SwapCapture::Screencast => tracing::info!(
                    generation = self.generation,
                    "swapped cards are captured by tagged screencast"
                ),
                _ => tracing::warn!(
                    generation = self.generation,
                    "this browser sends no tagged screencast frames; swapped cards are \
                     captured by screenshot"
                ),
            }
        }
    }
}

/// A launched browser as the supervisor holds it.
pub(super) struct Instance {
    pub(super) live: Arc<Live>,
    pub(super) process: BrowserProcess,
    pub(super) events: JoinHandle<()>,
}

pub(super) struct PooledPage {
    page: Page,
    generation: u64,
    /// Cards rendered on the current document by swapping (0: needs a navigation).
    swaps: u32,
    /// The page's screencast, once a swap has been captured by one.
    screencast: Option<Screencast>,
    /// The frame tag the page is scrolled to (0: unscrolled). It outlives the page's
    /// screencasts, so a new screencast never takes a frame of the card before for a
    /// tag the page already shows.
    scrolled_to: u32,
}

impl PooledPage {
    fn new(page: Page, generation: u64) -> Self {
        Self {
            page,
            generation,
            swaps: 0,
            screencast: None,
            scrolled_to: 0,
        }
    }

    /// Stops the page's screencast, if it has one.
    async fn stop_screencast(&mut self) {
        if let Some(screencast) = self.screencast.take() {
            screencast.stop(&self.page).await;
        }
    }
}

/// What the render path and the supervisor share.
pub(super) struct Shared {
    pub(super) options: ChromiumOptions,
    pub(super) origin: RenderOrigin,
    pub(super) metrics: Arc<Metrics>,
    /// The browser that is up, or `None` while one is being (re)launched.
    pub(super) live: watch::Sender<Option<Arc<Live>>>,
    pub(super) idle: std::sync::Mutex<Vec<PooledPage>>,
    /// Every open window of the browser that is up, idle or rendering, for the
    /// supervisor's renderer probe.
    pub(super) windows: std::sync::Mutex<Vec<Page>>,
    pub(super) generations: AtomicU64,
    /// Raised by renders that failed or drag on: probe the browser now.
    pub(super) trouble: Notify,
    pub(super) stop: watch::Sender<bool>,
    /// Set by a test: the next probing swap gets no tagged frame.
    #[cfg(test)]
    pub(super) miss_next_probe: AtomicBool,
}

/// The warm browser shared by every render.
pub struct Chromium {
    shared: Arc<Shared>,
    supervisor: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Chromium {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chromium")
            .field("options", &self.shared.options)
            .field("origin", &self.shared.origin)
            .finish_non_exhaustive()
    }
}

impl Chromium {
    /// Launches the browser now, so the first request finds it warm (and a browser
    /// that cannot start stops the service at start-up), then hands it to the
    /// supervisor.
    pub async fn launch(
        options: ChromiumOptions,
        origin: RenderOrigin,
        metrics: Arc<Metrics>,
    ) -> Result<Self, RenderError> {
        let shared = Arc::new(Shared {
            options,
            origin,
            metrics,
            live: watch::channel(None).0,
            idle: std::sync::Mutex::new(Vec::new()),
            windows: std::sync::Mutex::new(Vec::new()),
            generations: AtomicU64::new(0),
            trouble: Notify::new(),
            stop: watch::channel(false).0,
            #[cfg(test)]
            miss_next_probe: AtomicBool::new(false),
        });
        let first = shared.start_instance().await?;
        let supervisor = tokio::spawn(Arc::clone(&shared).supervise(first));
        Ok(Self {
            shared,
            supervisor: std::sync::Mutex::new(Some(supervisor)),
        })
    }

    /// Makes the next swap that probes for tagged frames miss its frame, as on a loaded
    /// machine, and the swap after it draw the same tag again.
    #[cfg(test)]
    pub(crate) fn miss_next_probe(&self) {
        self.shared.miss_next_probe.store(true, Ordering::Release);
    }

    /// The render site this browser loads cards from.
    pub fn origin(&self) -> &RenderOrigin {
        &self.shared.origin
    }

    /// The process id (and process group id) of the browser that is up, if any.
    pub fn pid(&self) -> Option<u32> {
        self.shared.live.borrow().as_ref().map(|live| live.pid)
    }

    /// How the browser that is up captures swapped cards, if one is up.
    pub fn swap_capture(&self) -> Option<SwapCapture> {
        self.shared
            .live
            .borrow()
            .as_ref()
            .map(|live| live.swap_capture())
    }

    /// Waits up to `timeout` for a browser to be up, and returns its process id.
    pub async fn wait_until_up(&self, timeout: Duration) -> Option<u32> {
        let deadline = Instant::now() + timeout;
        self.shared.up(0, deadline).await.ok().map(|live| live.pid)
    }

    /// Renders `card`'s page to a JPEG by `deadline`.
    ///
    /// It waits for a browser that is up, never launches one. A render whose browser
    /// died under it gets one more try on the replacement if time is left, so a crash
    /// costs a crawler time, not a card; any other failure is reported to the
    /// supervisor and answered at once.
    pub async fn screenshot(
        &self,
        card: CardRequest,
        deadline: Instant,
    ) -> Result<Bytes, RenderError> {
        let shared = &self.shared;
        let mut newer_than = 0;
        let mut retried = false;
        loop {
            let live = shared.up(newer_than, deadline).await?;
            let result = shared.render_on(&live, card, deadline).await;
            match result {
                Ok(jpeg) => return Ok(jpeg),
                // The render site's answer, not the browser's fault: nothing to probe.
                Err(error @ (RenderError::NotACard | RenderError::WrongCard { .. })) => {
                    return Err(error);
                }
                Err(error) => {
                    shared.report_trouble(live.generation);
                    let died = !live.connected.load(Ordering::Acquire);
                    let timed_out = matches!(error, RenderError::Timeout(_));
                    if retried || timed_out || Instant::now() >= deadline {
                        return Err(error);
                    }
                    retried = true;
                    if died {
                        newer_than = live.generation;
                    }
                    tracing::info!(%error, "render failed; trying once more");
                }
            }
        }
    }

    /// How many pages (windows) the browser that is up holds, as Chromium counts its
    /// targets; `None` when no browser is up or it does not answer in `timeout`.
    pub async fn page_count(&self, timeout: Duration) -> Option<usize> {
        let live = self.shared.live.borrow().clone()?;
        let targets =
            tokio::time::timeout(timeout, live.browser.execute(GetTargetsParams::default()))
                .await
                .ok()?
                .ok()?;
        Some(
            targets
                .result
                .target_infos
                .iter()
                .filter(|target| target.r#type == "page")
                .count(),
        )
    }

    /// Stops the supervisor, which kills and reaps the browser and deletes its profile.
    pub async fn shutdown(&self) {
        self.shared.stop.send_replace(true);
        let supervisor = self.supervisor.lock().expect("supervisor lock").take();
        if let Some(supervisor) = supervisor {
            let _ = supervisor.await;
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Dropped without `shutdown`: the supervisor still kills the browser it holds.
        self.shared.stop.send_replace(true);
    }
}

impl Shared {
    /// Asks the supervisor to probe the browser of `generation` now, if it is current.
    pub(super) fn report_trouble(&self, generation: u64) {
        let current = self.live.borrow().as_ref().map(|live| live.generation);
        if current == Some(generation) {
            self.trouble.notify_one();
        }
    }

    /// A browser that is up and newer than generation `newer_than`, waiting for one
    /// until `deadline`.
    async fn up(&self, newer_than: u64, deadline: Instant) -> Result<Arc<Live>, RenderError> {
        let mut live = self.live.subscribe();
        let wanted = |live: &Option<Arc<Live>>| {
            live.as_ref()
                .is_some_and(|live| live.generation > newer_than)
        };
        match tokio::time::timeout_at(deadline, live.wait_for(wanted)).await {
            Ok(Ok(live)) => Ok(Arc::clone(live.as_ref().expect("checked by wait_for"))),
            Ok(Err(_)) => Err(RenderError::Launch("the browser supervisor stopped".into())),
            Err(_) => Err(RenderError::BrowserUnavailable),
        }
    }

    /// One render on `live`: a pooled page, the card, the screenshot, by `deadline`.
    /// The page goes back to the pool only after a good capture; in every other case,
    /// the render's future dropped at its deadline included, its window is closed.
    async fn render_on(
        &self,
        live: &Arc<Live>,
        card: CardRequest,
        deadline: Instant,
    ) -> Result<Bytes, RenderError> {
        let allowed = deadline.saturating_duration_since(Instant::now());
        let timeout = || RenderError::Timeout(allowed);
        let work = async {
            let mut checkout = self.checkout(live).await?;
            let jpeg = self.capture(live, checkout.page(), card).await?;
            checkout.give_back();
            Ok(jpeg)
        };
        tokio::pin!(work);
        // A render that drags on makes the supervisor probe at once, without waiting
        // for this render's deadline; the render itself goes on.
        let slow = tokio::time::sleep(SLOW_RENDER);
        tokio::select! {
            result = tokio::time::timeout_at(deadline, &mut work) => return result.unwrap_or_else(|_| Err(timeout())),
            () = slow => self.report_trouble(live.generation),
        }
        tokio::time::timeout_at(deadline, work)
            .await
            .unwrap_or_else(|_| Err(timeout()))
    }

    pub(super) async fn start_instance(&self) -> Result<Instance, RenderError> {
        let Launched {
            browser,
            mut handler,
            mut process,
        } = launch(&self.options.executable, &[]).await?;
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
        let generation = self.generations.fetch_add(1, Ordering::AcqRel) + 1;
        let ready = async {
            let cookie = CookieParam::builder()
                .name(self.origin.cookie_name)
                .value(self.origin.cookie_value.clone())
                .url(self.origin.base.clone())
                .http_only(true)
                .same_site(CookieSameSite::Strict)
                .build()
                .map_err(RenderError::Launch)?;
            // Both wait on a fresh browser's start-up (its network service, a renderer),
            // so they overlap; the first request then finds a window ready. The window
            // opens at the render site's token-free health page, so the renderer process
            // for that origin exists before the first card is loaded (a card navigated to
            // from about:blank starts one first): about 150 ms off the first card here.
            // Bounded, so a render site that hangs never holds up a launch: the window
            // that waits for it is closed and a blank one opened instead.
            let warm_up = format!("{}/healthz", self.origin.base);
            let warm_window =
                tokio::time::timeout(WARM_UP_TIMEOUT, open_window(&browser, &warm_up));
            let (cookies, first_page) =
                tokio::join!(browser.set_cookies(vec![cookie]), warm_window);
            cookies.map_err(|e| RenderError::Launch(e.to_string()))?;
            let first_page = match first_page {
                Ok(page) => page?,
                Err(_) => {
                    close_every_window(&browser).await;
                    open_window(&browser, "about:blank").await?
                }
            };
            Ok(first_page)
        };
        let first_page = match tokio::time::timeout(LAUNCH_TIMEOUT, ready).await {
            Ok(Ok(page)) => page,
            outcome => {
                events.abort();
                process.kill_tree().await;
                return Err(match outcome {
                    Ok(Err(error)) => error,
                    _ => RenderError::Launch(format!("no first window within {LAUNCH_TIMEOUT:?}")),
                });
            }
        };
        self.windows
            .lock()
            .expect("windows lock")
            .push(first_page.clone());
        self.idle
            .lock()
            .expect("idle pool lock")
            .push(PooledPage::new(first_page, generation));
        let pid = process.pid();
        Ok(Instance {
            live: Arc::new(Live {
                browser,
                generation,
                pid,
                connected,
                swap_capture: AtomicU8::new(if self.options.screencast {
                    SwapCapture::Untried as u8
                } else {
                    SwapCapture::Screenshot as u8
                }),
                missed_probes: AtomicU8::new(0),
            }),
            process,
            events,
        })
    }

    /// A page of `live`: an idle pooled one, or a new window. The window is opened by a
    /// task of its own, so a checkout cut off while Chromium opens it still closes it.
    async fn checkout(&self, live: &Arc<Live>) -> Result<Checkout<'_>, RenderError> {
        loop {
            let pooled = self.idle.lock().expect("idle pool lock").pop();
            match pooled {
                Some(p) if p.generation == live.generation => return Ok(self.checked_out(p)),
                Some(stale) => drop(stale),
                None => break,
            }
        }
        let (opened, window) = oneshot::channel();
        let opener = Arc::clone(live);
        tokio::spawn(async move {
            let page = open_window(&opener.browser, "about:blank").await;
            if let Err(Ok(orphan)) = opened.send(page) {
                close_page(orphan);
            }
        });
        let page = window
            .await
            .map_err(|_| RenderError::Browser("the window opener stopped".into()))??;
        self.windows
            .lock()
            .expect("windows lock")
            .push(page.clone());
        Ok(self.checked_out(PooledPage::new(page, live.generation)))
    }

    fn checked_out(&self, pooled: PooledPage) -> Checkout<'_> {
        Checkout {
            shared: self,
            pooled: Some(pooled),
        }
    }

    /// Shows `card` on `pooled` and captures it.
    ///
    /// A fresh page navigates to the card and is captured by screenshot. A page already
    /// showing a card swaps the new card's document in instead
    /// (`render-site/assets/swap.js`): the same markup on the same origin, without
    /// tearing down and rebuilding a document, so the render costs little more than the
    /// capture itself, which is by tagged screencast where the browser supports it (see
    /// [`super::screencast`]). Every [`SWAPS_PER_DOCUMENT`] renders the page navigates
    /// afresh, so nothing can build up in a long-lived document. Either way the page
    /// must name the card's design and id, or nothing is captured.
    async fn capture(
        &self,
        live: &Live,
        pooled: &mut PooledPage,
        card: CardRequest,
    ) -> Result<Bytes, RenderError> {
        // The full URL: a remote render site may live under a path prefix.
        let url = format!("{}{}", self.origin.base, card.path());
        let quality = self.options.jpeg_quality;
        if pooled.swaps == 0 || pooled.swaps >= SWAPS_PER_DOCUMENT {
            pooled.stop_screencast().await;
            pooled
                .page
                .goto(url)
                .await
                .map_err(|e| RenderError::Browser(e.to_string()))?;
            pooled.swaps = 0;
            pooled.scrolled_to = 0;
            until_card_ready(&pooled.page, loaded_card_expression(), card).await?;
        } else {
            let method = live.swap_capture();
            if method != SwapCapture::Screenshot {
                let probing = method == SwapCapture::Untried;
                match self.swap_by_screencast(pooled, &url, card, probing).await {
                    Ok(Some(jpeg)) => {
                        live.found_swap_capture(SwapCapture::Screencast);
                        rendered(pooled);
                        return Ok(jpeg);
                    }
                    // The card is swapped in and ready, but no tagged frame came.
                    Ok(None) => {
                        live.missed_probe();
                        pooled.stop_screencast().await;
                    }
                    Err(error) => return Err(error),
                }
            } else {
                until_card_ready(&pooled.page, swap_expression(&url, card, None), card).await?;
            }
        }
        let data = pooled
            .page
            .execute(capture_params(quality))
            .await
            .map_err(|e| RenderError::Browser(e.to_string()))?
            .result
            .data;
        rendered(pooled);
        screenshot_bytes(&data)
    }

    /// Swaps `card` (at `url`) in with a frame tag and takes the tagged frame; `None`
    /// when `probing` and the frame did not come in [`PROBE_FRAME_TIMEOUT`].
    async fn swap_by_screencast(
        &self,
        pooled: &mut PooledPage,
        url: &str,
        card: CardRequest,
        probing: bool,
    ) -> Result<Option<Bytes>, RenderError> {
        let screencast = match &mut pooled.screencast {
            Some(screencast) => screencast,
            none => none.insert(Screencast::start(&pooled.page, self.options.jpeg_quality).await?),
        };
        let tag = screencast.next_tag(pooled.scrolled_to);
        // From here the page may be scrolled to `tag`, whatever becomes of the swap.
        pooled.scrolled_to = tag;
        let swap = swap_expression(url, card, Some(tag));
        until_card_ready(&pooled.page, swap, card).await?;
        #[cfg(test)]
        if probing && self.miss_next_probe.swap(false, Ordering::AcqRel) {
            super::screencast::draw_next(tag);
            return Ok(None);
        }
        if probing {
            tokio::time::timeout(PROBE_FRAME_TIMEOUT, screencast.frame_tagged(tag))
                .await
                .ok()
                .transpose()
        } else {
            screencast.frame_tagged(tag).await.map(Some)
        }
    }
}

/// The card page a render shows, and the key whose card it must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardRequest {
    pub design: DesignToken,
    pub id: SocialId,
}

impl CardRequest {
    /// The card page's path on the render site.
    fn path(self) -> String {
        render_site::card_page_path(self.id)
    }
}

/// A page checked out for one render. Unless it is given back after a good capture,
/// dropping it closes the window, off the request's path; pages are handed out only
/// inside one, so no exit (an error, a deadline dropping the render's future, a panic)
/// leaves a window open.
struct Checkout<'a> {
    shared: &'a Shared,
    pooled: Option<PooledPage>,
}

impl Checkout<'_> {
    fn page(&mut self) -> &mut PooledPage {
        self.pooled
            .as_mut()
            .expect("held until given back or dropped")
    }

    /// Returns the page to the pool after a good capture.
    fn give_back(mut self) {
        if let Some(pooled) = self.pooled.take() {
            self.shared
                .idle
                .lock()
                .expect("idle pool lock")
                .push(pooled);
        }
    }
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let Some(pooled) = self.pooled.take() {
            let target = pooled.page.target_id();
            self.shared
                .windows
                .lock()
                .expect("windows lock")
                .retain(|page| page.target_id() != target);
            close_page(pooled.page);
        }
    }
}

/// Counts a card rendered on `pooled`'s document, and every
/// [`SWAPS_PER_GARBAGE_COLLECTION`] has its renderer collect garbage, off the request's
/// path.
fn rendered(pooled: &mut PooledPage) {
    pooled.swaps += 1;
    if pooled.swaps.is_multiple_of(SWAPS_PER_GARBAGE_COLLECTION) {
        let page = pooled.page.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(
                GARBAGE_COLLECTION_TIMEOUT,
                page.execute(CollectGarbageParams::default()),
            )
            .await;
        });
    }
}

/// The call of `swap.js` that shows `card` (at `url`), tagging its frame with `tag`.
pub fn swap_expression(url: &str, card: CardRequest, tag: Option<u32>) -> String {
    let url = serde_json::to_string(url).expect("a string serialises");
    let tag = tag.map_or_else(|| "undefined".to_owned(), |tag| tag.to_string());
    format!(
        "({})({url}, {tag}, [\"{}\", \"{}\"])",
        render_site::SWAP_FUNCTION,
        card.design.as_str(),
        card.id
    )
}

/// What a navigated card page is evaluated with: like `swap.js`, its ready promise
/// resolves to the `[design, id]` its `<html>` names, or false (a 401, 404 or error
/// page has no ready signal).
fn loaded_card_expression() -> String {
    format!(
        "Promise.resolve({}).then((ready) => ready === true && \
         [document.documentElement.dataset.design, document.documentElement.dataset.id])",
        render_site::READY_EXPRESSION
    )
}

/// Evaluates `ready` (a loaded card's ready promise, or a swap) on `page`, and checks
/// that the card it shows is `card`: a page without a ready signal is not a card, and
/// one of another design or id (a render site a deploy behind, a wrong route) is never
/// captured.
async fn until_card_ready(
    page: &Page,
    ready: String,
    card: CardRequest,
) -> Result<(), RenderError> {
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
    let Some(serde_json::Value::Array(shown)) = ready.value() else {
        return Err(RenderError::NotACard);
    };
    let [
        serde_json::Value::String(design),
        serde_json::Value::String(id),
    ] = shown.as_slice()
    else {
        return Err(RenderError::NotACard);
    };
    if design == card.design.as_str() && *id == card.id.to_string() {
        Ok(())
    } else {
        Err(RenderError::WrongCard {
            design: design.chars().take(32).collect(),
            id: id.chars().take(32).collect(),
        })
    }
}

/// Closes a page, off the request's path: closing a hung page can hang too.
fn close_page(page: Page) {
    // Outside a runtime (a process shutting down) the browser goes with the process.
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = tokio::time::timeout(PAGE_CLOSE_TIMEOUT, page.close()).await;
        });
    }
}

/// Closes every window `browser` has, by target: for a window whose opening was given
/// up on, so no `Page` exists to close it by.
async fn close_every_window(browser: &Browser) {
    let Ok(targets) = browser.execute(GetTargetsParams::default()).await else {
        return;
    };
    for target in &targets.result.target_infos {
        if target.r#type == "page" {
            let close = CloseTargetParams::new(target.target_id.clone());
            let _ = tokio::time::timeout(PAGE_CLOSE_TIMEOUT, browser.execute(close)).await;
        }
    }
}

/// A new page at `url` in its own window: a page in a background tab produces no frames,
/// and a screenshot of it waits for one forever.
async fn open_window(browser: &Browser, url: &str) -> Result<Page, RenderError> {
    let target = CreateTargetParams::builder()
        .url(url)
        .new_window(true)
        .build()
        .map_err(RenderError::Browser)?;
    browser
        .new_page(target)
        .await
        .map_err(|e| RenderError::Browser(e.to_string()))
}
