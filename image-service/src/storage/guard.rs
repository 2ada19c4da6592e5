//! Storage that fails fast: every call is bounded by a deadline, and repeated failures
//! open a circuit, so a storage backend that is down or slow costs a request at most
//! its share of the budget, and then nothing at all until it answers again.
//!
//! While the circuit is open, lookups are skipped (the card is rendered, as for a
//! miss) and writes are not attempted (counted and logged as store failures); a probe
//! runs every [`CIRCUIT_PROBE_INTERVAL`], off every request's path, and the first answer closes
//! the circuit. Cards in the hot cache never touch storage, so they are served at
//! normal speed throughout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use shared_ids::{CURRENT_DESIGN, SocialId};
use tokio::time::Instant;

use super::{PutOutcome, Storage, StorageKey, StoredImage};
use crate::telemetry::Metrics;

/// Consecutive failures that open the circuit: one failure may be a blip, three in a
/// row at these timeouts mean storage is down or too slow for a crawler.
pub const CIRCUIT_OPEN_AFTER: u32 = 3;

/// How often an open circuit probes storage.
pub const CIRCUIT_PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// Longest probe; a slower answer counts as no answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    Found(StoredImage),
    Absent,
    /// Storage failed or did not answer in time; the card is to be rendered.
    Failed,
    /// The circuit is open: storage was not asked.
    Skipped,
}

/// What became of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Written now.
    Written,
    /// A card was already stored under the key and was kept.
    AlreadyThere,
    /// Not stored: the write failed, timed out or was not attempted. Logged and counted.
    Failed(String),
}

/// A [`Storage`] backend behind deadlines and a circuit breaker.
#[derive(Debug)]
pub struct GuardedStorage {
    inner: Arc<dyn Storage>,
    metrics: Arc<Metrics>,
    circuit: Mutex<Circuit>,
}

#[derive(Debug, Default)]
struct Circuit {
    consecutive_failures: u32,
    open: bool,
}

impl GuardedStorage {
    pub fn new(inner: Arc<dyn Storage>, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            metrics,
            circuit: Mutex::new(Circuit::default()),
        })
    }

    /// Whether the circuit is open (storage is being skipped).
    pub fn is_open(&self) -> bool {
        self.circuit.lock().expect("circuit lock").open
    }

    /// The card under `key`, asked for until `deadline` at most.
    pub async fn lookup(self: &Arc<Self>, key: &StorageKey, deadline: Instant) -> Lookup {
        if self.is_open() {
            return Lookup::Skipped;
        }
        match tokio::time::timeout_at(deadline, self.inner.get(key)).await {
            Ok(Ok(found)) => {
                self.succeeded();
                found.map_or(Lookup::Absent, Lookup::Found)
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "storage lookup failed; rendering instead");
                self.failed();
                Lookup::Failed
            }
            Err(_) => {
                tracing::warn!(%key, "storage lookup timed out; rendering instead");
                self.failed();
                Lookup::Failed
            }
        }
    }

    /// Stores `jpeg` under `key` unless a card is there, giving up at `deadline`. A
    /// backend write is all or nothing (a renamed temporary file, a single S3 PUT), so
    /// giving up never leaves a partial card.
    pub async fn store(
        self: &Arc<Self>,
        key: &StorageKey,
        jpeg: Bytes,
        deadline: Instant,
    ) -> Stored {
        let failed = |why: String| {
            tracing::error!(%key, why, "card not stored; it is rendered again when next asked for");
            self.metrics.store_failed();
            Stored::Failed(why)
        };
        if self.is_open() {
            return failed("storage is unavailable (circuit open)".to_owned());
        }
        match tokio::time::timeout_at(deadline, self.inner.put_if_absent(key, jpeg)).await {
            Ok(Ok(outcome)) => {
                self.succeeded();
                match outcome {
                    PutOutcome::Stored => Stored::Written,
                    PutOutcome::AlreadyExists => Stored::AlreadyThere,
                }
            }
            Ok(Err(error)) => {
                self.failed();
                failed(error.to_string())
            }
            Err(_) => {
                self.failed();
                failed("the write timed out".to_owned())
            }
        }
    }

    fn succeeded(&self) {
        let mut circuit = self.circuit.lock().expect("circuit lock");
        circuit.consecutive_failures = 0;
        if circuit.open {
            circuit.open = false;
            tracing::info!("storage answers again; circuit closed");
        }
    }

    fn failed(self: &Arc<Self>) {
        self.metrics.storage_error();
        let opened = {
            let mut circuit = self.circuit.lock().expect("circuit lock");
            circuit.consecutive_failures += 1;
            let opens = !circuit.open && circuit.consecutive_failures >= CIRCUIT_OPEN_AFTER;
            circuit.open |= opens;
            opens
        };
        if opened {
            tracing::error!(
                failures = CIRCUIT_OPEN_AFTER,
                "storage keeps failing; circuit open: lookups skipped, writes not attempted"
            );
            self.metrics.storage_circuit_opened();
            tokio::spawn(Arc::clone(self).probe_until_closed());
        }
    }

    /// Probes storage every [`CIRCUIT_PROBE_INTERVAL`] until it answers, then closes the circuit.
    async fn probe_until_closed(self: Arc<Self>) {
        let id = SocialId::parse("00-00-00").expect("a valid id");
        let key = StorageKey::new(CURRENT_DESIGN, id);
        while self.is_open() {
            tokio::time::sleep(CIRCUIT_PROBE_INTERVAL).await;
            match tokio::time::timeout(PROBE_TIMEOUT, self.inner.get(&key)).await {
                Ok(Ok(_)) => self.succeeded(),
                Ok(Err(error)) => {
                    tracing::debug!(%error, "storage probe failed");
                    self.metrics.storage_error();
                }
                Err(_) => {
                    tracing::debug!("storage probe timed out");
                    self.metrics.storage_error();
                }
            }
        }
    }
}
