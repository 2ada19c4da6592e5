//! The reverse proxy to an existing site's HTTP origin: every request goes to the origin
//! with its method, path, query and end-to-end headers, and its answer comes back as it
//! streams in. What the share tags need (which requests, decoding, validators) is the
//! inject layer's; this module only moves bytes, at the pace each kind of traffic takes.
//!
//! It never follows a redirect, sends the origin its own name as `Host` unless
//! `UPSTREAM_PUBLIC_HOST` says to send the public one, and never answers a 5xx of its
//! own but a 502 or a 504, `no-store`, when the origin fails or is too slow. Each
//! submodule does one part of what reverse proxies do: `forwarding` (the client's
//! address, the public scheme and host, `Via`), `target` (no path above the upstream's
//! base), `public_name` (the public URL in the answer's `Location` and cookies), `pace`
//! (the timeouts of uploads, answers and event streams), `upgrade` (WebSockets tunnelled
//! to the origin); `client` is the HTTP/1.1 client that reaches it.

mod client;
mod forwarding;
mod pace;
mod public_name;
mod target;
mod upgrade;

use std::mem;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, HttpBody as _};
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyDataStream;
use share_inject::{gateway_error, limit_accept_encoding};
use url::Url;

use crate::config::Config;
use client::OriginClient;
use forwarding::Forwarding;
use public_name::PublicName;
use shared_ids::BaseUrl;
use target::{OriginBase, Refused};

/// The origin and the client that reaches it.
#[derive(Debug)]
pub struct HttpOrigin {
    base: OriginBase,
    /// The `Host` every request gets: the origin's own name, or the public one.
    host: HeaderValue,
    client: OriginClient,
    /// For connecting, and between two pieces of either body.
    timeout: Duration,
    /// For the answer's head, from the request's last byte.
    answer_timeout: Duration,
    forwarding: Forwarding,
    public_name: PublicName,
}

impl HttpOrigin {
    pub fn new(base: BaseUrl, config: &Config) -> Self {
        let timeout = config.upstream_timeout.0;
        let url = |base: &BaseUrl| Url::parse(base.as_str()).expect("a BaseUrl is a URL");
        let public = url(&config.site.public_url);
        let (proto, authority) = (config.site.public_url.origin())
            .split_once("://")
            .expect("a BaseUrl's origin has a scheme");
        let forwarding = Forwarding::new(config.trusted_proxies.clone(), proto, authority);
        let origin = OriginBase::new(base.as_str());
        let host = if config.upstream_public_host {
            forwarding.public_host().clone()
        } else {
            origin.host()
        };
        Self {
            client: OriginClient::new(origin.root(), timeout),
            base: origin,
            host,
            timeout,
            answer_timeout: config.upstream_answer_timeout,
            forwarding,
            public_name: PublicName::new(url(&base), public),
        }
    }
}

