//! HTTP: raw path -> what it names -> response with the cache policy of its kind.

use std::fmt::Write as _;
use std::ops::Bound;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::headers::{ETag, HeaderMapExt, IfNoneMatch, Range};
use bytes::Bytes;
use shared_ids::{CURRENT_DESIGN, DesignToken, IMAGE_CONTENT_TYPE, ImagePath};
use tracing::Instrument;

use crate::DEFAULT_IMAGE;
use crate::cache_policy::{CACHE_STATUS_HEADER, CacheStatus};
use crate::render::{CardOutcome, Cards};
use crate::storage::{StorageKey, StoredImage};
use crate::telemetry::Metrics;

static DEFAULT: LazyLock<StoredImage> =
    LazyLock::new(|| StoredImage::from_jpeg(Bytes::from_static(DEFAULT_IMAGE)));

/// What the router needs.
#[derive(Debug, Clone)]
pub struct AppState {
    pub cards: Cards,
    pub metrics: Arc<Metrics>,
    /// Earlier designs honoured besides the compiled-in ones (`HONOURED_DESIGNS`).
    pub honoured_designs: Arc<[DesignToken]>,
}

/// The image service's routes. Everything that is not `/healthz` or `/robots.txt` goes
/// through [`image`], which classifies the raw path itself.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/robots.txt", get(robots_txt))
        .fallback(image)
        .with_state(state)
        .layer(app_host::route_trace_layer("image"))
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    axum::Json(state.metrics.counts())
}

/// Twitterbot obeys robots.txt for image URLs too: allow everything.
async fn robots_txt() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "User-agent: *\nAllow: /\n",
    )
}

async fn image(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    extensions: Extensions,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
            "only GET and HEAD",
        )
            .into_response();
    }
    let started = tokio::time::Instant::now();
    let mut timing = ServerTiming::default();
    // The query string is ignored: it is never part of what names an image.
    let path = ImagePath::parse_honouring(uri.path(), &state.honoured_designs);
    let (status, image) = match path {
        ImagePath::Default | ImagePath::Other => {
            state.metrics.default_image();
            (CacheStatus::Default, DEFAULT.clone())
        }
        ImagePath::Card { design, id } => {
            // An honoured earlier design gets today's card, stored under today's key.
            let key = StorageKey::new(CURRENT_DESIGN, id);
            let span = tracing::info_span!("card", %id, %design);
            let deadline =
                answer_deadline(started, state.cards.limits().response_budget, &extensions);
            let (outcome, storage_time) = state.cards.card(key, deadline).instrument(span).await;
            timing.storage = Some(storage_time);
            match outcome {
                CardOutcome::Hit(image) => (CacheStatus::Hit, image),
                CardOutcome::Rendered(rendered) => {
                    timing.queue = Some(rendered.queued);
                    timing.render = Some(rendered.rendering);
                    let status = if rendered.unstored {
                        CacheStatus::Unstored
                    } else {
                        CacheStatus::Miss
                    };
                    (status, rendered.image)
                }
                CardOutcome::Unstored(image) => (CacheStatus::Unstored, image),
                CardOutcome::Failed(_) => (CacheStatus::Fallback, DEFAULT.clone()),
                CardOutcome::Overloaded => (CacheStatus::Overloaded, DEFAULT.clone()),
            }
        }
    };
    timing.total = Some(started.elapsed());
    let mut response = image_response(&method, &headers, &image);
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(status.policy().cache_control()),
    );
    response_headers.insert(
        CACHE_STATUS_HEADER,
        HeaderValue::from_static(status.as_str()),
    );
    response_headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&timing.to_string()) {
        response_headers.insert("server-timing", value);
    }
    response
}

/// On Lambda, the answer must leave before the invocation's own deadline, with room for
/// the runtime to send it; this much is kept back.
const LAMBDA_RESPONSE_MARGIN: Duration = Duration::from_millis(300);

/// Lambda's longest function timeout (15 minutes), in ms.
const LAMBDA_MAX_TIMEOUT_MS: u64 = 900_000;

