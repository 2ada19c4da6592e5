//! One router, two hosts: a function URL when AWS Lambda runs the process, otherwise a
//! local server; either until SIGTERM or Ctrl-C. The local server gives a client a
//! bounded time to send each request's head and serves a bounded number at once
//! ([`ListenerLimits`]), so neither half-open connections nor a slow loris can hold it.
//! It runs on the caller's runtime, or ([`serve_per_core`]) on a single-threaded runtime
//! per core, all taking connections from one listener, as nginx runs a worker per core.

use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

/// Set by AWS Lambda in every execution environment; its runtime client cannot start
/// without it, so it alone decides the host.
const LAMBDA_RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";

/// Whether AWS Lambda runs this process.
pub fn on_lambda() -> bool {
    std::env::var_os(LAMBDA_RUNTIME_API).is_some()
}

/// Why serving stopped other than by a shutdown signal.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the local server failed")]
    Local(#[source] std::io::Error),
    #[error("a runtime of the local server panicked")]
    Panicked,
    #[error("the Lambda runtime failed: {0}")]
    Lambda(lambda_http::Error),
}

/// Serves `router` until SIGTERM or Ctrl-C: under AWS Lambda when it runs the process,
/// else on `addr`, logging `"{name} listening on …"`, and letting requests under way
/// finish. Lambda sends SIGTERM before it ends an environment (when an extension asks
/// for it); returning then lets the caller clean up, as the image service reaps its
/// browser rather than orphan it.
pub async fn serve(router: Router, addr: SocketAddr, name: &str) -> Result<(), ServeError> {
    if on_lambda() {
        return tokio::select! {
            result = crate::lambda::run_buffered(router) => result.map_err(ServeError::Lambda),
            () = shutdown_signal() => Ok(()),
        };
    }
    serve_locally(router, addr, name, ListenerLimits::default()).await
}

/// As [`serve`], but on Lambda each answer streams out as the router produces it, for
/// a function URL whose `InvokeMode` is `RESPONSE_STREAM` (a buffered function URL
/// cannot take a streamed answer).
pub async fn serve_streamed(
    router: Router,
    addr: SocketAddr,
    name: &str,
) -> Result<(), ServeError> {
    serve_streamed_with(router, addr, name, ListenerLimits::default()).await
}

/// As [`serve_streamed`], with the local listener's `limits` (Lambda's are AWS's).
pub async fn serve_streamed_with(
    router: Router,
    addr: SocketAddr,
    name: &str,
    limits: ListenerLimits,
) -> Result<(), ServeError> {
    if on_lambda() {
        return tokio::select! {
            result = crate::lambda::run_streamed(router) => result.map_err(ServeError::Lambda),
            () = shutdown_signal() => Ok(()),
        };
    }
    serve_locally(router, addr, name, limits).await
}

/// What one local listener allows its clients: how long a request's head may take, and
/// how many connections it serves at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    header_timeout: Duration,
    max_connections: usize,
}

/// Limits a listener refuses to start with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitsError {
    #[error("the header timeout must be 100 ms to 300 s")]
    HeaderTimeout,
    #[error("the connection bound must be 1 to 1000000")]
    MaxConnections,
}

impl ListenerLimits {
    /// 20 s for a head, within the 10 to 30 s reverse proxies give a slow client.
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(20);

    /// Each proxied request also holds a connection to its origin: with the usual limit of
    /// 1024 open files, 1000 clients leave the process room for those and its own files.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;

