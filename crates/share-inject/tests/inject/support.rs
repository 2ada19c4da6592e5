//! What the tests share: the site, a rewrite driven chunk by chunk, an independent
//! share-tag stripper over raw bytes, and the check of the tags a crawler would read
//! (test-kit's, against the tags this site's configuration says a share carries).

use regex::bytes::Regex;
use share_inject::{InjectLimits, Injector, Outcome, ShareSite};
use share_tags::ShareText;
use shared_ids::{BaseUrl, IMAGE_CONTENT_TYPE, IMAGE_HEIGHT_PX, IMAGE_WIDTH_PX, SocialId};
use test_kit::meta::{OtherShareTags, is_share_key, share_tag_problems};

pub(crate) fn site_named(name: &str) -> ShareSite {
    ShareSite {
        site_name: name.into(),
        public_url: BaseUrl::parse("https://www.example.com").unwrap(),
        image_base: BaseUrl::parse("https://img.example.com").unwrap(),
    }
}

pub(crate) fn site() -> ShareSite {
    site_named("ogshot")
}

pub(crate) fn id() -> SocialId {
    SocialId::parse("12-34-10").unwrap()
}

pub(crate) fn injector() -> Injector {
    Injector::new(site(), InjectLimits::default())
}

/// Rewrites `input` fed in `chunks`, checking on the way that no byte goes out before the
/// outcome is known.
pub(crate) fn rewrite_in<'a>(
    injector: &Injector,
    content_type: Option<&str>,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<u8>, Outcome) {
    let mut rewrite = injector.start(Some(id()), content_type);
    let mut out = Vec::new();
    for chunk in chunks {
        let now = rewrite.write(chunk);
        assert!(
            now.is_empty() || rewrite.outcome().is_some(),
            "output before the outcome"
        );
        out.extend_from_slice(&now);
    }
    let (rest, outcome) = rewrite.finish();
    out.extend_from_slice(&rest);
    (out, outcome)
}

pub(crate) fn rewrite(injector: &Injector, input: &[u8]) -> (Vec<u8>, Outcome) {
    rewrite_in(injector, Some("text/html; charset=utf-8"), [input])
}

/// `bytes` without any `<meta>` tag whose `property` or `name` is a share key (test-kit's
/// `is_share_key`, as a crawler reads one): a regex over the raw bytes, nothing of the
/// engine's.
pub(crate) fn strip_share_tags(bytes: &[u8]) -> Vec<u8> {
    let tag = Regex::new(r#"(?i-u)<meta[\s/](?:[^>"']|"[^"]*"|'[^']*')*>"#).unwrap();
    let key =
        Regex::new(r#"(?i-u)[\s/"'](?:property|name)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))"#)
            .unwrap();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for found in tag.find_iter(bytes) {
        let share = key.captures_iter(found.as_bytes()).any(|c| {
            let value = c.get(1).or(c.get(2)).or(c.get(3)).unwrap();
            is_share_key(&String::from_utf8_lossy(value.as_bytes()))
        });
        if share {
            out.extend_from_slice(&bytes[at..found.start()]);
            at = found.end();
        }
    }
    out.extend_from_slice(&bytes[at..]);
    out
}

/// The share tags a crawler should read for `id` on `site`, from the configuration and
/// shared-ids' URL helpers.
pub(crate) fn expected_tags(site: &ShareSite, id: SocialId) -> Vec<(&'static str, String)> {
    let image = site.image_base.image_url(Some(id));
    let alt = ShareText::new(&site.site_name, Some(id)).image_alt;
    let mut tags = vec![("og:image", image.clone())];
    if site.image_base.is_https() {
        tags.push(("og:image:secure_url", image.clone()));
    }
    tags.extend([
        ("og:image:type", IMAGE_CONTENT_TYPE.to_owned()),
        ("og:image:width", IMAGE_WIDTH_PX.to_string()),
        ("og:image:height", IMAGE_HEIGHT_PX.to_string()),
        ("og:image:alt", alt.clone()),
        ("og:url", format!("{}/?social={id}", site.public_url)),
        ("twitter:card", "summary_large_image".to_owned()),
        ("twitter:image", image),
        ("twitter:image:alt", alt),
    ]);
    tags
}

/// A crawler reading `html` finds our tags and no other share tag: one of each key, first
/// and last alike.
pub(crate) fn assert_only_our_tags(html: &str, site: &ShareSite, what: &str) {
    let expected = expected_tags(site, id());
    let ours: Vec<(&str, &str)> = expected
        .iter()
        .map(|(key, content)| (*key, content.as_str()))
        .collect();
    let problems = share_tag_problems(html, &ours, OtherShareTags::Refused);
    assert!(
        problems.is_empty(),
        "{what}: the share tags a crawler reads: {problems:#?}"
    );
}

/// The output is the input with its share tags taken out and ours put in, and not one
/// byte more or less.
pub(crate) fn assert_same_but_share_tags(input: &[u8], output: &[u8], what: &str) {
    let (a, b) = (strip_share_tags(input), strip_share_tags(output));
    if a != b {
        let at = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        let show = |s: &[u8]| {
            String::from_utf8_lossy(&s[at.saturating_sub(80)..(at + 80).min(s.len())]).into_owned()
        };
        panic!(
            "{what}: bytes other than share tags differ at {at} (lengths {} and {}):\ninput:  {:?}\noutput: {:?}",
            a.len(),
            b.len(),
            show(&a),
            show(&b)
        );
    }
}
