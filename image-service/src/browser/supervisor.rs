//! The supervisor: a task of its own, which no request can cancel, that watches the
//! browser (process exit, CDP disconnect, a health probe every few seconds and whenever
//! a render reports trouble) and, when it is dead or hung, kills its whole process tree,
//! reaps it and launches a new one. Requests never do any of that: they wait, inside
//! their own deadline, for a browser that is up.
//!
//! A probe asks two things at once: the browser process for its version, and every
//! open window's renderer to evaluate `1`. The browser answers the first while every
//! renderer is stuck (with `process-per-site` all card windows share one renderer), so
//! only the second finds a hung renderer. A window waiting for a hung render site still
//! answers: its renderer's main thread is idle.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::network::{CookieParam, CookieSameSite};
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use futures::StreamExt;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::launch::{LAUNCH_TIMEOUT, Launched, launch};
use super::live::Live;
use super::options::{ChromiumOptions, RenderOrigin};
use super::pool::{Pool, close_every_window, open_window};
use super::process::{self, BrowserProcess};
use crate::error::RenderError;
use crate::telemetry::Metrics;

/// Longest warm-up navigation of a new browser's first window.
const WARM_UP_TIMEOUT: Duration = Duration::from_millis(1000);

/// How long an idle browser's probe may take before it counts as failed.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// The same for a probe that a failing or slow render asked for: the machine may be
/// loaded right then, and a false alarm would cost every render under way.
const TROUBLE_PROBE_TIMEOUT: Duration = Duration::from_millis(2500);

/// Failed probes in a row before the browser is replaced; the second follows the
/// first at once.
const FAILED_PROBES_BEFORE_REPLACING: u32 = 2;

/// How often an idle browser is probed, so a hang is found before a request meets it.
const PROBE_INTERVAL: Duration = Duration::from_secs(5);

/// Waits between failed launches grow from the first to the last.
const RELAUNCH_BACKOFF: [Duration; 5] = [
    Duration::from_millis(100),
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// Why the supervisor stopped watching a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Exited,
    Disconnected,
    Unresponsive,
    Shutdown,
}

/// A launched browser as the supervisor holds it.
pub(super) struct Instance {
    pub(super) live: Arc<Live>,
    pub(super) process: BrowserProcess,
    pub(super) events: JoinHandle<()>,
}

/// What the render path and the supervisor share.
pub(super) struct Shared {
    pub(super) options: ChromiumOptions,
    pub(super) origin: RenderOrigin,
    pub(super) metrics: Arc<Metrics>,
    /// The browser that is up, or `None` while one is being (re)launched.
    pub(super) live: watch::Sender<Option<Arc<Live>>>,
    pub(super) pool: Pool,
    pub(super) generations: AtomicU64,
    /// Raised by renders that failed or drag on: probe the browser now.
    pub(super) trouble: Notify,
    pub(super) stop: watch::Sender<bool>,
}

