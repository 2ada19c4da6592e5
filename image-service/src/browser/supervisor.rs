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
use std::sync::atomic::Ordering;
use std::time::Duration;

use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;

use super::launch;
use super::pool::{Instance, Live, Shared};

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

impl Shared {
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
            self.idle.lock().expect("idle pool lock").clear();
            instance.events.abort();
            instance.process.kill_tree().await;
            if ended == Ended::Shutdown {
                return;
            }
            self.windows.lock().expect("windows lock").clear();
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
                        launch::reap_leftovers();
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
        let windows = self.windows.lock().expect("windows lock").clone();
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
