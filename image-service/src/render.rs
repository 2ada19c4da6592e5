//! From a card key to a card, within a response budget: storage first, otherwise one
//! render per key at a time, within a bounded number of concurrent renders and a
//! bounded wait queue.
//!
//! Every request has one deadline. The storage lookup gets a share of it, the wait for
//! the render the rest and, where the host needs it, the write too; when it runs out
//! the request is answered at once with what there is: a rendered card (stored or
//! not), else the fallback. Renders and writes run in tasks of their own, so a request
//! that gives up cancels nothing; locally they go on in the background, bounded by
//! their own timeouts, and what they produce serves the next request.

mod site_circuit;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument;

use crate::browser::{CardRequest, Chromium};
use crate::error::RenderError;
use crate::jpeg;
use crate::storage::{GuardedStorage, Lookup, Storage, StorageKey, Stored, StoredImage};
use crate::telemetry::Metrics;
use site_circuit::SiteCircuit;

/// The default response budget. Crawlers wait a few seconds for an image before they
/// cache the share without one; 3 s is inside that, and ten times a warm miss here
/// (0.1-0.3 s) plus a browser launch (0.5-1.4 s), so only a fault ever reaches it.
pub const DEFAULT_RESPONSE_BUDGET: Duration = Duration::from_secs(3);

/// The share of the budget a storage lookup may use: a third leaves the render two
/// seconds of a 3 s budget even when storage does not answer at all.
const LOOKUP_SHARE: u32 = 3;

/// Longest write of a card that is stored after its answer (off the request's path).
const STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a rendered card that storage refused is served from memory, and how much
/// memory such cards may hold (about 128 cards).
const UNSTORED_TTL: Duration = Duration::from_secs(300);
const UNSTORED_BYTES: u64 = 16 * 1024 * 1024;

/// Limits on rendering work.
#[derive(Debug, Clone, Copy)]
pub struct RenderLimits {
    /// Renders running at once (one pooled page each).
    pub concurrency: usize,
    /// Renders allowed to wait for a free page; more are refused at once.
    pub queue: usize,
    /// Longest wait for a free page before a request is refused.
    pub queue_timeout: Duration,
    /// Longest single render (navigation, ready signal, screenshot). It may exceed the
    /// budget: a render that outlives its answer is stored for the next request.
    pub render_timeout: Duration,
    /// Longest time from a card request to its answer, whatever storage, the browser
    /// or the render site do.
    pub response_budget: Duration,
    /// Memory for recently served stored cards (0 turns the hot cache off).
    pub hot_cache_bytes: u64,
    /// Answer a miss only once its card is stored (within the budget). Required on AWS
    /// Lambda, which freezes the environment as soon as the response is sent, so work
    /// left running after it might never finish; there renders are also bounded by the
    /// request's budget. Elsewhere the write follows the answer.
    pub store_before_answer: bool,
}

/// A freshly rendered, validated card and where its time went.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub image: StoredImage,
    pub queued: Duration,
    pub rendering: Duration,
    /// Known not to be stored: its write, awaited before the answer, failed.
    pub unstored: bool,
}

/// What a request for a card gets.
#[derive(Debug)]
pub enum CardOutcome {
    /// Served from storage.
    Hit(StoredImage),
    /// Rendered for this request (or a concurrent one for the same key).
    Rendered(Rendered),
    /// Rendered earlier, refused by storage, kept in memory for a while.
    Unstored(StoredImage),
    /// No card now; the caller answers with the fallback image.
    Failed(RenderError),
    /// The render queue is full; the caller answers with the default image, uncached.
    Overloaded,
}

/// Cards recently read from or written to storage, kept in memory so that a viral
/// card's hits cost neither a file read nor an S3 round trip. It only ever holds cards
/// that are stored, so a hit from it is a hit on storage.
type HotCards = quick_cache::sync::Cache<StorageKey, StoredImage, ByteWeight>;

/// A typical card's size, to size the hot cache's index.
const AVERAGE_CARD_BYTES: u64 = 128 * 1024;

#[derive(Debug, Clone, Copy)]
struct ByteWeight;

impl quick_cache::Weighter<StorageKey, StoredImage> for ByteWeight {
    fn weight(&self, _key: &StorageKey, image: &StoredImage) -> u64 {
        image.bytes.len() as u64
    }
}

