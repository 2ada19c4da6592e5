//! main-site as a reverse proxy, the HTTP of it: hop-by-hop headers, HEAD, conditional
//! requests on a share's own ETag, ranges, pages the origin forbids rewriting, and a POST
//! that carries `social`.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use share_inject::INJECT_HEADER;
use tokio::io::AsyncWriteExt;

use crate::support::{
    ID, OTHER_ID, Origin, RawOrigin, SHARED_PAGE, assert_same_after_head, assert_shared, chunk,
    client, fetch, get_from, html, page, site,
};

#[tokio::test]
async fn hop_by_hop_headers_stay_behind_both_ways() {
    let origin = RawOrigin::start(|mut socket| async move {
        let body = page(SHARED_PAGE);
        let mut answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\
            Connection: close, x-origin-hop\r\nX-Origin-Hop: 1\r\nKeep-Alive: timeout=5\r\n\
            X-End-To-End: origin\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
        for piece in body.chunks(700) {
            answer.extend(chunk(piece));
        }
        answer.extend(b"0\r\n\r\n");
        let _ = socket.write_all(&answer).await;
    })
    .await;
    let site = site(&origin.url()).await;

    for query in ["", &format!("?social={ID}")] {
        let answer = fetch(
            client()
                .get(format!("{}/status/1{query}", site.base()))
                .header(header::CONNECTION, "x-client-hop")
                .header("x-client-hop", "1")
                .header("keep-alive", "timeout=5")
                .header(header::TE, "trailers")
                .header("proxy-authorization", "Basic c2VjcmV0")
                .header("x-end-to-end", "client"),
        )
        .await;

        let head = origin.heads().pop().expect("the origin got a request");
        assert!(head.contains("\r\nx-end-to-end: client\r\n"), "{head}");
        for hop in [
            "x-client-hop",
            "keep-alive:",
            "\r\nte:",
            "proxy-authorization",
        ] {
            assert!(
                !head.contains(hop),
                "{query}: the origin got {hop:?}: {head}"
            );
        }

        for hop in ["x-origin-hop", "keep-alive"] {
            assert_eq!(answer.header(hop), None, "{query}: the client got {hop}");
        }
        assert!(
            answer
                .header("connection")
                .is_none_or(|c| !c.contains("x-origin-hop")),
            "{query}"
        );
        assert_eq!(answer.header("x-end-to-end"), Some("origin"), "{query}");
        // The origin's chunk framing is undone, not passed on as page bytes.
        assert_same_after_head(&page(SHARED_PAGE), &answer.body);
        if query.is_empty() {
            assert!(answer.body == page(SHARED_PAGE));
        } else {
            assert_shared(&answer, ID);
        }
    }
}

#[tokio::test]
async fn a_head_of_a_share_has_the_headers_of_its_get_and_no_body() {
    let origin = Origin::start(Router::new().route(
        "/status/1",
        get(|| async {
            (
                [
                    (header::CONTENT_TYPE, "text/html"),
                    (header::ETAG, "\"v1\""),
                    (header::CACHE_CONTROL, "public, max-age=60"),
                ],
                page(SHARED_PAGE),
            )
        }),
    ))
    .await;
    let site = site(&origin.url()).await;
    let target = format!("/status/1?social={ID}");

    let got = get_from(site.addr, &target).await;
    assert_shared(&got, ID);
    let head = test_kit::raw_http::request(site.addr, "HEAD", &target, &[]).await;

    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "{} body bytes", head.body.len());
    for name in [INJECT_HEADER, "etag", "content-type", "cache-control"] {
        assert_eq!(head.header(name), got.header(name), "{name}");
    }
    for name in ["content-encoding", "accept-ranges"] {
        assert_eq!(head.header(name), None, "{name}");
    }
    // No length but the GET's: the GET's is unknown until it is sent.
    assert!(
        head.header("content-length")
            .is_none_or(|length| length == got.body.len().to_string()),
        "HEAD says content-length {:?}, the GET sent {}",
        head.header("content-length"),
        got.body.len()
    );
}

