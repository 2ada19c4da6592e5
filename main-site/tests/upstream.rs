//! main-site in front of an existing site (`--upstream`), over real HTTP end to end: a
//! test origin on port 0 (axum, or a raw socket where a test needs byte-level control),
//! a directory, or a bucket in test-kit's S3 server; the site's router on a real
//! listener; reqwest as the client, decoding nothing itself. Pages are the real-world
//! pages of `share-tags/tests/pages`. Each test states what a crawler or the site's owner
//! would notice.
//!
//! The bucket site runs the main-site binary itself: the AWS SDK takes its endpoint and
//! keys from the environment, and only a child process can be given its own.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use main_site::{Args, Config};
use share_tags::INJECT_HEADER;
use shared_ids::{BaseUrl, SocialId};
use test_kit::meta::meta_contents;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PUBLIC_URL: &str = "https://www.example.com";
const IMAGE_BASE: &str = "https://img.example.com";
const ID: &str = "12-34-10";
const OTHER_ID: &str = "42-42-42";

/// The deadline the slow-origin tests run with: the smallest `Config` accepts is 100 ms,
/// and this leaves a loaded machine room to answer the fast requests in time.
const SHORT_TIMEOUT_MS: u64 = 500;

/// How long a gateway answer may take against `SHORT_TIMEOUT_MS`: far above it, since
/// these machines are shared, yet far below a hang.
const GATEWAY_ANSWER_WITHIN: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------- the site under test

fn config(upstream: &str, timeout_ms: u64) -> Config {
    Config::try_from(Args {
        upstream: Some(upstream.to_owned()),
        public_url: PUBLIC_URL.to_owned(),
        image_base_url: IMAGE_BASE.to_owned(),
        upstream_timeout_ms: timeout_ms,
        ..Args::defaults()
    })
    .expect("a valid configuration")
}

/// main-site's router on a real listener, in front of `upstream`.
async fn site(upstream: &str) -> SocketAddr {
    serve(main_site::router(config(
        upstream,
        Args::defaults().upstream_timeout_ms,
    )))
    .await
}

async fn site_with_timeout(upstream: &str, timeout_ms: u64) -> SocketAddr {
    serve(main_site::router(config(upstream, timeout_ms))).await
}

async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    addr
}

/// A client that decodes no coding and follows no redirect, so the test sees the bytes
/// and the status as they came; the timeout only turns a hang into a failure.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_deflate()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a client")
}

/// A whole answer as the client got it.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|value| value.to_str().expect("a text header"))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn fetch(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("an answer");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("a whole body");
    Answer {
        status,
        headers,
        body,
    }
}

async fn get_from(addr: SocketAddr, target: &str) -> Answer {
    fetch(client().get(format!("http://{addr}{target}"))).await
}

// ---------------------------------------------------------------- what a share says

fn social_id(id: &str) -> SocialId {
    SocialId::parse(id).expect("a test id")
}

/// Our card's URL for `id`, as shared-ids builds it.
fn card_url(id: &str) -> String {
    BaseUrl::parse(IMAGE_BASE)
        .expect("the image base")
        .image_url(Some(social_id(id)))
}

/// The canonical share URL: the public URL and the id, whatever the request said.
fn share_url(id: &str) -> String {
    format!("{PUBLIC_URL}/?social={id}")
}

/// What a crawler must read in a shared page of `id`: one image, one URL, one card
/// type, all ours. Returns what is wrong, so a loop over pages can name every failure.
fn share_problems(html: &str, id: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, ours) in [
        ("og:image", card_url(id)),
        ("og:url", share_url(id)),
        ("twitter:image", card_url(id)),
        ("twitter:card", share_tags::TWITTER_CARD.to_owned()),
    ] {
        let found = meta_contents(html, key);
        if found != [ours.clone()] {
            problems.push(format!("{key}: want exactly [{ours}], found {found:?}"));
        }
    }
    problems
}

