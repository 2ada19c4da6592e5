//! The request span every app's router records: the method and the matched route
//! template (and, in front of an existing site, which), never the raw path, query or
//! headers, which a client chooses (and where a token could be).

use std::sync::Arc;

use axum::extract::MatchedPath;
use axum::http::Request;
use tower_http::trace::{HttpMakeClassifier, MakeSpan, TraceLayer};

/// A span per request named by its route template, or `unmatched` (the name of the
/// router's fallback) when no route matched.
#[derive(Debug, Clone)]
pub struct RouteSpan {
    unmatched: &'static str,
    /// The existing site a proxy's requests go to.
    upstream: Option<Arc<str>>,
}

impl<B> MakeSpan<B> for RouteSpan {
    fn make_span(&mut self, request: &Request<B>) -> tracing::Span {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or(self.unmatched, MatchedPath::as_str);
        let method = request.method();
        match &self.upstream {
            Some(upstream) => tracing::info_span!("request", %method, route, %upstream),
            None => tracing::info_span!("request", %method, route),
        }
    }
}

/// The trace layer of every app's router; `unmatched` names what its fallback serves.
pub fn route_trace_layer(unmatched: &'static str) -> TraceLayer<HttpMakeClassifier, RouteSpan> {
    TraceLayer::new_for_http().make_span_with(RouteSpan {
        unmatched,
        upstream: None,
    })
}

/// The trace layer of a router that serves an existing site, `upstream`: every line
/// logged while a request is answered, its body too, names the site.
pub fn upstream_trace_layer(upstream: Arc<str>) -> TraceLayer<HttpMakeClassifier, RouteSpan> {
    TraceLayer::new_for_http().make_span_with(RouteSpan {
        unmatched: "upstream",
        upstream: Some(upstream),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CapturedLogs, subscriber};

    #[test]
    fn a_request_line_names_the_route_never_the_raw_path() {
        let logs = CapturedLogs::default();
        let filter = tracing_subscriber::EnvFilter::new("info");
        let request = Request::get("/secret-token/12-34-10?x=y")
            .body(())
            .expect("a request");
        tracing::subscriber::with_default(subscriber(false, filter, logs.clone()), || {
            let span = RouteSpan {
                unmatched: "fallback",
                upstream: None,
            }
            .make_span(&request);
            span.in_scope(|| tracing::info!("answered"));
        });
        // The plain format colours field names, so fields are matched by their values.
        let line = logs.text();
        assert!(line.contains("\"fallback\""), "{line}");
        assert!(line.contains("GET"), "{line}");
        assert!(
            !line.contains("secret-token") && !line.contains("x=y"),
            "{line}"
        );
    }
}