/// When a card request must be answered: `budget` after it arrived, and on Lambda
/// also before the invocation's deadline (so a function timeout, which CloudFront would
/// answer with a 5xx, can never come first).
fn answer_deadline(
    started: tokio::time::Instant,
    budget: Duration,
    extensions: &Extensions,
) -> tokio::time::Instant {
    let by_budget = started + budget;
    let Some(context) = lambda_http::RequestExt::lambda_context_ref(extensions) else {
        return by_budget;
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    // A real deadline is a time (ms since the epoch) at most 15 minutes ahead. Other
    // values are not a real invocation's: a test's default context has 0, and cargo
    // lambda's emulator sends its timeout (e.g. 600000) instead of a time.
    let plausible = (now_ms.saturating_sub(60_000)..=now_ms + LAMBDA_MAX_TIMEOUT_MS)
        .contains(&context.deadline);
    if !plausible {
        return by_budget;
    }
    let left = Duration::from_millis(context.deadline.saturating_sub(now_ms));
    by_budget.min(tokio::time::Instant::now() + left.saturating_sub(LAMBDA_RESPONSE_MARGIN))
}

/// A JPEG response honouring `If-None-Match` and a single `Range`.
fn image_response(method: &Method, request: &HeaderMap, image: &StoredImage) -> Response {
    let etag =
        HeaderValue::from_str(&image.etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    // If-None-Match compares weakly (RFC 9110 §13.1.2); `*` matches any stored card.
    let not_modified = request.typed_get::<IfNoneMatch>().is_some_and(|condition| {
        image
            .etag
            .parse::<ETag>()
            .is_ok_and(|tag| !condition.precondition_passes(&tag))
    });
    if not_modified {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let len = image.bytes.len();
    let range = request
        .typed_get::<Range>()
        .map_or(ByteRange::Whole, |range| byte_range(&range, len));
    let (status, body, content_range) = match range {
        ByteRange::Whole => (StatusCode::OK, image.bytes.clone(), None),
        ByteRange::Part(start, end) => (
            StatusCode::PARTIAL_CONTENT,
            image.bytes.slice(start..=end),
            Some(format!("bytes {start}-{end}/{len}")),
        ),
        ByteRange::Unsatisfiable => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            Bytes::new(),
            Some(format!("bytes */{len}")),
        ),
    };
    let content_length = body.len();
    let mut response = Response::new(if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body)
    });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(IMAGE_CONTENT_TYPE),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(content_length));
    headers.insert(header::ETAG, etag);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(range) = content_range.and_then(|r| HeaderValue::from_str(&r).ok()) {
        headers.insert(header::CONTENT_RANGE, range);
    }
    response
}

#[derive(Debug, PartialEq, Eq)]
enum ByteRange {
    /// No usable range (malformed, several, or a suffix longer than the image): the
    /// whole image, as RFC 9110 §14.2 allows a server to answer any range request.
    Whole,
    Part(usize, usize),
    Unsatisfiable,
}

