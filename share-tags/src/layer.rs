//! The engine as HTTP middleware: a tower layer that puts the share's tags into the HTML
//! answers of any service it wraps, and every HTTP rule that comes with rewriting a
//! response on the way out (decoding, validators, conditional and range requests, HEAD).
//!
//! It keys on the URL alone: a request is a share only for GET or HEAD with one valid
//! `social` parameter, whatever the User-Agent, so every client gets the same bytes for
//! one URL. Everything else reaches the inner service, and comes back, untouched. It
//! never fetches anything itself and never reads configuration.
//!
//! ```
//! use axum::{Router, routing::get, response::Html};
//! use share_tags::{InjectLayer, InjectLimits, Injector, ShareSite};
//! use shared_ids::BaseUrl;
//!
//! let site = ShareSite {
//!     site_name: "Example".to_owned(),
//!     public_url: BaseUrl::parse("https://www.example.com").unwrap(),
//!     image_base: BaseUrl::parse("https://img.example.com").unwrap(),
//! };
//! let app: Router = Router::new()
//!     .route("/", get(|| async { Html("<!doctype html><head><title>Hi</title></head>") }))
//!     .layer(InjectLayer::new(Injector::new(site, InjectLimits::default())));
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{Stream, StreamExt, TryStreamExt};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyDataStream, BodyExt, Empty, StreamBody};
use shared_ids::SocialId;

use crate::inject::digest_hex;
use crate::query::has_social_param;
use crate::{Injector, Rewrite, social_id_from_query};

/// The response header that says what the injector did with a share's answer.
pub const INJECT_HEADER: &str = "x-ogshot-inject";

/// Errors a rewritten body can end with; hyper aborts the response on one, so a client
/// never takes a cut-off page for a whole one.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of every answer through the layer.
pub type InjectBody = UnsyncBoxBody<Bytes, BoxError>;

/// Wraps a service so that its HTML answers to share URLs carry the share's tags.
#[derive(Debug, Clone)]
pub struct InjectLayer {
    injector: Injector,
    default_for_invalid: bool,
    decision_deadline: Duration,
}

impl InjectLayer {
    /// How long the inner service may take, from the request to the insertion point of
    /// its page, before the client gets a 504: a slow-loris origin must not hold a
    /// crawler for longer than it waits.
    pub const DEFAULT_DECISION_DEADLINE: Duration = Duration::from_secs(10);

    pub fn new(injector: Injector) -> Self {
        Self {
            injector,
            default_for_invalid: false,
            decision_deadline: Self::DEFAULT_DECISION_DEADLINE,
        }
    }

    /// Whether a `social` parameter that is not a valid id gets the default image's tags
    /// (else the page goes through untouched, as for no `social` at all).
    pub fn default_image_for_invalid(mut self, yes: bool) -> Self {
        self.default_for_invalid = yes;
        self
    }

    pub fn decision_deadline(mut self, deadline: Duration) -> Self {
        self.decision_deadline = deadline;
        self
    }

    /// The share a request asks for: `Some(None)` is the default image.
    fn share_of<B>(&self, request: &Request<B>) -> Option<Option<SocialId>> {
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return None;
        }
        let query = request.uri().query();
        match social_id_from_query(query) {
            Some(id) => Some(Some(id)),
            None if self.default_for_invalid && has_social_param(query) => Some(None),
            None => None,
        }
    }
}

impl<S> tower::Layer<S> for InjectLayer {
    type Service = InjectService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InjectService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`InjectLayer`] makes.
#[derive(Debug, Clone)]
pub struct InjectService<S> {
    inner: S,
    layer: InjectLayer,
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for InjectService<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<InjectBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone that was not polled ready stays behind; the ready one serves.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let Some(share) = self.layer.share_of(&request) else {
            return Box::pin(async move { Ok(inner.call(request).await?.map(box_body)) });
        };
        let layer = self.layer.clone();
        let wanted = ClientConditions::take(&mut request);
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + layer.decision_deadline;
            let answer = tokio::time::timeout_at(deadline, inner.call(request)).await;
            let Ok(response) = answer else {
                return Ok(share_gateway_error(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream-timeout",
                ));
            };
            let response = response?;
            Ok(rewrite_response(&layer, share, wanted, response, deadline).await)
        })
    }
}

/// What the client asked that the layer must answer itself: the inner service sees an
/// unconditional GET of the whole page, since its validators and ranges describe bytes
/// the client will never get.
struct ClientConditions {
    head: bool,
    if_none_match: Option<HeaderValue>,
}

impl ClientConditions {
    fn take<B>(request: &mut Request<B>) -> Self {
        let head = request.method() == Method::HEAD;
        if head {
            // The outcome, and so the answer's headers, depends on the body.
            *request.method_mut() = Method::GET;
        }
        let headers = request.headers_mut();
        let if_none_match = headers.remove(header::IF_NONE_MATCH);
        for name in [
            header::IF_MODIFIED_SINCE,
            header::IF_MATCH,
            header::IF_UNMODIFIED_SINCE,
            header::IF_RANGE,
            header::RANGE,
        ] {
            headers.remove(name);
        }
        Self {
            head,
            if_none_match,
        }
    }
}

