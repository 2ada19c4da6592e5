//! What every upstream suite shares: the site under test (main-site's router on a real
//! listener, in front of an upstream), a client that decodes nothing, the check of what a
//! share says, the real pages, and the test origins (an axum app that records what it
//! gets, or a raw socket for byte-level control).

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use main_site::{Args, Config};
use share_inject::INJECT_HEADER;
use shared_ids::{BaseUrl, SocialId};
use test_kit::Served;
use test_kit::meta::{OtherShareTags, share_tag_problems};
use test_kit::process::Process;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

pub(crate) const PUBLIC_URL: &str = "https://www.example.com";
pub(crate) const IMAGE_BASE: &str = "https://img.example.com";
pub(crate) const ID: &str = "12-34-10";
pub(crate) const OTHER_ID: &str = "42-42-42";

/// The deadline the slow-origin tests run with: the smallest `Config` accepts is 100 ms,
/// and this leaves a loaded machine room to answer the fast requests in time.
pub(crate) const SHORT_TIMEOUT_MS: u64 = 500;

/// How long a gateway answer may take against `SHORT_TIMEOUT_MS`: far above it, since
/// these machines are shared, yet far below a hang.
pub(crate) const GATEWAY_ANSWER_WITHIN: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------- the site under test

/// The flags of main-site in front of `upstream`, on this suite's public URL and image
/// base.
pub(crate) fn args(upstream: &str) -> Args {
    Args {
        upstream: Some(upstream.to_owned()),
        public_url: Some(PUBLIC_URL.to_owned()),
        image_base_url: IMAGE_BASE.to_owned(),
        ..Args::defaults()
    }
}

/// main-site's router on a real listener, in front of `upstream`, for as long as the
/// test holds it.
pub(crate) async fn site(upstream: &str) -> Served {
    site_from(args(upstream)).await
}

/// As [`site`], with every wait on the upstream `timeout_ms`: a share page's head, the
/// pieces of a body, and any other answer's head.
pub(crate) async fn site_with_timeout(upstream: &str, timeout_ms: u64) -> Served {
    site_from(Args {
        upstream_timeout_ms: timeout_ms,
        upstream_answer_timeout_ms: timeout_ms,
        ..args(upstream)
    })
    .await
}

pub(crate) async fn site_from(args: Args) -> Served {
    let config = Config::try_from(args).expect("a valid configuration");
    test_kit::serve(main_site::router(config)).await
}

