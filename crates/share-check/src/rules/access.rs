//! The image-access rules (`image.robots`, `image.redirect`, `image.fetch`,
//! `image.timing`, `image.status`): whether the crawler may fetch the image and gets
//! all of it, in time. It never looks at what the bytes are.

use std::time::Duration;

use url::Url;

use crate::fetch::{FetchError, Fetched};
use crate::finding::Findings;
use crate::rules::answer::{header, ms};

/// An image answer slower than this may be dropped by a crawler on a busy day.
pub const SLOW: Duration = Duration::from_secs(1);

/// `image.robots`: ✗ when the image host's robots.txt disallows the image for the
/// crawler's `agent` (`allowed` is its verdict): that crawler then shows no image.
pub(super) fn image_robots(out: &mut Findings<'_>, image: &Url, agent: &str, allowed: bool) {
    if !allowed {
        out.fail(
            "image.robots",
            format!(
                "{}'s robots.txt disallows {} for {agent}",
                image.host_str().unwrap_or_default(),
                image.path()
            ),
        );
    }
}

/// `image.redirect`, `image.fetch`: ✗ when the image fetch got no answer; image fetches
/// follow no redirect, so one is its own finding.
pub(super) fn image_fetched(
    out: &mut Findings<'_>,
    image: &Url,
    fetched: Result<Fetched, FetchError>,
) -> Option<Fetched> {
    match fetched {
        Ok(fetched) => Some(fetched),
        Err(FetchError::TooManyRedirects(_)) => {
            out.fail(
                "image.redirect",
                format!("{image} redirects; image fetches follow no redirect"),
            );
            None
        }
        Err(error) => {
            out.fail("image.fetch", format!("{image} did not load: {error}"));
            None
        }
    }
}

/// `image.timing`: ⚠ when the first byte or the whole image took longer than [`SLOW`].
pub(super) fn image_timing(out: &mut Findings<'_>, first_byte: Duration, total: Duration) {
    if total > SLOW || first_byte > SLOW {
        out.warn(
            "image.timing",
            format!(
                "slow: first byte after {}, all after {}",
                ms(first_byte),
                ms(total)
            ),
        );
    }
}

/// `image.status`: ✗ unless the image answered 200, or 206 with a Content-Range that
/// matches the bytes sent. Returns the image's whole length.
pub(super) fn image_status(out: &mut Findings<'_>, image: &Url, fetched: &Fetched) -> Option<u64> {
    match fetched.status {
        200 => Some(fetched.body.len() as u64),
        206 => {
            let total = content_range(fetched);
            if total.is_none() {
                out.fail(
                    "image.status",
                    "206 without a Content-Range that matches the bytes sent",
                );
            }
            total
        }
        status => {
            out.fail(
                "image.status",
                format!("{image} answered {status}, not 200"),
            );
            None
        }
    }
}

/// The total length a 206's Content-Range declares, if it matches the bytes sent.
fn content_range(fetched: &Fetched) -> Option<u64> {
    let range = header(&fetched.headers, "content-range")?;
    let (span, total) = range.strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let (first, last, total) = (
        first.parse::<u64>().ok()?,
        last.parse::<u64>().ok()?,
        total.parse::<u64>().ok()?,
    );
    (first == 0 && last >= first && last - first + 1 == fetched.body.len() as u64 && last < total)
        .then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch;
    use crate::rules::testing::{FAIL, WARN, X, found, image};

    fn fetched(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Fetched {
        Fetched {
            url: image(),
            status,
            headers: headers
                .iter()
                .map(|(name, value)| {
                    (
                        reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                        reqwest::header::HeaderValue::from_str(value).unwrap(),
                    )
                })
                .collect(),
            body: body.to_vec(),
            truncated: false,
            redirects: Vec::new(),
            first_byte: Duration::ZERO,
            total: Duration::ZERO,
        }
    }

    #[test]
    fn image_robots_fails_an_image_the_crawler_may_not_fetch() {
        assert_eq!(found(X, |out, _| image_robots(out, &image(), X, true)), []);
        assert_eq!(
            found(X, |out, _| image_robots(out, &image(), X, false)),
            [("image.robots", FAIL)]
        );
    }

    #[test]
    fn image_fetched_fails_a_redirect_or_no_answer() {
        let mut kept = None;
        assert_eq!(
            found(X, |out, _| kept =
                image_fetched(out, &image(), Ok(fetched(200, &[], b"")))),
            []
        );
        assert!(kept.is_some());
        for (error, rule) in [
            (FetchError::TooManyRedirects(0), "image.redirect"),
            (FetchError::Timeout(fetch::FETCH_TIMEOUT), "image.fetch"),
            (FetchError::Http("connection refused".into()), "image.fetch"),
        ] {
            assert_eq!(
                found(X, |out, _| assert!(
                    image_fetched(out, &image(), Err(error)).is_none()
                )),
                [(rule, FAIL)]
            );
        }
    }

    #[test]
    fn image_timing_warns_past_a_second_to_the_first_byte_or_the_last() {
        let ms = Duration::from_millis;
        assert_eq!(found(X, |out, _| image_timing(out, ms(100), ms(1000))), []);
        assert_eq!(
            found(X, |out, _| image_timing(out, ms(100), ms(1001))),
            [("image.timing", WARN)]
        );
        assert_eq!(
            found(X, |out, _| image_timing(out, ms(1200), ms(1000))),
            [("image.timing", WARN)]
        );
    }

    #[test]
    fn image_status_takes_200_and_a_206_that_says_how_long_the_image_is() {
        let mut total = None;
        assert_eq!(
            found(X, |out, _| total =
                image_status(out, &image(), &fetched(200, &[], b"12345"))),
            []
        );
        assert_eq!(total, Some(5));
        let range = fetched(206, &[("content-range", "bytes 0-3/10")], b"1234");
        assert_eq!(
            found(X, |out, _| total = image_status(out, &image(), &range)),
            []
        );
        assert_eq!(total, Some(10));
        for refused in [
            fetched(404, &[], b"not found"),
            fetched(206, &[], b"1234"),
            fetched(206, &[("content-range", "bytes 0-4/10")], b"1234"),
            fetched(206, &[("content-range", "bytes 2-5/10")], b"1234"),
            fetched(206, &[("content-range", "bytes 0-3/*")], b"1234"),
        ] {
            assert_eq!(
                found(X, |out, _| total = image_status(out, &image(), &refused)),
                [("image.status", FAIL)],
                "{refused:?}"
            );
            assert_eq!(total, None, "{refused:?}");
        }
    }
}
