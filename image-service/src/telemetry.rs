//! Logs and counters: plain logs locally, JSON logs and CloudWatch Embedded Metric
//! Format lines on Lambda. The log subscriber and its redactor are app-host's, shared
//! with the other apps and re-exported here; every line passes the redactor, so no
//! secret the service holds (the render token, the render site's session cookie) is
//! ever written, at any `RUST_LOG` level.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

pub use app_host::{
    CapturedLogs, DEFAULT_FILTER, REDACTED, Redacting, RedactingWriter, init_tracing,
    redact_from_logs, redacted, subscriber,
};

/// Counters of what the service did since it started.
#[derive(Debug, Default)]
pub struct Metrics {
    renders: AtomicU64,
    hits: AtomicU64,
    fallbacks: AtomicU64,
    overloaded: AtomicU64,
    defaults: AtomicU64,
    browser_relaunches: AtomicU64,
    over_budget: AtomicU64,
    storage_errors: AtomicU64,
    store_failures: AtomicU64,
    storage_circuit_opens: AtomicU64,
    storage_write_circuit_opens: AtomicU64,
    render_site_circuit_opens: AtomicU64,
    unstored_served: AtomicU64,
    text_not_drawn: AtomicU64,
    cards_too_large: AtomicU64,
    /// Set on Lambda, to the function's name: each count is also printed as an EMF line
    /// for CloudWatch, with that name as its dimension.
    emf: Option<String>,
}

/// A snapshot of [`Metrics`], as served by `/healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub renders: u64,
    pub hits: u64,
    pub fallbacks: u64,
    pub overloaded: u64,
    pub defaults: u64,
    pub browser_relaunches: u64,
    /// Answers given when the response budget ran out (a fallback, or a card answered
    /// before it was stored).
    pub over_budget: u64,
    /// Storage calls that failed or timed out (lookups, writes, probes).
    pub storage_errors: u64,
    /// Rendered cards that could not be stored (a failed write, or storage
    /// unavailable); each is logged with its key and rendered again when next asked for.
    pub store_failures: u64,
    /// Times repeated failed lookups opened the read circuit.
    pub storage_circuit_opens: u64,
    /// Times repeated failed writes opened the write circuit.
    pub storage_write_circuit_opens: u64,
    /// Times repeated failed renders opened the render site's circuit.
    pub render_site_circuit_opens: u64,
    /// Answers with a card that is rendered but could not be stored, kept in memory.
    pub unstored_served: u64,
    /// Renders refused at the capture because the card's text was not drawable (a face
    /// still loading, text not laid out): each answered with the fallback, never stored.
    pub text_not_drawn: u64,
    /// Renders refused because the card was over the byte budget (`jpeg::MAX_CARD_BYTES`)
    /// even at the lowest JPEG quality: each answered with the fallback, never stored.
    pub cards_too_large: u64,
}

/// CloudWatch namespace of the EMF metrics; infra's alarms read the same name.
pub const METRICS_NAMESPACE: &str = "ogshot/image-service";

impl Metrics {
    /// Counters; with `emf`, each event is also printed as an EMF line, with the
    /// function's name (`AWS_LAMBDA_FUNCTION_NAME`) as its dimension, so two stacks in
    /// one account keep separate metrics and their alarms separate figures.
    pub fn new(emf: bool) -> Self {
        Self {
            emf: emf.then(|| app_host::emf_function_name("image-service")),
            ..Self::default()
        }
    }

    fn bump(&self, counter: &AtomicU64, name: &'static str) {
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(function_name) = &self.emf {
            let record = app_host::emf_record(METRICS_NAMESPACE, function_name, &[(name, 1)]);
            println!("{record}");
        }
    }

    pub fn rendered(&self) {
        self.bump(&self.renders, "Renders");
    }
    pub fn hit(&self) {
        self.bump(&self.hits, "Hits");
    }
    pub fn fallback(&self) {
        self.bump(&self.fallbacks, "Fallbacks");
    }
    pub fn overloaded(&self) {
        self.bump(&self.overloaded, "Overloaded");
    }
    pub fn default_image(&self) {
        self.bump(&self.defaults, "Defaults");
    }
    pub fn browser_relaunched(&self) {
        self.bump(&self.browser_relaunches, "BrowserRelaunches");
    }
    pub fn over_budget(&self) {
        self.bump(&self.over_budget, "OverBudget");
    }
    pub fn storage_error(&self) {
        self.bump(&self.storage_errors, "StorageErrors");
    }
    pub fn store_failed(&self) {
        self.bump(&self.store_failures, "StoreFailures");
    }
    pub fn storage_circuit_opened(&self) {
        self.bump(&self.storage_circuit_opens, "StorageCircuitOpens");
    }
    pub fn storage_write_circuit_opened(&self) {
        self.bump(
            &self.storage_write_circuit_opens,
            "StorageWriteCircuitOpens",
        );
    }
    pub fn render_site_circuit_opened(&self) {
        self.bump(&self.render_site_circuit_opens, "RenderSiteCircuitOpens");
    }
    pub fn unstored_served(&self) {
        self.bump(&self.unstored_served, "UnstoredServed");
    }
    pub fn text_not_drawn(&self) {
        self.bump(&self.text_not_drawn, "TextNotDrawn");
    }
    pub fn card_too_large(&self) {
        self.bump(&self.cards_too_large, "CardsTooLarge");
    }

    /// The counters now.
    pub fn counts(&self) -> Counts {
        Counts {
            renders: self.renders.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
            overloaded: self.overloaded.load(Ordering::Relaxed),
            defaults: self.defaults.load(Ordering::Relaxed),
            browser_relaunches: self.browser_relaunches.load(Ordering::Relaxed),
            over_budget: self.over_budget.load(Ordering::Relaxed),
            storage_errors: self.storage_errors.load(Ordering::Relaxed),
            store_failures: self.store_failures.load(Ordering::Relaxed),
            storage_circuit_opens: self.storage_circuit_opens.load(Ordering::Relaxed),
            storage_write_circuit_opens: self.storage_write_circuit_opens.load(Ordering::Relaxed),
            render_site_circuit_opens: self.render_site_circuit_opens.load(Ordering::Relaxed),
            unstored_served: self.unstored_served.load(Ordering::Relaxed),
            text_not_drawn: self.text_not_drawn.load(Ordering::Relaxed),
            cards_too_large: self.cards_too_large.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count() {
        let metrics = Metrics::new(false);
        metrics.rendered();
        metrics.hit();
        metrics.hit();
        metrics.fallback();
        metrics.browser_relaunched();
        let counts = metrics.counts();
        assert_eq!(
            (
                counts.renders,
                counts.hits,
                counts.fallbacks,
                counts.browser_relaunches
            ),
            (1, 2, 1, 1)
        );
    }
}
