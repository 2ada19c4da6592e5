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
//! use share_inject::{InjectLayer, InjectLimits, Injector};
//! use share_tags::ShareSite;
//! use shared_ids::BaseUrl;
//!
//! let site = ShareSite::new(
//!     "Example",
//!     BaseUrl::parse("https://www.example.com").unwrap(),
//!     BaseUrl::parse("https://img.example.com").unwrap(),
//! );
//! let app: Router = Router::new()
//!     .route("/", get(|| async { Html("<!doctype html><head><title>Hi</title></head>") }))
//!     .layer(InjectLayer::new(Injector::new(site, InjectLimits::default())));
//! ```

use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{Stream, StreamExt, TryStreamExt};
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, StreamBody};
use share_tags::{PageAddress, has_social_param, social_id_from_query};
use shared_ids::SocialId;

use crate::conditional::{ClientConditions, derived_etag, not_modified};
use crate::decoding::{self, Coding, Decoded, decoded};
use crate::engine::{Injector, Rewrite};
use crate::outcome::{Outcome, PassReason};
use crate::response::{
    BoxError, INJECT_HEADER, InjectBody, box_body, head_body, outcome_value, share_gateway_error,
};

/// Wraps a service so that its HTML answers to share URLs carry the share's tags.
#[derive(Debug, Clone)]
pub struct InjectLayer {
    injector: Injector,
    default_for_invalid: bool,
    decision_deadline: Duration,
    words_wait: Duration,
}

impl InjectLayer {
    /// How long the inner service may take, from the request to the insertion point of
    /// its page, before the client gets a 504: a slow-loris origin must not hold a
    /// crawler for longer than it waits.
    pub const DEFAULT_DECISION_DEADLINE: Duration = Duration::from_secs(10);

    /// How long the rest of a page's head may take once the insertion point is known,
    /// before the share goes out without the page's words (its title and description):
    /// a site that flushes the start of its head and then works on the rest still gets
    /// its first bytes to the client at once, and every head that comes in one go (every
    /// real page of the corpus) gets its words.
    pub const DEFAULT_WORDS_WAIT: Duration = Duration::from_millis(500);

    pub fn new(injector: Injector) -> Self {
        Self {
            injector,
            default_for_invalid: false,
            decision_deadline: Self::DEFAULT_DECISION_DEADLINE,
            words_wait: Self::DEFAULT_WORDS_WAIT,
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

    pub fn words_wait(mut self, wait: Duration) -> Self {
        self.words_wait = wait;
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
        let page = (layer.injector).page_address(request.uri().path(), request.uri().query());
        let wanted = ClientConditions::take(&mut request);
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + layer.decision_deadline;
            let answer = tokio::time::timeout_at(deadline, inner.call(request)).await;
            let Ok(response) = answer else {
                layer
                    .injector
                    .count(Outcome::Passthrough(PassReason::UpstreamTimeout));
                return Ok(share_gateway_error(
                    StatusCode::GATEWAY_TIMEOUT,
                    PassReason::UpstreamTimeout,
                ));
            };
            let response = response?;
            let share = Share { id: share, page };
            Ok(rewrite_response(&layer, share, wanted, response, deadline).await)
        })
    }
}

/// What a share request asks for: the card (`None`: the default image) on which page.
struct Share {
    id: Option<SocialId>,
    page: PageAddress,
}

