//! The router behind a Lambda function URL. The runtime is `lambda_runtime`'s; the event
//! is turned into a request here, not by `lambda_http`, for two reasons:
//! - the path must be the raw one CloudFront sent: `lambda_http` rebuilds the URI with a
//!   WHATWG parser that resolves `/a/%2e%2e/b` to `/b`, so a proxy would fetch another
//!   page than the one asked for;
//! - a request must never panic on its way in: `lambda_http` unwraps a URL built from the
//!   `Host` and `X-Forwarded-Proto` headers, and its event parser refuses a header value
//!   `http` cannot hold, and either way the function URL answers 502.
//!
//! A request this module cannot build gets a 400. Answers go back as a function URL reads
//! them: cookies in their own list, and every other field once, repeated lines joined
//! (the `headers` of a function URL's answer are a map of one string each).

use std::convert::Infallible;
use std::net::IpAddr;

use axum::Router;
use axum::body::Body;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, Request, Response, StatusCode, Uri};
use base64::Engine as _;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::lambda_runtime::{self, LambdaEvent, MetadataPrelude, StreamResponse};
use lambda_http::{Context, RequestExt as _};
use serde::Deserialize;
use tower::ServiceExt as _;

/// Who called the function URL, from the event's request context: behind CloudFront,
/// one of its servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionUrlCaller {
    pub source_ip: IpAddr,
}

/// The part of a function URL event (payload format 2.0) a request is built from. Every
/// field is plain text or absent, so any event the service sends is read.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Event {
    raw_path: String,
    raw_query_string: String,
    headers: std::collections::BTreeMap<String, String>,
    cookies: Vec<String>,
    body: Option<String>,
    is_base64_encoded: bool,
    request_context: EventContext,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EventContext {
    http: EventHttp,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct EventHttp {
    method: String,
    source_ip: String,
}

/// Why an event is no request.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the event is not a function URL event: {0}")]
    NotAnEvent(#[from] serde_json::Error),
    #[error("the method is no HTTP method")]
    Method,
    #[error("the raw path and query are no request target")]
    Target,
    #[error("the body is not base64")]
    Body,
}

/// The request a function URL event (JSON) stands for. A header line `http` cannot hold
/// is left out: such a line never reaches a local server either, whose parser refuses
/// the whole request instead.
pub fn request_from_event(event: &str) -> Result<Request<Body>, EventError> {
    request_of(serde_json::from_str(event)?)
}

fn request_of(event: Event) -> Result<Request<Body>, EventError> {
    let method = match event.request_context.http.method.as_str() {
        "" => Method::GET,
        method => Method::from_bytes(method.as_bytes()).map_err(|_| EventError::Method)?,
    };
    let path = match event.raw_path.as_str() {
        "" => "/",
        path => path,
    };
    let target = match event.raw_query_string.as_str() {
        "" => path.to_owned(),
        query => format!("{path}?{query}"),
    };
    let uri = Uri::try_from(target).map_err(|_| EventError::Target)?;
    if !uri.path().starts_with('/') {
        return Err(EventError::Target);
    }
    let body = match (event.body, event.is_base64_encoded) {
        (None, _) => Body::empty(),
        (Some(body), false) => Body::from(body),
        (Some(body), true) => Body::from(
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|_| EventError::Body)?,
        ),
    };
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    for (name, value) in &event.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    if !event.cookies.is_empty()
        && let Ok(cookies) = HeaderValue::from_str(&event.cookies.join("; "))
    {
        headers.insert(header::COOKIE, cookies);
    }
    if let Ok(source_ip) = event.request_context.http.source_ip.parse::<IpAddr>() {
        request.extensions_mut().insert(FunctionUrlCaller {
            source_ip: source_ip.to_canonical(),
        });
    }
    Ok(request)
}

