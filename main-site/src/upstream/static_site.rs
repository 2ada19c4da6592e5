//! What a static host does with a request, once for both kinds of site files (a
//! directory, a bucket): which path names which file, the directory redirect, the
//! single-page app's fallback and the 404 page. The kinds only say whether a file is
//! there and send it.
//!
//! A path is refused (a 404) before any file is looked up when no static site could
//! hold it: a segment that starts with `.` (`.env`, `.git/`, `..`), but for a leading
//! `.well-known/` (RFC 8615: `security.txt`, ACME challenges), a segment longer than a
//! file name may be, or a path longer than an S3 key may be. A redirect never names a
//! host, so a request's `Host` (or an absolute-form target) is never echoed.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// The longest file name Linux file systems (and so a site's build) can hold
/// (`NAME_MAX`); a longer segment names nothing, and asking the file system would fail
/// with `ENAMETOOLONG` rather than "not found".
const MAX_SEGMENT_BYTES: usize = 255;

/// The longest S3 object key; a longer one would be refused by S3 as a bad request.
pub(super) const MAX_KEY_BYTES: usize = 1024;

/// The directory that static hosts serve although it starts with a dot (RFC 8615).
const WELL_KNOWN: &str = ".well-known";

const INDEX: &str = "index.html";
const NOT_FOUND_PAGE: &str = "404.html";

/// A request path that a static site may hold: its segments decoded, none of them
/// empty, hidden or too long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePath {
    segments: Vec<String>,
    /// `/` or `/docs/`: a directory's index is asked for.
    directory: bool,
}

impl SitePath {
    /// The path as a site's file tree would hold it, or `None` for one no site holds.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() > MAX_KEY_BYTES {
            return None;
        }
        let mut segments = Vec::new();
        for raw_segment in raw.split('/').filter(|segment| !segment.is_empty()) {
            let segment = percent_encoding::percent_decode_str(raw_segment)
                .decode_utf8()
                .ok()?;
            let hidden =
                segment.starts_with('.') && !(segments.is_empty() && segment == WELL_KNOWN);
            if hidden || segment.len() > MAX_SEGMENT_BYTES || segment.contains(['/', '\0']) {
                return None;
            }
            segments.push(segment.into_owned());
        }
        Some(Self {
            directory: segments.is_empty() || raw.ends_with('/'),
            segments,
        })
    }

    /// The file it names, relative to the site's root: a directory's is its index.
    pub fn file(&self) -> String {
        if self.directory {
            self.directory_index()
        } else {
            self.segments.join("/")
        }
    }

    /// The index of the directory it would name with a `/` after it.
    fn directory_index(&self) -> String {
        self.segments
            .iter()
            .map(String::as_str)
            .chain([INDEX])
            .collect::<Vec<_>>()
            .join("/")
    }

    /// A single-page app's own route: no file extension in its last segment.
    fn is_app_route(&self) -> bool {
        self.directory || self.segments.last().is_none_or(|last| !last.contains('.'))
    }

    /// `/docs` → `/docs/`, the query kept: relative, so no host is ever named (a client
    /// resolves it against the URL it asked for), and built from the parsed segments, so
    /// `//docs` cannot become the protocol-relative `//docs/`.
    fn redirect_to_directory(&self, query: Option<&str>) -> Response {
        let mut location = String::new();
        for segment in &self.segments {
            location.push('/');
            location.extend(percent_encoding::utf8_percent_encode(segment, SEGMENT));
        }
        location.push('/');
        if let Some(query) = query {
            location.push('?');
            location.push_str(query);
        }
        match HeaderValue::try_from(location) {
            Ok(location) => (
                StatusCode::MOVED_PERMANENTLY,
                [(header::LOCATION, location)],
            )
                .into_response(),
            // A query is a valid header value as it came in a request line; never reached.
            Err(_) => plain_not_found(),
        }
    }
}