#[track_caller]
fn assert_shared(answer: &Answer, id: &str) {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.header(INJECT_HEADER), Some("injected"));
    let problems = share_problems(&answer.text(), id);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The page from its `</head>` on is the rewritten body's end, byte for byte: the
/// client got the whole page, decoded, and nothing after the head was touched.
#[track_caller]
fn assert_same_after_head(page: &[u8], body: &[u8]) {
    let lower = page.to_ascii_lowercase();
    let end = lower
        .windows(7)
        .position(|w| w == b"</head>")
        .expect("the page has a </head>");
    assert!(
        body.ends_with(&page[end..]),
        "the body does not end with the page's own {} bytes after its head ({} bytes came)",
        page.len() - end,
        body.len()
    );
}

// ---------------------------------------------------------------- real pages

fn pages_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../share-tags/tests/pages")
}

fn page(name: &str) -> Bytes {
    let path = pages_dir().join(name);
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// A page with its own og:image, og:url, twitter:card and twitter:image.
const SHARED_PAGE: &str = "x__post-image-og.html";
/// A second site page, with an og:image of its own.
const DOCS_PAGE: &str = "imdb__title.html";

fn html(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

// ---------------------------------------------------------------- test origins

/// What an origin received.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    target: String,
    headers: HeaderMap,
    body: Bytes,
}

/// An axum app as the origin, recording every request it gets.
struct Origin {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Origin {
    async fn start(app: Router) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let app = app.layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let record = Arc::clone(&record);
                async move {
                    let (parts, body) = request.into_parts();
                    let body = axum::body::to_bytes(body, usize::MAX)
                        .await
                        .expect("a whole request body");
                    record.lock().expect("lock").push(Seen {
                        method: parts.method.clone(),
                        target: parts.uri.to_string(),
                        headers: parts.headers.clone(),
                        body: body.clone(),
                    });
                    next.run(Request::from_parts(parts, Body::from(body))).await
                }
            },
        ));
        Self {
            addr: serve(app).await,
            seen,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    fn last(&self) -> Seen {
        self.seen().pop().expect("the origin got a request")
    }
}

/// An origin that writes its answers byte by byte: each connection's request head is
/// read and kept, then `answer` has the socket.
struct RawOrigin {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
}

impl RawOrigin {
    async fn start<F, Fut>(answer: F) -> Self
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("an address");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&heads);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let Some(head) = read_head(&mut socket).await else {
                    continue;
                };
                kept.lock().expect("lock").push(head);
                tokio::spawn(answer(socket));
            }
        });
        Self { addr, heads }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request heads it read, lower-cased.
    fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("lock").clone()
    }
}

async fn read_head(socket: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).to_ascii_lowercase())
}

/// One HTTP/1.1 chunk.
fn chunk(data: &[u8]) -> Vec<u8> {
    [format!("{:x}\r\n", data.len()).as_bytes(), data, b"\r\n"].concat()
}

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

// ================================================================= proxy mode