/// The router's answer to one invocation: its request, or a 400 for an event that is
/// none, with the invocation's context for handlers that read its deadline.
async fn answer(router: Router, event: LambdaEvent<serde_json::Value>) -> Response<Body> {
    let LambdaEvent { payload, context } = event;
    let request = serde_json::from_value(payload)
        .map_err(EventError::from)
        .and_then(request_of);
    match request {
        Ok(request) => {
            let request = request.with_lambda_context(context);
            match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
        Err(error) => {
            tracing::info!(%error, "an invocation that is no request");
            let mut response = Response::new(Body::from("bad request\n"));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            response
        }
    }
}

/// The answer's header fields as a function URL takes them: the `Set-Cookie` lines, and
/// every other field once. Repeated lines of a list field are joined with commas, as
/// RFC 9110 5.3 allows; of a field that holds one value, the first is kept.
pub fn function_url_headers(mut headers: HeaderMap) -> (HeaderMap, Vec<String>) {
    let cookies = (headers.get_all(header::SET_COOKIE).iter())
        .map(|cookie| String::from_utf8_lossy(cookie.as_bytes()).into_owned())
        .collect();
    headers.remove(header::SET_COOKIE);
    let mut once = HeaderMap::with_capacity(headers.keys_len());
    for name in headers.keys() {
        let mut values = headers.get_all(name).iter();
        let Some(first) = values.next() else { continue };
        let mut joined = first.as_bytes().to_vec();
        if !SINGLE_VALUED.contains(name) {
            for value in values {
                joined.extend_from_slice(b", ");
                joined.extend_from_slice(value.as_bytes());
            }
        }
        let value = HeaderValue::from_bytes(&joined).unwrap_or_else(|_| first.clone());
        once.insert(name.clone(), value);
    }
    (once, cookies)
}

/// Fields whose value is one item, which a comma would change: a second line of one of
/// these is the origin's mistake, and the first is what a client acts on.
const SINGLE_VALUED: [HeaderName; 11] = [
    header::AGE,
    header::CONTENT_LENGTH,
    header::CONTENT_LOCATION,
    header::CONTENT_RANGE,
    header::CONTENT_TYPE,
    header::DATE,
    header::ETAG,
    header::EXPIRES,
    header::LAST_MODIFIED,
    header::LOCATION,
    header::RETRY_AFTER,
];

/// Serves `router` to a `RESPONSE_STREAM` function URL: each answer streams out as the
/// router produces it.
pub(crate) async fn run_streamed(router: Router) -> Result<(), lambda_http::Error> {
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<serde_json::Value>| {
            let router = router.clone();
            async move {
                let (parts, body) = answer(router, event).await.into_parts();
                let (headers, cookies) = function_url_headers(parts.headers);
                Ok::<_, Infallible>(StreamResponse {
                    metadata_prelude: MetadataPrelude {
                        status_code: parts.status,
                        headers,
                        cookies,
                    },
                    stream: body.into_data_stream(),
                })
            }
        },
    ))
    .await
}

/// Serves `router` to a `BUFFERED` function URL.
pub(crate) async fn run_buffered(router: Router) -> Result<(), lambda_http::Error> {
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<serde_json::Value>| buffered(router.clone(), event),
    ))
    .await
}

/// One buffered invocation: the function URL's JSON answer, as the runtime sends it.
pub async fn buffered(
    router: Router,
    event: LambdaEvent<serde_json::Value>,
) -> Result<ApiGatewayV2httpResponse, lambda_http::Error> {
    let (parts, body) = answer(router, event).await.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await?;
    let is_text = is_text(&parts.headers);
    let (headers, cookies) = function_url_headers(parts.headers);
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(parts.status.as_u16());
    response.headers = headers;
    response.cookies = cookies;
    if !bytes.is_empty() {
        response.body = Some(match String::from_utf8(bytes.to_vec()) {
            Ok(text) if is_text => lambda_http::Body::Text(text),
            _ => {
                response.is_base64_encoded = true;
                lambda_http::Body::Binary(bytes.to_vec())
            }
        });
    }
    Ok(response)
}

/// Whether a body goes back as text rather than base64: a textual type, not compressed.
fn is_text(headers: &HeaderMap) -> bool {
    let content_type = (headers.get(header::CONTENT_TYPE))
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    !headers.contains_key(header::CONTENT_ENCODING)
        && [
            "text/",
            "application/json",
            "application/javascript",
            "application/xml",
        ]
        .iter()
        .any(|prefix| content_type.starts_with(prefix))
}

