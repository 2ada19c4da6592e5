//! Where on the origin a request goes: its path below the upstream's base, never above
//! it. Dot-segments are resolved (RFC 3986 5.2.4) as a browser would before the path is
//! joined to the base; a segment that only becomes a dot-segment once decoded (`%2e%2e`,
//! `..%2f`, Tomcat's `..;`) is refused, since the origin might resolve it after us.
//!
//! The target is built from the request's own path and query as http checked them, with
//! no URL parser in between: the origin gets the client's bytes, not a re-encoding.

use axum::http::uri::{Authority, Parts, PathAndQuery, Scheme};
use axum::http::{HeaderValue, Uri};
use bytes::Bytes;
use percent_encoding::percent_decode_str;

/// Why a request has no target on the origin.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// The path would leave the upstream's base once the origin decodes it.
    Escapes,
    /// The base and the path together are longer than a request target may be (the
    /// only way pieces of a valid target joined by `/` fail to be one).
    TooLong,
}

/// The upstream's scheme, host and path, taken apart once.
#[derive(Debug)]
pub(super) struct OriginBase {
    scheme: Scheme,
    authority: Authority,
    /// Empty, or a path without a trailing `/`.
    path: String,
}

impl OriginBase {
    /// `base`: an absolute http(s) URL with no query (a `BaseUrl`'s text).
    pub(super) fn new(base: &str) -> Self {
        let parts = Uri::try_from(base)
            .expect("a BaseUrl is a URI")
            .into_parts();
        let path = (parts.path_and_query.as_ref()).map_or("", PathAndQuery::path);
        Self {
            scheme: parts.scheme.expect("a BaseUrl has a scheme"),
            authority: parts.authority.expect("a BaseUrl has a host"),
            path: path.trim_end_matches('/').to_owned(),
        }
    }

    /// The origin itself, its scheme and authority: what a connection is made to.
    pub(super) fn root(&self) -> Uri {
        let mut parts = Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(PathAndQuery::from_static("/"));
        Uri::from_parts(parts).expect("a scheme and an authority make a URI")
    }

    /// The origin's own name as a `Host` header gives it: the host, and the port unless
    /// it is the scheme's default (as hyper's client would write it).
    pub(super) fn host(&self) -> HeaderValue {
        let default_port = if self.scheme == Scheme::HTTPS {
            443
        } else {
            80
        };
        let host = match self.authority.port_u16() {
            Some(port) if port != default_port => format!("{}:{port}", self.authority.host()),
            _ => self.authority.host().to_owned(),
        };
        HeaderValue::try_from(host).expect("a URI's host is a header value")
    }

    /// The origin's URI for `uri`'s path and query, below the base.
    pub(super) fn target(&self, uri: &Uri) -> Result<Uri, Refused> {
        let query = uri.query().map_or(0, |query| query.len() + 1);
        let mut target = String::with_capacity(self.path.len() + uri.path().len() + query + 1);
        target.push_str(&self.path);
        push_resolved(&mut target, uri.path())?;
        if let Some(query) = uri.query() {
            target.push('?');
            target.push_str(query);
        }
        let mut parts = Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(
            PathAndQuery::from_maybe_shared(Bytes::from(target)).map_err(|_| Refused::TooLong)?,
        );
        Uri::from_parts(parts).map_err(|_| Refused::TooLong)
    }
}

/// Appends `path` with its dot-segments resolved.
fn push_resolved(target: &mut String, path: &str) -> Result<(), Refused> {
    // Most paths have nothing to resolve and nothing that could hide a dot-segment:
    // they go as they are, without taking them apart.
    let plain = |byte: &u8| !matches!(byte, b'%' | b'\\' | b';');
    if path.starts_with('/') && !path.contains("/.") && path.as_bytes().iter().all(plain) {
        target.push_str(path);
        return Ok(());
    }
    push_resolved_segments(target, path)
}

/// Appends `path` segment by segment, each checked and dot-segments resolved.
fn push_resolved_segments(target: &mut String, path: &str) -> Result<(), Refused> {
    let mut kept: Vec<&str> = Vec::new();
    let mut ends_in_directory = false;
    for segment in path.strip_prefix('/').unwrap_or(path).split('/') {
        ends_in_directory = matches!(segment, "." | "..");
        match segment {
            "." => {}
            ".." => {
                kept.pop();
            }
            _ if hides_a_dot_segment(segment) => return Err(Refused::Escapes),
            _ => kept.push(segment),
        }
    }
    for segment in &kept {
        target.push('/');
        target.push_str(segment);
    }
    if kept.is_empty() || ends_in_directory {
        target.push('/');
    }
    Ok(())
}