#[tokio::test]
async fn a_share_gets_our_image_and_canonical_url_whatever_host_the_request_names() {
    let origin =
        Origin::start(Router::new().route("/status/1", get(|| async { html(page(SHARED_PAGE)) })))
            .await;
    let addr = site(&origin.url()).await;

    let answer = fetch(
        client()
            .get(format!("http://{addr}/status/1?ref=home&social={ID}"))
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
        origin.addr.to_string(),
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
    let addr = site(&origin.url()).await;

    let mut names: Vec<String> = std::fs::read_dir(pages_dir())
        .expect("the pages")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".html"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 32, "the real pages: {names:?}");

    let mut failures = Vec::new();
    for name in &names {
        let answer = get_from(addr, &format!("/pages/{name}?social={ID}")).await;
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
            share_problems(&answer.text(), ID)
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
    let addr = site(&origin.url()).await;
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
        let answer = get_from(addr, &format!("/status/1{query}")).await;
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
    let addr = site(&origin.url()).await;

    for coding in ["gzip", "br", "chunked"] {
        let upstream = fetch(client().get(format!("{}/{coding}", origin.url()))).await;
        if coding == "chunked" {
            assert_eq!(upstream.header("transfer-encoding"), Some("chunked"));
        } else {
            assert_eq!(upstream.header("content-encoding"), Some(coding));
        }

        let answer = fetch(
            client()
                .get(format!("http://{addr}/{coding}?social={ID}"))
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
    let addr = site(&origin.url()).await;

    for path in ["/logo.png", "/site.css"] {
        let direct = fetch(
            client()
                .get(format!("{}{path}", origin.url()))
                .header(header::ACCEPT_ENCODING, "gzip"),
        )
        .await;
        let answer = fetch(
            client()
                .get(format!("http://{addr}{path}?social={ID}"))
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
    let addr = site(&origin.url()).await;

    for (path, status) in [
        ("/missing", StatusCode::NOT_FOUND),
        ("/broken", StatusCode::INTERNAL_SERVER_ERROR),
        ("/old", StatusCode::FOUND),
    ] {
        let direct = get_from(origin.addr, path).await;
        let answer = get_from(addr, &format!("{path}?social={ID}")).await;
        assert_eq!(answer.status, status, "{path}");
        assert!(answer.body == direct.body, "{path}: the body changed");
        for (name, value) in &direct.headers {
            if name != header::DATE {
                assert_eq!(answer.headers.get(name), Some(value), "{path}: {name}");
            }
        }
    }
    let answer = get_from(addr, &format!("/old?social={ID}")).await;
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
    let addr = site(&origin.url()).await;

    for query in ["", &format!("?social={ID}")] {
        let answer = fetch(
            client()
                .get(format!("http://{addr}/status/1{query}"))
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
    let addr = site(&origin.url()).await;
    let target = format!("/status/1?social={ID}");

    let got = get_from(addr, &target).await;
    assert_shared(&got, ID);
    let head = test_kit::raw_http::request(addr, "HEAD", &target, &[]).await;

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
    let addr = site(&origin.url()).await;
    let target = format!("http://{addr}/status/1?social={ID}");

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

    let other = get_from(addr, &format!("/status/1?social={OTHER_ID}")).await;
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
    let addr = site(&origin.url()).await;

    for if_none_match in ["W/\"ogshot-000000000000000000000000\"", "*"] {
        let answer = fetch(
            client()
                .get(format!("http://{addr}/status/1?social={ID}"))
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
    let addr = site(&origin.url()).await;
    let range = |target: String| client().get(target).header(header::RANGE, "bytes=0-99");

    let shared = fetch(range(format!("http://{addr}/status/1?social={ID}"))).await;
    assert_shared(&shared, ID);
    assert_eq!(shared.header("content-range"), None);
    assert_same_after_head(&page(SHARED_PAGE), &shared.body);
    assert_eq!(
        origin.last().headers.get(header::RANGE),
        None,
        "the range was forwarded"
    );

    let plain = fetch(range(format!("http://{addr}/status/1"))).await;
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
    let addr = site(&origin.url()).await;

    for path in ["/no-transform", "/download"] {
        let answer = get_from(addr, &format!("{path}?social={ID}")).await;
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
    let addr = site(&origin.url()).await;

    let answer = fetch(
        client()
            .post(format!("http://{addr}/comment?social={ID}"))
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

// ---------------------------------------------------------------- failing origins

#[tokio::test]
async fn a_silent_or_trickling_origin_gets_a_504_no_store_within_the_deadline() {
    let silent = RawOrigin::start(|socket| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    })
    .await;
    let trickled_head = RawOrigin::start(|mut socket| async move {
        let _ = socket.write_all(b"HTTP/1.1 200 OK\r\n").await;
        for n in 0..300 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let line = format!("X-Trickle-{n}: 1\r\n");
            if socket.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    // The head comes at once; the page's own head never does.
    let trickled_page = RawOrigin::start(|mut socket| async move {
        let _ = socket
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<!doctype html>")
            .await;
        for _ in 0..300 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if socket.write_all(b" ").await.is_err() {
                return;
            }
        }
    })
    .await;

    let share = format!("/?social={ID}");
    for (what, origin, target) in [
        ("silent, a share", &silent, share.as_str()),
        ("silent, no share", &silent, "/"),
        ("trickled headers, a share", &trickled_head, share.as_str()),
        ("trickled headers, no share", &trickled_head, "/"),
        ("trickled page, a share", &trickled_page, share.as_str()),
    ] {
        let addr = site_with_timeout(&origin.url(), SHORT_TIMEOUT_MS).await;
        let started = Instant::now();
        let answer = get_from(addr, target).await;
        let took = started.elapsed();
        assert_eq!(answer.status, StatusCode::GATEWAY_TIMEOUT, "{what}");
        assert_eq!(answer.header("cache-control"), Some("no-store"), "{what}");
        assert!(
            took < GATEWAY_ANSWER_WITHIN,
            "{what}: the 504 took {took:?}"
        );
    }
}

#[tokio::test]
async fn a_dead_origin_gets_a_502_no_store() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("an address")
    };
    let addr = site_with_timeout(&format!("http://{closed}"), SHORT_TIMEOUT_MS).await;
    for target in ["/".to_owned(), format!("/?social={ID}")] {
        let answer = get_from(addr, &target).await;
        assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{target}");
        assert_eq!(answer.header("cache-control"), Some("no-store"), "{target}");
    }
}

#[tokio::test]
async fn an_origin_that_dies_before_its_head_gets_a_502_no_store() {
    let hang_up = RawOrigin::start(|socket| async move { drop(socket) }).await;
    let half_a_status_line = RawOrigin::start(|mut socket| async move {
        let _ = socket.write_all(b"HTTP/1.1 20").await;
    })
    .await;
    for origin in [&hang_up, &half_a_status_line] {
        let addr = site(&origin.url()).await;
        for target in ["/".to_owned(), format!("/?social={ID}")] {
            let answer = get_from(addr, &target).await;
            assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{target}");
            assert_eq!(answer.header("cache-control"), Some("no-store"), "{target}");
        }
    }
}

#[tokio::test]
async fn an_origin_that_dies_mid_page_aborts_the_answer_instead_of_shortening_it() {
    // Cut off well after the page's head, so a share has been decided by then.
    const PAGE: &str = "telegram__post-full-image.html";
    let whole = page(PAGE);
    let sent = whole.len() * 3 / 4;
    let short_length = RawOrigin::start(move |mut socket| {
        let whole = whole.clone();
        async move {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
                whole.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&whole[..sent]).await;
        }
    })
    .await;
    let whole = page(PAGE);
    let no_last_chunk = RawOrigin::start(move |mut socket| {
        let whole = whole.clone();
        async move {
            let mut answer =
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .to_vec();
            answer.extend(chunk(&whole[..sent]));
            let _ = socket.write_all(&answer).await;
        }
    })
    .await;

    for (what, origin) in [
        ("short length", &short_length),
        ("no last chunk", &no_last_chunk),
    ] {
        let addr = site(&origin.url()).await;
        for target in ["/".to_owned(), format!("/?social={ID}")] {
            let response = client()
                .get(format!("http://{addr}{target}"))
                .send()
                .await
                .expect("the head came");
            assert_eq!(response.status(), StatusCode::OK, "{what} {target}");
            let body = response.bytes().await;
            assert!(
                body.is_err(),
                "{what} {target}: a cut-off page read as whole ({} bytes)",
                body.map(|b| b.len()).unwrap_or_default()
            );
        }
    }
}

#[tokio::test]
async fn a_shares_first_bytes_arrive_while_the_origin_is_still_sending() {
    let head = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
        <title>A post</title><meta property=\"og:image\" content=\"https://origin.example/own.jpg\">";
    // Past any prescan of the page's charset, so the rest cannot be waited for.
    let first = format!("{head}<style>{}</style>", "p { margin: 0 }\n".repeat(200));
    let rest = "</head><body><p>The rest of the post.</p></body></html>";
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let released = Arc::new(Mutex::new(Some(released)));
    let first_sent = first.clone();
    let origin = RawOrigin::start(move |mut socket| {
        let released = released.lock().expect("lock").take();
        let first = first_sent.clone();
        async move {
            let mut answer =
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .to_vec();
            answer.extend(chunk(first.as_bytes()));
            let _ = socket.write_all(&answer).await;
            if let Some(released) = released {
                let _ = released.await;
            }
            let _ = socket.write_all(&chunk(rest.as_bytes())).await;
            let _ = socket.write_all(b"0\r\n\r\n").await;
        }
    })
    .await;
    let addr = site(&origin.url()).await;

    let mut response = tokio::time::timeout(
        Duration::from_secs(10),
        client()
            .get(format!("http://{addr}/post?social={ID}"))
            .send(),
    )
    .await
    .expect("the head came before the origin finished")
    .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get(INJECT_HEADER)
            .map(HeaderValue::as_bytes),
        Some(&b"injected"[..])
    );
    let mut got = Vec::new();
    let card = card_url(ID);
    while !String::from_utf8_lossy(&got).contains(&card) {
        let piece = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("our tags came before the origin finished")
            .expect("a body");
        got.extend(piece.expect("more body, the origin is still sending"));
    }

    release.send(()).expect("the origin waits");
    while let Some(piece) = response.chunk().await.expect("the rest") {
        got.extend(piece);
    }
    let page = String::from_utf8(got).expect("UTF-8");
    assert!(page.ends_with(rest), "{page}");
    let problems = share_problems(&page, ID);
    assert!(problems.is_empty(), "{problems:#?}");
}

// ================================================================= static mode

/// A site's build output: a real page as the app's index, a docs page, an asset.
fn site_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("index.html"), page(SHARED_PAGE)).expect("index.html");
    std::fs::create_dir(dir.path().join("docs")).expect("docs/");
    std::fs::write(dir.path().join("docs/index.html"), page(DOCS_PAGE)).expect("docs/index.html");
    std::fs::write(dir.path().join("app.css"), "body { margin: 0 }").expect("app.css");
    dir
}

#[tokio::test]
async fn a_directory_sites_share_links_get_the_page_they_name_injected() {
    let dir = site_dir();
    let addr = site(dir.path().to_str().expect("a UTF-8 path")).await;

    for (target, file) in [
        (format!("/?social={ID}"), SHARED_PAGE),
        (format!("/some/route?social={ID}"), SHARED_PAGE),
        (format!("/docs/?social={ID}"), DOCS_PAGE),
    ] {
        let answer = get_from(addr, &target).await;
        assert_shared(&answer, ID);
        assert_same_after_head(&page(file), &answer.body);
    }
    let route = get_from(addr, "/some/route").await;
    assert_eq!(route.status, StatusCode::OK);
    assert!(
        route.body == page(SHARED_PAGE),
        "an app route without a share changed"
    );
}

#[tokio::test]
async fn a_directory_sites_assets_go_out_untouched_and_a_missing_one_is_a_404() {
    let dir = site_dir();
    let addr = site(dir.path().to_str().expect("a UTF-8 path")).await;

    let css = get_from(addr, &format!("/app.css?social={ID}")).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.body, "body { margin: 0 }");
    assert!(
        css.header("content-type")
            .is_some_and(|t| t.starts_with("text/css"))
    );

    for target in ["/app.js".to_owned(), format!("/app.js?social={ID}")] {
        let missing = get_from(addr, &target).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{target}");
        assert_eq!(
            meta_contents(&missing.text(), "og:image"),
            Vec::<String>::new(),
            "{target}"
        );
    }
}

// ================================================================= S3 mode

/// A site's files in a bucket of test-kit's S3 server, under a prefix, and the
/// main-site binary serving them.
struct BucketSite {
    addr: SocketAddr,
    s3: test_kit::s3::TestS3,
    _site: test_kit::process::Process,
    _dir: tempfile::TempDir,
}

const BUCKET_PREFIX: &str = "www";
const CSS: &[u8] = b"body { margin: 0 }";

impl BucketSite {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let s3 = test_kit::s3::start(dir.path().join("s3")).await;
        for (key, body, content_type) in [
            ("index.html", page(SHARED_PAGE), "text/html; charset=utf-8"),
            (
                "docs/index.html",
                page(DOCS_PAGE),
                "text/html; charset=utf-8",
            ),
            ("app.css", Bytes::from_static(CSS), "text/css"),
        ] {
            s3.client()
                .put_object()
                .bucket(&s3.bucket)
                .key(format!("{BUCKET_PREFIX}/{key}"))
                .content_type(content_type)
                .body(aws_sdk_s3::primitives::ByteStream::from(body))
                .send()
                .await
                .unwrap_or_else(|e| panic!("put {key}: {e}"));
        }
        let mut site = test_kit::process::Process::spawn(
            "main-site (S3 upstream)",
            tokio::process::Command::new(env!("CARGO_BIN_EXE_main-site"))
                .env_clear()
                .env("MAIN_SITE_ADDR", "127.0.0.1:0")
                .env("UPSTREAM", format!("s3://{}/{BUCKET_PREFIX}", s3.bucket))
                .env("PUBLIC_URL", PUBLIC_URL)
                .env("IMAGE_BASE_URL", IMAGE_BASE)
                .env("AWS_ENDPOINT_URL_S3", &s3.endpoint)
                .env("AWS_ACCESS_KEY_ID", &s3.access_key)
                .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
                .env("AWS_REGION", test_kit::s3::REGION)
                .env("AWS_EC2_METADATA_DISABLED", "true")
                // No profile of whoever runs the tests reaches the site.
                .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
                .env(
                    "AWS_SHARED_CREDENTIALS_FILE",
                    dir.path().join("no-credentials"),
                )
                .env("NO_COLOR", "1")
                .env("RUST_LOG", "info"),
        );
        let line = site
            .wait_for("listening on http://", Duration::from_secs(30))
            .await;
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| {
                let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'));
                rest[..end.unwrap_or(rest.len())].parse().ok()
            })
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Self {
            addr,
            s3,
            _site: site,
            _dir: dir,
        }
    }

    async fn object_etag(&self, key: &str) -> String {
        self.s3
            .client()
            .head_object()
            .bucket(&self.s3.bucket)
            .key(format!("{BUCKET_PREFIX}/{key}"))
            .send()
            .await
            .expect("the object")
            .e_tag
            .expect("an ETag")
    }
}

#[tokio::test]
async fn a_bucket_sites_share_links_get_the_page_they_name_injected() {
    let site = BucketSite::start().await;

    for (target, file) in [
        (format!("/?social={ID}"), SHARED_PAGE),
        (format!("/some/route?social={ID}"), SHARED_PAGE),
        (format!("/docs/?social={ID}"), DOCS_PAGE),
    ] {
        let answer = get_from(site.addr, &target).await;
        assert_shared(&answer, ID);
        assert_same_after_head(&page(file), &answer.body);
    }
}

#[tokio::test]
async fn a_bucket_sites_objects_keep_their_headers_and_a_missing_asset_is_a_404() {
    let site = BucketSite::start().await;

    let index = get_from(site.addr, "/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.body == page(SHARED_PAGE), "the page changed");
    assert_eq!(
        index.header("etag"),
        Some(site.object_etag("index.html").await.as_str())
    );
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(index.header(INJECT_HEADER), None);

    let css = get_from(site.addr, &format!("/app.css?social={ID}")).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.body, CSS);
    assert_eq!(
        css.header("etag"),
        Some(site.object_etag("app.css").await.as_str())
    );
    assert_eq!(css.header("content-type"), Some("text/css"));
    assert_eq!(
        css.header("content-length"),
        Some(CSS.len().to_string().as_str())
    );

    for target in ["/app.js".to_owned(), format!("/app.js?social={ID}")] {
        let missing = get_from(site.addr, &target).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{target}");
    }
}
