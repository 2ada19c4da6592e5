//! The image rules: the crawler's fetch of the image (the access rules, in order), then
//! what the bytes are against what the page declares and the platform shows
//! (`image.type`, `image.size`, `image.decodes`, `image.dimensions`, `image.aspect`,
//! `tags.og:image:type`, `tags.og:image:width`, `tags.og:image:height`). It never reads
//! the page again.

use url::Url;

use crate::fetch::{self, Request};
use crate::finding::Findings;
use crate::inspect::{self, DecodeError, Format, Tags};
use crate::profiles::Profile;
use crate::robots::RobotsCache;
use crate::rules::access::{image_fetched, image_robots, image_status, image_timing};
use crate::rules::answer::{header, ms};
use crate::rules::tags::tag_rule;

/// How much of an image is read at most, past every platform's own limit.
pub const MAX_IMAGE_BYTES: usize = 16 * 1024 * 1024;

/// Fetches the image as the crawler does and checks it, rule by rule; returns its bytes
/// when whole. A rule that leaves nothing for the next ones to look at ends the checks.
pub(super) async fn check_image(
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
/// than the image has (a missing or malformed one is
/// [`check_tags`](crate::rules::tags::check_tags)'s finding).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{FAIL, WARN, X, found};

    fn image_tags(head: &str) -> Tags {
        Tags::parse(&format!("<html><head>{head}</head></html>"))
    }

    const JPEG_BYTES: &[u8] = b"\xFF\xD8\xFF\xE0 rest of a JPEG";

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
