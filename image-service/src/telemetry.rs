//! Logs and counters: plain logs locally, JSON logs and CloudWatch Embedded Metric
//! Format lines on Lambda.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tracing_subscriber::EnvFilter;

/// Installs the global log subscriber: JSON on Lambda (CloudWatch indexes its fields),
/// the readable format elsewhere. `RUST_LOG` overrides the default filter.
pub fn init_tracing(json: bool) {
    // chromiumoxide warns about every CDP event newer than its protocol tables; they
    // are dropped harmlessly and would drown the service's own lines.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,chromiumoxide::handler=error"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
}

/// Counters of what the service did since it started.
#[derive(Debug, Default)]
pub struct Metrics {
    renders: AtomicU64,
    hits: AtomicU64,
    fallbacks: AtomicU64,
    overloaded: AtomicU64,
    defaults: AtomicU64,
    browser_relaunches: AtomicU64,
    /// Set on Lambda: each count is also printed as an EMF line for CloudWatch.
    emf: bool,
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
}

/// CloudWatch namespace of the EMF metrics; infra's alarms read the same name.
pub const METRICS_NAMESPACE: &str = "ogshot/image-service";

impl Metrics {
    pub fn new(emf: bool) -> Self {
        Self {
            emf,
            ..Self::default()
        }
    }

    fn bump(&self, counter: &AtomicU64, name: &'static str) {
        counter.fetch_add(1, Ordering::Relaxed);
        if self.emf {
            println!("{}", emf_line(name, now_millis()));
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

    /// The counters now.
    pub fn counts(&self) -> Counts {
        Counts {
            renders: self.renders.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
            overloaded: self.overloaded.load(Ordering::Relaxed),
            defaults: self.defaults.load(Ordering::Relaxed),
            browser_relaunches: self.browser_relaunches.load(Ordering::Relaxed),
        }
    }
}

fn now_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// One CloudWatch Embedded Metric Format record counting one event.
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
fn emf_line(metric: &str, timestamp_ms: u128) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [[]],
                "Metrics": [{ "Name": metric, "Unit": "Count" }],
            }],
        },
        metric: 1,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_lines_follow_the_specification() {
        let line: serde_json::Value =
            serde_json::from_str(&emf_line("Fallbacks", 1_700_000_000_000)).unwrap();
        assert_eq!(line["Fallbacks"], 1);
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000_u64);
        let metric = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(metric["Namespace"], METRICS_NAMESPACE);
        assert_eq!(metric["Metrics"][0]["Name"], "Fallbacks");
        assert_eq!(metric["Metrics"][0]["Unit"], "Count");
    }

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