    /// `header_timeout` bounds the wait for a request's head, from the moment the server
    /// waits for it (on a new connection, or an idle kept-alive one) until its last
    /// header: a client that sends nothing, or trickles its headers, is closed then.
    pub fn new(header_timeout: Duration, max_connections: usize) -> Result<Self, LimitsError> {
        if !(Duration::from_millis(100)..=Duration::from_secs(300)).contains(&header_timeout) {
            return Err(LimitsError::HeaderTimeout);
        }
        if !(1..=1_000_000).contains(&max_connections) {
            return Err(LimitsError::MaxConnections);
        }
        Ok(Self {
            header_timeout,
            max_connections,
        })
    }
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            header_timeout: Self::DEFAULT_HEADER_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

async fn serve_locally(
    router: Router,
    addr: SocketAddr,
    name: &str,
    limits: ListenerLimits,
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(ServeError::Local)?;
    tracing::info!("{name} listening on http://{local}");
    serve_on(listener, router, limits, shutdown_signal()).await;
    Ok(())
}

/// How many runtimes [`serve_per_core`] runs here: one per core the process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// A local server of one runtime per router, each on a thread of its own; see
/// [`serve_per_core`].
#[derive(Debug)]
pub struct PerCore {
    addr: SocketAddr,
    threads: Vec<JoinHandle<std::io::Result<()>>>,
}

impl PerCore {
    /// Where it listens (the port a request for port 0 got).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits until every runtime has stopped: after SIGTERM or Ctrl-C, once the requests
    /// under way are answered.
    pub fn join(self) -> Result<(), ServeError> {
        for thread in self.threads {
            thread
                .join()
                .map_err(|_| ServeError::Panicked)?
                .map_err(ServeError::Local)?;
        }
        Ok(())
    }
}

/// Serves locally on `addr` (never on Lambda) with a single-threaded tokio runtime per
/// router of `routers`, each on a thread of its own, until SIGTERM or Ctrl-C, logging
/// `"{name} listening on …"` once. One more thread accepts the connections and hands
/// them to the runtimes in turn, so each has as many; a runtime serves a connection
/// start to end. In a work-stealing runtime a request's work moves between threads,
/// and a proxied page cost more and waited longer. `limits` bound the server as a whole.
pub fn serve_per_core(
    routers: Vec<Router>,
    addr: SocketAddr,
    name: &str,
    limits: ListenerLimits,
) -> Result<PerCore, ServeError> {
    if routers.is_empty() {
        let none = std::io::Error::new(std::io::ErrorKind::InvalidInput, "no router to serve");
        return Err(ServeError::Local(none));
    }
    let bind_error = |source| ServeError::Bind { addr, source };
    let listener = shared_listener(addr).map_err(bind_error)?;
    let local = listener.local_addr().map_err(ServeError::Local)?;
    let (done, runs) = tokio::sync::watch::channel(false);
    let mut threads = Vec::with_capacity(routers.len() + 1);
    let mut runtimes = Vec::with_capacity(routers.len());
    for (index, router) in routers.into_iter().enumerate() {
        let (handing, handle) = std::sync::mpsc::channel();
        let mut runs = runs.clone();
        let thread = std::thread::Builder::new()
            .name(format!("{name} {index}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let _ = handing.send(runtime.handle().clone());
                // Until every connection it was handed is done.
                runtime.block_on(async move {
                    let _ = runs.wait_for(|done| *done).await;
                });
                Ok(())
            })
            .map_err(ServeError::Local)?;
        let Ok(handle) = handle.recv() else {
            // Its runtime did not start: the others stop, and start-up fails.
            let _ = done.send(true);
            return Err(match thread.join() {
                Ok(Err(error)) => ServeError::Local(error),
                _ => ServeError::Panicked,
            });
        };
        threads.push(thread);
        runtimes.push((router, Some(handle)));
    }
    let workers = Workers { runtimes, next: 0 };
    let acceptor = std::thread::Builder::new()
        .name(format!("{name} acceptor"))
        .spawn(move || {
            let served = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .and_then(|runtime| {
                    runtime.block_on(async move {
                        let listener = tokio::net::TcpListener::from_std(listener)?;
                        let slots = Arc::new(Semaphore::new(limits.max_connections));
                        serve_within(listener, workers, limits, slots, shutdown_signal()).await;
                        Ok(())
                    })
                });
            let _ = done.send(true);
            served
        })
        .map_err(ServeError::Local)?;
    threads.push(acceptor);
    tracing::info!("{name} listening on http://{local}");
    Ok(PerCore {
        addr: local,
        threads,
    })
}

/// The runtimes that serve the connections a listener accepts, each with its router,
/// taken in turn; `None`, the runtime that accepts them.
struct Workers {
    runtimes: Vec<(Router, Option<tokio::runtime::Handle>)>,
    next: usize,
}

impl Workers {
    fn here(router: Router) -> Self {
        Self {
            runtimes: vec![(router, None)],
            next: 0,
        }
    }

