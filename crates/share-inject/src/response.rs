//! The layer's answers that are not the inner service's: the body type of every answer,
//! a HEAD's body, and the gateway answers (502, 504) that the layer and every upstream in
//! front of which it runs give when the upstream fails or is too slow.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty};

use crate::outcome::{Outcome, PassReason};

/// The response header that says what the injector did with a share's answer.
pub const INJECT_HEADER: &str = "x-ogshot-inject";

/// Errors a rewritten body can end with; hyper aborts the response on one, so a client
/// never takes a cut-off page for a whole one.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of every answer through the layer.
pub type InjectBody = UnsyncBoxBody<Bytes, BoxError>;

/// A clear gateway answer (a 502 or 504) that no cache keeps: the next request tries the
/// origin again.
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
pub(crate) fn share_gateway_error(status: StatusCode, reason: PassReason) -> Response<InjectBody> {
    let mut response = gateway_error(status);
    response
        .headers_mut()
        .insert(INJECT_HEADER, outcome_value(Outcome::Passthrough(reason)));
    response
}

/// The `x-ogshot-inject` value of `outcome`.
pub(crate) fn outcome_value(outcome: Outcome) -> HeaderValue {
    HeaderValue::from_static(outcome.header_value())
}

pub(crate) fn box_body<B>(body: B) -> InjectBody
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}

/// The body of an answer to HEAD: no bytes, and no length said. An `Empty` body says it
/// is exactly 0 bytes long, which axum's router writes out as `Content-Length: 0`: a
/// length that is not the GET's.
pub(crate) fn head_body() -> InjectBody {
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

pub(crate) fn empty_body() -> InjectBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}
