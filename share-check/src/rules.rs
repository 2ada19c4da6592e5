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

/// Fetches the image as the crawler does and checks it; returns its bytes when whole.
async fn check_image(
    client: &reqwest::Client,
    out: &mut Findings<'_>,
    profile: &Profile,
    tags: &Tags,
    image: Url,
    robots: &RobotsCache,
) -> Option<Vec<u8>> {
    if let Some(agent) = &profile.robots_agent
        && !robots.allows(client, &image, agent).await
    {
        out.fail(
            "image.robots",
            format!(
                "{}'s robots.txt disallows {} for {agent}",
                image.host_str().unwrap_or_default(),
                image.path()
            ),
        );
    }
    let request = Request {
        user_agent: profile.image_user_agent(),
        headers: &profile.image_headers,
        max_redirects: 0,
        max_bytes: MAX_IMAGE_BYTES,
        timeout: fetch::FETCH_TIMEOUT,
    };
    let fetched = match fetch::fetch(client, image.clone(), request).await {
        Ok(fetched) => fetched,
        Err(FetchError::TooManyRedirects(_)) => {
            out.fail(
                "image.redirect",
                format!("{image} redirects; image fetches follow no redirect"),
            );
            return None;
        }
        Err(error) => {
            out.fail("image.fetch", format!("{image} did not load: {error}"));
            return None;
        }
    };
    if fetched.total > SLOW || fetched.first_byte > SLOW {
        out.warn(
            "image.timing",
            format!(
                "slow: first byte after {}, all after {}",
                ms(fetched.first_byte),
                ms(fetched.total)
            ),
        );
    }
    let total_len = match fetched.status {
        200 => fetched.body.len() as u64,
        206 => match content_range(&fetched) {
            Some(total) => total,
            None => {
                out.fail(
                    "image.status",
                    "206 without a Content-Range that matches the bytes sent",
                );
                return None;
            }
        },
        status => {
            out.fail(
                "image.status",
                format!("{image} answered {status}, not 200"),
            );
            return None;
        }
    };
    let content_type = header(&fetched.headers, "content-type").unwrap_or_default();
    let format = Format::of(&fetched.body);
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
    if let Some(declared) = tags.one("og:image:type")
        && !declared.eq_ignore_ascii_case(content_type)
    {
        out.fail(
            "tags.og:image:type",
            format!("og:image:type is {declared:?}, but the image is served as {content_type:?}"),
        );
    }
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
    if (fetched.body.len() as u64) < total_len {
        out.fail(
            "image.decodes",
            format!(
                "{} reads only the first {} of its {} bytes, so it gets a cut-off image",
                profile.platform,
                fetched.body.len(),
                total_len
            ),
        );
        return None;
    }
    let (width, height) = match inspect::decode(format, &fetched.body) {
        Ok(size) => size,
        Err(too_large @ DecodeError::TooLarge { .. }) => {
            out.fail("image.dimensions", too_large.to_string());
            return None;
        }
        Err(DecodeError::Broken(why)) => {
            out.fail("image.decodes", format!("the image does not decode: {why}"));
            return None;
        }
    };
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
    const OG_IMAGE: &str = "https://img.example.com/v1/12-34-10.jpg";

    /// The findings of `rule`, and the image Twitterbot would fetch, for `page` whose
    /// og:image is [`OG_IMAGE`] and whose twitter:image tags are `twitter_images`.
    fn seen_by_x(page: &str, twitter_images: &[&str], rule: &str) -> (Vec<Level>, Option<Url>) {
        let profile = crate::profiles::all()
            .into_iter()
            .find(|p| p.name == "Twitterbot")
            .unwrap();
        let mut head = format!(r#"<meta property="og:image" content="{OG_IMAGE}">"#);
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
        Some(Url::parse(OG_IMAGE).unwrap())
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
        for relative in [
            "/v1/12-34-10.jpg",
            "v1/12-34-10.jpg",
            "//img.example.com/a.jpg",
        ] {
            let (levels, fetched) = seen_by_x(PUBLIC_PAGE, &[relative], "tags.twitter:image");
            assert_eq!(levels, [Level::Fail], "{relative}");
            assert_eq!(fetched, og_image(), "{relative}: X falls back to og:image");
        }
    }

    #[test]
    fn a_twitter_image_on_this_machine_or_a_private_network_is_refused() {
        for local in [
            "http://127.0.0.1:3001/v1/12-34-10.jpg",
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
        let image = "http://127.0.0.1:3001/v1/12-34-10.jpg";
        let (levels, fetched) = seen_by_x(local_page, &[image], "tags.twitter:image");
        assert_eq!(levels, []);
        assert_eq!(fetched, Some(Url::parse(image).unwrap()));
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
        for (image, failed) in [
            (OG_IMAGE, false),
            ("/v1/12-34-10.jpg", true),
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
}