    fn next(&mut self) -> (Router, Option<tokio::runtime::Handle>) {
        let (router, runtime) = &self.runtimes[self.next % self.runtimes.len()];
        self.next = self.next.wrapping_add(1);
        (router.clone(), runtime.clone())
    }
}

/// A non-blocking listener on `addr` with the backlog tokio's own listeners get, so a
/// burst of new clients waits in the kernel rather than being refused.
fn shared_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Serves `router` on a `listener` the caller bound, with `limits`, until SIGTERM or
/// Ctrl-C: a second listener of an app (its metrics) is held to the same rules.
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ListenerLimits,
) {
    serve_on(listener, router, limits, shutdown_signal()).await;
}

/// A connection's place among the listener's `max_connections`, in each of its
/// requests' extensions: a handler that takes the connection over (an upgrade) keeps a
/// clone for as long as it uses it, so the connection still counts once hyper is done.
#[derive(Debug, Clone)]
pub struct ConnectionSlot {
    _permit: Arc<OwnedSemaphorePermit>,
}

/// What one connection may buffer each way: a request's head (hyper answers 431 past
/// it; nginx allows 32 KiB by default), and the part of an answer queued for a slow
/// client. hyper's default, about 400 KB, let a proxy hold that much of every page
/// for each slow reader.
const CONNECTION_BUFFER: usize = 64 * 1024;

/// Serves HTTP/1.1 on `listener` until `shutdown`, then lets the requests under way
/// finish. hyper itself, not `axum::serve`: only with a timer does hyper enforce a
/// header timeout, and axum 0.8 gives it none (nor a bound on connections).
async fn serve_on(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    serve_within(listener, Workers::here(router), limits, slots, shutdown).await;
}

/// As [`serve_on`], each connection served by the next of `workers`, and at most
/// `slots`' many at once.
async fn serve_within(
    listener: tokio::net::TcpListener,
    mut workers: Workers,
    limits: ListenerLimits,
    slots: Arc<Semaphore>,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(CONNECTION_BUFFER);
    let (stop, stopped) = tokio::sync::watch::channel(());
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Past the bound, clients wait in the kernel's backlog rather than being served.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("the semaphore stays open"),
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, most likely: waiting beats spinning.
                    tracing::error!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        // An answer's head and body are separate writes: with Nagle's algorithm on, the
        // second waits for the client's delayed ACK (40 ms on Linux) on every answer
        // that does not fill a segment.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        while connections.try_join_next().is_some() {}
        let http = http.clone();
        let (router, runtime) = workers.next();
        let mut stopped = stopped.clone();
        let slot = ConnectionSlot {
            _permit: Arc::new(slot),
        };
        let handed = runtime.is_some();
        let connection = async move {
            // Handed to another runtime, the socket is watched by that runtime's reactor.
            let stream = if handed {
                (stream.into_std()).and_then(tokio::net::TcpStream::from_std)
            } else {
                Ok(stream)
            };
            let stream = match stream {
                Ok(stream) => stream,
                Err(error) => {
                    tracing::debug!(%error, "cannot hand a connection over");
                    return;
                }
            };
            // Each request carries the client's address (`ConnectInfo`, as `axum::serve`
            // gives it): a proxy tells its origin who asked.
            let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(slot.clone());
                router.clone().oneshot(request)
            });
            // With upgrades, a handler can take the connection over (a WebSocket through
            // the proxy).
            let connection = http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopped.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        };
        match runtime {
            None => connections.spawn(connection),
            Some(runtime) => connections.spawn_on(connection, &runtime),
        };
    }
    drop(stop);
    while connections.join_next().await.is_some() {}
}