/// An invocation of `event` (JSON) with a test's context.
pub fn invocation(event: &str) -> LambdaEvent<serde_json::Value> {
    let payload = serde_json::from_str(event).expect("the event is JSON");
    LambdaEvent::new(payload, Context::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{
        "version": "2.0", "rawPath": "/a/%2e%2e/b", "rawQueryString": "social=12-34-10&x=%20",
        "headers": {"host": "fn.lambda-url.us-east-1.on.aws", "x-forwarded-proto": "a b",
                    "accept": "text/html"},
        "cookies": ["a=1", "b=2"],
        "requestContext": {"http": {"method": "GET", "path": "/b", "sourceIp": "203.0.113.7"}},
        "isBase64Encoded": false
    }"#;

    fn event_with(field: &str, value: serde_json::Value) -> String {
        let mut event: serde_json::Value = serde_json::from_str(EVENT).unwrap();
        event[field] = value;
        event.to_string()
    }

    #[test]
    fn the_request_keeps_the_raw_path_and_query() {
        let request = request_from_event(EVENT).unwrap();
        assert_eq!(request.uri(), "/a/%2e%2e/b?social=12-34-10&x=%20");
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.headers()["cookie"], "a=1; b=2");
        assert_eq!(
            request.extensions().get::<FunctionUrlCaller>(),
            Some(&FunctionUrlCaller {
                source_ip: "203.0.113.7".parse().unwrap()
            })
        );
    }

    #[test]
    fn header_values_no_request_can_hold_are_left_out_without_a_panic() {
        let event = event_with(
            "headers",
            serde_json::json!({"host": "a b[", "x-forwarded-proto": "a b://",
                               "x-bad": "line\nbreak", "bad name": "1", "accept": "*/*"}),
        );
        let request = request_from_event(&event).unwrap();
        assert_eq!(request.headers().get("x-bad"), None);
        assert_eq!(request.headers()["host"], "a b[");
        assert_eq!(request.headers()["accept"], "*/*");
    }

    #[test]
    fn an_event_that_is_no_request_is_an_error_not_a_panic() {
        for (field, value) in [
            ("rawPath", serde_json::json!("no-slash")),
            ("rawPath", serde_json::json!("/a b")),
            ("rawQueryString", serde_json::json!("a=\n")),
            (
                "requestContext",
                serde_json::json!({"http": {"method": "G T"}}),
            ),
            ("body", serde_json::json!("%%%")),
        ] {
            let mut event = event_with(field, value);
            if field == "body" {
                event = event.replace("\"isBase64Encoded\":false", "\"isBase64Encoded\":true");
            }
            assert!(request_from_event(&event).is_err(), "{field}: {event}");
        }
        assert!(request_from_event("[1]").is_err());
    }

    #[test]
    fn repeated_lines_are_joined_and_cookies_kept_apart() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("link", "</a.css>; rel=preload"),
            ("link", "</b.js>; rel=preload"),
            ("set-cookie", "a=1; Path=/"),
            ("set-cookie", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"),
            ("content-type", "text/html"),
            ("content-type", "text/plain"),
            ("vary", "Accept-Encoding"),
        ] {
            headers.append(name, HeaderValue::from_static(value));
        }
        let (once, cookies) = function_url_headers(headers);
        assert_eq!(once["link"], "</a.css>; rel=preload, </b.js>; rel=preload");
        assert_eq!(once["content-type"], "text/html");
        assert_eq!(once["vary"], "Accept-Encoding");
        assert_eq!(once.get("set-cookie"), None);
        assert_eq!(
            cookies,
            ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"]
        );
        assert_eq!(once.len(), 3, "one line per field");
    }

    #[tokio::test]
    async fn an_event_that_is_no_request_gets_a_400() {
        let router = Router::new().fallback(|| async { "served" });
        let event = event_with("rawPath", serde_json::json!("/a b"));
        let response = buffered(router, invocation(&event)).await.unwrap();
        assert_eq!(response.status_code, 400);
    }
}
