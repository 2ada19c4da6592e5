//! The checks of one share link as one crawler sees it: the page, its tags, the image.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use url::Url;

use crate::fetch::{self, FetchError, Fetched, Request};
use crate::finding::{Finding, Findings};
use crate::inspect::{self, DecodeError, Format, Tags};
use crate::profiles::Profile;
use crate::robots::RobotsCache;

/// How much of a page is read: crawlers stop early too, and an endless page must end.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// How much of an image is read at most, past every platform's own limit.
pub const MAX_IMAGE_BYTES: usize = 16 * 1024 * 1024;

/// An image answer slower than this may be dropped by a crawler on a busy day.
pub const SLOW: Duration = Duration::from_secs(1);

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

/// The page answer itself; false when there is no page to read tags from.
fn check_page(out: &mut Findings<'_>, profile: &Profile, fetched: &Fetched) -> bool {
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

/// The share tags; returns the absolute image URL when there is one to fetch.
fn check_tags(out: &mut Findings<'_>, profile: &Profile, page: &Url, tags: &Tags) -> Option<Url> {
    let image = match tags.all("og:image").as_slice() {
        [] => {
            out.fail("tags.og:image", "no og:image tag");
            None
        }
        values => image_url(out, page, "og:image", values),
    };
    let twitter_image = match tags.all("twitter:image").as_slice() {
        [] => {
            out.warn(
                "tags.twitter:image",
                "no twitter:image; X falls back to og:image",
            );
            None
        }
        values => image_url(out, page, "twitter:image", values),
    };
    for key in ["og:image:width", "og:image:height"] {
        match tags.one(key) {
            Some(value) if value.parse::<u32>().is_ok() => {}
            Some(value) => out.fail(tag_rule(key), format!("{key} {value:?} is not a number")),
            None => out.fail(
                tag_rule(key),
                format!("no single {key}: crawlers must download the image to lay out the card"),
            ),
        }
    }
    if tags
        .one("og:image:alt")
        .is_none_or(|alt| alt.trim().is_empty())
    {
        out.warn(
            "tags.og:image:alt",
            "no og:image:alt: screen readers get nothing",
        );
    }
    if tags.one("og:title").is_none_or(|t| t.trim().is_empty()) {
        out.fail("tags.og:title", "no single og:title");
    }
    match tags.one("og:url").map(Url::parse) {
        Some(Ok(url)) if matches!(url.scheme(), "http" | "https") => {}
        Some(_) => out.fail("tags.og:url", "og:url is not an absolute http(s) URL"),
        None => out.fail("tags.og:url", "no single og:url"),
    }
    match tags.one("twitter:card") {
        Some("summary_large_image") => {}
        Some(other) => out.fail(
            "tags.twitter:card",
            format!("twitter:card is {other:?}, not summary_large_image: X shows a small card"),
        ),
        None => out.fail("tags.twitter:card", "no single twitter:card"),
    }
    // The platform's own tag, when it reads another one first; one that fails its
    // checks above is not fetched (the platform falls back to og:image).
    let own = match profile.image_tag.as_str() {
        "og:image" => None,
        "twitter:image" => twitter_image,
        other => tags.one(other).and_then(|own| Url::parse(own).ok()),
    };
    if image.is_some() {
        out.pass("tags", "og:*, twitter:* present");
    }
    own.or(image)
}

/// The one URL that image tag `key` (with `values`, at least one) names, if a crawler
/// can fetch it. Several tags, a URL that is not absolute http(s), and one on this
/// machine or a private network (unless the page is too, as in a local run) are each
/// a ✗ under `tags.<key>`.
fn image_url(out: &mut Findings<'_>, page: &Url, key: &str, values: &[&str]) -> Option<Url> {
    let rule = tag_rule(key);
    let [one] = values else {
        out.fail(
            rule,
            format!(
                "{} {key} tags; crawlers pick one of them: {values:?}",
                values.len()
            ),
        );
        return None;
    };
    match Url::parse(one) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            if is_local(&url) && !is_local(page) {
                out.fail(
                    rule,
                    format!(
                        "{key} {one} points at this machine or a private network, not a \
                         public host"
                    ),
                );
                None
            } else {
                Some(url)
            }
        }
        _ => {
            out.fail(
                rule,
                format!("{key} {one:?} is not an absolute http(s) URL"),
            );
            None
        }
    }
}

