//! main-site as a reverse proxy in front of an HTTP origin: what a share link's page
//! gets (our tags on every real page, decoded from any coding, whatever Host the request
//! names), and what goes through as the origin sent it (pages without a share, images,
//! stylesheets, errors and redirects).

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use share_inject::INJECT_HEADER;
use tokio::io::AsyncReadExt;

use crate::support::{
    ID, Origin, SHARED_PAGE, assert_same_after_head, assert_shared, client, fetch, get_from, html,
    page, pages_dir, share_problems, site,
};

async fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    async_compression::tokio::bufread::GzipEncoder::new(data)
        .read_to_end(&mut out)
        .await
        .expect("gzip");
    out
}

async fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    async_compression::tokio::bufread::BrotliEncoder::new(data)
        .read_to_end(&mut out)
        .await
        .expect("br");
    out
}

#[tokio::test]
async fn a_share_gets_our_image_and_canonical_url_whatever_host_the_request_names() {
    let origin =
        Origin::start(Router::new().route("/status/1", get(|| async { html(page(SHARED_PAGE)) })))
            .await;
    let site = site(&origin.url()).await;

    let answer = fetch(
        client()
            .get(format!("{}/status/1?ref=home&social={ID}", site.base()))
            .header(header::HOST, "evil.example")
            .header("x-forwarded-host", "evil.example")
            .header("forwarded", "host=evil.example;proto=http"),
    )
    .await;

    assert_shared(&answer, ID);
    assert!(
        !answer.text().contains("evil.example"),
        "the Host reached the page"
    );
    assert_same_after_head(&page(SHARED_PAGE), &answer.body);
    let host = origin.last().headers[header::HOST].clone();
    assert_eq!(
        host,
        origin.addr().to_string(),
        "the origin is asked by its own name"
    );
}

/// The one page whose head is larger than the engine reads before deciding (530 KB of
/// inline script): it may come through as it is, but never half-rewritten.
const HEAD_BEYOND_THE_WINDOW: &str = "readability__malformed.html";