/// Whether a segment that is no literal dot-segment turns into one when decoded, or
/// split at an encoded `/` or a `\` (which some servers take for `/`), or cut at a `;`.
fn hides_a_dot_segment(segment: &str) -> bool {
    let decoded = percent_decode_str(segment).collect::<Vec<u8>>();
    decoded
        .split(|byte| matches!(byte, b'/' | b'\\'))
        .any(|piece| {
            let name = piece.split(|byte| *byte == b';').next().unwrap_or_default();
            matches!(name, b"." | b"..")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(target: &str) -> Result<String, Refused> {
        let base = OriginBase::new("https://origin/base");
        base.target(&target.parse().unwrap())
            .map(|uri| uri.to_string())
    }

    #[test]
    fn dot_segments_resolve_within_the_base() {
        for (target, expected) in [
            ("/", "https://origin/base/"),
            ("/a/b?x=1", "https://origin/base/a/b?x=1"),
            ("/a/./b/../c", "https://origin/base/a/c"),
            ("/../../etc/passwd", "https://origin/base/etc/passwd"),
            ("/a/..", "https://origin/base/"),
            ("/a/b/..", "https://origin/base/a/"),
            ("/a/.?social=1", "https://origin/base/a/?social=1"),
            ("/a%2Fb/c", "https://origin/base/a%2Fb/c"),
            ("/..a/b..", "https://origin/base/..a/b.."),
            ("/a?x=/../..", "https://origin/base/a?x=/../.."),
        ] {
            assert_eq!(url(target).as_deref(), Ok(expected), "{target}");
        }
    }

    #[test]
    fn encoded_dot_segments_are_refused() {
        for target in [
            "/%2e%2e/secret",
            "/a/%2E./b",
            "/.%2e",
            "/%2e/a",
            "/a/..%2f..%2fsecret",
            "/a/..%5csecret",
            "/..;/secret",
            "/a/%2e%2e;x=1/b",
        ] {
            assert_eq!(url(target), Err(Refused::Escapes), "{target}");
        }
    }

    #[test]
    fn an_origin_at_its_root_gets_the_clients_own_bytes() {
        let base = OriginBase::new("http://origin:8080");
        for (target, expected) in [
            ("/", "http://origin:8080/"),
            (
                "/a/{\"b\"}|c?q='x'&r={}",
                "http://origin:8080/a/{\"b\"}|c?q='x'&r={}",
            ),
        ] {
            let uri = base
                .target(&target.parse().unwrap())
                .map(|uri| uri.to_string());
            assert_eq!(uri.as_deref(), Ok(expected), "{target}");
        }
    }

    /// Every path of up to six characters after its first `/`, from those that matter:
    /// the shortcut sends what the segments, each checked, would.
    #[test]
    fn a_path_without_dots_or_escapes_goes_as_its_checked_segments_would() {
        let alphabet = ['/', 'a', '.', '%', '2', 'e', ';', '\\'];
        let mut paths = vec![String::from("/")];
        for length in 0..=6 {
            for path in &paths {
                let (mut shortcut, mut segments) = (String::new(), String::new());
                assert_eq!(
                    push_resolved(&mut shortcut, path).map(|()| shortcut),
                    push_resolved_segments(&mut segments, path).map(|()| segments),
                    "{path}"
                );
            }
            if length < 6 {
                paths = (paths.iter())
                    .flat_map(|path| alphabet.iter().map(move |next| format!("{path}{next}")))
                    .collect();
            }
        }
    }

    #[test]
    fn the_host_names_a_port_only_when_it_is_not_the_schemes_own() {
        for (base, host) in [
            ("https://origin/base", "origin"),
            ("https://origin:443", "origin"),
            ("http://origin:80/", "origin"),
            ("http://origin:443", "origin:443"),
            ("https://origin:8443", "origin:8443"),
            ("http://[::1]:8080", "[::1]:8080"),
        ] {
            assert_eq!(OriginBase::new(base).host(), host, "{base}");
        }
    }

    #[test]
    fn a_path_too_long_once_below_the_base_is_refused() {
        let longest_allowed = format!("/{}", "a".repeat(65_532));
        assert!(longest_allowed.parse::<Uri>().is_ok());
        assert_eq!(url(&longest_allowed), Err(Refused::TooLong));
    }
}
