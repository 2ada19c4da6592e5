//! What the tests share: the site, a rewrite driven chunk by chunk, an independent
//! share-tag stripper over raw bytes, and the check of the tags a crawler would read
//! (test-kit's, against the tags this site's configuration says a share carries, and the
//! words an HTML5 parser reads in the page).

use regex::bytes::Regex;
use scraper::{Html, Selector};
use share_inject::{InjectLimits, Injector, Outcome, ShareSite};
use share_tags::PageAddress;
use shared_ids::{BaseUrl, IMAGE_CONTENT_TYPE, IMAGE_HEIGHT_PX, IMAGE_WIDTH_PX, SocialId};
use test_kit::meta::{OtherShareTags, is_share_key, meta_contents, share_tag_problems};

pub(crate) fn site_named(name: &str) -> ShareSite {
    ShareSite::new(
        name,
        BaseUrl::parse("https://www.example.com").unwrap(),
        BaseUrl::parse("https://img.example.com").unwrap(),
    )
}

/// The page every rewrite here is a share of: deep, with a query that chooses it and
/// one that only tracks.
pub(crate) fn page(injector: &Injector) -> PageAddress {
    injector.page_address("/guide/deep/", Some("v=2&utm_source=x&social=12-34-10"))
}

/// Its `og:url`, written out as a reader of the issue would.
pub(crate) const PAGE_URL: &str = "https://www.example.com/guide/deep/?v=2&social=12-34-10";

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
    let mut rewrite = injector.start(Some(id()), &page(injector), content_type);
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
/// `is_share_key`, as a crawler reads one) or one of `also`: a regex over the raw bytes,
/// nothing of the engine's.
pub(crate) fn strip_share_tags(bytes: &[u8], also: &[&str]) -> Vec<u8> {
    let tag = Regex::new(r#"(?i-u)<meta[\s/](?:[^>"']|"[^"]*"|'[^']*')*>"#).unwrap();
    let key =
        Regex::new(r#"(?i-u)[\s/"'](?:property|name)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))"#)
            .unwrap();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for found in tag.find_iter(bytes) {
        let share = key.captures_iter(found.as_bytes()).any(|c| {
            let value = c.get(1).or(c.get(2)).or(c.get(3)).unwrap();
            let key = String::from_utf8_lossy(value.as_bytes());
            is_share_key(&key)
                || also
                    .iter()
                    .any(|also| key.trim().eq_ignore_ascii_case(also))
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
    let alt = site.wording.image_alt(id);
    let mut tags = vec![("og:image", image.clone())];
    if site.image_base.is_https() {
        tags.push(("og:image:secure_url", image.clone()));
    }
    tags.extend([
        ("og:image:type", IMAGE_CONTENT_TYPE.to_owned()),
        ("og:image:width", IMAGE_WIDTH_PX.to_string()),
        ("og:image:height", IMAGE_HEIGHT_PX.to_string()),
        ("og:image:alt", alt.clone()),
        ("og:url", PAGE_URL.to_owned()),
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

/// The words a crawler reads in a page for `og:title` and `og:description`: its own tags,
/// else its head's `<title>` (as `document.title`) and `<meta name="description">`.
pub(crate) fn page_words(html: &str) -> [(&'static str, Vec<String>); 2] {
    let first = |css: &str, read: &dyn Fn(scraper::ElementRef<'_>) -> String| {
        let document = Html::parse_document(html);
        let selector = Selector::parse(css).unwrap();
        document.select(&selector).next().map(read)
    };
    let said = |own: Vec<String>, fallback: Option<String>| {
        if own.is_empty() {
            fallback
                .filter(|words| !words.trim().is_empty())
                .into_iter()
                .collect()
        } else {
            own
        }
    };
    let title = first("head > title", &|title| {
        let text: String = title.text().collect();
        text.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
    });
    let description = first("head > meta[name=description i]", &|meta| {
        meta.value().attr("content").unwrap_or_default().to_owned()
    });
    [
        ("og:title", said(meta_contents(html, "og:title"), title)),
        (
            "og:description",
            said(meta_contents(html, "og:description"), description),
        ),
    ]
}

/// A crawler reads the page's own `og:title` and `og:description` when it has them, else
/// ours from its words: never two.
pub(crate) fn assert_words(input: &str, output: &str, what: &str) {
    for ((key, want), (_, found)) in page_words(input).into_iter().zip(page_words(output)) {
        assert_eq!(meta_contents(output, key), want, "{what}: {key}");
        assert_eq!(found, want, "{what}: {key}");
    }
}

/// The output is the input with its share tags taken out and ours put in, and not one
/// byte more or less.
pub(crate) fn assert_same_but_share_tags(input: &[u8], output: &[u8], what: &str) {
    let text = String::from_utf8_lossy(input);
    let added: Vec<&str> = ["og:title", "og:description"]
        .into_iter()
        .filter(|key| meta_contents(&text, key).is_empty())
        .collect();
    let (a, b) = (
        strip_share_tags(input, &[]),
        strip_share_tags(output, &added),
    );
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
