//! Validators and conditional requests of a rewritten page: the inner service is asked
//! for the whole page unconditionally (its validators and ranges describe bytes the client
//! will never get), the rewritten page gets a validator of its own, derived from the
//! upstream's, and the layer answers `If-None-Match` itself.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use share_tags::PageAddress;
use shared_ids::SocialId;

use crate::engine::digest_hex;
use crate::response::{InjectBody, empty_body};

/// What the client asked that the layer must answer itself.
pub(crate) struct ClientConditions {
    pub(crate) head: bool,
    if_none_match: Option<HeaderValue>,
}

impl ClientConditions {
    /// Takes the client's conditions off `request`, which then asks for the whole page.
    pub(crate) fn take<B>(request: &mut Request<B>) -> Self {
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

    /// Whether the client already holds the page `etag` names.
    pub(crate) fn holds(&self, etag: &HeaderValue) -> bool {
        self.if_none_match
            .as_ref()
            .is_some_and(|inm| etag_matches(inm, etag))
    }
}

/// The validator of a rewritten page: it changes with the upstream's page, the share and
/// everything in the engine that changes the injected bytes. Weak, since the bytes are
/// not the upstream's.
pub(crate) fn derived_etag(
    upstream: &HeaderValue,
    share: Option<SocialId>,
    page: &PageAddress,
    engine: &str,
) -> HeaderValue {
    let share = share.map(|id| id.to_string()).unwrap_or_default();
    let parts = [
        upstream.as_bytes(),
        share.as_bytes(),
        page.as_str().as_bytes(),
        engine.as_bytes(),
    ];
    let hex = digest_hex(&parts, 12);
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

/// The 304 for a page the client holds, with the headers RFC 9110 15.4.5 keeps.
pub(crate) fn not_modified(headers: &HeaderMap) -> Response<InjectBody> {
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

#[cfg(test)]
mod tests {
    use share_tags::TrackingParams;

    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_takes_a_star() {
        let root = PageAddress::root();
        let ours = derived_etag(&HeaderValue::from_static("\"v1\""), None, &root, "e");
        let opaque = ours.to_str().unwrap().trim_start_matches("W/").to_owned();
        for (list, matches) in [
            (ours.to_str().unwrap().to_owned(), true),
            (opaque.clone(), true),
            (format!("\"other\", {opaque}"), true),
            ("*".to_owned(), true),
            ("\"other\"".to_owned(), false),
        ] {
            let list = HeaderValue::from_str(&list).unwrap();
            assert_eq!(etag_matches(&list, &ours), matches, "{list:?}");
        }
    }

    #[test]
    fn the_derived_etag_changes_with_the_answer_the_share_the_page_and_the_engine() {
        let page = HeaderValue::from_static("\"v1\"");
        let id = SocialId::parse("12-34-10").ok();
        let (root, other) = (
            PageAddress::root(),
            PageAddress::of_request("/", Some("a=1"), &TrackingParams::default()),
        );
        let base = derived_etag(&page, id, &root, "e");
        assert_eq!(base, derived_etag(&page, id, &root, "e"));
        assert_ne!(
            base,
            derived_etag(&HeaderValue::from_static("\"v2\""), id, &root, "e")
        );
        assert_ne!(base, derived_etag(&page, None, &root, "e"));
        assert_ne!(base, derived_etag(&page, id, &other, "e"));
        assert_ne!(base, derived_etag(&page, id, &root, "f"));
    }
}
