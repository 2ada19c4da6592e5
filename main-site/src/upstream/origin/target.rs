//! Where on the origin a request goes: its path below the upstream's base, never above
//! it. Dot-segments are resolved (RFC 3986 5.2.4) as a browser would before the path is
//! joined to the base; a segment that only becomes a dot-segment once decoded (`%2e%2e`,
//! `..%2f`, Tomcat's `..;`) is refused, since the origin might resolve it after us.

use axum::http::Uri;
use percent_encoding::percent_decode_str;

/// A request path that would leave the upstream's base once the origin decodes it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Escapes;

/// The origin's URL for `uri`'s path and query, below `base` (no trailing `/`).
pub(super) fn origin_url(base: &str, uri: &Uri) -> Result<String, Escapes> {
    let path = resolved(uri.path())?;
    Ok(match uri.query() {
        Some(query) => format!("{base}{path}?{query}"),
        None => format!("{base}{path}"),
    })
}

fn resolved(path: &str) -> Result<String, Escapes> {
    let mut kept: Vec<&str> = Vec::new();
    let mut ends_in_directory = false;
    for segment in path.strip_prefix('/').unwrap_or(path).split('/') {
        ends_in_directory = matches!(segment, "." | "..");
        match segment {
            "." => {}
            ".." => {
                kept.pop();
            }
            _ if hides_a_dot_segment(segment) => return Err(Escapes),
            _ => kept.push(segment),
        }
    }
    let mut resolved = format!("/{}", kept.join("/"));
    if ends_in_directory && !kept.is_empty() {
        resolved.push('/');
    }
    Ok(resolved)
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

    fn url(target: &str) -> Result<String, Escapes> {
        origin_url("https://origin/base", &target.parse().unwrap())
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
            assert_eq!(url(target), Err(Escapes), "{target}");
        }
    }
}
