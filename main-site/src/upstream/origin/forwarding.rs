//! What the origin is told about the request's way to it, as reverse proxies tell it:
//! the client's address appended to `X-Forwarded-For` and `Forwarded`, the public
//! scheme and host in `X-Forwarded-Proto` and `X-Forwarded-Host`, and a `Via` hop.
//!
//! An origin that trusts its proxy believes these headers, so what a client wrote in
//! them is kept only when the client is a proxy the operator trusts (`TRUSTED_PROXIES`);
//! anything else could spoof its address or the host the origin builds URLs on.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use app_host::lambda::FunctionUrlCaller;
use axum::extract::ConnectInfo;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Extensions, Version};
use bytes::Bytes;

use crate::config::TrustedProxies;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
const CLOUDFRONT_VIEWER_ADDRESS: HeaderName = HeaderName::from_static("cloudfront-viewer-address");

/// The name this proxy gives itself in `Via`.
const VIA_NAME: &str = "ogshot";

/// The public side of every forwarded request, fixed by configuration.
#[derive(Debug)]
pub(super) struct Forwarding {
    trusted: TrustedProxies,
    /// `PUBLIC_URL`'s scheme, `http` or `https`.
    proto: HeaderValue,
    /// `PUBLIC_URL`'s host and port, as a `Host` header names them.
    host: HeaderValue,
    /// What follows the node in this hop's `Forwarded` element, the same every time.
    forwarded_rest: String,
}

impl Forwarding {
    pub(super) fn new(trusted: TrustedProxies, proto: &str, host: &str) -> Self {
        Self {
            trusted,
            proto: HeaderValue::from_str(proto).expect("a URL's scheme is a header value"),
            host: HeaderValue::from_str(host).expect("a URL's host is a header value"),
            forwarded_rest: format!(";host=\"{host}\";proto={proto}"),
        }
    }

    /// `PUBLIC_URL`'s host and port.
    pub(super) fn public_host(&self) -> &HeaderValue {
        &self.host
    }

    /// Puts the forwarding headers on a request `peer` sent over `version`.
    pub(super) fn apply(&self, headers: &mut HeaderMap, peer: Option<IpAddr>, version: Version) {
        let from_trusted = peer.is_some_and(|peer| self.trusted.contains(peer));
        let earlier_for = from_trusted.then(|| joined(headers, &X_FORWARDED_FOR));
        let earlier_forwarded = from_trusted.then(|| joined(headers, &header::FORWARDED));
        let real_ip = (from_trusted)
            .then(|| headers.get(&X_REAL_IP).cloned())
            .flatten();
        let theirs: Vec<HeaderName> = (headers.keys())
            .filter(|name| name.as_str().starts_with("x-forwarded-"))
            .cloned()
            .collect();
        for name in theirs.iter().chain([&header::FORWARDED, &X_REAL_IP]) {
            headers.remove(name);
        }

        if let Some(peer) = peer {
            let mut chain = list_to_extend(earlier_for.flatten());
            push_address(&mut chain, peer.to_canonical());
            insert(headers, X_FORWARDED_FOR, chain);
        }
        let mut forwarded = list_to_extend(earlier_forwarded.flatten());
        forwarded.push_str("for=");
        push_forwarded_node(&mut forwarded, peer);
        forwarded.push_str(&self.forwarded_rest);
        insert(headers, header::FORWARDED, forwarded);
        if let Some(real_ip) = real_ip {
            headers.insert(X_REAL_IP, real_ip);
        }
        headers.insert(X_FORWARDED_PROTO, self.proto.clone());
        headers.insert(X_FORWARDED_HOST, self.host.clone());
        add_via(headers, version);
    }
}

/// Adds this proxy's hop to a request's `Via`, after any earlier ones: RFC 9110 7.6.3
/// asks it of a gateway's inbound requests (on answers it is optional, and nginx sends
/// none, so an answer's headers stay the origin's).
fn add_via(headers: &mut HeaderMap, version: Version) {
    let protocol = match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    };
    let mut via = list_to_extend(joined(headers, &header::VIA));
    via.push_str(protocol);
    via.push(' ');
    via.push_str(VIA_NAME);
    insert(headers, header::VIA, via);
}

