//! The injector section's existing site: share-inject's corpus of real pages (which the
//! load section serves too), one of them served from memory at every path, and a long
//! page generated as it is sent. It never injects: it is the site the main site sits in
//! front of.

use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use test_kit::Served;

const HTML: &str = "text/html; charset=utf-8";

/// A corpus page.
pub(crate) struct Page {
    pub(crate) name: String,
    pub(crate) bytes: Bytes,
}

/// share-inject's corpus of real pages, smallest first.
pub(crate) fn corpus() -> Result<Vec<Page>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/share-inject/tests/pages");
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "html") {
            pages.push(Page {
                name: path
                    .file_stem()
                    .map(|stem| stem.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                bytes: std::fs::read(&path)?.into(),
            });
        }
    }
    anyhow::ensure!(!pages.is_empty(), "no pages in {}", dir.display());
    pages.sort_by_key(|page| page.bytes.len());
    Ok(pages)
}

/// The corpus's median page by size (the smaller of the two middle ones).
pub(crate) fn median(corpus: &[Page]) -> &Page {
    &corpus[(corpus.len() - 1) / 2]
}

/// The existing site: the current page at every path but `/stream/<bytes>`, a page of
/// that many bytes generated as it is sent.
pub(super) struct Origin {
    /// Serves until the origin is dropped.
    pub(super) served: Served,
    page: Arc<RwLock<Bytes>>,
}

impl Origin {
    pub(super) async fn start(page: Bytes) -> Self {
        let page = Arc::new(RwLock::new(page));
        let router = Router::new()
            .route("/stream/{bytes}", get(stream_page))
            .fallback(current_page)
            .with_state(Arc::clone(&page));
        let served = test_kit::serve(router).await;
        Self { served, page }
    }

    pub(super) fn set_page(&self, page: Bytes) {
        *self.page.write().expect("the page lock is never poisoned") = page;
    }
}

async fn current_page(State(page): State<Arc<RwLock<Bytes>>>) -> Response {
    let page = page
        .read()
        .expect("the page lock is never poisoned")
        .clone();
    ([(header::CONTENT_TYPE, HTML)], page).into_response()
}

/// A long page's head: the site's own tags, which a share's replace or join.
pub(super) const STREAMED_HEAD: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
    <title>A long page</title>\
    <meta property=\"og:title\" content=\"A long page\">\
    <meta property=\"og:image\" content=\"https://www.example.com/cover.jpg\">\
    </head><body>\n";

/// A page with its own tags up front, then `bytes` in all of paragraphs, every chunk a
/// slice of one 64 KiB buffer: the origin holds no more of the page than that.
async fn stream_page(UrlPath(bytes): UrlPath<usize>) -> Response {
    const TAIL: &str = "</body></html>\n";
    let filler = Bytes::from(PARAGRAPH.repeat(64 * 1024 / PARAGRAPH.len()));
    let body_bytes = bytes.saturating_sub(STREAMED_HEAD.len() + TAIL.len());
    let body = (0..body_bytes)
        .step_by(filler.len())
        .map(move |at| filler.slice(..filler.len().min(body_bytes - at)));
    let chunks = std::iter::once(Bytes::from_static(STREAMED_HEAD.as_bytes()))
        .chain(body)
        .chain(std::iter::once(Bytes::from_static(TAIL.as_bytes())))
        .map(Ok::<_, std::io::Error>);
    (
        [(header::CONTENT_TYPE, HTML)],
        Body::from_stream(futures::stream::iter(chunks)),
    )
        .into_response()
}

const PARAGRAPH: &str = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do \
    eiusmod tempor incididunt ut labore et dolore magna aliqua.</p>\n";

/// `page` grown to at least `size` bytes by repeating its body before `</body>` (or
/// paragraphs, for a page with no body to repeat).
pub(crate) fn padded(page: &[u8], size: usize) -> Bytes {
    let lower = page.to_ascii_lowercase();
    let find = |needle: &[u8], from: usize| {
        lower[from..]
            .windows(needle.len())
            .position(|window| window == needle)
            .map(|at| at + from)
    };
    let close = lower
        .windows(7)
        .rposition(|window| window == b"</body>")
        .unwrap_or(page.len());
    let open = find(b"<body", 0)
        .and_then(|at| find(b">", at))
        .map_or(close, |at| (at + 1).min(close));
    let content = if open < close {
        &page[open..close]
    } else {
        PARAGRAPH.as_bytes()
    };
    let mut grown = page[..close].to_vec();
    while grown.len() + (page.len() - close) < size {
        grown.extend_from_slice(content);
    }
    grown.extend_from_slice(&page[close..]);
    grown.into()
}