async fn rewrite_response<B>(
    layer: &InjectLayer,
    share: Share,
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
            let outcome = Outcome::Passthrough(reason);
            layer.injector.count(outcome);
            let (mut parts, body) = response.into_parts();
            parts.headers.insert(INJECT_HEADER, outcome_value(outcome));
            let body = if wanted.head {
                head_body()
            } else {
                box_body(body)
            };
            return Response::from_parts(parts, body);
        }
    };
    let (mut parts, body) = response.into_parts();
    let etag = parts.headers.get(header::ETAG).map(|upstream| {
        let engine = layer.injector.fingerprint();
        derived_etag(upstream, share.id, &share.page, engine)
    });
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
        if wanted.holds(etag) {
            return not_modified(&parts.headers);
        }
    }

    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let mut rewrite = layer.injector.start(share.id, &share.page, content_type);
    let mut input = decoded(body, encoding);
    let mut ready = Vec::new();
    let decided = tokio::time::timeout_at(deadline, async {
        let mut words_until = None;
        while rewrite.outcome().is_none() {
            if words_until.is_none() && rewrite.can_decide() {
                words_until = Some(tokio::time::Instant::now() + layer.words_wait);
            }
            let next = match words_until {
                None => input.next().await,
                Some(until) => match tokio::time::timeout_at(until, input.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        push(&mut ready, rewrite.decide_now());
                        break;
                    }
                },
            };
            match next {
                Some(Ok(chunk)) => push(&mut ready, rewrite.write(&chunk)),
                Some(Err(error)) => return Err(error),
                None => return Ok(true),
            }
        }
        Ok(false)
    })
    .await;
    let failed = |status, reason| {
        layer.injector.count(Outcome::Passthrough(reason));
        share_gateway_error(status, reason)
    };
    let ended = match decided {
        Err(_) => return failed(StatusCode::GATEWAY_TIMEOUT, PassReason::UpstreamTimeout),
        Ok(Err(error)) if is_timeout(&*error) => {
            tracing::warn!(%error, "the page's body stalled before its head was read");
            return failed(StatusCode::GATEWAY_TIMEOUT, PassReason::UpstreamTimeout);
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "the page's body failed before its head was read");
            return failed(StatusCode::BAD_GATEWAY, PassReason::UpstreamError);
        }
        Ok(Ok(ended)) => ended,
    };
    let (tail, outcome) = if ended {
        let (rest, outcome) = rewrite.finish();
        push(&mut ready, rest);
        (None, outcome)
    } else {
        let outcome = rewrite.outcome().copied().expect("decided above");
        (Some((rewrite, input)), outcome)
    };
    parts.headers.insert(INJECT_HEADER, outcome_value(outcome));
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

/// Whether a body error is the inner service's timeout (an `io::Error` of kind
/// `TimedOut` anywhere in its chain, as a decoder wraps it): a stall is the upstream's
/// silence, a 504, as much as a deadline of the layer's own.
fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        next = match error.downcast_ref::<std::io::Error>() {
            Some(io) if io.kind() == std::io::ErrorKind::TimedOut => return true,
            // An `io::Error`'s `source` skips the error it wraps.
            Some(io) => io.get_ref().map(|inner| inner as _),
            None => error.source(),
        };
    }
    false
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

/// Whether a share's answer is a page to rewrite, and in which coding it comes (`None`:
/// as it is), or why it goes through untouched.
fn rewritable<B>(response: &Response<B>) -> Result<Option<Coding>, PassReason> {
    if response.status() != StatusCode::OK {
        return Err(PassReason::Status);
    }
    let headers = response.headers();
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|value: &HeaderValue| value.to_str().ok())
    };
    let is_html = header_str(header::CONTENT_TYPE).is_some_and(|value| {
        let mime = value.split(';').next().unwrap_or_default().trim();
        mime.eq_ignore_ascii_case("text/html")
    });
    if !is_html {
        return Err(PassReason::NotHtml);
    }
    if header_str(header::CACHE_CONTROL).is_some_and(|value| {
        value
            .split(',')
            .any(|directive| directive.trim().eq_ignore_ascii_case("no-transform"))
    }) {
        return Err(PassReason::NoTransform);
    }
    if header_str(header::CONTENT_DISPOSITION).is_some_and(|value| {
        let kind = value.split(';').next().unwrap_or_default().trim();
        kind.eq_ignore_ascii_case("attachment")
    }) {
        return Err(PassReason::Attachment);
    }
    decoding::coding_of(headers)
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn a_stall_is_a_timeout_however_deep_a_decoder_wraps_it() {
        let stalled = || io::Error::from(io::ErrorKind::TimedOut);
        let wrapped: BoxError = Box::new(io::Error::other(io::Error::other(stalled())));
        assert!(is_timeout(&*wrapped));
        assert!(is_timeout(&stalled()));
        let reset: BoxError = Box::new(io::Error::other(io::Error::from(
            io::ErrorKind::ConnectionReset,
        )));
        assert!(!is_timeout(&*reset));
    }
}
