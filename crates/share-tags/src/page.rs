//! The shared page's own address, for `og:url`: the request's path, and its query without
//! `social` and without the parameters that only say where a visitor came from.
//!
//! Facebook and LinkedIn treat every link with one `og:url` as one object (its title,
//! its counts), so each page names itself; a query that chooses the page stays, or the
//! crawler would fetch another page. It is the second door from raw input in this crate:
//! every byte outside a URL's characters leaves it percent-encoded, and the tags escape
//! the result as every value.

use std::fmt::Write as _;

use shared_ids::SocialId;

use crate::SOCIAL_PARAM;

/// Query parameters that say where a visitor came from, not which page they see: dropped
/// from `og:url`. A trailing `*` matches every name with that prefix. Names match ASCII
/// case-insensitively, as they arrived (not percent-decoded).
pub const TRACKING_PARAMS: &[&str] = &[
    "utm_*",     // Google Analytics campaigns, used by every analytics tool
    "fbclid",    // Facebook
    "gclid",     // Google Ads
    "gclsrc",    // Google Ads
    "dclid",     // Google Display
    "gbraid",    // Google Ads on iOS
    "wbraid",    // Google Ads on iOS
    "_ga",       // Google Analytics cross-domain
    "_gl",       // Google Analytics cross-domain
    "msclkid",   // Microsoft Ads
    "twclid",    // X / Twitter
    "ttclid",    // TikTok
    "li_fat_id", // LinkedIn
    "igshid",    // Instagram
    "yclid",     // Yandex
    "mc_cid",    // Mailchimp
    "mc_eid",    // Mailchimp
    "_hsenc",    // HubSpot
    "_hsmi",     // HubSpot
    "mkt_tok",   // Marketo
    "srsltid",   // Google Merchant
];

/// The tracking parameter names a site drops from `og:url`: [`TRACKING_PARAMS`] and any
/// the operator adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingParams {
    names: Vec<String>,
}

/// A configured tracking parameter name that could never match a query's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a query parameter name: use letters, digits, `_`, `-` and `.`, \
     optionally ending in `*` for a prefix"
)]
pub struct TrackingParamError(pub String);

impl Default for TrackingParams {
    fn default() -> Self {
        Self {
            names: TRACKING_PARAMS
                .iter()
                .map(|&name| name.to_owned())
                .collect(),
        }
    }
}

impl TrackingParams {
    /// The standard list and `extra`.
    pub fn with(extra: &[String]) -> Result<Self, TrackingParamError> {
        let mut params = Self::default();
        for name in extra {
            let stem = name.strip_suffix('*').unwrap_or(name);
            let valid = !stem.is_empty()
                && stem
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !valid {
                return Err(TrackingParamError(name.clone()));
            }
            params.names.push(name.to_ascii_lowercase());
        }
        Ok(params)
    }

    /// Every name, in order: part of what the injected bytes depend on.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether query parameter `key` only says where a visitor came from.
    pub fn is_tracking(&self, key: &str) -> bool {
        self.names.iter().any(|name| match name.strip_suffix('*') {
            Some(prefix) => key
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix)),
            None => key.eq_ignore_ascii_case(name),
        })
    }
}

/// A page's path and the query that chooses it, as `og:url` names it: always starting
/// with `/`, never with `social` or a tracking parameter, only URL characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageAddress(String);

impl PageAddress {
    /// The site's home page: the main site's own share page.
    pub fn root() -> Self {
        Self("/".to_owned())
    }

