//! From a card key to a card: storage first, otherwise one render per key at a time,
//! within a bounded number of concurrent renders and a bounded wait queue.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
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

type Flight = Shared<BoxFuture<'static, Result<Rendered, RenderError>>>;

/// Everything a miss needs, shared with the detached render tasks.
#[derive(Debug)]
struct Pipeline {
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
        match self.inner.storage.get(&key).await {
            Ok(Some(image)) => {
                self.inner.metrics.hit();
                return (CardOutcome::Hit(image), started.elapsed());
            }
            Ok(None) => {}
            // Storage being down must not stop crawlers from getting the card.
            Err(error) => tracing::error!(%error, "storage lookup failed; rendering instead"),
        }
        let storage_time = started.elapsed();
        let outcome = match self.join_flight(key).await {
            Ok(rendered) => CardOutcome::Rendered(rendered),
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
                                inner.store(&key, card.image.bytes.clone()).await;
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
    async fn store(&self, key: &StorageKey, jpeg: Bytes) {
        match self.storage.put_if_absent(key, jpeg).await {
            Ok(PutOutcome::Stored) => tracing::info!("card stored"),
            Ok(PutOutcome::AlreadyExists) => tracing::info!("card was stored concurrently; kept"),
            Err(error) => tracing::error!(%error, "card could not be stored"),
        }
    }
}