async fn rewrite_response<B>(
    layer: &InjectLayer,
    share: Option<SocialId>,
    wanted: ClientConditions,
    response: Response<B>,
    deadline: tokio::time::Instant,
) -> Response<InjectBody>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let encoding = match rewritable(&response) {
        Ok(encoding) => encoding,
        Err(reason) => {
            let (mut parts, body) = response.into_parts();
            parts
                .headers
                .insert(INJECT_HEADER, passthrough_value(reason));
            let body = if wanted.head {
                head_body()
            } else {
                box_body(body)
            };
            return Response::from_parts(parts, body);
        }
    };
    let (mut parts, body) = response.into_parts();
    let etag = parts
        .headers
        .get(header::ETAG)
        .map(|upstream| derived_etag(upstream, share, layer.injector.fingerprint()));
    for name in [
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
        header::ACCEPT_RANGES,
        header::ETAG,
        HeaderName::from_static("content-md5"),
        HeaderName::from_static("digest"),
        HeaderName::from_static("repr-digest"),
        HeaderName::from_static("content-digest"),
    ] {
        parts.headers.remove(name);
    }
    if let Some(etag) = &etag {
        parts.headers.insert(header::ETAG, etag.clone());
        if wanted
            .if_none_match
            .as_ref()
            .is_some_and(|inm| etag_matches(inm, etag))
        {
            return not_modified(parts.headers);
        }
    }

    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let mut rewrite = layer.injector.start(share, content_type);
    let mut input = decoded(body, encoding);
    let mut ready = Vec::new();
    let decided = tokio::time::timeout_at(deadline, async {
        while rewrite.outcome().is_none() {
            match input.next().await {
                Some(Ok(chunk)) => push(&mut ready, rewrite.write(&chunk)),
                Some(Err(error)) => return Err(error),
                None => return Ok(true),
            }
        }
        Ok(false)
    })
    .await;
    let ended = match decided {
        Err(_) => return share_gateway_error(StatusCode::GATEWAY_TIMEOUT, "upstream-timeout"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "the page's body failed before its head was read");
            return share_gateway_error(StatusCode::BAD_GATEWAY, "upstream-error");
        }
        Ok(Ok(ended)) => ended,
    };
    let (tail, outcome) = if ended {
        let (rest, outcome) = rewrite.finish();
        push(&mut ready, rest);
        (None, outcome)
    } else {
        let outcome = rewrite.outcome().cloned().expect("decided above");
        (Some((rewrite, input)), outcome)
    };
    parts.headers.insert(
        INJECT_HEADER,
        HeaderValue::from_static(outcome.header_value()),
    );
    if wanted.head {
        return Response::from_parts(parts, head_body());
    }
    let head = futures::stream::iter(ready.into_iter().map(Ok));
    let body = match tail {
        None => head.boxed(),
        Some((rewrite, input)) => head.chain(rest_of_page(rewrite, input)).boxed(),
    };
    Response::from_parts(
        parts,
        StreamBody::new(body.map_ok(Frame::data)).boxed_unsync(),
    )
}

/// The page after the decision, chunk by chunk as it arrives, then what the rewriter
/// still held; an inner error ends the body with that error rather than a short page.
fn rest_of_page(
    rewrite: Rewrite,
    input: Decoded,
) -> impl Stream<Item = Result<Bytes, BoxError>> + Send {
    futures::stream::unfold(Some((rewrite, input)), |state| async move {
        let (mut rewrite, mut input) = state?;
        loop {
            match input.next().await {
                Some(Ok(chunk)) => {
                    let out = rewrite.write(&chunk);
                    if !out.is_empty() {
                        return Some((Ok(out), Some((rewrite, input))));
                    }
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "the page's body failed mid-stream; aborting the answer");
                    return Some((Err(error), None));
                }
                None => {
                    let (rest, _) = rewrite.finish();
                    return Some((Ok(rest), None));
                }
            }
        }
    })
}

fn push(ready: &mut Vec<Bytes>, chunk: Bytes) {
    if !chunk.is_empty() {
        ready.push(chunk);
    }
}

/// The content codings the layer decodes before rewriting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Gzip,
    Deflate,
    Brotli,
}