    /// The page a request asks for, from its raw path and query. A path that is not one
    /// (`*`, or empty) is the home page.
    pub fn of_request(raw_path: &str, raw_query: Option<&str>, tracking: &TrackingParams) -> Self {
        let mut address = String::with_capacity(raw_path.len() + 16);
        if raw_path.starts_with('/') {
            push_encoded(&mut address, raw_path, b"/");
        } else {
            address.push('/');
        }
        let kept = raw_query
            .into_iter()
            .flat_map(|query| query.split('&'))
            .filter(|pair| {
                let key = pair.split_once('=').map_or(*pair, |(key, _)| key);
                !pair.is_empty() && key != SOCIAL_PARAM && !tracking.is_tracking(key)
            });
        for (n, pair) in kept.enumerate() {
            address.push(if n == 0 { '?' } else { '&' });
            // `&` would split the pair when the crawler reads it back.
            push_encoded(&mut address, pair, b"/?");
        }
        Self(address)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This page's share: its address with `social=<id>` last, or as it is for no id.
    pub(crate) fn with_social(&self, id: Option<SocialId>) -> String {
        match id {
            Some(id) => {
                let joint = if self.0.contains('?') { '&' } else { '?' };
                format!("{}{joint}{SOCIAL_PARAM}={id}", self.0)
            }
            None => self.0.clone(),
        }
    }
}

/// Appends `raw`, percent-encoding every byte outside RFC 3986's unreserved characters,
/// its sub-delimiters (but `&`), `:`, `@` and `also`; a `%` stays only when it starts an
/// escape already.
fn push_encoded(out: &mut String, raw: &str, also: &[u8]) {
    let bytes = raw.as_bytes();
    for (at, &byte) in bytes.iter().enumerate() {
        let is_escape = byte == b'%'
            && bytes.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(at + 2).is_some_and(u8::is_ascii_hexdigit);
        let plain = byte.is_ascii_alphanumeric()
            || b"-._~!$'()*+,;=:@".contains(&byte)
            || also.contains(&byte)
            || is_escape;
        if plain {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(path: &str, query: Option<&str>) -> String {
        PageAddress::of_request(path, query, &TrackingParams::default())
            .as_str()
            .to_owned()
    }

    #[test]
    fn the_address_keeps_the_path_and_the_query_that_chooses_the_page() {
        assert_eq!(address("/", None), "/");
        assert_eq!(
            address("/guide/deep/", Some("social=12-34-10")),
            "/guide/deep/"
        );
        assert_eq!(
            address("/product", Some("id=5&utm_source=x&social=12-34-10")),
            "/product?id=5"
        );
        assert_eq!(
            address(
                "/deep/nested/route",
                Some("UTM_Medium=y&fbclid=1&a=1&&gclid=2&b&msclkid=3&social=bad&_ga=1")
            ),
            "/deep/nested/route?a=1&b"
        );
        assert_eq!(address("*", Some("a=1")), "/?a=1");
        assert_eq!(address("", None), "/");
    }

    #[test]
    fn anything_outside_a_urls_characters_is_percent_encoded() {
        assert_eq!(
            address("/a\"b<c>d e/%zz/%2F/ü", Some("q=\"><script>&x=%41#")),
            "/a%22b%3Cc%3Ed%20e/%25zz/%2F/%C3%BC?q=%22%3E%3Cscript%3E&x=%41%23"
        );
    }

    #[test]
    fn the_share_comes_last() {
        let id = SocialId::parse("12-34-10").ok();
        let page = PageAddress::of_request("/p", Some("social=1&id=5"), &TrackingParams::default());
        assert_eq!(page.with_social(id), "/p?id=5&social=12-34-10");
        assert_eq!(PageAddress::root().with_social(id), "/?social=12-34-10");
        assert_eq!(page.with_social(None), "/p?id=5");
    }

    #[test]
    fn an_operator_adds_names_and_prefixes_and_nothing_else() {
        let tracking = TrackingParams::with(&["ref".into(), "HS_*".into()]).unwrap();
        let page = PageAddress::of_request("/", Some("ref=a&hs_x=1&refx=2&utm_id=3"), &tracking);
        assert_eq!(page.as_str(), "/?refx=2");
        for bad in ["", "*", "a b", "a=b", "x&y", "é"] {
            assert_eq!(
                TrackingParams::with(&[bad.to_owned()]),
                Err(TrackingParamError(bad.to_owned()))
            );
        }
    }
}
