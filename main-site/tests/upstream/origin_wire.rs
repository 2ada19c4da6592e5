//! main-site as a reverse proxy, what it puts on the wire to the origin: a request
//! without a body goes without one, and a target too long to send is the client's 414.

use test_kit::raw_http;
use tokio::io::AsyncWriteExt;

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