/// Whether a share's answer is a page to rewrite, and in which coding it comes (`None`:
/// as it is), or why it goes through untouched.
fn rewritable<B>(response: &Response<B>) -> Result<Option<Coding>, &'static str> {
    if response.status() != StatusCode::OK {
        return Err("status");
    }
    let headers = response.headers();
    let is_html = header_str(headers, header::CONTENT_TYPE).is_some_and(|value| {
        let mime = value.split(';').next().unwrap_or_default().trim();
        mime.eq_ignore_ascii_case("text/html")
    });
    if !is_html {
        return Err("not-html");
    }
    if header_str(headers, header::CACHE_CONTROL).is_some_and(|value| {
        value
            .split(',')
            .any(|directive| directive.trim().eq_ignore_ascii_case("no-transform"))
    }) {
        return Err("no-transform");
    }
    if header_str(headers, header::CONTENT_DISPOSITION).is_some_and(|value| {
        let kind = value.split(';').next().unwrap_or_default().trim();
        kind.eq_ignore_ascii_case("attachment")
    }) {
        return Err("attachment");
    }
    let codings: Vec<&str> = headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"))
        .collect();
    match codings.as_slice() {
        [] => Ok(None),
        [one] if one.eq_ignore_ascii_case("gzip") || one.eq_ignore_ascii_case("x-gzip") => {
            Ok(Some(Coding::Gzip))
        }
        [one] if one.eq_ignore_ascii_case("deflate") => Ok(Some(Coding::Deflate)),
        [one] if one.eq_ignore_ascii_case("br") => Ok(Some(Coding::Brotli)),
        _ => Err("content-encoding"),
    }
}

/// The content codings the layer decodes, for an upstream's `Accept-Encoding`.
pub const DECODED_CODINGS: &[&str] = &["gzip", "br"];

fn header_str(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

type Decoded = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;

fn decoded<B>(body: B, coding: Option<Coding>) -> Decoded
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder};
    use tokio_util::io::StreamReader;

    let raw = BodyDataStream::new(body).map_err(Into::<BoxError>::into);
    let Some(coding) = coding else {
        return raw.boxed();
    };
    let reader = StreamReader::new(raw.map_err(std::io::Error::other));
    match coding {
        Coding::Gzip => decoder_stream(GzipDecoder::new(reader)),
        Coding::Deflate => decoder_stream(ZlibDecoder::new(reader)),
        Coding::Brotli => decoder_stream(BrotliDecoder::new(reader)),
    }
}

fn decoder_stream(decoder: impl tokio::io::AsyncRead + Send + 'static) -> Decoded {
    tokio_util::io::ReaderStream::new(decoder)
        .map_err(BoxError::from)
        .boxed()
}

/// The validator of a rewritten page: it changes with the upstream's page, the share and
/// everything in the engine that changes the injected bytes. Weak, since the bytes are
/// not the upstream's.
fn derived_etag(upstream: &HeaderValue, share: Option<SocialId>, engine: &str) -> HeaderValue {
    let share = share.map(|id| id.to_string()).unwrap_or_default();
    let hex = digest_hex(
        &[upstream.as_bytes(), share.as_bytes(), engine.as_bytes()],
        12,
    );
    HeaderValue::from_str(&format!("W/\"ogshot-{hex}\"")).expect("hex is a valid header value")
}

/// `If-None-Match` by weak comparison (RFC 9110 13.1.2), as GET asks for.
fn etag_matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else {
        return false;
    };
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag.to_str().unwrap_or_default());
    list.split(',')
        .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
}

fn not_modified(headers: HeaderMap) -> Response<InjectBody> {
    let mut response = Response::new(empty_body());
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    for name in [
        header::ETAG,
        header::CACHE_CONTROL,
        header::VARY,
        header::EXPIRES,
        header::DATE,
        header::CONTENT_LOCATION,
    ] {
        if let Some(value) = headers.get(&name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

/// A clear gateway answer (a 502 or 504) that no cache keeps: the next request tries the
/// origin again. What the layer and every upstream in front of which it runs answer when
/// that upstream fails or is too slow.
pub fn gateway_error(status: StatusCode) -> Response<InjectBody> {
    let body = format!("{}\n", status.canonical_reason().unwrap_or("gateway error"));
    let mut response = Response::new(
        http_body_util::Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The gateway answer to a share, saying why its page did not come.
fn share_gateway_error(status: StatusCode, reason: &'static str) -> Response<InjectBody> {
    let mut response = gateway_error(status);
    response
        .headers_mut()
        .insert(INJECT_HEADER, passthrough_value(reason));
    response
}

fn passthrough_value(reason: &'static str) -> HeaderValue {
    HeaderValue::from_str(&format!("passthrough; reason={reason}"))
        .expect("reasons are header-safe")
}

fn box_body<B>(body: B) -> InjectBody
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}

/// The body of an answer to HEAD: no bytes, and no length said. An `Empty` body says it
/// is exactly 0 bytes long, which axum's router writes out as `Content-Length: 0`: a
/// length that is not the GET's.
fn head_body() -> InjectBody {
    NoBody.boxed_unsync()
}

struct NoBody;

impl Body for NoBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        true
    }
}

fn empty_body() -> InjectBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}
