//! The checks of one share link as one crawler sees it: the page, its tags, the image.
//! Each group of rules is a module below, and none of them uses this file; it only runs
//! them in order, and compares what the crawlers got.

mod access;
mod answer;
mod image;
mod page;
mod tags;
#[cfg(test)]
mod testing;

use std::collections::BTreeMap;

use url::Url;

use crate::fetch::{self, FetchError, Request};
use crate::finding::{Finding, Findings};
use crate::inspect::Tags;
use crate::profiles::Profile;
use crate::robots::RobotsCache;
use image::check_image;
use page::check_page;
use tags::check_tags;

pub use access::SLOW;
pub use image::MAX_IMAGE_BYTES;
pub use page::MAX_PAGE_BYTES;

/// What one crawler got for one link, kept to compare crawlers with each other.
#[derive(Debug, Default)]
pub struct Seen {
    pub tags: Option<Tags>,
    pub image: Option<Vec<u8>>,
}

/// Checks `page` as `profile` fetches it; `robots` gives the robots.txt of a host.
pub async fn check_link(
    client: &reqwest::Client,
    page: &Url,
    profile: &Profile,
    robots: &RobotsCache,
) -> (Vec<Finding>, Seen) {
    let url = page.as_str();
    let mut out = Findings::new(url, profile);
    let mut seen = Seen::default();
    let request = Request {
        user_agent: &profile.page_user_agent,
        headers: &profile.page_headers,
        max_redirects: profile.max_redirects,
        max_bytes: MAX_PAGE_BYTES,
        timeout: fetch::FETCH_TIMEOUT,
    };
    let fetched = match fetch::fetch(client, page.clone(), request).await {
        Ok(fetched) => fetched,
        Err(FetchError::TooManyRedirects(max)) => {
            out.fail(
                "page.redirects",
                format!(
                    "more than {max} redirects, {} follows no more{}",
                    profile.platform,
                    profile.caveat("max_redirects")
                ),
            );
            return (out.list, seen);
        }
        Err(error) => {
            out.fail("page.fetch", format!("the page did not load: {error}"));
            return (out.list, seen);
        }
    };
    if !check_page(&mut out, profile, &fetched) {
        return (out.list, seen);
    }
    let html = String::from_utf8_lossy(&fetched.body);
    let tags = Tags::parse(&html);
    if fetched.truncated && tags.share_tags().is_empty() {
        // Cut off before its tags: the size is the finding, not every missing tag.
        return (out.list, seen);
    }
    let image = check_tags(&mut out, profile, &fetched.url, &tags);
    seen.tags = Some(tags.clone());
    if let Some(image) = image {
        seen.image = check_image(client, &mut out, profile, &tags, image, robots).await;
    }
    (out.list, seen)
}

/// Findings across crawlers: every crawler must get the same tags and the same image.
pub fn compare(url: &str, seen: &[(&Profile, Seen)]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let reference_tags = seen.iter().find_map(|(p, s)| Some((*p, s.tags.as_ref()?)));
    let reference_image = seen.iter().find_map(|(p, s)| Some((*p, s.image.as_ref()?)));
    for (profile, got) in seen {
        let mut out = Findings::new(url, profile);
        if let (Some((first, tags)), Some(own)) = (reference_tags, &got.tags)
            && own.share_tags() != tags.share_tags()
        {
            let differs: BTreeMap<_, _> = own
                .share_tags()
                .into_iter()
                .filter(|tag| !tags.share_tags().contains(tag))
                .collect();
            out.fail(
                "page.cloaking",
                format!("other tags than {} got: {differs:?}", first.name),
            );
        }
        if let (Some((first, image)), Some(own)) = (reference_image, &got.image)
            && own != image
        {
            out.fail(
                "image.cloaking",
                format!("other image bytes than {} got", first.name),
            );
        }
        findings.extend(out.list);
    }
    findings
}
