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

/// main-site's router on a real listener, in front of `upstream`, for as long as the
/// test holds it.
pub(crate) async fn site(upstream: &str) -> Served {
    site_with_timeout(upstream, Args::defaults().upstream_timeout_ms).await
}

pub(crate) async fn site_with_timeout(upstream: &str, timeout_ms: u64) -> Served {
    test_kit::serve(main_site::router(config(upstream, timeout_ms))).await
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
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("a whole body");
    Answer {
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

/// The canonical share URL: the public URL and the id, whatever the request said.
fn share_url(id: &str) -> String {
    format!("{PUBLIC_URL}/?social={id}")
}

/// What a crawler must read in a shared page of `id`: one image, one URL, one card
/// type, all ours. Returns what is wrong, so a loop over pages can name every failure.
pub(crate) fn share_problems(html: &str, id: &str) -> Vec<String> {
    let (card, url) = (card_url(id), share_url(id));
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
    let problems = share_problems(&answer.text(), id);
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
