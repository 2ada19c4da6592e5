//! The page rules (`page.*`): the answer to the share link itself, before any tag is
//! read. It never looks at the tags or the image.

use crate::fetch::{self, Fetched, Request};
use crate::finding::Findings;
use crate::profiles::Profile;
use crate::rules::answer::{header, ms};

/// How much of a page is read: crawlers stop early too, and an endless page must end.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// The page fetch as `profile` makes it: its User-Agent, headers and redirects.
pub(super) fn page_request(profile: &Profile) -> Request<'_> {
    Request {
        user_agent: &profile.page_user_agent,
        headers: &profile.page_headers,
        max_redirects: profile.max_redirects,
        max_bytes: MAX_PAGE_BYTES,
        timeout: fetch::FETCH_TIMEOUT,
    }
}

/// The page answer itself; false when there is no page to read tags from.
pub(super) fn check_page(out: &mut Findings<'_>, profile: &Profile, fetched: &Fetched) -> bool {
    for (status, to) in &fetched.redirects {
        out.warn(
            "page.redirects",
            format!(
                "redirected ({status}) to {to}; {} follows up to {}{}",
                profile.platform,
                profile.max_redirects,
                profile.caveat("max_redirects")
            ),
        );
    }
    if fetched.status != 200 {
        out.fail(
            "page.status",
            format!("the page answered {}, not 200", fetched.status),
        );
        return false;
    }
    let content_type = header(&fetched.headers, "content-type").unwrap_or_default();
    if !content_type.to_ascii_lowercase().starts_with("text/html") {
        out.fail(
            "page.html",
            format!("the page is {content_type:?}, not text/html"),
        );
        return false;
    }
    if fetched.truncated {
        out.fail(
            "page.size",
            format!(
                "the page is larger than {} KiB; crawlers stop reading and may miss its tags",
                MAX_PAGE_BYTES / 1024
            ),
        );
    }
    if header(&fetched.headers, "vary")
        .is_some_and(|vary| vary.to_ascii_lowercase().contains("user-agent"))
    {
        out.warn(
            "page.vary",
            "Vary: User-Agent: caches keep one answer per crawler, and crawlers may get \
             different tags",
        );
    }
    out.pass("page", format!("200 text/html in {}", ms(fetched.total)));
    true
}
