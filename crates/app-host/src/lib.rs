//! How ogshot's three apps are hosted, the part every `main` shares: the log subscriber
//! (plain locally, JSON on Lambda) whose every line passes a redactor, the request span
//! every router records, the shutdown signal, serving one router under AWS Lambda or as
//! a local server, and the EMF records apps print their counts in on Lambda.
//!
//! It never reads configuration, never builds a router, and never lets a secret an app
//! registered ([`redact_from_logs`]) reach a log line, at any `RUST_LOG` level.

mod emf;
pub mod lambda;
mod logs;
mod serve;
mod spans;

pub use emf::{EMF_DIMENSION, emf_function_name, emf_record, emf_record_at};
pub use logs::{
    CapturedLogs, DEFAULT_FILTER, REDACTED, Redacting, RedactingWriter, init_tracing,
    redact_from_logs, redacted, subscriber,
};
pub use serve::{
    ConnectionSlot, LimitsError, ListenerLimits, PerCore, ServeError, cores, on_lambda, serve,
    serve_listener, serve_per_core, serve_streamed, serve_streamed_with, shutdown_signal,
};
pub use spans::{RouteSpan, route_trace_layer, upstream_trace_layer};