/// The address of whoever sent the request to this process: the socket's peer when the
/// server records it (axum's `ConnectInfo`); on Lambda, the viewer CloudFront reports.
/// A function URL that signs its callers (`AWS_IAM`, CloudFront's OAC) is called by
/// CloudFront alone, so its own headers are the edge's word: `CloudFront-Viewer-Address`,
/// else the last `X-Forwarded-For` element, which CloudFront appends; else the caller.
pub(super) fn peer(extensions: &Extensions, headers: &HeaderMap) -> Option<IpAddr> {
    if let Some(ConnectInfo(addr)) = extensions.get::<ConnectInfo<SocketAddr>>() {
        return Some(addr.ip().to_canonical());
    }
    let caller = extensions.get::<FunctionUrlCaller>()?;
    let viewer_address = (headers.get(&CLOUDFRONT_VIEWER_ADDRESS))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit_once(':'))
        .and_then(|(ip, _port)| ip.parse::<IpAddr>().ok());
    let last_forwarded = || {
        joined(headers, &X_FORWARDED_FOR)?
            .rsplit(',')
            .next()?
            .trim()
            .parse::<IpAddr>()
            .ok()
    };
    let viewer = viewer_address.or_else(last_forwarded);
    Some(viewer.unwrap_or(caller.source_ip).to_canonical())
}

/// Removes the signature CloudFront's origin access control put on a request to a
/// function URL (`Authorization` and the `X-Amz-*` fields SigV4 adds): it is meant for
/// Lambda alone, and the site's origin must never see it. Off Lambda nobody signs, and a
/// viewer's own `Authorization` (a site's basic auth) passes.
pub(super) fn drop_edge_signature(extensions: &Extensions, headers: &mut HeaderMap) {
    if extensions.get::<FunctionUrlCaller>().is_none() {
        return;
    }
    let signed: Vec<HeaderName> = (headers.keys())
        .filter(|name| name.as_str().starts_with("x-amz-"))
        .cloned()
        .collect();
    for name in signed.iter().chain([&header::AUTHORIZATION]) {
        headers.remove(name);
    }
}

/// An RFC 7239 node: a bare IPv4 address, a quoted bracketed IPv6 one, or `unknown`.
fn push_forwarded_node(into: &mut String, peer: Option<IpAddr>) {
    match peer.map(|peer| peer.to_canonical()) {
        Some(v4 @ IpAddr::V4(_)) => push_address(into, v4),
        Some(v6 @ IpAddr::V6(_)) => {
            into.push_str("\"[");
            push_address(into, v6);
            into.push_str("]\"");
        }
        None => into.push_str("unknown"),
    }
}

/// An address as `Display` writes it; an IPv4 one octet by octet: through the formatting
/// machinery, a request's two copies of it cost 1,700 instructions, 3% of its proxying.
fn push_address(into: &mut String, address: IpAddr) {
    match address {
        IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (index, octet) in v4.octets().into_iter().enumerate() {
                if index > 0 {
                    into.push('.');
                }
                into.push_str(digits.format(octet));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(into, "{v6}");
        }
    }
}

/// A list header's lines as one comma-separated value; none when it has none in text.
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let values: Vec<&str> = (headers.get_all(name).iter())
        .filter_map(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// A list header's value to add one more element to: the earlier ones and a comma.
fn list_to_extend(earlier: Option<String>) -> String {
    match earlier {
        Some(earlier) => earlier + ", ",
        None => String::with_capacity(64),
    }
}

/// Every part is a header's text or one built from an address and configuration, so a
/// value that still does not fit is left out rather than sent broken.
fn insert(headers: &mut HeaderMap, name: HeaderName, value: String) {
    match HeaderValue::from_maybe_shared(Bytes::from(value)) {
        Ok(value) => {
            headers.insert(name, value);
        }
        Err(_) => {
            headers.remove(name);
        }
    }
}
