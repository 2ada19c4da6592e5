//! When two URLs name the same shared page: the same path and the same query, less the
//! `social` parameter and the parameters that only say where a click came from
//! (`utm_*`, `fbclid`, …), in any order; whether the origin must match too is the
//! caller's to say. It also reads a URL on the site's public origin (`--public-url`) as
//! on the origin being checked. It fetches nothing and reports nothing.

use std::sync::LazyLock;

use share_tags::TrackingParams;
use url::{Origin, Url};

pub use share_tags::SOCIAL_PARAM;

/// Whether query parameter `key` only tracks the click: the injector's own list
/// (share-tags' `TRACKING_PARAMS`), so the two never disagree on what a page is.
pub fn is_tracking(key: &str) -> bool {
    static STANDARD: LazyLock<TrackingParams> = LazyLock::new(TrackingParams::default);
    STANDARD.is_tracking(key)
}

/// What of a URL chooses the page: its path, and its query pairs (decoded, sorted)
/// other than `social` and tracking ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey {
    path: String,
    query: Vec<(String, String)>,
}

impl PageKey {
    pub fn of(url: &Url) -> Self {
        let mut query: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| key != SOCIAL_PARAM && !is_tracking(key))
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        query.sort();
        Self {
            path: url.path().to_owned(),
            query,
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}

/// The value of `url`'s `social` parameter, when it has exactly one.
pub fn social(url: &Url) -> Option<String> {
    let mut values = url
        .query_pairs()
        .filter(|(key, _)| key == SOCIAL_PARAM)
        .map(|(_, value)| value.into_owned());
    match (values.next(), values.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// The origins the checked site calls its public one (its `PUBLIC_URL`), when its links
/// are checked on another origin (a local run, a staging host).
#[derive(Debug, Clone, Default)]
pub struct PublicOrigins(Vec<Origin>);

impl PublicOrigins {
    pub fn new(public_urls: &[Url]) -> Self {
        Self(public_urls.iter().map(Url::origin).collect())
    }

    /// `url` moved onto `checked`'s origin when it is on a public origin, else as it is.
    pub fn read_on(&self, url: &Url, checked: &Url) -> Url {
        if !self.0.contains(&url.origin()) {
            return url.clone();
        }
        let mut moved = checked.clone();
        moved.set_path(url.path());
        moved.set_query(url.query());
        moved.set_fragment(url.fragment());
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(url: &str) -> PageKey {
        PageKey::of(&Url::parse(url).unwrap())
    }

    #[test]
    fn social_and_tracking_parameters_do_not_choose_the_page_and_order_does_not_matter() {
        let page = key("https://a.example/product?id=5&social=12-34-10");
        for same in [
            "https://a.example/product?id=5",
            "https://a.example/product?utm_source=x&id=5&UTM_Medium=y&fbclid=z",
            "https://a.example/product?social=99-99-99&id=5&gclid=1&msclkid=2",
            "http://b.example/product?id=5",
        ] {
            assert_eq!(key(same), page, "{same}");
        }
        for other in [
            "https://a.example/product",
            "https://a.example/product?id=6",
            "https://a.example/product/?id=5",
            "https://a.example/?id=5",
            "https://a.example/product?id=5&page=2",
        ] {
            assert_ne!(key(other), page, "{other}");
        }
    }

    #[test]
    fn social_is_the_one_value_of_the_parameter() {
        let social_of = |url: &str| social(&Url::parse(url).unwrap());
        assert_eq!(
            social_of("https://a.example/?x=1&social=12-34-10").as_deref(),
            Some("12-34-10")
        );
        assert_eq!(social_of("https://a.example/?x=1"), None);
        assert_eq!(
            social_of("https://a.example/?social=12-34-10&social=12-34-11"),
            None
        );
    }

    #[test]
    fn a_url_on_a_public_origin_is_read_on_the_checked_one() {
        let public = PublicOrigins::new(&[Url::parse("https://www.example.com/ignored").unwrap()]);
        let checked = Url::parse("http://127.0.0.1:3003/guide/?social=12-34-10").unwrap();
        let read = |url: &str| {
            public
                .read_on(&Url::parse(url).unwrap(), &checked)
                .to_string()
        };
        assert_eq!(
            read("https://www.example.com/guide/?id=5&social=12-34-10"),
            "http://127.0.0.1:3003/guide/?id=5&social=12-34-10"
        );
        assert_eq!(
            read("https://www.example.com"),
            "http://127.0.0.1:3003/",
            "a bare origin is its home page"
        );
        for elsewhere in [
            "http://www.example.com/guide/",
            "https://www.example.com:8443/guide/",
            "https://example.com/guide/",
        ] {
            assert_eq!(read(elsewhere), elsewhere, "another origin stays");
        }
    }
}
