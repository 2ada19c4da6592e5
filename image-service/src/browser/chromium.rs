//! The warm browser every render shares ([`Chromium`]): a render waits for a browser
//! that is up (never launches one), takes a pooled page, shows the card and captures
//! it; a render whose browser died under it gets one more try on the replacement.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use chromiumoxide::cdp::browser_protocol::target::GetTargetsParams;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::live::{Live, SwapCapture};
use super::options::{ChromiumOptions, RenderOrigin};
use super::page::CardRequest;
use super::profile;
use super::supervisor::Shared;
use crate::error::RenderError;
use crate::telemetry::Metrics;

/// A render still running after this long makes the supervisor probe the browser at
/// once: a warm render takes about 0.1 s and a first navigation about 0.3 s here.
const SLOW_RENDER: Duration = Duration::from_millis(1000);

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
    /// Deletes the profile directories that services which died left behind, then
    /// launches the browser now, so the first request finds it warm (and a browser
    /// that cannot start stops the service at start-up), and hands it to the
    /// supervisor.
    pub async fn launch(
        options: ChromiumOptions,
        origin: RenderOrigin,
        metrics: Arc<Metrics>,
    ) -> Result<Self, RenderError> {
        let swept = tokio::task::spawn_blocking(profile::sweep_leftovers)
            .await
            .unwrap_or_default();
        if swept > 0 {
            tracing::info!(swept, "deleted browser profiles left by services that died");
        }
        let shared = Arc::new(Shared::new(options, origin, metrics));
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
        if let Some(live) = self.shared.live.borrow().as_ref() {
            live.miss_next_probe.store(true, Ordering::Release);
        }
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
        up(&self.shared, 0, deadline)
            .await
            .ok()
            .map(|live| live.pid)
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
            let live = up(shared, newer_than, deadline).await?;
            let result = render_on(shared, &live, card, deadline).await;
            match result {
                Ok(jpeg) => return Ok(jpeg),
                // The render site's answer, or a card caught before its text was
                // drawable: not the browser's fault, nothing to probe.
                Err(
                    error @ (RenderError::NotACard
                    | RenderError::WrongCard { .. }
                    | RenderError::TextNotDrawn(_)),
                ) => {
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

/// A browser that is up and newer than generation `newer_than`, waiting for one
/// until `deadline`.
async fn up(shared: &Shared, newer_than: u64, deadline: Instant) -> Result<Arc<Live>, RenderError> {
    let mut live = shared.live.subscribe();
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
    shared: &Shared,
    live: &Arc<Live>,
    card: CardRequest,
    deadline: Instant,
) -> Result<Bytes, RenderError> {
    let allowed = deadline.saturating_duration_since(Instant::now());
    let timeout = || RenderError::Timeout(allowed);
    let work = async {
        let mut checkout = shared.pool.checkout(live).await?;
        let jpeg = checkout
            .page()
            .capture(live, &shared.origin, shared.options.jpeg_quality, card)
            .await?;
        checkout.give_back();
        Ok(jpeg)
    };
    tokio::pin!(work);
    // A render that drags on makes the supervisor probe at once, without waiting
    // for this render's deadline; the render itself goes on.
    let slow = tokio::time::sleep(SLOW_RENDER);
    tokio::select! {
        result = tokio::time::timeout_at(deadline, &mut work) => return result.unwrap_or_else(|_| Err(timeout())),
        () = slow => shared.report_trouble(live.generation),
    }
    tokio::time::timeout_at(deadline, work)
        .await
        .unwrap_or_else(|_| Err(timeout()))
}