/// What a parsed `Range` header asks of a body of `len` bytes: one range, clamped to
/// the body (Facebook's crawler asks for `bytes=0-524288` of every image).
fn byte_range(range: &Range, len: usize) -> ByteRange {
    let mut ranges = range.satisfiable_ranges(len as u64);
    let (Some((first, last)), None) = (ranges.next(), ranges.next()) else {
        return ByteRange::Whole;
    };
    let start = match first {
        Bound::Included(start) => start,
        Bound::Excluded(start) => start.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let last_byte = len.saturating_sub(1) as u64;
    let end = match last {
        Bound::Included(end) => end.min(last_byte),
        Bound::Excluded(end) => end.saturating_sub(1).min(last_byte),
        Bound::Unbounded => last_byte,
    };
    if start >= len as u64 {
        ByteRange::Unsatisfiable
    } else if end < start {
        ByteRange::Whole
    } else {
        ByteRange::Part(start as usize, end as usize)
    }
}

/// The `Server-Timing` header: where the time of a request went.
#[derive(Debug, Default)]
struct ServerTiming {
    storage: Option<Duration>,
    queue: Option<Duration>,
    render: Option<Duration>,
    total: Option<Duration>,
}

impl std::fmt::Display for ServerTiming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        for (name, value) in [
            ("storage", self.storage),
            ("queue", self.queue),
            ("render", self.render),
            ("total", self.total),
        ] {
            if let Some(d) = value {
                if !out.is_empty() {
                    out.push_str(", ");
                }
                let _ = write!(out, "{name};dur={:.1}", d.as_secs_f64() * 1000.0);
            }
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        let range = |raw: &str, len| {
            let mut headers = HeaderMap::new();
            headers.insert(header::RANGE, HeaderValue::from_str(raw).unwrap());
            headers
                .typed_get::<Range>()
                .map_or(ByteRange::Whole, |range| byte_range(&range, len))
        };
        assert_eq!(range("bytes=0-524288", 1000), ByteRange::Part(0, 999));
        assert_eq!(range("bytes=0-99", 1000), ByteRange::Part(0, 99));
        assert_eq!(range("bytes=100-", 1000), ByteRange::Part(100, 999));
        assert_eq!(range("bytes=-100", 1000), ByteRange::Part(900, 999));
        assert_eq!(range("bytes=1000-", 1000), ByteRange::Unsatisfiable);
        assert_eq!(range("bytes=-0", 1000), ByteRange::Unsatisfiable);
        assert_eq!(range("bytes=0-0", 0), ByteRange::Unsatisfiable);
        assert_eq!(range("bytes=5-4", 1000), ByteRange::Whole);
        // A suffix longer than the image: the whole image, as a 200.
        assert_eq!(range("bytes=-5000", 1000), ByteRange::Whole);
        assert_eq!(range("bytes=0-1,5-6", 1000), ByteRange::Whole);
        assert_eq!(range("items=0-1", 1000), ByteRange::Whole);
        assert_eq!(range("bytes=a-b", 1000), ByteRange::Whole);
        assert_eq!(
            range("bytes=99999999999999999999999-", 1000),
            ByteRange::Whole
        );
    }

    #[test]
    fn if_none_match_compares_weakly_and_star_matches() {
        let image = StoredImage::from_jpeg(Bytes::from_static(b"not really a jpeg"));
        let status = |condition: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::IF_NONE_MATCH,
                HeaderValue::from_str(condition).unwrap(),
            );
            image_response(&Method::GET, &headers, &image).status()
        };
        let etag = image.etag.clone();
        assert_eq!(status(&etag), StatusCode::NOT_MODIFIED);
        assert_eq!(status(&format!("W/{etag}")), StatusCode::NOT_MODIFIED);
        assert_eq!(
            status(&format!("\"other\", {etag}")),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(status("*"), StatusCode::NOT_MODIFIED);
        assert_eq!(status("\"other\""), StatusCode::OK);
    }

    #[test]
    fn on_lambda_the_invocation_deadline_can_only_shorten_the_budget() {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let budget = Duration::from_secs(3);
        let deadline_with = |deadline: u64| {
            let mut extensions = Extensions::new();
            let mut context = lambda_http::Context::default();
            context.deadline = deadline;
            extensions.insert(context);
            let started = tokio::time::Instant::now();
            answer_deadline(started, budget, &extensions) - started
        };
        let close = |got: Duration, want: Duration| got.abs_diff(want) < Duration::from_millis(100);
        assert!(
            close(deadline_with(now_ms + 60_000), budget),
            "a long invocation"
        );
        let short = deadline_with(now_ms + 1_000);
        assert!(
            close(short, Duration::from_millis(1_000) - LAMBDA_RESPONSE_MARGIN),
            "{short:?}"
        );
        assert!(
            close(deadline_with(now_ms - 1_000), Duration::ZERO),
            "already past"
        );
        for not_a_time in [0, 600_000, now_ms + 3_600_000] {
            assert!(close(deadline_with(not_a_time), budget), "{not_a_time}");
        }
        let started = tokio::time::Instant::now();
        assert_eq!(
            answer_deadline(started, budget, &Extensions::new()),
            started + budget
        );
    }

    #[test]
    fn server_timing_lists_what_was_measured() {
        let timing = ServerTiming {
            storage: Some(Duration::from_micros(1500)),
            total: Some(Duration::from_millis(3)),
            ..ServerTiming::default()
        };
        assert_eq!(timing.to_string(), "storage;dur=1.5, total;dur=3.0");
    }
}