/// Cards rendered but refused by storage, with when they were rendered; read only
/// within [`UNSTORED_TTL`] of that.
type UnstoredCards = quick_cache::sync::Cache<StorageKey, (StoredImage, Instant), ByteWeight>;

impl quick_cache::Weighter<StorageKey, (StoredImage, Instant)> for ByteWeight {
    fn weight(&self, _key: &StorageKey, (image, _): &(StoredImage, Instant)) -> u64 {
        image.bytes.len() as u64
    }
}

type RenderFuture = Shared<BoxFuture<'static, Result<Rendered, RenderError>>>;
type StoreFuture = Shared<BoxFuture<'static, Option<Stored>>>;

/// One render of one key and its write, joined by every request for the key meanwhile.
#[derive(Clone)]
struct Flight {
    render: RenderFuture,
    /// What became of the write; `None` when there was no card to write.
    stored: StoreFuture,
    /// Set when a request that waited for the write was answered without it.
    abandoned: Arc<AtomicBool>,
}

impl std::fmt::Debug for Flight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flight").finish_non_exhaustive()
    }
}

/// Everything a miss needs, shared with the detached render tasks.
#[derive(Debug)]
struct Pipeline {
    hot: HotCards,
    unstored: UnstoredCards,
    storage: Arc<GuardedStorage>,
    chromium: Arc<Chromium>,
    limits: RenderLimits,
    permits: Semaphore,
    waiting: AtomicUsize,
    metrics: Arc<Metrics>,
    in_flight: Mutex<HashMap<StorageKey, Flight>>,
    /// Whether renders are refused at once because the render site keeps failing.
    site: Arc<SiteCircuit>,
}

/// Serves cards from storage and renders the missing ones.
#[derive(Debug, Clone)]
pub struct Cards {
    inner: Arc<Pipeline>,
}

/// What [`Cards::ensure_stored`] made of one key.
#[derive(Debug)]
pub enum Ensured {
    /// It was stored already.
    AlreadyStored,
    /// Rendered and stored now.
    Stored,
    /// Rendered, but the write failed: it is not stored.
    StoreFailed(String),
    /// No card.
    Failed(RenderError),
}

/// How a request joined the work for its key.
enum Joined {
    Flight(Flight),
    /// A concurrent flight stored the card between this request's lookup and now.
    Hot(StoredImage),
}