#[tokio::test]
async fn a_share_revalidates_on_its_own_etag_and_never_on_the_origins() {
    let origin = Origin::start(Router::new().route(
        "/status/1",
        get(|headers: HeaderMap| async move {
            // The origin answers conditionals itself, as real ones do.
            if headers.get(header::IF_NONE_MATCH).is_some() {
                return (StatusCode::NOT_MODIFIED, [(header::ETAG, "\"v1\"")]).into_response();
            }
            (
                [
                    (header::CONTENT_TYPE, "text/html"),
                    (header::ETAG, "\"v1\""),
                ],
                page(SHARED_PAGE),
            )
                .into_response()
        }),
    ))
    .await;
    let site = site(&origin.url()).await;
    let target = format!("{}/status/1?social={ID}", site.base());

    let first = fetch(client().get(&target)).await;
    assert_shared(&first, ID);
    let etag = first.header("etag").expect("a derived ETag").to_owned();
    assert!(
        etag.starts_with("W/"),
        "{etag}: the bytes are not the origin's"
    );
    assert_ne!(etag, "\"v1\"");

    let again = fetch(client().get(&target).header(header::IF_NONE_MATCH, &etag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert!(again.body.is_empty());

    // The origin's own validator describes bytes no client of the share ever got.
    let theirs = fetch(
        client()
            .get(&target)
            .header(header::IF_NONE_MATCH, "\"v1\""),
    )
    .await;
    assert_shared(&theirs, ID);

    let other = get_from(site.addr, &format!("/status/1?social={OTHER_ID}")).await;
    assert_shared(&other, OTHER_ID);
    assert_ne!(
        other.header("etag"),
        Some(etag.as_str()),
        "another share's ETag"
    );

    for seen in origin.seen() {
        assert_eq!(seen.headers.get(header::IF_NONE_MATCH), None, "{seen:?}");
    }
}

#[tokio::test]
async fn without_an_origin_etag_a_share_is_never_not_modified() {
    let origin =
        Origin::start(Router::new().route("/status/1", get(|| async { html(page(SHARED_PAGE)) })))
            .await;
    let site = site(&origin.url()).await;

    for if_none_match in ["W/\"ogshot-000000000000000000000000\"", "*"] {
        let answer = fetch(
            client()
                .get(format!("{}/status/1?social={ID}", site.base()))
                .header(header::IF_NONE_MATCH, if_none_match),
        )
        .await;
        assert_shared(&answer, ID);
        assert_eq!(answer.header("etag"), None, "{if_none_match}");
    }
}

#[tokio::test]
async fn a_range_of_a_share_gets_the_whole_rewritten_page_and_of_anything_else_the_origins_206() {
    let origin = Origin::start(Router::new().route(
        "/status/1",
        get(|headers: HeaderMap| async move {
            let page = page(SHARED_PAGE);
            if headers.get(header::RANGE).map(HeaderValue::as_bytes) == Some(b"bytes=0-99") {
                let range = format!("bytes 0-99/{}", page.len());
                return (
                    StatusCode::PARTIAL_CONTENT,
                    [
                        (header::CONTENT_TYPE, "text/html".to_owned()),
                        (header::CONTENT_RANGE, range),
                    ],
                    page.slice(..100),
                )
                    .into_response();
            }
            (
                [
                    (header::CONTENT_TYPE, "text/html"),
                    (header::ACCEPT_RANGES, "bytes"),
                ],
                page,
            )
                .into_response()
        }),
    ))
    .await;
    let site = site(&origin.url()).await;
    let range = |target: String| client().get(target).header(header::RANGE, "bytes=0-99");

    let shared = fetch(range(format!("{}/status/1?social={ID}", site.base()))).await;
    assert_shared(&shared, ID);
    assert_eq!(shared.header("content-range"), None);
    assert_same_after_head(&page(SHARED_PAGE), &shared.body);
    assert_eq!(
        origin.last().headers.get(header::RANGE),
        None,
        "the range was forwarded"
    );

    let plain = fetch(range(format!("{}/status/1", site.base()))).await;
    assert_eq!(plain.status, StatusCode::PARTIAL_CONTENT);
    assert!(plain.body == page(SHARED_PAGE).slice(..100));
    assert_eq!(
        plain.header("content-range"),
        Some(format!("bytes 0-99/{}", page(SHARED_PAGE).len()).as_str())
    );
}

#[tokio::test]
async fn a_no_transform_or_attachment_page_is_left_alone() {
    let origin = Origin::start(
        Router::new()
            .route(
                "/no-transform",
                get(|| async {
                    (
                        [
                            (header::CONTENT_TYPE, "text/html"),
                            (header::CACHE_CONTROL, "public, no-transform"),
                        ],
                        page(SHARED_PAGE),
                    )
                }),
            )
            .route(
                "/download",
                get(|| async {
                    (
                        [
                            (header::CONTENT_TYPE, "text/html"),
                            (
                                header::CONTENT_DISPOSITION,
                                "attachment; filename=\"post.html\"",
                            ),
                        ],
                        page(SHARED_PAGE),
                    )
                }),
            ),
    )
    .await;
    let site = site(&origin.url()).await;

    for path in ["/no-transform", "/download"] {
        let answer = get_from(site.addr, &format!("{path}?social={ID}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert!(answer.body == page(SHARED_PAGE), "{path}: the page changed");
        assert_eq!(
            answer.header("content-length"),
            Some(page(SHARED_PAGE).len().to_string().as_str()),
            "{path}"
        );
        let outcome = answer.header(INJECT_HEADER).unwrap_or_default();
        assert!(outcome.starts_with("passthrough"), "{path}: {outcome}");
    }
}

#[tokio::test]
async fn a_post_with_social_goes_to_the_origin_with_its_body_and_comes_back_untouched() {
    let origin =
        Origin::start(Router::new().route("/comment", any(|| async { html(page(SHARED_PAGE)) })))
            .await;
    let site = site(&origin.url()).await;

    let answer = fetch(
        client()
            .post(format!("{}/comment?social={ID}", site.base()))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("text=nice+card"),
    )
    .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.body == page(SHARED_PAGE),
        "a POST's answer was rewritten"
    );
    assert_eq!(answer.header(INJECT_HEADER), None);
    let seen = origin.last();
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.target, format!("/comment?social={ID}"));
    assert_eq!(seen.body, "text=nice+card");
}
