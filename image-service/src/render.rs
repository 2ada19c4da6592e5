//! From a card key to a card: storage first, otherwise one render per key at a time,
//! within a bounded number of concurrent renders and a bounded wait queue.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::browser::Chromium;
use crate::error::RenderError;
use crate::jpeg;
use crate::storage::{PutOutcome, Storage, StorageKey, StoredImage};
use crate::telemetry::Metrics;

/// Limits on rendering work.
#[derive(Debug, Clone, Copy)]
pub struct RenderLimits {
    /// Renders running at once (one pooled page each).
    pub concurrency: usize,
    /// Renders allowed to wait for a free page; more are refused at once.
    pub queue: usize,
    /// Longest wait for a free page before a request is refused.
    pub queue_timeout: Duration,
    /// Longest single render (navigation, ready signal, screenshot).
    pub render_timeout: Duration,
    /// Memory for recently served stored cards (0 turns the hot cache off).
    pub hot_cache_bytes: u64,
    /// Answer a miss only once its card is stored. Required on AWS Lambda, which
    /// freezes the environment as soon as the response is sent, so a write left
    /// running after it might never finish; elsewhere the write follows the answer.
    pub store_before_answer: bool,
}

/// A freshly rendered, validated card and where its time went.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub image: StoredImage,
    pub queued: Duration,
    pub rendering: Duration,
    /// Rendered by this flight (not found stored by a concurrent one), so still to store.
    fresh: bool,
}

/// What a request for a card gets.
#[derive(Debug)]
pub enum CardOutcome {
    /// Served from storage.
    Hit(StoredImage),
    /// Rendered for this request (or a concurrent one for the same key).
    Rendered(Rendered),
    /// No card now; the caller answers with the fallback image.
    Failed(RenderError),
    /// Too much work queued; the caller answers 503.
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

type Flight = Shared<BoxFuture<'static, Result<Rendered, RenderError>>>;

/// Everything a miss needs, shared with the detached render tasks.
#[derive(Debug)]
struct Pipeline {
    hot: HotCards,
    storage: Arc<dyn Storage>,
    chromium: Arc<Chromium>,
    limits: RenderLimits,
    permits: Semaphore,
    waiting: AtomicUsize,
    metrics: Arc<Metrics>,
    in_flight: Mutex<HashMap<StorageKey, Flight>>,
}

/// Serves cards from storage and renders the missing ones.
#[derive(Debug, Clone)]
pub struct Cards {
    inner: Arc<Pipeline>,
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
                storage,
                chromium,
                permits: Semaphore::new(limits.concurrency.max(1)),
                limits,
                waiting: AtomicUsize::new(0),
                metrics,
                in_flight: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The card for `key`: stored, or rendered once however many ask at the same time.
    /// Also returns how long the storage lookup took.
    pub async fn card(&self, key: StorageKey) -> (CardOutcome, Duration) {
        let started = Instant::now();
        if let Some(image) = self.inner.hot.get(&key) {
            self.inner.metrics.hit();
            return (CardOutcome::Hit(image), started.elapsed());
        }
        match self.inner.storage.get(&key).await {
            Ok(Some(image)) => {
                self.inner.metrics.hit();
                self.inner.hot.insert(key, image.clone());
                return (CardOutcome::Hit(image), started.elapsed());
            }
            Ok(None) => {}
            // Storage being down must not stop crawlers from getting the card.
            Err(error) => tracing::error!(%error, "storage lookup failed; rendering instead"),
        }
        let storage_time = started.elapsed();
        let outcome = match self.join_flight(key.clone()).await {
            Ok(rendered) => {
                if self.inner.limits.store_before_answer {
                    self.stored(&key).await;
                }
                CardOutcome::Rendered(rendered)
            }
            Err(RenderError::Overloaded) => {
                self.inner.metrics.overloaded();
                CardOutcome::Overloaded
            }
            Err(error) => {
                self.inner.metrics.fallback();
                CardOutcome::Failed(error)
            }
        };
        (outcome, storage_time)
    }

    /// Waits until the flight of `key`, if any, has stored its card and retired.
    async fn stored(&self, key: &StorageKey) {
        while self
            .inner
            .in_flight
            .lock()
            .expect("in-flight lock")
            .contains_key(key)
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
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

    /// Joins the render of `key` already under way, or starts it.
    ///
    /// The render runs in its own task, so a crawler hanging up does not waste it, and
    /// its waiters are answered as soon as the card is validated; a second task then
    /// stores it and only afterwards retires the flight, so a request arriving while
    /// the card is being written joins the flight instead of rendering again.
    async fn join_flight(&self, key: StorageKey) -> Result<Rendered, RenderError> {
        let flight = {
            let mut in_flight = self.inner.in_flight.lock().expect("in-flight lock");
            in_flight
                .entry(key.clone())
                .or_insert_with(|| {
                    let span = tracing::Span::current();
                    let inner = Arc::clone(&self.inner);
                    let render_key = key.clone();
                    let render: Flight = tokio::spawn(
                        async move { inner.render(&render_key).await }.instrument(span.clone()),
                    )
                    .map(|joined| joined.unwrap_or_else(|e| Err(RenderError::Task(e.to_string()))))
                    .boxed()
                    .shared();
                    let inner = Arc::clone(&self.inner);
                    let rendered = render.clone();
                    tokio::spawn(
                        async move {
                            if let Ok(card) = rendered.await
                                && card.fresh
                            {
                                inner.store(&key, card.image).await;
                            }
                            inner.in_flight.lock().expect("in-flight lock").remove(&key);
                        }
                        .instrument(span),
                    );
                    render
                })
                .clone()
        };
        flight.await
    }
}

impl Pipeline {
    async fn render(&self, key: &StorageKey) -> Result<Rendered, RenderError> {
        // A concurrent request may have stored it between our lookup and this flight.
        if let Ok(Some(image)) = self.storage.get(key).await {
            return Ok(Rendered {
                image,
                queued: Duration::ZERO,
                rendering: Duration::ZERO,
                fresh: false,
            });
        }
        let queued_at = Instant::now();
        let _permit = self.admit().await?;
        let queued = queued_at.elapsed();
        let started = Instant::now();
        let path = render_site::card_page_path(key.id());
        let jpeg = self
            .chromium
            .screenshot(&path, self.limits.render_timeout)
            .await;
        let rendering = started.elapsed();
        let jpeg = jpeg.inspect_err(|error| tracing::warn!(%error, "render failed"))?;
        jpeg::validate_card(&jpeg)
            .inspect_err(|error| tracing::warn!(%error, "render rejected"))?;
        self.metrics.rendered();
        Ok(Rendered {
            image: StoredImage::from_jpeg(jpeg),
            queued,
            rendering,
            fresh: true,
        })
    }

    /// Waits for a render permit within the queue bounds.
    async fn admit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, RenderError> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.limits.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(RenderError::Overloaded);
        }
        let permit = tokio::time::timeout(self.limits.queue_timeout, self.permits.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match permit {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(RenderError::Overloaded),
        }
    }

    /// Stores a validated card. A failure is logged and the card still served: the
    /// next request renders again, which costs time but never correctness.
    async fn store(&self, key: &StorageKey, image: StoredImage) {
        match self.storage.put_if_absent(key, image.bytes.clone()).await {
            Ok(PutOutcome::Stored) => {
                tracing::info!("card stored");
                self.hot.insert(key.clone(), image);
            }
            Ok(PutOutcome::AlreadyExists) => tracing::info!("card was stored concurrently; kept"),
            Err(error) => tracing::error!(%error, "card could not be stored"),
        }
    }
}
