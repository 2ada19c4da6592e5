//! The supervisor: a task of its own, which no request can cancel, that watches the
//! browser (process exit, CDP disconnect, a health probe every few seconds and whenever
//! a render reports trouble) and, when it is dead or hung, kills its whole process tree,
//! reaps it and launches a new one. Requests never do any of that: they wait, inside
//! their own deadline, for a browser that is up.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::launch;
use super::pool::{Instance, Live, Shared};

/// How long a health probe (`Browser.getVersion`, answered by the browser process even
/// while every renderer is busy) may take before the browser counts as hung.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

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
        loop {
            let probe_now = tokio::select! {
                _ = stop.wait_for(|&stop| stop) => return Ended::Shutdown,
                () = instance.process.exited() => return Ended::Exited,
                _ = &mut instance.events => return Ended::Disconnected,
                () = self.trouble.notified() => true,
                _ = probes.tick() => {
                    launch::reap_crash_handlers();
                    true
                }
            };
            if probe_now && !responsive(&instance.live).await {
                return Ended::Unresponsive;
            }
        }
    }
}

/// Whether the browser answers a probe in time.
async fn responsive(live: &Live) -> bool {
    live.connected.load(Ordering::Acquire)
        && matches!(
            tokio::time::timeout(PROBE_TIMEOUT, live.browser.version()).await,
            Ok(Ok(_))
        )
}