impl Cards {
    pub fn new(
        storage: Arc<dyn Storage>,
        chromium: Arc<Chromium>,
        limits: RenderLimits,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            inner: Arc::new(Pipeline {
                hot: HotCards::with_weighter(
                    (limits.hot_cache_bytes / AVERAGE_CARD_BYTES).max(1) as usize,
                    limits.hot_cache_bytes,
                    ByteWeight,
                ),
                unstored: UnstoredCards::with_weighter(
                    (UNSTORED_BYTES / AVERAGE_CARD_BYTES) as usize,
                    UNSTORED_BYTES,
                    ByteWeight,
                ),
                storage: GuardedStorage::new(storage, Arc::clone(&metrics)),
                site: Arc::new(SiteCircuit::new(chromium.origin(), Arc::clone(&metrics))),
                chromium,
                permits: Semaphore::new(limits.concurrency.max(1)),
                limits,
                waiting: AtomicUsize::new(0),
                metrics,
                in_flight: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The configured limits.
    pub fn limits(&self) -> &RenderLimits {
        &self.inner.limits
    }

    /// Whether storage lookups are being skipped because they keep failing.
    pub fn storage_circuit_open(&self) -> bool {
        self.inner.storage.is_open()
    }

    /// Whether storage writes are being skipped because they keep failing.
    pub fn storage_write_circuit_open(&self) -> bool {
        self.inner.storage.writes_open()
    }

    /// Whether renders are refused because the render site keeps failing.
    pub fn render_site_circuit_open(&self) -> bool {
        self.inner.site.is_open()
    }

    /// The card for `key`, answered by `deadline`: stored, or rendered once however
    /// many ask at the same time. Also returns how long the storage lookup took.
    pub async fn card(&self, key: StorageKey, deadline: Instant) -> (CardOutcome, Duration) {
        let inner = &self.inner;
        let started = Instant::now();
        if let Some(image) = inner.hot.get(&key) {
            inner.metrics.hit();
            return (CardOutcome::Hit(image), started.elapsed());
        }
        if let Some(image) = inner.unstored_card(&key) {
            inner.metrics.unstored_served();
            return (CardOutcome::Unstored(image), started.elapsed());
        }
        let budget = deadline.saturating_duration_since(started);
        let lookup_deadline = deadline.min(started + budget / LOOKUP_SHARE);
        if let Lookup::Found(image) = inner.storage.lookup(&key, lookup_deadline).await {
            inner.metrics.hit();
            inner.hot.insert(key, image.clone());
            return (CardOutcome::Hit(image), started.elapsed());
        }
        let storage_time = started.elapsed();
        let flight = match self.join_flight(&key, deadline) {
            Joined::Hot(image) => {
                inner.metrics.hit();
                return (CardOutcome::Hit(image), storage_time);
            }
            Joined::Flight(flight) => flight,
        };
        let outcome = match tokio::time::timeout_at(deadline, flight.render).await {
            Ok(Ok(mut rendered)) => {
                if inner.limits.store_before_answer {
                    match tokio::time::timeout_at(deadline, flight.stored).await {
                        Ok(Some(Stored::Failed(_))) => rendered.unstored = true,
                        Ok(_) => {}
                        Err(_) => {
                            // The card is good, only unstored: answer it; the next
                            // request renders it again.
                            flight.abandoned.store(true, Ordering::Release);
                            tracing::warn!(
                                "budget ran out while storing; answering the card unstored"
                            );
                            inner.metrics.over_budget();
                        }
                    }
                }
                CardOutcome::Rendered(rendered)
            }
            Ok(Err(RenderError::Overloaded)) => {
                inner.metrics.overloaded();
                CardOutcome::Overloaded
            }
            Ok(Err(error)) => {
                inner.metrics.fallback();
                CardOutcome::Failed(error)
            }
            Err(_) => {
                tracing::warn!(
                    ?budget,
                    "budget ran out before the card was ready; fallback"
                );
                inner.metrics.over_budget();
                inner.metrics.fallback();
                CardOutcome::Failed(RenderError::OverBudget(budget))
            }
        };
        (outcome, storage_time)
    }

    /// Renders and stores `key` unless it is stored, waiting as long as the render and
    /// the write take (no response budget: nobody is waiting), and says what happened,
    /// including a write that failed.
    pub async fn ensure_stored(&self, key: StorageKey) -> Ensured {
        let inner = &self.inner;
        let patient = Instant::now()
            + inner.limits.queue_timeout
            + inner.limits.render_timeout
            + STORE_TIMEOUT;
        match inner.storage.lookup(&key, patient).await {
            Lookup::Found(_) => return Ensured::AlreadyStored,
            Lookup::Absent | Lookup::Failed | Lookup::Skipped => {}
        }
        let flight = match self.join_flight(&key, patient) {
            Joined::Hot(_) => return Ensured::AlreadyStored,
            Joined::Flight(flight) => flight,
        };
        match flight.render.await {
            Ok(_) => match flight.stored.await {
                Some(Stored::Written) => Ensured::Stored,
                Some(Stored::AlreadyThere) => Ensured::AlreadyStored,
                Some(Stored::Failed(why)) => Ensured::StoreFailed(why),
                None => Ensured::StoreFailed("the card was not written".to_owned()),
            },
            Err(error) => Ensured::Failed(error),
        }
    }

    /// Waits until no render is in flight: every card rendered so far is stored (or
    /// its write failed and was logged). For shutdown, drills and tests.
    pub async fn settled(&self) {
        while !self
            .inner
            .in_flight
            .lock()
            .expect("in-flight lock")
            .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Joins the render of `key` already under way, or starts it; `deadline` is the
    /// starting request's, which bounds the render only where the host freezes after
    /// answering.
    ///
    /// The render runs in its own task, so a crawler hanging up (or its budget running
    /// out) does not waste it, and its waiters are answered as soon as the card is
    /// validated; a second task then stores it and only afterwards retires the flight,
    /// so a request arriving while the card is being written joins the flight instead
    /// of rendering again.
    fn join_flight(&self, key: &StorageKey, deadline: Instant) -> Joined {
        let mut in_flight = self.inner.in_flight.lock().expect("in-flight lock");
        if let Some(flight) = in_flight.get(key) {
            return Joined::Flight(flight.clone());
        }
        // A flight stores its card in the hot cache before it retires, under this lock.
        if let Some(image) = self.inner.hot.get(key) {
            return Joined::Hot(image);
        }
        let span = tracing::Span::current();
        let inner = Arc::clone(&self.inner);
        let render_key = key.clone();
        let render: RenderFuture = tokio::spawn(
            async move { inner.render(&render_key, deadline).await }.instrument(span.clone()),
        )
        .map(|joined| joined.unwrap_or_else(|e| Err(RenderError::Task(e.to_string()))))
        .boxed()
        .shared();
        let inner = Arc::clone(&self.inner);
        let store_key = key.clone();
        let rendered = render.clone();
        let abandoned = Arc::new(AtomicBool::new(false));
        let store_abandoned = Arc::clone(&abandoned);
        let stored: StoreFuture = tokio::spawn(
            async move {
                let stored = match rendered.await {
                    Ok(card) => Some(inner.store(&store_key, card.image, &store_abandoned).await),
                    Err(_) => None,
                };
                inner
                    .in_flight
                    .lock()
                    .expect("in-flight lock")
                    .remove(&store_key);
                stored
            }
            .instrument(span),
        )
        .map(|joined| joined.unwrap_or(None))
        .boxed()
        .shared();
        let flight = Flight {
            render,
            stored,
            abandoned,
        };
        in_flight.insert(key.clone(), flight.clone());
        Joined::Flight(flight)
    }
}

impl Pipeline {
    async fn render(
        self: &Arc<Self>,
        key: &StorageKey,
        requested_by: Instant,
    ) -> Result<Rendered, RenderError> {
        let queued_at = Instant::now();
        let mut deadline = queued_at + self.limits.queue_timeout + self.limits.render_timeout;
        if self.limits.store_before_answer {
            deadline = deadline.min(requested_by);
        }
        if self.site.is_open() {
            return Err(RenderError::RenderSiteDown);
        }
        let _permit = self.admit(deadline).await?;
        // The circuit may have opened while this render waited.
        if self.site.is_open() {
            return Err(RenderError::RenderSiteDown);
        }
        let queued = queued_at.elapsed();
        let started = Instant::now();
        let card = CardRequest {
            design: key.design(),
            id: key.id(),
        };
        let render_deadline = deadline.min(started + self.limits.render_timeout);
        let jpeg = self.chromium.screenshot(card, render_deadline).await;
        self.site.record_site(&jpeg);
        let rendering = started.elapsed();
        let jpeg = jpeg.inspect_err(|error| {
            tracing::warn!(%error, "render failed");
            if matches!(error, RenderError::TextNotDrawn(_)) {
                self.metrics.text_not_drawn();
            }
        })?;
        jpeg::validate_card(&jpeg).inspect_err(|error| {
            tracing::warn!(%error, "render rejected");
            if matches!(error, jpeg::JpegRejection::TooLarge { .. }) {
                self.metrics.card_too_large();
            }
        })?;
        self.metrics.rendered();
        Ok(Rendered {
            image: StoredImage::from_jpeg(jpeg),
            queued,
            rendering,
            unstored: false,
        })
    }

    /// A card that storage refused, if it was rendered recently enough.
    fn unstored_card(&self, key: &StorageKey) -> Option<StoredImage> {
        let (image, rendered_at) = self.unstored.get(key)?;
        if rendered_at.elapsed() < UNSTORED_TTL {
            Some(image)
        } else {
            self.unstored.remove(key);
            None
        }
    }

    /// Waits for a render permit within the queue bounds.
    async fn admit(
        &self,
        deadline: Instant,
    ) -> Result<tokio::sync::SemaphorePermit<'_>, RenderError> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.limits.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(RenderError::Overloaded);
        }
        let wait_until = deadline.min(Instant::now() + self.limits.queue_timeout);
        let permit = tokio::time::timeout_at(wait_until, self.permits.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match permit {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(RenderError::QueueTimeout(self.limits.queue_timeout)),
        }
    }

    /// Stores a validated card (a failure is logged and counted by the guard, and the
    /// card still served) and keeps it hot once stored, or among the unstored cards
    /// when storage refused it.
    async fn store(&self, key: &StorageKey, image: StoredImage, abandoned: &AtomicBool) -> Stored {
        let deadline = Instant::now() + STORE_TIMEOUT;
        let stored = self
            .storage
            .store(key, image.bytes.clone(), deadline, abandoned)
            .await;
        match &stored {
            Stored::Written => {
                tracing::info!("card stored");
                self.hot.insert(key.clone(), image);
            }
            Stored::AlreadyThere => tracing::info!("card was stored concurrently; kept"),
            Stored::Failed(_) => self.unstored.insert(key.clone(), (image, Instant::now())),
        }
        stored
    }
}
