//! The public name in what the origin answers: a `Location` or `Content-Location` under
//! the upstream's URL is moved under `PUBLIC_URL` (nginx's `proxy_redirect default`), and
//! a cookie's `Domain` of the upstream's host becomes the public host, so a crawler that
//! follows a redirect stays on the site it was sent to, and keeps the card.

use axum::http::header::{self, HeaderMap, HeaderValue};
use url::Url;

/// The upstream's URL and the public one, fixed by configuration.
#[derive(Debug)]
pub(super) struct PublicName {
    upstream: Url,
    public: Url,
}

impl PublicName {
    pub(super) fn new(upstream: Url, public: Url) -> Self {
        Self { upstream, public }
    }

    /// Rewrites an answer's headers that name the upstream.
    pub(super) fn rewrite(&self, headers: &mut HeaderMap) {
        for name in [header::LOCATION, header::CONTENT_LOCATION] {
            let rewritten = (headers.get(&name))
                .and_then(|value| value.to_str().ok())
                .and_then(|value| self.public_url(value))
                .and_then(|value| HeaderValue::from_str(&value).ok());
            if let Some(value) = rewritten {
                headers.insert(name, value);
            }
        }
        let cookies: Vec<HeaderValue> = (headers.get_all(header::SET_COOKIE).iter())
            .map(|value| {
                (value.to_str().ok())
                    .and_then(|cookie| self.public_cookie(cookie))
                    .and_then(|cookie| HeaderValue::from_str(&cookie).ok())
                    .unwrap_or_else(|| value.clone())
            })
            .collect();
        headers.remove(header::SET_COOKIE);
        for cookie in cookies {
            headers.append(header::SET_COOKIE, cookie);
        }
    }

    /// The public URL of an absolute URL under the upstream's, path, query and fragment
    /// kept; none for anything else (relative references already stay on the public
    /// site, other hosts are the origin's business).
    fn public_url(&self, value: &str) -> Option<String> {
        let url = Url::parse(value).ok()?;
        if url.origin() != self.upstream.origin() {
            return None;
        }
        let rest = url
            .path()
            .strip_prefix(self.upstream.path().trim_end_matches('/'))?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        let base = self.public.as_str().trim_end_matches('/');
        let path = if rest.is_empty() && self.public.path() == "/" {
            "/"
        } else {
            rest
        };
        let query = url.query().map(|query| format!("?{query}"));
        let fragment = url.fragment().map(|fragment| format!("#{fragment}"));
        Some(format!(
            "{base}{path}{}{}",
            query.unwrap_or_default(),
            fragment.unwrap_or_default()
        ))
    }

    /// A `Set-Cookie` whose `Domain` is the upstream's host, with the public host
    /// instead; none when it names another or none.
    fn public_cookie(&self, cookie: &str) -> Option<String> {
        let upstream_host = self.upstream.host_str()?;
        let public_host = self.public.host_str()?;
        let mut rewritten = false;
        let attributes: Vec<String> = (cookie.split(';').enumerate())
            .map(|(index, attribute)| {
                let domain = (index > 0)
                    .then(|| attribute.split_once('='))
                    .flatten()
                    .filter(|(name, _)| name.trim().eq_ignore_ascii_case("domain"))
                    .map(|(_, domain)| domain.trim().trim_start_matches('.'));
                if domain.is_some_and(|domain| domain.eq_ignore_ascii_case(upstream_host)) {
                    rewritten = true;
                    format!(" Domain={public_host}")
                } else {
                    attribute.to_owned()
                }
            })
            .collect();
        rewritten.then(|| attributes.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(upstream: &str, public: &str) -> PublicName {
        PublicName::new(Url::parse(upstream).unwrap(), Url::parse(public).unwrap())
    }

    #[test]
    fn urls_under_the_upstream_move_under_the_public_url_and_no_others() {
        let root = name("http://origin:8080", "https://www.example.com");
        let based = name("https://origin/base", "https://www.example.com/blog");
        for (names, value, expected) in [
            (
                &root,
                "http://origin:8080/docs/?social=1#top",
                Some("https://www.example.com/docs/?social=1#top"),
            ),
            (
                &root,
                "http://ORIGIN:8080",
                Some("https://www.example.com/"),
            ),
            (&root, "https://origin:8080/docs/", None),
            (&root, "http://origin/docs/", None),
            (&root, "http://elsewhere.example/", None),
            (&root, "/docs/", None),
            (
                &based,
                "https://origin:443/base/a?b",
                Some("https://www.example.com/blog/a?b"),
            ),
            (
                &based,
                "https://origin/base",
                Some("https://www.example.com/blog"),
            ),
            (&based, "https://origin/basement", None),
            (&based, "https://origin/other", None),
            (&based, "https://origin/base/../other", None),
        ] {
            assert_eq!(names.public_url(value).as_deref(), expected, "{value}");
        }
    }

    #[test]
    fn only_a_cookie_domain_of_the_upstream_host_becomes_the_public_one() {
        let names = name("http://origin.internal:8080", "https://www.example.com");
        for (cookie, expected) in [
            (
                "a=1; Path=/; domain=.Origin.Internal; Secure",
                Some("a=1; Path=/; Domain=www.example.com; Secure"),
            ),
            ("a=1; Domain=example.com", None),
            ("a=1; Path=/", None),
            ("domain=origin.internal; Path=/", None),
        ] {
            assert_eq!(names.public_cookie(cookie).as_deref(), expected, "{cookie}");
        }
    }
}
