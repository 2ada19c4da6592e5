//! The injector's counters for whoever runs it: what became of each share's answer
//! (`injected`, or each reason it went out as it came, the 304s and other statuses, the
//! upstream's timeouts and errors among them) and the late bail-outs.
//!
//! Served in the Prometheus text format (0.0.4) at `GET /metrics` on a listener of its
//! own (`METRICS_ADDR`), so a scrape address need never be public. On Lambda nothing can
//! be scraped: the counts go to CloudWatch as Embedded Metric Format lines instead, one
//! per minute with the counts since the last (a frozen environment reports when it next
//! runs) and one as it stops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app_host::ListenerLimits;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, prometheus_text};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::registry::Registry;
use share_inject::{InjectStats, Injector, PassReason};

/// The counter family of outcomes, `_total` added by the encoder as for every counter.
pub const OUTCOMES: &str = "ogshot_inject_outcomes";
/// Injected pages whose rewriter failed later, the rest of the page sent unchanged.
pub const LATE_BAILOUTS: &str = "ogshot_inject_late_bailouts";

/// Reads the injector's counters at each scrape, so nothing is counted twice.
#[derive(Debug)]
struct InjectorCounters(Injector);

impl Collector for InjectorCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let stats = self.0.stats();
        let mut outcomes = encoder.encode_descriptor(
            OUTCOMES,
            "Share answers, by what the injector did: injected, or passed through and why",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(stats.injected)
            .encode(outcomes.encode_family(&[("outcome", "injected")])?)?;
        for &reason in PassReason::ALL {
            let labels = [("outcome", "passthrough"), ("reason", reason.as_str())];
            ConstCounter::new(stats.passed(reason)).encode(outcomes.encode_family(&labels)?)?;
        }
        ConstCounter::new(stats.late_bailouts).encode(encoder.encode_descriptor(
            LATE_BAILOUTS,
            "Injected pages whose rewriter failed later: the rest went out unchanged",
            None,
            MetricType::Counter,
        )?)
    }
}

/// The metrics listener, bound: start-up fails on a bad address before the site serves.
#[derive(Debug)]
pub struct MetricsServer {
    listener: tokio::net::TcpListener,
    router: Router,
}

/// The metrics address cannot be listened on.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on METRICS_ADDR {addr}")]
pub struct MetricsBindError {
    addr: SocketAddr,
    #[source]
    source: std::io::Error,
}

impl MetricsServer {
    pub async fn bind(addr: SocketAddr, injector: Injector) -> Result<Self, MetricsBindError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| MetricsBindError { addr, source })?;
        let mut registry = Registry::default();
        registry.register_collector(Box::new(InjectorCounters(injector)));
        let router = Router::new()
            .route("/metrics", get(scrape))
            .with_state(Arc::new(registry));
        Ok(Self { listener, router })
    }

    /// Serves `GET /metrics` until SIGTERM or Ctrl-C, with the site's own listener
    /// `limits`. Its log line names the address, not as "listening on", which is the
    /// site's own.
    pub async fn serve(self, limits: ListenerLimits) -> std::io::Result<()> {
        let local = self.listener.local_addr()?;
        tracing::info!("injector metrics at http://{local}/metrics");
        app_host::serve_listener(self.listener, self.router, limits).await;
        Ok(())
    }
}

async fn scrape(State(registry): State<Arc<Registry>>) -> Response {
    let mut text = String::new();
    match prometheus_text::encode(&mut text, &registry) {
        Ok(()) => (
            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
            text,
        )
            .into_response(),
        // Writing to a String does not fail; the encoder's own checks might.
        Err(error) => {
            tracing::error!(%error, "cannot encode the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// CloudWatch namespace of the injector's EMF metrics.
pub const EMF_NAMESPACE: &str = "ogshot/main-site";

/// How often the Lambda host prints the counts since its last line.
const EMF_INTERVAL: Duration = Duration::from_secs(60);

/// On Lambda: prints the counts since the last line each [`EMF_INTERVAL`] while any
/// changed, and once more at SIGTERM or Ctrl-C (then returns).
pub async fn report_as_emf(injector: Injector) {
    let function_name = app_host::emf_function_name("main-site");
    let mut reported = InjectStats::default();
    let mut report = |stats: InjectStats| {
        if stats != reported {
            let counts = counts_between(&stats, &reported);
            println!(
                "{}",
                app_host::emf_record(EMF_NAMESPACE, &function_name, &counts)
            );
            reported = stats;
        }
    };
    let mut interval = tokio::time::interval(EMF_INTERVAL);
    let stop = app_host::shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = interval.tick() => report(injector.stats()),
            () = &mut stop => break report(injector.stats()),
        }
    }
}

/// The counts between `before` and `now`, one EMF metric each: `Injected`,
/// `LateBailouts`, and `Passthrough` with the reason in CamelCase (`PassthroughNotHtml`).
fn counts_between(now: &InjectStats, before: &InjectStats) -> Vec<(String, u64)> {
    let mut counts = vec![
        ("Injected".to_owned(), now.injected - before.injected),
        (
            "LateBailouts".to_owned(),
            now.late_bailouts - before.late_bailouts,
        ),
    ];
    counts.extend(PassReason::ALL.iter().map(|&reason| {
        let name: String = (reason.as_str().split('-'))
            .flat_map(|word| {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|first| first.to_ascii_uppercase())
                    .into_iter()
                    .chain(chars)
            })
            .collect();
        (
            format!("Passthrough{name}"),
            now.passed(reason) - before.passed(reason),
        )
    }));
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_has_the_counts_since_the_last_and_follows_the_specification() {
        let mut before = InjectStats::default();
        before.injected = 1;
        let mut now = before;
        now.injected = 3;
        let counts = counts_between(&now, &before);
        let line: serde_json::Value = serde_json::from_str(&app_host::emf_record_at(
            EMF_NAMESPACE,
            "ogshot-inject",
            &counts,
            1_700_000_000_000,
        ))
        .unwrap();
        assert_eq!(line["Injected"], 2);
        assert_eq!(line["FunctionName"], "ogshot-inject");
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000_u64);
        let metric = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(metric["Namespace"], EMF_NAMESPACE);
        assert_eq!(metric["Dimensions"], serde_json::json!([["FunctionName"]]));
        let names: Vec<&str> = (metric["Metrics"].as_array().unwrap().iter())
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 2 + PassReason::ALL.len());
        for name in [
            "LateBailouts",
            "PassthroughNotHtml",
            "PassthroughUpstreamTimeout",
        ] {
            assert!(names.contains(&name), "{name} in {names:?}");
            assert_eq!(line[name], 0, "{name}");
        }
    }
}