/// Completes on the first SIGTERM (how Lambda, systemd and containers stop a process)
/// or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tracing_subscriber::EnvFilter;

    use super::*;
    use crate::CapturedLogs;

    #[tokio::test]
    async fn a_taken_address_is_an_error_that_names_it() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let error = serve(Router::new(), addr, "a site").await.unwrap_err();
        assert!(matches!(error, ServeError::Bind { .. }), "{error:?}");
        assert_eq!(error.to_string(), format!("cannot listen on {addr}"));
    }

    /// Locally, the router answers on the address the log line names.
    #[tokio::test(flavor = "current_thread")]
    async fn the_router_is_served_where_the_log_line_says() {
        let logs = CapturedLogs::default();
        let _guard = tracing::subscriber::set_default(crate::subscriber(
            false,
            EnvFilter::new("info"),
            logs.clone(),
        ));
        let router = Router::new().route("/", get(|| async { "served" }));
        let client = async {
            let listening = loop {
                if let Some((_, rest)) = logs.text().split_once("a site listening on http://") {
                    break rest.lines().next().unwrap_or_default().trim().to_owned();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            };
            let mut stream = tokio::net::TcpStream::connect(&listening).await.unwrap();
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            answer
        };
        // The server's future is not Send (lambda_http's is not): it runs beside the
        // client in this task rather than in a task of its own.
        let answer = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::select! {
                stopped = serve(router, "127.0.0.1:0".parse().unwrap(), "a site") => {
                    panic!("the server stopped: {stopped:?}")
                }
                answer = client => answer,
            }
        })
        .await
        .expect("the server logs where it listens and answers");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("served"), "{answer}");
    }

    /// Far above any limit the tests set: only turns a connection held open into a
    /// failure rather than a hang.
    const HELD_OPEN: Duration = Duration::from_secs(20);

    /// `router` served as `serve` serves it, with `limits`, until the test ends.
    async fn listening(router: Router, limits: ListenerLimits) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve_on(listener, router, limits, std::future::pending()));
        addr
    }

    fn short_header_timeout(max_connections: usize) -> ListenerLimits {
        ListenerLimits::new(Duration::from_millis(300), max_connections)
            .expect("limits production accepts")
    }

    /// What the client reads until the server closes the connection.
    async fn until_closed(stream: &mut tokio::net::TcpStream) -> String {
        let mut answer = Vec::new();
        tokio::time::timeout(HELD_OPEN, stream.read_to_end(&mut answer))
            .await
            .expect("the server closes the connection")
            .expect("a clean close");
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[tokio::test]
    async fn half_open_connections_are_closed_when_their_head_is_late() {
        let addr = listening(Router::new(), short_header_timeout(100)).await;
        let mut clients = Vec::new();
        for _ in 0..50 {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"GET / HT").await.unwrap();
            clients.push(stream);
        }
        // One more that never sends a byte.
        clients.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        for mut stream in clients {
            let answer = until_closed(&mut stream).await;
            assert!(
                answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
                "{answer}"
            );
        }
    }

    #[tokio::test]
    async fn a_client_that_trickles_its_headers_is_cut_off() {
        let addr = listening(Router::new(), short_header_timeout(100)).await;
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut reading, mut writing) = stream.into_split();
        let trickle = async move {
            let mut next: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n";
            loop {
                if let Err(error) = writing.write_all(next).await {
                    return error;
                }
                next = b"X-Slow: 1\r\n";
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        let closed = async {
            let mut answer = Vec::new();
            reading.read_to_end(&mut answer).await.map(|_| answer)
        };
        tokio::time::timeout(HELD_OPEN, async {
            tokio::select! {
                written = trickle => {
                    let error: std::io::Error = written;
                    assert!(
                        matches!(
                            error.kind(),
                            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                        ),
                        "{error:?}"
                    );
                }
                answer = closed => {
                    let answer = String::from_utf8_lossy(&answer.unwrap_or_default()).into_owned();
                    assert!(!answer.starts_with("HTTP/1.1 2"), "{answer}");
                }
            }
        })
        .await
        .expect("the server cuts the trickling client off");
    }

    /// Past the bound, a client is not served until a connection closes.
    #[tokio::test]
    async fn connections_past_the_bound_wait_for_a_free_one() {
        let router = Router::new().route("/", get(|| async { "served" }));
        let addr = listening(router, short_header_timeout(1)).await;
        the_second_client_waits_for_the_first(addr).await;
    }

    /// On a server bound to one connection, a second client is not served while the
    /// first one's connection is open and served, and is once it closes.
    async fn the_second_client_waits_for_the_first(addr: SocketAddr) {
        let request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let mut first = tokio::net::TcpStream::connect(addr).await.unwrap();
        first.write_all(request).await.unwrap();
        assert!(served(&mut first).await.starts_with("HTTP/1.1 200"));
        let mut second = tokio::net::TcpStream::connect(addr).await.unwrap();
        second.write_all(request).await.unwrap();
        // The first connection's next request is served, so the server is at work...
        first.write_all(request).await.unwrap();
        assert!(served(&mut first).await.starts_with("HTTP/1.1 200"));
        // ...and the second client still has no answer.
        let mut none = [0; 16];
        assert_eq!(
            second.try_read(&mut none).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );
        drop(first);
        let mut answer = [0; 12];
        tokio::time::timeout(HELD_OPEN, second.read_exact(&mut answer))
            .await
            .expect("served once the first connection is gone")
            .unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200");
    }

    /// One answer whose body is `served`, on a connection kept alive.
    async fn served(stream: &mut tokio::net::TcpStream) -> String {
        let mut answer = Vec::new();
        while !answer.ends_with(b"served") {
            let mut chunk = [0; 256];
            let read = stream.read(&mut chunk).await.unwrap();
            assert_ne!(read, 0, "closed mid-answer");
            answer.extend_from_slice(&chunk[..read]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[tokio::test]
    async fn handlers_see_the_clients_address() {
        let router = Router::new().route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        );
        let addr = listening(router, ListenerLimits::default()).await;
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mine = stream.local_addr().unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = until_closed(&mut stream).await;
        assert!(answer.ends_with(&mine.to_string()), "{answer}");
    }

    /// Two runtimes of `router` on a port of their own, which `limits` bound together.
    fn per_core(router: Router, limits: ListenerLimits) -> SocketAddr {
        let routers = vec![router.clone(), router];
        let addr = "127.0.0.1:0".parse().unwrap();
        serve_per_core(routers, addr, "a site", limits)
            .expect("listening")
            .addr()
    }

    /// A request whose handler holds its thread (as a long rewrite does) holds only its
    /// own runtime: another client is served meanwhile, by the other.
    #[tokio::test]
    async fn a_request_that_holds_its_runtime_leaves_the_others_serving() {
        let (holding, held) = std::sync::mpsc::channel::<()>();
        let holding = Arc::new(std::sync::Mutex::new(holding));
        let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let release = Arc::clone(&released);
        let router = Router::new()
            .route(
                "/hold",
                get(move || async move {
                    let _ = holding.lock().unwrap().send(());
                    std::thread::sleep(Duration::from_secs(3));
                    release.store(true, std::sync::atomic::Ordering::SeqCst);
                    "held"
                }),
            )
            .route("/", get(|| async { "served" }));
        let addr = per_core(router, ListenerLimits::default());
        let mut holder = tokio::net::TcpStream::connect(addr).await.unwrap();
        holder
            .write_all(b"GET /hold HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        tokio::task::spawn_blocking(move || held.recv())
            .await
            .unwrap()
            .expect("the handler holds its thread");
        let mut other = tokio::net::TcpStream::connect(addr).await.unwrap();
        other
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = until_closed(&mut other).await;
        assert!(answer.ends_with("served"), "{answer}");
        assert!(!released.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[test]
    fn a_server_of_no_router_is_refused_before_it_listens() {
        let addr = "127.0.0.1:0".parse().unwrap();
        let refused = serve_per_core(Vec::new(), addr, "a site", ListenerLimits::default());
        assert!(matches!(refused, Err(ServeError::Local(_))), "{refused:?}");
    }

    /// New connections go to the runtimes in turn, so under a load generator's many
    /// connections each runtime has as many to serve.
    #[tokio::test]
    async fn connections_are_handed_to_the_runtimes_in_turn() {
        let router = Router::new().route(
            "/",
            get(|| async { std::thread::current().name().unwrap_or_default().to_owned() }),
        );
        let addr = per_core(router, ListenerLimits::default());
        let mut servers = Vec::new();
        for _ in 0..4 {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let answer = until_closed(&mut stream).await;
            servers.push(answer.rsplit("\r\n").next().unwrap_or_default().to_owned());
        }
        assert_eq!(servers, ["a site 0", "a site 1", "a site 0", "a site 1"]);
    }

    /// The connection bound is the server's: past it, a client waits even while a
    /// runtime has nothing to do.
    #[tokio::test]
    async fn the_connection_bound_holds_across_the_runtimes() {
        let router = Router::new().route("/", get(|| async { "served" }));
        let addr = per_core(router, short_header_timeout(1));
        the_second_client_waits_for_the_first(addr).await;
    }

    #[test]
    fn limits_outside_their_range_are_refused() {
        let ms = Duration::from_millis;
        assert_eq!(
            ListenerLimits::new(ms(99), 10),
            Err(LimitsError::HeaderTimeout)
        );
        assert_eq!(
            ListenerLimits::new(ms(20_000), 0),
            Err(LimitsError::MaxConnections)
        );
        assert!(ListenerLimits::new(ms(100), 1).is_ok());
    }
}