/// What `OPTIONS *` (the server as a whole) is told: what this proxy forwards. No origin
/// can be asked (hyper's client sends no asterisk-form target) and nginx answers it 400.
const ALLOW_ANY_RESOURCE: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// Forwards one request to the origin.
pub async fn forward(State(origin): State<Arc<HttpOrigin>>, mut request: Request) -> Response {
    if is_asterisk(request.uri()) {
        return server_wide_options(request.method());
    }
    let upgrade = upgrade::requested(&mut request);
    let (mut parts, body) = request.into_parts();
    let target = match origin.base.target(&parts.uri) {
        Ok(target) => target,
        Err(Refused::Escapes) => {
            return (StatusCode::BAD_REQUEST, "This path leaves the site.\n").into_response();
        }
        Err(Refused::TooLong) => {
            return (StatusCode::URI_TOO_LONG, "This path is too long.\n").into_response();
        }
    };
    let mut headers = mem::take(&mut parts.headers);
    keep_end_to_end(&mut headers);
    headers.insert(header::HOST, origin.host.clone());
    limit_accept_encoding(&mut headers);
    let peer = forwarding::peer(&parts.extensions, &headers);
    forwarding::drop_edge_signature(&parts.extensions, &mut headers);
    origin.forwarding.apply(&mut headers, peer, parts.version);
    if let Some(upgrade) = &upgrade {
        upgrade.ask(&mut headers);
    }
    // A request without a body (most GETs) needs no relay for one, and the wait for the
    // answer starts at once.
    let (body, heard) = if body.is_end_stream() {
        (Body::empty(), pace::nothing_to_hear())
    } else {
        let (body, heard) = pace::request_body(body.into_data_stream(), origin.timeout);
        (Body::from_stream(body), heard)
    };
    // HTTP/1.1 whatever the client spoke, as `Request::new` makes it.
    let mut sending = axum::http::Request::new(body);
    *sending.method_mut() = parts.method;
    *sending.uri_mut() = target;
    *sending.headers_mut() = headers;
    let sent = origin.client.request(sending);
    let mut answer = match pace::answer_within(sent, origin.answer_timeout, heard).await {
        Some(Ok(answer)) => answer,
        Some(Err(error)) if pace::client_stalled(&*error) => {
            tracing::info!("the client stopped sending its request's body");
            return gateway_error(StatusCode::REQUEST_TIMEOUT).into_response();
        }
        Some(Err(error)) if !client::timed_out(&*error) => {
            let error = &*error as &dyn std::error::Error;
            tracing::warn!(error, "the origin did not answer");
            return gateway_error(StatusCode::BAD_GATEWAY).into_response();
        }
        Some(Err(_)) | None => {
            tracing::warn!("the origin did not answer in time");
            return gateway_error(StatusCode::GATEWAY_TIMEOUT).into_response();
        }
    };
    let status = answer.status();
    // An upgrade's tunnel still reads the origin's answer.
    let mut headers = match upgrade {
        Some(_) => answer.headers().clone(),
        None => mem::take(answer.headers_mut()),
    };
    keep_end_to_end(&mut headers);
    origin.public_name.rewrite(&mut headers);
    if let Some(upgrade) = upgrade
        && status == StatusCode::SWITCHING_PROTOCOLS
    {
        return upgrade.tunnel(answer, headers);
    }
    let idle = (!pace::is_event_stream(&headers)).then_some(origin.timeout);
    let body = BodyDataStream::new(answer.into_body());
    let body = Body::from_stream(pace::answer_body(body, idle));
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The asterisk-form target (`OPTIONS * HTTP/1.1`), which names no resource.
fn is_asterisk(uri: &Uri) -> bool {
    uri.path_and_query()
        .is_some_and(|target| target.as_str() == "*")
}

/// `OPTIONS *` is a ping of the server (RFC 9110 9.3.7): answered here with what any
/// resource may take; `*` with any other method names nothing (RFC 9112 3.2.4).
fn server_wide_options(method: &Method) -> Response {
    if method != Method::OPTIONS {
        return (StatusCode::BAD_REQUEST, "Only OPTIONS applies to *.\n").into_response();
    }
    let allow = HeaderValue::from_static(ALLOW_ANY_RESOURCE);
    (StatusCode::OK, [(header::ALLOW, allow)]).into_response()
}

/// Headers meant for one connection (RFC 9110 7.6.1), dropped both ways: the listed
/// ones and any the `Connection` header names.
static HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// One pass over the names a message has finds those to drop: a message seldom has
/// more than `Connection` of them, and a lookup of each name it might have cost more.
fn keep_end_to_end(headers: &mut HeaderMap) {
    let named: Vec<&str> = (headers.get_all(header::CONNECTION).iter())
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let dropped: Vec<HeaderName> = (headers.keys())
        .filter(|name| {
            HOP_BY_HOP.contains(name)
                || (named.iter()).any(|named| named.eq_ignore_ascii_case(name.as_str()))
        })
        .cloned()
        .collect();
    for name in &dropped {
        headers.remove(name);
    }
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
        keep_end_to_end(&mut headers);
        let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["location", "set-cookie", "vary"]);
    }
}
