//! The HTTP/1.1 client that reaches the origin: hyper's own connections, each reading an
//! answer [`READ_BUFFER_MAX`] at a time, kept alive in a pool of this one origin's; TLS
//! to an https origin checked against the platform's roots, as reqwest's `rustls`
//! feature did before it (rustls-platform-verifier, aws-lc-rs, ALPN `http/1.1`).
//! Connecting (the name, TCP and TLS together) has the proxy's timeout. Never follows a
//! redirect, never decodes a body, and reads no proxy settings from the environment.
//!
//! The pool is its own rather than hyper-util's general client, which keys every
//! request's pool lookup by scheme and host, builds a connector for it, and spawns a
//! task per request to see its connection back into the pool: together 11% of a
//! proxied request's instructions. Here a connection goes back to the pool as its
//! answer's last byte is read.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, Uri};
use bytes::Bytes;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tower::Service as _;

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

pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The client of one origin.
#[derive(Debug)]
pub(super) struct OriginClient {
    connector: TimedConnector,
    /// The origin's scheme and authority, which the connector reaches.
    origin: Uri,
    pool: Arc<Pool>,
}

/// The origin's idle connections, the longest idle first.
#[derive(Debug, Default)]
struct Pool {
    idle: Mutex<VecDeque<Idle>>,
    /// Whether a task closes the connections idle past [`POOL_IDLE`].
    sweeping: AtomicBool,
}

#[derive(Debug)]
struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
}

impl OriginClient {
    /// The client of the origin at `origin` (a scheme and authority), whose connecting
    /// may take up to `connect_timeout`.
    pub(super) fn new(origin: Uri, connect_timeout: Duration) -> Self {
        let mut http = HttpConnector::new();
        // https URIs too: the TLS connector hands them down once it has a TCP stream.
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_keepalive(Some(KEEPALIVE));
        http.set_keepalive_interval(Some(KEEPALIVE));
        http.set_keepalive_retries(Some(KEEPALIVE_RETRIES));
        Self {
            connector: TimedConnector {
                inner: HttpsConnector::from((http, tls_config())),
                timeout: connect_timeout,
            },
            origin,
            pool: Arc::default(),
        }
    }

    /// Sends `request` (its target's path and query; the caller sets `Host`) on an idle
    /// connection, or a new one. A request that a kept-alive connection could not take
    /// because the origin had just closed it was never sent, and goes on a new one.
    pub(super) async fn request(
        &self,
        mut request: Request<Body>,
    ) -> Result<Response<PooledBody>, BoxError> {
        let target = request.uri().path_and_query().cloned();
        *request.uri_mut() = target.map_or_else(|| Uri::from_static("/"), Uri::from);
        loop {
            let (mut sender, reused) = match self.pool.idle_sender() {
                Some(sender) => (sender, true),
                None => (self.connect().await?, false),
            };
            match sender.try_send_request(request).await {
                Ok(answer) => return Ok(self.pool.hold_until_read(answer, sender)),
                Err(mut failed) => match failed.take_message() {
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(failed.into_error().into()),
                },
            }
        }
    }

    async fn connect(&self) -> Result<SendRequest<Body>, BoxError> {
        let stream = self.connector.clone().call(self.origin.clone()).await?;
        let (sender, connection) = http1::Builder::new()
            .max_buf_size(READ_BUFFER_MAX)
            .handshake(stream)
            .await?;
        // With upgrades, a WebSocket's answer hands the connection over to its tunnel.
        tokio::spawn(async move {
            if let Err(error) = connection.with_upgrades().await {
                tracing::debug!(
                    error = &error as &dyn std::error::Error,
                    "origin connection"
                );
            }
        });
        Ok(sender)
    }
}

impl Pool {
    /// The connection idle the shortest time that can take a request, if any.
    fn idle_sender(&self) -> Option<SendRequest<Body>> {
        let mut idle = self.lock();
        close_expired(&mut idle);
        // Only ready connections are pooled: one that is not ready any more was closed
        // by the origin.
        std::iter::from_fn(|| idle.pop_back())
            .map(|idle| idle.sender)
            .find(SendRequest::is_ready)
    }

    /// `answer`, whose connection goes back to the pool once its body is read (at
    /// once when it has none), unless the answer switched protocols.
    fn hold_until_read(
        self: &Arc<Self>,
        answer: Response<Incoming>,
        sender: SendRequest<Body>,
    ) -> Response<PooledBody> {
        let reusable = answer.status() != StatusCode::SWITCHING_PROTOCOLS;
        let return_to = reusable.then(|| (Arc::downgrade(self), sender));
        answer.map(|inner| {
            let mut body = PooledBody { inner, return_to };
            body.check_in_if_read();
            body
        })
    }

    /// Pools a connection whose answer was read, once it can take the next request:
    /// at once, unless hyper has yet to see the answer's end, or the request's body is
    /// still being sent (the origin answered before reading it all).
    fn check_in(self: &Arc<Self>, mut sender: SendRequest<Body>) {
        if sender.is_ready() {
            self.keep_idle(sender);
        } else if !sender.is_closed() {
            let pool = Arc::downgrade(self);
            tokio::spawn(async move {
                if sender.ready().await.is_ok()
                    && let Some(pool) = pool.upgrade()
                {
                    pool.keep_idle(sender);
                }
            });
        }
    }

    fn keep_idle(self: &Arc<Self>, sender: SendRequest<Body>) {
        let mut idle = self.lock();
        close_expired(&mut idle);
        idle.push_back(Idle {
            sender,
            since: Instant::now(),
        });
        drop(idle);
        if !self.sweeping.swap(true, Ordering::Relaxed) {
            tokio::spawn(sweep(Arc::downgrade(self)));
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Idle>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Closes the connections idle past [`POOL_IDLE`] while no request comes to take them,
/// until the client is gone.
async fn sweep(pool: Weak<Pool>) {
    loop {
        tokio::time::sleep(POOL_IDLE / 2).await;
        let Some(pool) = pool.upgrade() else { return };
        close_expired(&mut pool.lock());
    }
}

/// Drops the connections idle past [`POOL_IDLE`], which closes them: the longest idle
/// are first.
fn close_expired(idle: &mut VecDeque<Idle>) {
    let now = Instant::now();
    while idle
        .front()
        .is_some_and(|oldest| now - oldest.since >= POOL_IDLE)
    {
        idle.pop_front();
    }
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

/// An answer's body, whose connection goes back to the pool when it has been read.
#[derive(Debug)]
pub(super) struct PooledBody {
    inner: Incoming,
    return_to: Option<(Weak<Pool>, SendRequest<Body>)>,
}

impl PooledBody {
    fn check_in_if_read(&mut self) {
        if !self.inner.is_end_stream() {
            return;
        }
        if let Some((pool, sender)) = self.return_to.take()
            && let Some(pool) = pool.upgrade()
        {
            pool.check_in(sender);
        }
    }
}

impl hyper::body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = std::task::ready!(Pin::new(&mut self.inner).poll_frame(context));
        self.check_in_if_read();
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
