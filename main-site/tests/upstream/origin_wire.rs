//! main-site as a reverse proxy, what it puts on the wire to the origin: a request
//! without a body goes without one, a target too long to send is the client's 414, and
//! requests share kept-alive connections, never one the origin has closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use test_kit::raw_http;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{RawOrigin, args, site, site_from};

/// An origin that answers every request it reads with an empty 204 and hangs up.
async fn no_content_origin() -> RawOrigin {
    RawOrigin::start(|mut socket| async move {
        let answer = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
        let _ = socket.write_all(answer).await;
    })
    .await
}

/// A GET, HEAD, DELETE or OPTIONS with no body reaches the origin as its head alone: no
/// `Content-Length`, no `Transfer-Encoding: chunked` (a chunked GET is refused or left
/// waiting by strict origins and caches).
#[tokio::test]
async fn a_request_without_a_body_reaches_the_origin_without_body_framing() {
    let origin = no_content_origin().await;
    let site = site(&origin.url()).await;

    let methods = ["GET", "HEAD", "DELETE", "OPTIONS"];
    for method in methods {
        let answer = raw_http::request(site.addr, method, "/a/b?c=1", &[]).await;
        assert_eq!(answer.status, 204, "{method}");
    }
    let heads = origin.heads();
    assert_eq!(heads.len(), methods.len(), "{heads:#?}");
    for (method, head) in methods.iter().zip(&heads) {
        let request_line = format!("{} /a/b?c=1 http/1.1\r\n", method.to_ascii_lowercase());
        assert!(head.starts_with(&request_line), "{head}");
        for framing in ["content-length", "transfer-encoding"] {
            assert!(!head.contains(framing), "{method} sent {framing}: {head}");
        }
    }
}

/// A path the listener takes, but which below a long upstream base is longer than any
/// request target may be: the client's mistake (a 414), not a failed origin (a 502),
/// and the origin is never asked.
#[tokio::test]
async fn a_path_too_long_once_below_the_base_is_a_414_and_never_reaches_the_origin() {
    let origin = no_content_origin().await;
    let base = format!("{}/{}", origin.url(), "b".repeat(200));
    let site = site_from(args(&base)).await;

    let target = format!("/{}", "a".repeat(65_400));
    let answer = raw_http::request(site.addr, "GET", &target, &[]).await;
    assert_eq!(
        answer.status,
        414,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(origin.heads(), Vec::<String>::new());
}

/// An origin that answers each request on a connection with `ok`, keeping it open for
/// the next one, or closing it `IDLE_CLOSE` after its first answer without having said
/// so (as an origin does whose idle connections time out): the number of connections
/// it accepted.
async fn counting_origin(close_after_one: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0_u8; 1];
                while socket.read(&mut byte).await.is_ok_and(|read| read == 1) {
                    head.push(byte[0]);
                    if head.ends_with(b"\r\n\r\n") {
                        head.clear();
                        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                        if socket.write_all(answer).await.is_err() {
                            return;
                        }
                        if close_after_one {
                            tokio::time::sleep(IDLE_CLOSE).await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, accepted)
}

#[tokio::test]
async fn requests_one_after_another_share_one_connection_to_the_origin() {
    let (url, accepted) = counting_origin(false).await;
    let site = site(&url).await;
    for _ in 0..5 {
        let answer = raw_http::request(site.addr, "GET", "/page", &[]).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, b"ok");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

/// How long the origin keeps a connection idle before it closes it.
const IDLE_CLOSE: Duration = Duration::from_millis(100);

/// Each request waits until the connection the last one used, back in the pool by then,
/// has been closed by the origin, and then goes on a new connection rather than fail on
/// the closed one.
#[tokio::test]
async fn a_connection_the_origin_closed_while_idle_is_not_used_again() {
    let (url, accepted) = counting_origin(true).await;
    let site = site(&url).await;
    for sent in 1..=3 {
        let answer = raw_http::request(site.addr, "GET", "/page", &[]).await;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.body, b"ok");
        assert_eq!(accepted.load(Ordering::SeqCst), sent);
        // The proxy reads the close from the socket in far less than the rest.
        tokio::time::sleep(IDLE_CLOSE * 3).await;
    }
}