impl Shared {
    pub(super) fn new(
        options: ChromiumOptions,
        origin: RenderOrigin,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            options,
            origin,
            metrics,
            live: watch::channel(None).0,
            pool: Pool::default(),
            generations: AtomicU64::new(0),
            trouble: Notify::new(),
            stop: watch::channel(false).0,
        }
    }

    /// Asks the supervisor to probe the browser of `generation` now, if it is current.
    pub(super) fn report_trouble(&self, generation: u64) {
        let current = self.live.borrow().as_ref().map(|live| live.generation);
        if current == Some(generation) {
            self.trouble.notify_one();
        }
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
        self.pool.add_first(first_page, generation);
        let pid = process.pid();
        Ok(Instance {
            live: Arc::new(Live::new(
                browser,
                generation,
                pid,
                connected,
                self.options.screencast,
            )),
            process,
            events,
        })
    }

    /// The supervisor: watch the browser, replace it when it ends, until shutdown.
    pub(super) async fn supervise(self: Arc<Self>, first: Instance) {
        let mut next = Some(first);
        let mut failures = 0_usize;
        let mut stop = self.stop.subscribe();
        loop {
            let mut instance = match next.take() {
                Some(instance) => instance,
                None => {
                    let launched = tokio::select! {
                        launched = self.start_instance() => launched,
                        _ = stop.wait_for(|&stop| stop) => return,
                    };
                    match launched {
                        Ok(instance) => instance,
                        Err(error) => {
                            let wait = RELAUNCH_BACKOFF[failures.min(RELAUNCH_BACKOFF.len() - 1)];
                            failures += 1;
                            tracing::error!(%error, ?wait, "chromium relaunch failed; retrying");
                            tokio::select! {
                                () = tokio::time::sleep(wait) => continue,
                                _ = stop.wait_for(|&stop| stop) => return,
                            }
                        }
                    }
                }
            };
            failures = 0;
            let generation = instance.live.generation;
            self.live.send_replace(Some(Arc::clone(&instance.live)));
            tracing::info!(generation, pid = instance.live.pid, "chromium is up");
            let ended = self.watch(&mut instance).await;
            self.live.send_replace(None);
            self.pool.clear();
            instance.events.abort();
            instance.process.kill_tree().await;
            if ended == Ended::Shutdown {
                return;
            }
            tracing::warn!(generation, ?ended, "chromium replaced");
            self.metrics.browser_relaunched();
        }
    }

    /// Watches a browser until it exits, disconnects, fails a probe, or shutdown.
    async fn watch(&self, instance: &mut Instance) -> Ended {
        let mut stop = self.stop.subscribe();
        let mut probes = tokio::time::interval(PROBE_INTERVAL);
        probes.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        probes.reset();
        let mut failed = 0;
        loop {
            let timeout = if failed > 0 {
                PROBE_TIMEOUT
            } else {
                tokio::select! {
                    _ = stop.wait_for(|&stop| stop) => return Ended::Shutdown,
                    () = instance.process.exited() => return Ended::Exited,
                    _ = &mut instance.events => return Ended::Disconnected,
                    () = self.trouble.notified() => TROUBLE_PROBE_TIMEOUT,
                    _ = probes.tick() => {
                        process::reap_leftovers();
                        PROBE_TIMEOUT
                    }
                }
            };
            let probed = tokio::select! {
                _ = stop.wait_for(|&stop| stop) => return Ended::Shutdown,
                () = instance.process.exited() => return Ended::Exited,
                probed = self.probe(&instance.live, timeout) => probed,
            };
            match probed {
                Ok(()) => failed = 0,
                Err(unanswered) => {
                    failed += 1;
                    tracing::warn!(
                        generation = instance.live.generation,
                        failed,
                        ?timeout,
                        unanswered,
                        "chromium probe failed"
                    );
                    if failed >= FAILED_PROBES_BEFORE_REPLACING {
                        return Ended::Unresponsive;
                    }
                }
            }
        }
    }

    /// Probes `live` within `timeout`: `Err` names what did not answer.
    async fn probe(&self, live: &Live, timeout: Duration) -> Result<(), &'static str> {
        if !live.connected.load(Ordering::Acquire) {
            return Err("the CDP connection");
        }
        let windows = self.pool.windows();
        let version = tokio::time::timeout(timeout, live.browser.version());
        // Only a timeout counts: a window closed or crashed meanwhile answers an error
        // at once, and its next render replaces it.
        let renderers = futures::future::join_all(
            windows
                .iter()
                .map(|page| tokio::time::timeout(timeout, page.execute(EvaluateParams::new("1")))),
        );
        let (version, renderers) = tokio::join!(version, renderers);
        if !matches!(version, Ok(Ok(_))) {
            return Err("the browser process");
        }
        if renderers.iter().any(Result::is_err) {
            return Err("a window's renderer");
        }
        Ok(())
    }
}