/// `tags.<key>` for a tag rule name.
fn tag_rule(key: &str) -> &'static str {
    match key {
        "og:image" => "tags.og:image",
        "twitter:image" => "tags.twitter:image",
        "og:image:width" => "tags.og:image:width",
        "og:image:height" => "tags.og:image:height",
        _ => "tags",
    }
}

/// Fetches the image as the crawler does and checks it, rule by rule; returns its bytes
/// when whole. A rule that leaves nothing for the next ones to look at ends the checks.
async fn check_image(
    client: &reqwest::Client,
    out: &mut Findings<'_>,
    profile: &Profile,
    tags: &Tags,
    image: Url,
    robots: &RobotsCache,
) -> Option<Vec<u8>> {
    if let Some(agent) = &profile.robots_agent {
        let allowed = robots.allows(client, &image, agent).await;
        image_robots(out, &image, agent, allowed);
    }
    let request = Request {
        user_agent: profile.image_user_agent(),
        headers: &profile.image_headers,
        max_redirects: 0,
        max_bytes: MAX_IMAGE_BYTES,
        timeout: fetch::FETCH_TIMEOUT,
    };
    let fetched = fetch::fetch(client, image.clone(), request).await;
    let fetched = image_fetched(out, &image, fetched)?;
    image_timing(out, fetched.first_byte, fetched.total);
    let total_len = image_status(out, &image, &fetched)?;
    let content_type = header(&fetched.headers, "content-type").unwrap_or_default();
    let format = image_type(out, content_type, &fetched.body)?;
    declared_type(out, tags, content_type);
    image_size(out, profile, total_len);
    if !image_whole(out, profile, fetched.body.len() as u64, total_len) {
        return None;
    }
    let (width, height) = image_decodes(out, inspect::decode(format, &fetched.body))?;
    declared_size(out, tags, width, height);
    image_dimensions(out, profile, width, height);
    image_aspect(out, profile, width, height);
    out.pass(
        "image",
        format!(
            "{width}x{height} {}, {total_len} bytes in {}",
            format.media_type().unwrap_or_default(),
            ms(fetched.total)
        ),
    );
    Some(fetched.body)
}