/// The main-site binary, started by `command` (whose environment it gets, on a free
/// loopback port), once it listens: the process and its address.
pub(crate) async fn spawn_site(
    name: &'static str,
    command: &mut tokio::process::Command,
) -> (Process, SocketAddr) {
    let mut site = Process::spawn(
        name,
        command
            .env("MAIN_SITE_ADDR", "127.0.0.1:0")
            .env("NO_COLOR", "1"),
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
    (site, addr)
}

/// A client that decodes no coding and follows no redirect, so the test sees the bytes
/// and the status as they came; the timeout only turns a hang into a failure.
pub(crate) fn client() -> reqwest::Client {
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
pub(crate) struct Answer {
    /// The path and query asked for.
    pub(crate) target: String,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|value| value.to_str().expect("a text header"))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub(crate) async fn fetch(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("an answer");
    let url = response.url();
    let target = format!(
        "{}{}",
        url.path(),
        url.query().map_or(String::new(), |q| format!("?{q}"))
    );
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("a whole body");
    Answer {
        target,
        status,
        headers,
        body,
    }
}

pub(crate) async fn get_from(addr: SocketAddr, target: &str) -> Answer {
    fetch(client().get(format!("http://{addr}{target}"))).await
}

// ---------------------------------------------------------------- what a share says

fn social_id(id: &str) -> SocialId {
    SocialId::parse(id).expect("a test id")
}

/// Our card's URL for `id`, as shared-ids builds it.
pub(crate) fn card_url(id: &str) -> String {
    BaseUrl::parse(IMAGE_BASE)
        .expect("the image base")
        .image_url(Some(social_id(id)))
}

/// The page's own share URL for a share link `target` (path and query, no tracking
/// parameters) of `id`: the public origin, the path, the query but `social`, and
/// `social` last.
fn share_url(target: &str, id: &str) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    assert!(!query.contains("utm_"), "a tracking parameter in {target}");
    let mut pairs: Vec<String> = (query.split('&'))
        .filter(|pair| !pair.is_empty() && !pair.starts_with("social="))
        .map(str::to_owned)
        .collect();
    pairs.push(format!("social={id}"));
    format!("{PUBLIC_URL}{path}?{}", pairs.join("&"))
}

/// What a crawler must read in the page a share link `target` of `id` got: one image,
/// one URL (the page's own), one card type, all ours. Returns what is wrong, so a loop
/// over pages can name every failure.
pub(crate) fn share_problems(html: &str, target: &str, id: &str) -> Vec<String> {
    let (card, url) = (card_url(id), share_url(target, id));
    let ours = [
        ("og:image", card.as_str()),
        ("og:url", url.as_str()),
        ("twitter:image", card.as_str()),
        ("twitter:card", share_tags::TWITTER_CARD),
    ];
    share_tag_problems(html, &ours, OtherShareTags::Unchecked)
}

#[track_caller]
pub(crate) fn assert_shared(answer: &Answer, id: &str) {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.header(INJECT_HEADER), Some("injected"));
    let problems = share_problems(&answer.text(), &answer.target, id);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The page from its `</head>` on is the rewritten body's end, byte for byte: the
/// client got the whole page, decoded, and nothing after the head was touched.
#[track_caller]
pub(crate) fn assert_same_after_head(page: &[u8], body: &[u8]) {
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

/// A static site's share links (the root, a client-side route, a directory's index), as
/// the directory and bucket kinds serve them: each gets the page it names, injected.
pub(crate) async fn assert_share_links_get_their_pages(addr: SocketAddr) {
    for (target, file) in [
        (format!("/?social={ID}"), SHARED_PAGE),
        (format!("/some/route?social={ID}"), SHARED_PAGE),
        (format!("/docs/?social={ID}"), DOCS_PAGE),
    ] {
        let answer = get_from(addr, &target).await;
        assert_shared(&answer, ID);
        assert_same_after_head(&page(file), &answer.body);
    }
}

// ---------------------------------------------------------------- a static site's files

/// A site's own 404 page.
pub(crate) const NOT_FOUND_PAGE: &str =
    "<!doctype html><title>Lost</title><p>This site has no such page.";
/// What a dotfile of a site's files holds, which must never be served.
pub(crate) const SECRET: &str = "SECRET_KEY=do-not-serve";
/// A `.well-known` file, which is served.
pub(crate) const SECURITY_TXT: &str = "Contact: mailto:security@example.com\n";

/// A missing page: a 404 with the site's own 404 page.
#[track_caller]
pub(crate) fn assert_not_found_page(answer: &Answer, target: &str) {
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{target}");
    assert_eq!(answer.text(), NOT_FOUND_PAGE, "{target}");
}

/// A missing page of a site without a 404 page: a small HTML page all the same.
#[track_caller]
pub(crate) fn assert_plain_not_found_page(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(answer.text().contains("Not found"), "{}", answer.text());
}

// ---------------------------------------------------------------- real pages

pub(crate) fn pages_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/share-inject/tests/pages")
}

pub(crate) fn page(name: &str) -> Bytes {
    let path = pages_dir().join(name);
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// A page with its own og:image, og:url, twitter:card and twitter:image.
pub(crate) const SHARED_PAGE: &str = "x__post-image-og.html";
/// A second site page, with an og:image of its own.
pub(crate) const DOCS_PAGE: &str = "imdb__title.html";

pub(crate) fn html(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

// ---------------------------------------------------------------- test origins

/// What an origin received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: Method,
    pub(crate) target: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// An axum app as the origin, recording every request it gets; served while it lives.
pub(crate) struct Origin {
    served: Served,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Origin {
    pub(crate) async fn start(app: Router) -> Self {
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
            served: test_kit::serve(app).await,
            seen,
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.served.addr
    }

    pub(crate) fn url(&self) -> String {
        self.served.base()
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    pub(crate) fn last(&self) -> Seen {
        self.seen().pop().expect("the origin got a request")
    }
}

/// An origin that writes its answers byte by byte: each connection's request head is
/// read and kept, then `answer` has the socket.
pub(crate) struct RawOrigin {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
}

impl RawOrigin {
    pub(crate) async fn start<F, Fut>(answer: F) -> Self
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

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request heads it read, lower-cased.
    pub(crate) fn heads(&self) -> Vec<String> {
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
pub(crate) fn chunk(data: &[u8]) -> Vec<u8> {
    [format!("{:x}\r\n", data.len()).as_bytes(), data, b"\r\n"].concat()
}
