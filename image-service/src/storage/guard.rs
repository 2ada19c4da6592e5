//! Storage that fails fast: every call is bounded by a deadline, and repeated failures
//! open a circuit, so a storage backend that is down or slow costs a request at most
//! its share of the budget, and then nothing at all until it answers again.
//!
//! Reads and writes have a circuit each, since storage can fail one way only (a bucket
//! policy or a full disk refusing writes while reads work). While the read circuit is
//! open, lookups are skipped (the card is rendered, as for a miss); while the write
//! circuit is open, writes are not attempted (counted and logged as store failures).
//! Each open circuit is probed every [`CIRCUIT_PROBE_INTERVAL`], off every request's
//! path, in its own way: a read of a card key, or a create-only write of the backend's
//! sentinel. Cards in the hot cache never touch storage, so they are served at normal
//! speed throughout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use shared_ids::{CURRENT_DESIGN, SocialId};
use tokio::time::Instant;

use super::{PutOutcome, Storage, StorageError, StorageKey, StoredImage};
use crate::circuit::{Change, Circuit};
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

/// A [`Storage`] backend behind deadlines and a circuit breaker for each direction.
#[derive(Debug)]
pub struct GuardedStorage {
    inner: Arc<dyn Storage>,
    metrics: Arc<Metrics>,
    reads: Circuit,
    writes: Circuit,
}

/// Which of storage's two circuits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Read,
    Write,
}

impl GuardedStorage {
    pub fn new(inner: Arc<dyn Storage>, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            metrics,
            reads: Circuit::new("storage reads", CIRCUIT_OPEN_AFTER),
            writes: Circuit::new("storage writes", CIRCUIT_OPEN_AFTER),
        })
    }

    /// Whether lookups are being skipped.
    pub fn is_open(&self) -> bool {
        self.reads.is_open()
    }

    /// Whether writes are being skipped.
    pub fn writes_open(&self) -> bool {
        self.writes.is_open()
    }

    fn circuit(&self, direction: Direction) -> &Circuit {
        match direction {
            Direction::Read => &self.reads,
            Direction::Write => &self.writes,
        }
    }

    /// The card under `key`, asked for until `deadline` at most.
    pub async fn lookup(self: &Arc<Self>, key: &StorageKey, deadline: Instant) -> Lookup {
        if self.is_open() {
            return Lookup::Skipped;
        }
        match tokio::time::timeout_at(deadline, self.inner.get(key)).await {
            Ok(Ok(found)) => {
                self.reads.succeeded();
                found.map_or(Lookup::Absent, Lookup::Found)
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "storage lookup failed; rendering instead");
                self.failed(Direction::Read);
                Lookup::Failed
            }
            Err(_) => {
                tracing::warn!(%key, "storage lookup timed out; rendering instead");
                self.failed(Direction::Read);
                Lookup::Failed
            }
        }
    }

    /// Stores `jpeg` under `key` unless a card is there, giving up at `deadline`. A
    /// backend write is all or nothing (a renamed temporary file, a single S3 PUT), so
    /// giving up never leaves a partial card.
    ///
    /// `abandoned` is set when the request that waited for this write was answered
    /// without it on a host that freezes after answering (Lambda): such a write may
    /// have been frozen with the environment, so its timeout says nothing of storage
    /// and does not count towards the circuit.
    pub async fn store(
        self: &Arc<Self>,
        key: &StorageKey,
        jpeg: Bytes,
        deadline: Instant,
        abandoned: &AtomicBool,
    ) -> Stored {
        let failed = |why: String| {
            tracing::error!(%key, why, "card not stored; it is rendered again when next asked for");
            self.metrics.store_failed();
            Stored::Failed(why)
        };
        if self.writes.is_open() {
            return failed("storage refuses writes (write circuit open)".to_owned());
        }
        match tokio::time::timeout_at(deadline, self.inner.put_if_absent(key, jpeg)).await {
            Ok(Ok(outcome)) => {
                self.writes.succeeded();
                match outcome {
                    PutOutcome::Stored => Stored::Written,
                    PutOutcome::AlreadyExists => Stored::AlreadyThere,
                }
            }
            Ok(Err(error)) => {
                self.failed(Direction::Write);
                failed(error.to_string())
            }
            Err(_) if abandoned.load(Ordering::Acquire) => {
                failed("the write outlived its answer and timed out (not counted)".to_owned())
            }
            Err(_) => {
                self.failed(Direction::Write);
                failed("the write timed out".to_owned())
            }
        }
    }

    fn failed(self: &Arc<Self>, direction: Direction) {
        self.metrics.storage_error();
        if self.circuit(direction).failed() == Change::Opened {
            match direction {
                Direction::Read => self.metrics.storage_circuit_opened(),
                Direction::Write => self.metrics.storage_write_circuit_opened(),
            }
            tokio::spawn(Arc::clone(self).probe_until_closed(direction));
        }
    }

    /// Probes one direction every [`CIRCUIT_PROBE_INTERVAL`] until it answers, then
    /// closes its circuit. A probe that outlasts its timeout is waited for by the next
    /// round instead of being started again, so a hung disk holds one blocking thread,
    /// not one more every round.
    async fn probe_until_closed(self: Arc<Self>, direction: Direction) {
        let mut pending = None;
        while self.circuit(direction).is_open() {
            tokio::time::sleep(CIRCUIT_PROBE_INTERVAL).await;
            let mut probe = pending.take().unwrap_or_else(|| {
                let storage = Arc::clone(&self.inner);
                tokio::spawn(probe(storage, direction))
            });
            match tokio::time::timeout(PROBE_TIMEOUT, &mut probe).await {
                Ok(Ok(Ok(()))) => {
                    self.circuit(direction).succeeded();
                }
                Ok(Ok(Err(error))) => {
                    tracing::debug!(%error, ?direction, "storage probe failed");
                    self.metrics.storage_error();
                }
                Ok(Err(join)) => {
                    tracing::warn!(%join, ?direction, "storage probe stopped");
                    self.metrics.storage_error();
                }
                Err(_) => {
                    tracing::debug!(?direction, "storage probe timed out");
                    self.metrics.storage_error();
                    pending = Some(probe);
                }
            }
        }
    }
}

/// One probe of storage in `direction`: a read of a card key (absent or not, an answer
/// is what counts), or a create-only write of the backend's sentinel.
async fn probe(storage: Arc<dyn Storage>, direction: Direction) -> Result<(), StorageError> {
    match direction {
        Direction::Read => {
            let id = SocialId::parse("00-00-00").expect("a valid id");
            storage
                .get(&StorageKey::new(CURRENT_DESIGN, id))
                .await
                .map(drop)
        }
        Direction::Write => storage.probe_write().await,
    }
}
