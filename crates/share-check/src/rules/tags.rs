//! The tag rules (`tags.*`): each share tag is there once and well formed, and the image
//! a crawler would fetch is one it can reach; whether the tags match the image is the
//! image rules' to say. It never fetches: it reads the tags already parsed.

use std::net::IpAddr;

use url::Url;

use crate::finding::Findings;
use crate::inspect::Tags;
use crate::profiles::Profile;

/// The share tags; returns the absolute image URL when there is one to fetch.
pub(super) fn check_tags(
    out: &mut Findings<'_>,
    profile: &Profile,
    page: &Url,
    tags: &Tags,
) -> Option<Url> {
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
pub(super) fn tag_rule(key: &str) -> &'static str {
    match key {
        "og:image" => "tags.og:image",
        "twitter:image" => "tags.twitter:image",
        "og:image:width" => "tags.og:image:width",
        "og:image:height" => "tags.og:image:height",
        _ => "tags",
    }
}

/// Whether `url`'s host is this machine or on a private network, where no crawler
/// reaches: loopback, `localhost`, unspecified, private (RFC 1918), link-local, and
/// IPv6 unique-local addresses, IPv4 ones also when written IPv4-mapped.
pub(super) fn is_local(url: &Url) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Level;
    use crate::rules::testing::{PUBLIC_PAGE, card_path, image, og_image_url, profile};

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
}