/// `image.robots`: ✗ when the image host's robots.txt disallows the image for the
/// crawler's `agent` (`allowed` is its verdict): that crawler then shows no image.
fn image_robots(out: &mut Findings<'_>, image: &Url, agent: &str, allowed: bool) {
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
fn image_fetched(
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
fn image_timing(out: &mut Findings<'_>, first_byte: Duration, total: Duration) {
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
fn image_status(out: &mut Findings<'_>, image: &Url, fetched: &Fetched) -> Option<u64> {
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

/// `image.type`: ✗ when the bytes are no format crawlers show (SVG included), or not
/// the format `content_type` names. Returns the format when there is one to decode.
fn image_type(out: &mut Findings<'_>, content_type: &str, body: &[u8]) -> Option<Format> {
    let format = Format::of(body);
    match format.media_type() {
        Some(_) if format == Format::Svg => {
            out.fail("image.type", "the image is SVG, which no crawler shows");
            return None;
        }
        Some(media) if content_type.eq_ignore_ascii_case(media) => {}
        Some(media) => out.fail(
            "image.type",
            format!("served as {content_type:?}, but the bytes are {media}"),
        ),
        None => {
            out.fail(
                "image.type",
                format!("served as {content_type:?}, but the bytes are no image format"),
            );
            return None;
        }
    }
    Some(format)
}

/// `tags.og:image:type`: ✗ when the page declares another type than the image is
/// served as.
fn declared_type(out: &mut Findings<'_>, tags: &Tags, content_type: &str) {
    if let Some(declared) = tags.one("og:image:type")
        && !declared.eq_ignore_ascii_case(content_type)
    {
        out.fail(
            "tags.og:image:type",
            format!("og:image:type is {declared:?}, but the image is served as {content_type:?}"),
        );
    }
}

/// `image.size`: ✗ over the platform's largest image, ⚠ over the size past which it
/// may drop the image or show it small.
fn image_size(out: &mut Findings<'_>, profile: &Profile, total_len: u64) {
    if total_len > profile.max_image_bytes {
        out.fail(
            "image.size",
            format!(
                "{} bytes; {} takes at most {}{}",
                total_len,
                profile.platform,
                profile.max_image_bytes,
                profile.caveat("max_image_bytes")
            ),
        );
    } else if let Some(warn) = profile.warn_image_bytes
        && total_len > warn
    {
        out.warn(
            "image.size",
            format!(
                "{total_len} bytes; over {warn}, {} may show no image or a small one{}",
                profile.platform,
                profile.caveat("warn_image_bytes")
            ),
        );
    }
}

/// `image.decodes`: ✗ when the crawler read fewer bytes than the image has (it asked
/// for a range), so it gets a cut-off image. False when it did.
fn image_whole(out: &mut Findings<'_>, profile: &Profile, read: u64, total_len: u64) -> bool {
    if read < total_len {
        out.fail(
            "image.decodes",
            format!(
                "{} reads only the first {read} of its {total_len} bytes, so it gets a \
                 cut-off image",
                profile.platform
            ),
        );
        return false;
    }
    true
}

/// `image.decodes`, `image.dimensions`: ✗ when the image does not decode, or declares
/// more pixels than any crawler shows. Returns its pixel size.
fn image_decodes(
    out: &mut Findings<'_>,
    decoded: Result<(u32, u32), DecodeError>,
) -> Option<(u32, u32)> {
    match decoded {
        Ok(size) => Some(size),
        Err(too_large @ DecodeError::TooLarge { .. }) => {
            out.fail("image.dimensions", too_large.to_string());
            None
        }
        Err(DecodeError::Broken(why)) => {
            out.fail("image.decodes", format!("the image does not decode: {why}"));
            None
        }
    }
}

/// `tags.og:image:width`, `tags.og:image:height`: ✗ when the page declares another size
/// than the image has (a missing or malformed one is [`check_tags`]'s finding).
fn declared_size(out: &mut Findings<'_>, tags: &Tags, width: u32, height: u32) {
    for (key, real) in [("og:image:width", width), ("og:image:height", height)] {
        if let Some(declared) = tags.one(key).and_then(|v| v.parse::<u32>().ok())
            && declared != real
        {
            out.fail(
                tag_rule(key),
                format!("{key} says {declared}, the image has {real}"),
            );
        }
    }
}

/// `image.dimensions`: ✗ when the image is smaller than the platform shows as a large
/// card.
fn image_dimensions(out: &mut Findings<'_>, profile: &Profile, width: u32, height: u32) {
    if width < profile.min_width || height < profile.min_height {
        out.fail(
            "image.dimensions",
            format!(
                "{width}x{height}; {} needs at least {}x{}{}",
                profile.platform,
                profile.min_width,
                profile.min_height,
                profile.caveat("min_width")
            ),
        );
    }
}

/// `image.aspect`: ⚠ when the image is further from the platform's aspect ratio than
/// its tolerance, so the platform crops it.
fn image_aspect(out: &mut Findings<'_>, profile: &Profile, width: u32, height: u32) {
    if let Some(aspect) = profile.aspect {
        let tolerance = profile.aspect_tolerance.unwrap_or(0.1);
        let actual = f64::from(width) / f64::from(height.max(1));
        if (actual - aspect).abs() > tolerance {
            out.warn(
                "image.aspect",
                format!(
                    "{width}x{height} is {actual:.2}:1; {} crops to {aspect}:1",
                    profile.platform
                ),
            );
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

fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether `url`'s host is this machine or on a private network, where no crawler
/// reaches: loopback, `localhost`, unspecified, private (RFC 1918), link-local, and
/// IPv6 unique-local addresses, IPv4 ones also when written IPv4-mapped.
fn is_local(url: &Url) -> bool {
    let ip = match url.host() {
        Some(url::Host::Domain(domain)) => return domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => ip.to_canonical(),
        None => return false,
    };
    match ip {
        IpAddr::V4(ip) => {
            ip.is_loopback() || ip.is_unspecified() || ip.is_private() || ip.is_link_local()
        }
        IpAddr::V6(ip) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_unique_local()
                || ip.is_unicast_link_local()
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Level;

    const PUBLIC_PAGE: &str = "https://www.example.com/?social=12-34-10";

    /// 12-34-10's card path in the current design, e.g. `/v2/12-34-10.jpg`.
    fn card_path() -> String {
        let id = shared_ids::SocialId::parse("12-34-10").unwrap();
        shared_ids::card_path(shared_ids::CURRENT_DESIGN, id)
    }

    /// The page's og:image: 12-34-10's card on a public image host.
    fn og_image_url() -> String {
        format!("https://img.example.com{}", card_path())
    }

    /// The findings of `rule`, and the image Twitterbot would fetch, for `page` whose
    /// og:image is [`og_image_url`] and whose twitter:image tags are `twitter_images`.
    fn seen_by_x(page: &str, twitter_images: &[&str], rule: &str) -> (Vec<Level>, Option<Url>) {
        let profile = profile("Twitterbot");
        let og_image = og_image_url();
        let mut head = format!(r#"<meta property="og:image" content="{og_image}">"#);
        for image in twitter_images {
            head.push_str(&format!(r#"<meta name="twitter:image" content="{image}">"#));
        }
        let tags = Tags::parse(&format!("<html><head>{head}</head></html>"));
        let mut out = Findings::new(page, &profile);
        let fetched = check_tags(&mut out, &profile, &Url::parse(page).unwrap(), &tags);
        let levels = out
            .list
            .iter()
            .filter(|f| f.rule == rule)
            .inspect(|f| assert!(f.message.contains("twitter:image"), "{f:?}"))
            .map(|f| f.level)
            .collect();
        (levels, fetched)
    }

    fn og_image() -> Option<Url> {
        Some(image())
    }

    #[test]
    fn a_public_absolute_twitter_image_is_what_x_fetches() {
        let image = "https://img.example.com/x/12-34-10.jpg";
        let (levels, fetched) = seen_by_x(PUBLIC_PAGE, &[image], "tags.twitter:image");
        assert_eq!(levels, []);
        assert_eq!(fetched, Some(Url::parse(image).unwrap()));
        let (levels, fetched) = seen_by_x(PUBLIC_PAGE, &[], "tags.twitter:image");
        assert_eq!(levels, [Level::Warn], "none: X falls back to og:image");
        assert_eq!(fetched, og_image());
    }

    #[test]
    fn a_relative_twitter_image_is_refused() {
        let absolute_path = card_path();
        for relative in [
            absolute_path.as_str(),
            &absolute_path[1..],
            "//img.example.com/a.jpg",
        ] {
            let (levels, fetched) = seen_by_x(PUBLIC_PAGE, &[relative], "tags.twitter:image");
            assert_eq!(levels, [Level::Fail], "{relative}");
            assert_eq!(fetched, og_image(), "{relative}: X falls back to og:image");
        }
    }

    #[test]
    fn a_twitter_image_on_this_machine_or_a_private_network_is_refused() {
        let loopback_card = format!("http://127.0.0.1:3001{}", card_path());
        for local in [
            loopback_card.as_str(),
            "http://127.8.9.10/a.jpg",
            "http://localhost:3001/a.jpg",
            "https://[::1]/a.jpg",
            "http://[::ffff:127.0.0.1]/a.jpg",
            "http://0.0.0.0/a.jpg",
            "http://10.1.2.3/a.jpg",
            "http://172.16.0.1/a.jpg",
            "http://192.168.1.20/a.jpg",
            "http://169.254.169.254/latest/meta-data",
            "http://[fd00::1]/a.jpg",
            "http://[fe80::1]/a.jpg",
        ] {
            let (levels, fetched) = seen_by_x(PUBLIC_PAGE, &[local], "tags.twitter:image");
            assert_eq!(levels, [Level::Fail], "{local}");
            assert_eq!(fetched, og_image(), "{local}");
        }
        // A page on this machine (a local run, the tests) may show its own images.
        let local_page = "http://127.0.0.1:3000/?social=12-34-10";
        let (levels, fetched) = seen_by_x(local_page, &[&loopback_card], "tags.twitter:image");
        assert_eq!(levels, []);
        assert_eq!(fetched, Some(Url::parse(&loopback_card).unwrap()));
        // A public address that only looks near a private range is public.
        let (levels, _) = seen_by_x(
            PUBLIC_PAGE,
            &["http://172.32.0.1/a.jpg"],
            "tags.twitter:image",
        );
        assert_eq!(levels, []);
    }

    #[test]
    fn a_twitter_image_that_is_not_http_is_refused() {
        for other in [
            "ftp://img.example.com/a.jpg",
            "data:image/png;base64,iVBORw0KGgo=",
            "javascript:alert(1)",
            "file:///etc/passwd",
        ] {
            let (levels, fetched) = seen_by_x(PUBLIC_PAGE, &[other], "tags.twitter:image");
            assert_eq!(levels, [Level::Fail], "{other}");
            assert_eq!(fetched, og_image(), "{other}");
        }
    }

    #[test]
    fn several_twitter_images_are_refused() {
        let (levels, fetched) = seen_by_x(
            PUBLIC_PAGE,
            &[
                "https://img.example.com/a.jpg",
                "https://img.example.com/b.jpg",
            ],
            "tags.twitter:image",
        );
        assert_eq!(levels, [Level::Fail]);
        assert_eq!(fetched, og_image());
    }

    /// og:image goes through the same check, reported under its own rule.
    #[test]
    fn og_image_is_checked_by_the_same_rules() {
        let profile = &crate::profiles::all()[0];
        let (og_image, path) = (og_image_url(), card_path());
        for (image, failed) in [
            (og_image.as_str(), false),
            (path.as_str(), true),
            ("http://10.0.0.7/a.jpg", true),
            ("ftp://img.example.com/a.jpg", true),
        ] {
            let tags = Tags::parse(&format!(r#"<meta property="og:image" content="{image}">"#));
            let mut out = Findings::new(PUBLIC_PAGE, profile);
            let page = Url::parse(PUBLIC_PAGE).unwrap();
            let fetched = check_tags(&mut out, profile, &page, &tags);
            let refused = out
                .list
                .iter()
                .any(|f| f.rule == "tags.og:image" && f.level == Level::Fail);
            assert_eq!(refused, failed, "{image}");
            assert_eq!(fetched.is_none(), failed, "{image}");
        }
    }

    // One test per rule of `check_image`: an input it passes, and one it flags.

    fn profile(name: &str) -> Profile {
        crate::profiles::all()
            .into_iter()
            .find(|p| p.name == name)
            .unwrap()
    }

    /// The (rule, level) of every finding `rule` adds to the findings of `name`'s
    /// profile.
    fn found(
        name: &str,
        rule: impl FnOnce(&mut Findings<'_>, &Profile),
    ) -> Vec<(&'static str, Level)> {
        let profile = profile(name);
        let mut out = Findings::new(PUBLIC_PAGE, &profile);
        rule(&mut out, &profile);
        for finding in &out.list {
            assert!(finding.message.len() > 10, "a terse message: {finding:?}");
        }
        out.list.iter().map(|f| (f.rule, f.level)).collect()
    }

    fn image() -> Url {
        Url::parse(&og_image_url()).unwrap()
    }

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

    fn image_tags(head: &str) -> Tags {
        Tags::parse(&format!("<html><head>{head}</head></html>"))
    }

    const JPEG_BYTES: &[u8] = b"\xFF\xD8\xFF\xE0 rest of a JPEG";
    const X: &str = "Twitterbot";
    const FAIL: Level = Level::Fail;
    const WARN: Level = Level::Warn;

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

    #[test]
    fn image_type_wants_bytes_of_the_format_served_and_one_crawlers_show() {
        let mut format = None;
        for served in ["image/jpeg", "IMAGE/JPEG"] {
            assert_eq!(
                found(X, |out, _| format = image_type(out, served, JPEG_BYTES)),
                []
            );
            assert_eq!(format, Some(Format::Jpeg));
        }
        assert_eq!(
            found(X, |out, _| format =
                image_type(out, "image/png", JPEG_BYTES)),
            [("image.type", FAIL)]
        );
        assert_eq!(format, Some(Format::Jpeg), "still decoded as what it is");
        for (served, body) in [
            (
                "image/svg+xml",
                &b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..],
            ),
            ("image/jpeg", b"<html>an error page</html>"),
        ] {
            assert_eq!(
                found(X, |out, _| format = image_type(out, served, body)),
                [("image.type", FAIL)],
                "{served}"
            );
            assert_eq!(format, None, "{served}");
        }
    }

    #[test]
    fn declared_type_fails_a_tag_that_names_another_type() {
        let jpeg = image_tags(r#"<meta property="og:image:type" content="image/jpeg">"#);
        assert_eq!(
            found(X, |out, _| declared_type(out, &jpeg, "image/jpeg")),
            []
        );
        assert_eq!(
            found(X, |out, _| declared_type(
                out,
                &image_tags(""),
                "image/jpeg"
            )),
            []
        );
        assert_eq!(
            found(X, |out, _| declared_type(out, &jpeg, "image/png")),
            [("tags.og:image:type", FAIL)]
        );
    }

    #[test]
    fn image_size_fails_past_the_platforms_limit_and_warns_past_its_soft_one() {
        assert_eq!(found(X, |out, p| image_size(out, p, 5_000_000)), []);
        assert_eq!(
            found(X, |out, p| image_size(out, p, 5_000_001)),
            [("image.size", FAIL)]
        );
        let whatsapp = "WhatsApp";
        assert_eq!(found(whatsapp, |out, p| image_size(out, p, 300_000)), []);
        assert_eq!(
            found(whatsapp, |out, p| image_size(out, p, 300_001)),
            [("image.size", WARN)]
        );
        assert_eq!(
            found(whatsapp, |out, p| image_size(out, p, 5_000_001)),
            [("image.size", FAIL)],
            "one finding, the worse"
        );
    }

    #[test]
    fn image_whole_fails_an_image_the_crawler_read_only_part_of() {
        let mut whole = false;
        assert_eq!(
            found(X, |out, p| whole = image_whole(out, p, 1_000, 1_000)),
            []
        );
        assert!(whole);
        assert_eq!(
            found(X, |out, p| whole = image_whole(out, p, 999, 1_000)),
            [("image.decodes", FAIL)]
        );
        assert!(!whole);
    }

    #[test]
    fn image_decodes_fails_a_broken_image_and_one_declaring_too_many_pixels() {
        let mut size = None;
        assert_eq!(
            found(X, |out, _| size = image_decodes(out, Ok((1200, 630)))),
            []
        );
        assert_eq!(size, Some((1200, 630)));
        let broken = DecodeError::Broken("unexpected end of file".into());
        assert_eq!(
            found(X, |out, _| size = image_decodes(out, Err(broken))),
            [("image.decodes", FAIL)]
        );
        assert_eq!(size, None);
        let too_large = DecodeError::TooLarge {
            width: 60_000,
            height: 60_000,
        };
        assert_eq!(
            found(X, |out, _| size = image_decodes(out, Err(too_large))),
            [("image.dimensions", FAIL)]
        );
        assert_eq!(size, None);
    }

    #[test]
    fn declared_size_fails_each_side_the_image_does_not_have() {
        let tags = image_tags(
            r#"<meta property="og:image:width" content="1200">
            <meta property="og:image:height" content="630">"#,
        );
        assert_eq!(found(X, |out, _| declared_size(out, &tags, 1200, 630)), []);
        assert_eq!(
            found(X, |out, _| declared_size(out, &image_tags(""), 1200, 630)),
            [],
            "a missing size is check_tags's finding"
        );
        assert_eq!(
            found(X, |out, _| declared_size(out, &tags, 2400, 630)),
            [("tags.og:image:width", FAIL)]
        );
        assert_eq!(
            found(X, |out, _| declared_size(out, &tags, 1200, 1260)),
            [("tags.og:image:height", FAIL)]
        );
    }

    #[test]
    fn image_dimensions_fails_an_image_below_the_platforms_smallest() {
        // X shows a large card from 300x157.
        assert_eq!(found(X, |out, p| image_dimensions(out, p, 300, 157)), []);
        for (width, height) in [(299, 157), (300, 156)] {
            assert_eq!(
                found(X, |out, p| image_dimensions(out, p, width, height)),
                [("image.dimensions", FAIL)],
                "{width}x{height}"
            );
        }
    }

    #[test]
    fn image_aspect_warns_past_the_platforms_tolerance() {
        // X crops to 2:1, give or take 0.1.
        assert_eq!(found(X, |out, p| image_aspect(out, p, 1200, 630)), []);
        assert_eq!(
            found(X, |out, p| image_aspect(out, p, 1000, 1000)),
            [("image.aspect", WARN)]
        );
        assert_eq!(
            found(X, |out, p| image_aspect(out, p, 1200, 0)),
            [("image.aspect", WARN)],
            "no division by zero"
        );
        // Slack crops to no ratio.
        assert_eq!(
            found("Slackbot", |out, p| image_aspect(out, p, 1000, 1000)),
            []
        );
    }
}