/// What a path segment may not hold as it is (RFC 3986 `pchar` leaves these out).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A site's files, wherever they are kept.
pub trait SiteFiles {
    /// The answer for the file at `file` (relative to the site's root), with the
    /// request's method and its conditional and range headers applied, or `None` when
    /// there is no such file. `Err` is the gateway answer when the files cannot be read.
    fn send(
        &self,
        file: &str,
        method: &Method,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Option<Response>, Response>> + Send;

    /// Whether there is a file at `file`.
    fn holds(&self, file: &str) -> impl Future<Output = Result<bool, Response>> + Send;
}

/// Answers `request` from `files` as a static host does: the file, else `/docs` →
/// `/docs/` when that has an index, else (`spa`) a single-page app's `index.html` for
/// its own routes, else the site's `404.html` with status 404, else a plain 404 page.
pub async fn answer(files: &impl SiteFiles, spa: bool, request: Request) -> Response {
    // The body is never read, and would keep the request from crossing threads.
    let (request, _) = request.into_parts();
    let method = &request.method;
    if !matches!(*method, Method::GET | Method::HEAD) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let headers = &request.headers;
    let found = async {
        let Some(path) = SitePath::parse(request.uri.path()) else {
            return Ok(None);
        };
        if let Some(file) = files.send(&path.file(), method, headers).await? {
            return Ok(Some(file));
        }
        if !path.directory && files.holds(&path.directory_index()).await? {
            return Ok(Some(path.redirect_to_directory(request.uri.query())));
        }
        if spa && path.is_app_route() {
            return files.send(INDEX, method, headers).await;
        }
        Ok(None)
    };
    match found.await {
        Ok(Some(answer)) => answer,
        Ok(None) => not_found(files, method).await,
        Err(gateway) => gateway,
    }
}

/// The site's own `404.html` with status 404 (whatever the request's conditions: they
/// were about another file), else a plain page.
async fn not_found(files: &impl SiteFiles, method: &Method) -> Response {
    match files.send(NOT_FOUND_PAGE, method, &HeaderMap::new()).await {
        Ok(Some(mut page)) if page.status() == StatusCode::OK => {
            *page.status_mut() = StatusCode::NOT_FOUND;
            page
        }
        Ok(_) => plain_not_found(),
        Err(gateway) => gateway,
    }
}

/// A 404 for a site without a `404.html`: a small page, never an empty body, with
/// nothing of the request in it.
fn plain_not_found() -> Response {
    const PAGE: &str = "<!doctype html>\n<html lang=\"en\"><meta charset=\"utf-8\">\
        <title>Not found</title><h1>Not found</h1><p>There is no page at this address.</p>\
        </html>\n";
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Body::from(PAGE),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(raw: &str) -> Option<String> {
        SitePath::parse(raw).map(|path| path.file())
    }

    #[test]
    fn a_path_names_its_file_and_a_directory_its_index() {
        assert_eq!(file("/").as_deref(), Some("index.html"));
        assert_eq!(file("/docs/").as_deref(), Some("docs/index.html"));
        assert_eq!(file("/docs").as_deref(), Some("docs"));
        assert_eq!(file("//a//b.css").as_deref(), Some("a/b.css"));
        assert_eq!(file("/caf%C3%A9.html").as_deref(), Some("café.html"));
        assert_eq!(
            file("/.well-known/security.txt").as_deref(),
            Some(".well-known/security.txt")
        );
    }

    #[test]
    fn paths_no_static_site_holds_are_refused() {
        for raw in [
            "/.env",
            "/%2Eenv",
            "/.git/config",
            "/docs/.secret",
            "/../etc/passwd",
            "/docs/%2E%2E/x",
            "/a%2Fb",
            "/a%00b",
            "/%FF",
            "/docs/.well-known/x",
            "/.well-known/.hidden",
        ] {
            assert_eq!(file(raw), None, "{raw}");
        }
        assert!(file(&format!("/{}", "a".repeat(255))).is_some());
        assert_eq!(file(&format!("/{}", "a".repeat(256))), None);
        assert_eq!(file(&"/abc".repeat(300)), None);
    }

    #[test]
    fn a_directory_redirect_names_no_host_and_keeps_the_query() {
        let location = |raw: &str, query| {
            let answer = SitePath::parse(raw)
                .expect("a site path")
                .redirect_to_directory(query);
            assert_eq!(answer.status(), StatusCode::MOVED_PERMANENTLY);
            answer.headers()[header::LOCATION]
                .to_str()
                .expect("text")
                .to_owned()
        };
        assert_eq!(
            location("/docs", Some("social=12-34-10")),
            "/docs/?social=12-34-10"
        );
        assert_eq!(location("//evil.example", None), "/evil.example/");
        assert_eq!(location("/a%20b/c", None), "/a%20b/c/");
    }
}
