//! The checks of one share link as one crawler sees it (the page, its tags, the image),
//! then, once per link, what the crawlers got compared with each other and where the
//! page's `og:url` leads. Each group of rules is a module below, and none of them uses
//! this file; it only runs them in order.

mod access;
mod answer;
mod image;
mod og_url;
mod page;
mod tags;
#[cfg(test)]
mod testing;

use std::collections::BTreeMap;

use url::Url;

use crate::fetch::{self, FetchError};
use crate::finding::{Finding, Findings, Level};
use crate::inspect::Tags;
use crate::profiles::Profile;
use crate::robots::RobotsCache;
use crate::same_page::PublicOrigins;
use image::check_image;
use og_url::check_og_url;
use page::{check_page, page_request};
use tags::check_tags;

pub use access::SLOW;
pub use image::MAX_IMAGE_BYTES;
pub use page::MAX_PAGE_BYTES;

/// What one crawler got for one link, kept to compare crawlers with each other and to
/// follow the page's `og:url`.
#[derive(Debug, Default)]
pub struct Seen {
    /// The page's URL after redirects, when it answered with a page.
    pub page: Option<Url>,
    pub tags: Option<Tags>,
    pub image: Option<Vec<u8>>,
}

/// Checks `page` as `profile` fetches it; `robots` gives the robots.txt of a host. A
/// [reference](Profile::reference) profile keeps only its passes of the tag and image
/// rules: it reads no share tag.
pub async fn check_link(
    client: &reqwest::Client,
    page: &Url,
    profile: &Profile,
    robots: &RobotsCache,
) -> (Vec<Finding>, Seen) {
    let (mut list, seen) = check_link_as_crawler(client, page, profile, robots).await;
    if profile.reference {
        list.retain(|f| f.level == Level::Pass || !reads_share_tags(f.rule));
    }
    (list, seen)
}

/// Whether `rule` judges what only a crawler reads: a share tag or the image it names.
fn reads_share_tags(rule: &str) -> bool {
    rule.starts_with("tags") || rule.starts_with("image")
}

async fn check_link_as_crawler(
    client: &reqwest::Client,
    page: &Url,
    profile: &Profile,
    robots: &RobotsCache,
) -> (Vec<Finding>, Seen) {
    let url = page.as_str();
    let mut out = Findings::new(url, profile);
    let mut seen = Seen::default();
    let fetched = match fetch::fetch(client, page.clone(), page_request(profile)).await {
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
    seen.page = Some(fetched.url.clone());
    seen.tags = Some(tags.clone());
    if let Some(image) = image {
        seen.image = check_image(client, &mut out, profile, &tags, image, robots).await;
    }
    (out.list, seen)
}

/// Findings across crawlers: every crawler must get the same tags and the same image as
/// the first one. A [reference](Profile::reference) profile is left out: a site may give
/// crawlers a page of tags and people the page itself, as Facebook suggests.
pub fn compare(url: &str, seen: &[(&Profile, Seen)]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let crawlers = || seen.iter().filter(|(p, _)| !p.reference);
    let reference_tags = crawlers().find_map(|(p, s)| Some((*p, s.tags.as_ref()?)));
    let reference_image = crawlers().find_map(|(p, s)| Some((*p, s.image.as_ref()?)));
    for (profile, got) in crawlers() {
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

/// The findings of a link whatever crawler fetches it: where its `og:url` leads, read off
/// the page as the first crawler that follows `og:url` got it, and followed with that
/// crawler's profile; with no such crawler, read off the first page got (the reference
/// profile's last) and not followed. Their profile is the crawler whose page was read.
pub async fn check_share(
    client: &reqwest::Client,
    url: &str,
    seen: &[(&Profile, Seen)],
    public: &PublicOrigins,
) -> Vec<Finding> {
    let got = seen
        .iter()
        .filter_map(|(profile, got)| Some((*profile, got.page.as_ref()?, got.tags.as_ref()?)))
        .min_by_key(|(profile, _, _)| (!profile.follows_og_url, profile.reference));
    let Some((profile, page, tags)) = got else {
        return Vec::new();
    };
    let mut out = Findings::new(url, profile);
    let follower = profile.follows_og_url.then_some(profile);
    check_og_url(client, &mut out, page, tags, follower, public).await;
    out.list
}
