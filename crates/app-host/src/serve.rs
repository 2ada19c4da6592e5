//! One router, two hosts: `lambda_http` when AWS Lambda runs the process, otherwise a
//! local server; either until SIGTERM or Ctrl-C.

use std::net::SocketAddr;

use axum::Router;

/// Set by AWS Lambda in every execution environment; `lambda_http::run` panics without
/// it, so it alone decides the host.
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
            result = lambda_http::run(router) => result.map_err(ServeError::Lambda),
            () = shutdown_signal() => Ok(()),
        };
    }
    serve_locally(router, addr, name).await
}

/// As [`serve`], but on Lambda each answer streams out as the router produces it, for
/// a function URL whose `InvokeMode` is `RESPONSE_STREAM` (a buffered function URL
/// cannot take a streamed answer).
pub async fn serve_streamed(
    router: Router,
    addr: SocketAddr,
    name: &str,
) -> Result<(), ServeError> {
    if on_lambda() {
        return tokio::select! {
            result = lambda_http::run_with_streaming_response(router) => {
                result.map_err(ServeError::Lambda)
            }
            () = shutdown_signal() => Ok(()),
        };
    }
    serve_locally(router, addr, name).await
}

async fn serve_locally(router: Router, addr: SocketAddr, name: &str) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(ServeError::Local)?;
    tracing::info!("{name} listening on http://{local}");
    // The peer's address reaches handlers (`ConnectInfo`): a proxy tells its origin who
    // asked.
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServeError::Local)
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
}