#[tokio::test]
async fn every_real_page_shared_has_exactly_one_image_tag_set_and_it_is_ours() {
    let origin =
        Origin::start(Router::new().route(
            "/pages/{name}",
            get(
                |axum::extract::Path(name): axum::extract::Path<String>| async move {
                    html(page(&name))
                },
            ),
        ))
        .await;
    let site = site(&origin.url()).await;

    let mut names: Vec<String> = std::fs::read_dir(pages_dir())
        .expect("the pages")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".html"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 32, "the real pages: {names:?}");

    let mut failures = Vec::new();
    for name in &names {
        let answer = get_from(site.addr, &format!("/pages/{name}?social={ID}")).await;
        let outcome = answer.header(INJECT_HEADER).unwrap_or("(none)").to_owned();
        if name == HEAD_BEYOND_THE_WINDOW && outcome.starts_with("passthrough") {
            if answer.body != page(name) {
                failures.push(format!("{name}: passed through, but not byte for byte"));
            }
            continue;
        }
        if outcome != "injected" {
            failures.push(format!("{name}: x-ogshot-inject {outcome}"));
            continue;
        }
        failures.extend(
            share_problems(&answer.text(), &answer.target, ID)
                .into_iter()
                .map(|problem| format!("{name}: {problem}")),
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn without_a_share_the_page_and_its_headers_are_the_origins_byte_for_byte() {
    let origin = Origin::start(Router::new().route(
        "/status/1",
        get(|| async {
            (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::ETAG, "\"v1\""),
                    (header::CACHE_CONTROL, "public, max-age=60"),
                    (header::SET_COOKIE, "session=abc; HttpOnly"),
                    (header::ACCEPT_RANGES, "bytes"),
                ],
                page(SHARED_PAGE),
            )
        }),
    ))
    .await;
    let site = site(&origin.url()).await;
    let direct = fetch(client().get(format!("{}/status/1", origin.url()))).await;
    assert_eq!(
        direct.header("content-length"),
        Some(page(SHARED_PAGE).len().to_string().as_str())
    );

    // No id, an invalid one, a repeated one: none is a share.
    for query in [
        "",
        "?social=nope",
        "?social=12-34-1",
        &format!("?social={ID}&social={ID}"),
    ] {
        let answer = get_from(site.addr, &format!("/status/1{query}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}");
        assert!(
            answer.body == page(SHARED_PAGE),
            "{query}: the page changed"
        );
        assert_eq!(answer.header(INJECT_HEADER), None, "{query}");
        let names = |headers: &HeaderMap| {
            let mut names: Vec<String> = headers.keys().map(ToString::to_string).collect();
            names.sort();
            names
        };
        assert_eq!(names(&answer.headers), names(&direct.headers), "{query}");
        for (name, value) in &direct.headers {
            if name != header::DATE {
                assert_eq!(answer.headers.get(name), Some(value), "{query}: {name}");
            }
        }
    }
}

#[tokio::test]
async fn a_gzip_br_or_chunked_page_is_decoded_rewritten_and_sent_uncoded() {
    const PAGE: &str = "citation__arxiv.org-abs-1706.03762.html";
    let origin = Origin::start(Router::new().route(
        "/{coding}",
        get(
            |axum::extract::Path(coding): axum::extract::Path<String>| async move {
                let plain = page(PAGE);
                let (body, content_encoding) = match coding.as_str() {
                    "gzip" => (Body::from(gzip(&plain).await), Some("gzip")),
                    "br" => (Body::from(brotli(&plain).await), Some("br")),
                    // No length: hyper sends it chunked, in pieces as they come.
                    "chunked" => {
                        let pieces: Vec<Result<Bytes, std::io::Error>> = plain
                            .chunks(1000)
                            .map(|piece| Ok(Bytes::copy_from_slice(piece)))
                            .collect();
                        (Body::from_stream(futures::stream::iter(pieces)), None)
                    }
                    other => panic!("no coding {other}"),
                };
                let mut response = Response::new(body);
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
                headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
                if let Some(coding) = content_encoding {
                    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
                }
                response
            },
        ),
    ))
    .await;
    let site = site(&origin.url()).await;

    for coding in ["gzip", "br", "chunked"] {
        let upstream = fetch(client().get(format!("{}/{coding}", origin.url()))).await;
        if coding == "chunked" {
            assert_eq!(upstream.header("transfer-encoding"), Some("chunked"));
        } else {
            assert_eq!(upstream.header("content-encoding"), Some(coding));
        }

        let answer = fetch(
            client()
                .get(format!("{}/{coding}?social={ID}", site.base()))
                .header(header::ACCEPT_ENCODING, "gzip, deflate, br, zstd"),
        )
        .await;

        let asked = origin.last().headers;
        let asked = asked
            .get(header::ACCEPT_ENCODING)
            .map(|value| value.to_str().expect("text"));
        assert_eq!(
            asked,
            Some("gzip, br"),
            "{coding}: what the origin was offered"
        );
        assert_shared(&answer, ID);
        for dropped in ["content-encoding", "content-length", "accept-ranges"] {
            assert_eq!(answer.header(dropped), None, "{coding}: {dropped}");
        }
        assert_same_after_head(&page(PAGE), &answer.body);
    }
}

#[tokio::test]
async fn a_share_of_an_image_or_a_stylesheet_streams_through_with_its_headers() {
    let origin = Origin::start(
        Router::new()
            .route(
                "/logo.png",
                get(|| async {
                    (
                        [
                            (header::CONTENT_TYPE, "image/png"),
                            (header::ETAG, "\"png1\""),
                        ],
                        Bytes::from_static(b"\x89PNG\r\n\x1a\n not really a png"),
                    )
                }),
            )
            .route(
                "/site.css",
                get(|| async {
                    (
                        [
                            (header::CONTENT_TYPE, "text/css"),
                            (header::CONTENT_ENCODING, "gzip"),
                            (header::CACHE_CONTROL, "public, max-age=3600"),
                        ],
                        gzip(b"body { color: black }").await,
                    )
                }),
            ),
    )
    .await;
    let site = site(&origin.url()).await;

    for path in ["/logo.png", "/site.css"] {
        let direct = fetch(
            client()
                .get(format!("{}{path}", origin.url()))
                .header(header::ACCEPT_ENCODING, "gzip"),
        )
        .await;
        let answer = fetch(
            client()
                .get(format!("{}{path}?social={ID}", site.base()))
                .header(header::ACCEPT_ENCODING, "gzip"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert!(answer.body == direct.body, "{path}: the bytes changed");
        for (name, value) in &direct.headers {
            if name != header::DATE {
                assert_eq!(answer.headers.get(name), Some(value), "{path}: {name}");
            }
        }
        let outcome = answer.header(INJECT_HEADER).unwrap_or("passthrough");
        assert!(outcome.starts_with("passthrough"), "{path}: {outcome}");
    }
}

#[tokio::test]
async fn errors_and_redirects_keep_their_status_and_headers_and_no_redirect_is_followed() {
    let origin = Origin::start(
        Router::new()
            .route(
                "/missing",
                get(|| async { (StatusCode::NOT_FOUND, html(page(SHARED_PAGE))) }),
            )
            .route(
                "/broken",
                get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, html(page(SHARED_PAGE))) }),
            )
            .route(
                "/old",
                get(|| async {
                    (
                        StatusCode::FOUND,
                        [
                            (header::LOCATION, "/new?from=old"),
                            (header::SET_COOKIE, "seen=1; Path=/"),
                            (header::VARY, "Accept-Language"),
                        ],
                    )
                }),
            )
            .route("/new", get(|| async { html(page(SHARED_PAGE)) })),
    )
    .await;
    let site = site(&origin.url()).await;

    for (path, status) in [
        ("/missing", StatusCode::NOT_FOUND),
        ("/broken", StatusCode::INTERNAL_SERVER_ERROR),
        ("/old", StatusCode::FOUND),
    ] {
        let direct = get_from(origin.addr(), path).await;
        let answer = get_from(site.addr, &format!("{path}?social={ID}")).await;
        assert_eq!(answer.status, status, "{path}");
        assert!(answer.body == direct.body, "{path}: the body changed");
        for (name, value) in &direct.headers {
            if name != header::DATE {
                assert_eq!(answer.headers.get(name), Some(value), "{path}: {name}");
            }
        }
    }
    let answer = get_from(site.addr, &format!("/old?social={ID}")).await;
    assert_eq!(answer.header("location"), Some("/new?from=old"));
    assert_eq!(answer.header("set-cookie"), Some("seen=1; Path=/"));
    assert_eq!(answer.header("vary"), Some("Accept-Language"));
    assert!(
        origin
            .seen()
            .iter()
            .all(|seen| !seen.target.starts_with("/new")),
        "the site followed the redirect"
    );
}
