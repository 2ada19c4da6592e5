//! The reverse proxy to an existing site's HTTP origin: every request goes to the origin
//! with its method, path, query and end-to-end headers, and its answer comes back as it
//! streams in. What the share tags need (which requests, decoding, validators) is the
//! inject layer's; this module only moves bytes, within the upstream timeout.
//!
//! It never follows a redirect (the client sees the origin's `Location`), never sends
//! the client's `Host` (the origin gets its own name) and never answers a 5xx of its
//! own but a 502 or a 504, `no-store`, when the origin fails or is too slow.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderName};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use share_inject::{gateway_error, limit_accept_encoding};

use crate::config::UpstreamTimeout;
use shared_ids::BaseUrl;

/// The origin and the client that reaches it.
#[derive(Debug)]
pub struct HttpOrigin {
    base: BaseUrl,
    client: reqwest::Client,
    timeout: Duration,
}

impl HttpOrigin {
    pub fn new(base: BaseUrl, UpstreamTimeout(timeout): UpstreamTimeout) -> Self {
        let client = reqwest::Client::builder()
            // Bodies reach the inject layer as the origin coded them; it decodes only the
            // pages it rewrites, and everything else goes out still compressed.
            .no_gzip()
            .no_deflate()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .build()
            .expect("a client with rustls and no custom certificates always builds");
        Self {
            base,
            client,
            timeout,
        }
    }
}

/// Forwards one request to the origin.
pub async fn forward(State(origin): State<Arc<HttpOrigin>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let url = format!("{}{}", origin.base, path_and_query(&parts.uri));
    let mut headers = end_to_end(&parts.headers);
    headers.remove(header::HOST);
    limit_accept_encoding(&mut headers);
    let sent = origin
        .client
        .request(parts.method, url)
        .headers(headers)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send();
    let answer = match tokio::time::timeout(origin.timeout, sent).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(error)) if !error.is_timeout() => {
            let error = error.without_url();
            tracing::warn!(%error, "the origin did not answer");
            return gateway_error(StatusCode::BAD_GATEWAY).into_response();
        }
        Ok(Err(_)) | Err(_) => {
            tracing::warn!(timeout = ?origin.timeout, "the origin did not answer in time");
            return gateway_error(StatusCode::GATEWAY_TIMEOUT).into_response();
        }
    };
    let status = answer.status();
    let headers = end_to_end(answer.headers());
    let body = Body::from_stream(idle_limited(answer.bytes_stream(), origin.timeout));
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn path_and_query(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |pq| pq.as_str())
}

/// Headers meant for one connection (RFC 9110 7.6.1), dropped both ways: the listed
/// ones and any the `Connection` header names.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::try_from(name.trim()).ok())
        .collect();
    let mut kept = headers.clone();
    for name in HOP_BY_HOP {
        kept.remove(name);
    }
    for name in named {
        kept.remove(name);
    }
    kept
}

/// The origin's body, ended with an error when it stalls longer than `idle`: hyper then
/// aborts the answer rather than finishing a short page.
fn idle_limited<S>(
    body: S,
    idle: Duration,
) -> impl Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send
where
    S: Stream<Item = reqwest::Result<bytes::Bytes>> + Send + 'static,
{
    futures::stream::unfold(Some(Box::pin(body)), move |body| async move {
        let mut body = body?;
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
            Ok(None) => None,
            Ok(Some(Err(error))) => {
                let error = error.without_url();
                tracing::warn!(%error, "the origin's body failed");
                Some((Err(std::io::Error::other(error)), None))
            }
            Err(_) => {
                tracing::warn!(?idle, "the origin's body stalled");
                Some((Err(std::io::ErrorKind::TimedOut.into()), None))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_stay_behind() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, x-private"),
            ("keep-alive", "timeout=5"),
            ("x-private", "1"),
            ("transfer-encoding", "chunked"),
            ("set-cookie", "a=1"),
            ("vary", "accept-encoding"),
            ("location", "/elsewhere"),
        ] {
            headers.append(name, HeaderValue::from_static(value));
        }
        let kept = end_to_end(&headers);
        let mut names: Vec<&str> = kept.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["location", "set-cookie", "vary"]);
    }
}
