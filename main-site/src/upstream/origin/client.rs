//! The HTTP/1.1 client that reaches the origin: hyper's own, with a pool of kept-alive
//! connections, each reading an answer [`READ_BUFFER_MAX`] at a time; TLS to an https
//! origin checked against the platform's roots, as reqwest's `rustls` feature did
//! before it (rustls-platform-verifier, aws-lc-rs, ALPN `http/1.1`). Connecting (the
//! name, TCP and TLS together) has the proxy's timeout. Never follows a redirect, never
//! decodes a body, and reads no proxy settings from the environment.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::Uri;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;

/// The client of one origin.
pub(super) type OriginClient = Client<TimedConnector, Body>;

/// How much of an answer one connection reads at a time. hyper's default (about 400 KB)
/// is what each connection grows to while a large page streams, and a connection holds
/// a few such blocks at once (the one it reads into, those the listener's queue still
/// sends from): a 608 KB page to 256 clients peaked at 200 MiB, with 64 KiB at 66 to 82,
/// with 48 KiB at 53 to 59, with 32 KiB at 46 to 56. 48 KiB takes a page of the corpus'
/// median size (35 KB) in one read, and so sends it to the client in one write: at 32
/// KiB the proxy served 10 to 23% fewer such pages a second, in the same runs.
const READ_BUFFER_MAX: usize = 48 * 1024;

/// How long a connection waits in the pool for its next request (reqwest's default).
const POOL_IDLE: Duration = Duration::from_secs(90);

/// TCP keepalive probes on origin connections, as reqwest sent them, so a pooled
/// connection to an origin that vanished is found dead before a request is put on it.
const KEEPALIVE: Duration = Duration::from_secs(15);
const KEEPALIVE_RETRIES: u32 = 3;

/// The client, whose connecting may take up to `connect_timeout`.
pub(super) fn origin_client(connect_timeout: Duration) -> OriginClient {
    let mut http = HttpConnector::new();
    // https URIs too: the TLS connector hands them down once it has a TCP stream.
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_keepalive(Some(KEEPALIVE));
    http.set_keepalive_interval(Some(KEEPALIVE));
    http.set_keepalive_retries(Some(KEEPALIVE_RETRIES));
    let connector = TimedConnector {
        inner: HttpsConnector::from((http, tls_config())),
        timeout: connect_timeout,
    };
    Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE)
        .http1_max_buf_size(READ_BUFFER_MAX)
        .build(connector)
}

fn tls_config() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .expect("the system's CA certificates load (Debian: the ca-certificates package)");
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs speaks TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// The TLS-or-plain connector under one deadline for the whole connection: hyper's own
/// connect timeout covers only TCP, and a TLS handshake that stalls would otherwise wait
/// for the answer's far longer timeout.
#[derive(Debug, Clone)]
pub(super) struct TimedConnector {
    inner: HttpsConnector<HttpConnector>,
    timeout: Duration,
}

type Connection = MaybeHttpsStream<TokioIo<TcpStream>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<Uri> for TimedConnector {
    type Response = Connection;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Connection, BoxError>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, origin: Uri) -> Self::Future {
        let connecting = self.inner.call(origin);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(connected) => connected,
                Err(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connecting to the origin timed out",
                )
                .into()),
            }
        })
    }
}

/// Whether a request failed for lack of time (a 504) rather than a broken origin (a
/// 502): its connecting took too long.
pub(super) fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    super::pace::caused_by(error, |cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    })
}
