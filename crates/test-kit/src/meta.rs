//! A page's `<meta>` tags as a crawler reads them: parsed by an HTML5 parser (so a tag
//! the markup puts in the body, or a malformed head, counts where a crawler counts it),
//! keyed by `property` or `name` alike, compared trimmed and ASCII case-insensitive.
//!
//! [`share_tag_problems`] is the one answer every suite gives to "are this page's share
//! tags ours?": the suite says what ours are, this says what a crawler would find wrong.

use scraper::{Html, Selector};

/// Every `content` of a `<meta>` whose `property` or `name` is `key` (`og:image`), in
/// document order.
pub fn meta_contents(html: &str, key: &str) -> Vec<String> {
    metas(html)
        .filter(|(keys, _)| keys.iter().any(|k| k.trim().eq_ignore_ascii_case(key)))
        .map(|(_, content)| content)
        .collect()
}

/// Whether a crawler takes a `<meta>` keyed `key` for the shared image, URL or card type:
/// `og:image`, `og:url`, `twitter:card`, `twitter:image`, and every `og:image:*` and
/// `twitter:image:*` (`og:image:alt`, `twitter:image:src`, ...). Trimmed, ASCII
/// case-insensitive.
pub fn is_share_key(key: &str) -> bool {
    let key = key.trim().to_ascii_lowercase();
    ["og:image", "og:url", "twitter:card", "twitter:image"].contains(&key.as_str())
        || key.starts_with("og:image:")
        || key.starts_with("twitter:image:")
}

/// The share tags of `html` ([`is_share_key`]) as (key, content), keys trimmed and
/// lower-cased, in document order. A tag naming one key in both `property` and `name`
/// counts once; one naming two keys counts for each.
pub fn share_tags(html: &str) -> Vec<(String, String)> {
    metas(html)
        .flat_map(|(keys, content)| {
            let mut keys: Vec<String> = keys
                .iter()
                .filter(|key| is_share_key(key))
                .map(|key| key.trim().to_ascii_lowercase())
                .collect();
            keys.dedup();
            keys.into_iter().map(move |key| (key, content.clone()))
        })
        .collect()
}

/// Whether a check holds a page's share tags of keys it does not name to ours too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherShareTags {
    /// A share tag of any other key is wrong: the page carries ours and only ours.
    Refused,
    /// Only the keys named are checked.
    Unchecked,
}

/// What a crawler reading `html` would find wrong with its share tags, given `ours`: the
/// (key, content) pairs a share of ours carries, each key once. Every key of `ours` must
/// be there exactly once, with its content (a second tag, even an equal one, leaves the
/// crawler to choose); with [`OtherShareTags::Refused`], any other share tag is wrong
/// too. One line per problem, none when all is right, so a check over many pages can
/// name every failure.
pub fn share_tag_problems(
    html: &str,
    ours: &[(&str, &str)],
    others: OtherShareTags,
) -> Vec<String> {
    let found = share_tags(html);
    let contents = |key: &str| -> Vec<&str> {
        found
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, content)| content.as_str())
            .collect()
    };
    let ours: Vec<(String, &str)> = ours
        .iter()
        .map(|(key, content)| (key.trim().to_ascii_lowercase(), *content))
        .collect();
    let mut problems = Vec::new();
    for (key, content) in &ours {
        let found = contents(key);
        if found != [*content] {
            problems.push(format!("{key}: want exactly [{content}], found {found:?}"));
        }
    }
    if others == OtherShareTags::Refused {
        let mut theirs: Vec<&str> = Vec::new();
        for (key, _) in &found {
            if ours.iter().all(|(ours, _)| ours != key) && !theirs.contains(&key.as_str()) {
                theirs.push(key);
            }
        }
        for key in theirs {
            let found = contents(key);
            problems.push(format!("{key}: not ours, found {found:?}"));
        }
    }
    problems
}

/// Every `<meta>` of `html`: its `property` and `name` values (as written), and its
/// `content`.
fn metas(html: &str) -> impl Iterator<Item = (Vec<String>, String)> {
    let document = Html::parse_document(html);
    let selector = Selector::parse("meta").expect("a valid selector");
    let metas: Vec<(Vec<String>, String)> = document
        .select(&selector)
        .map(|tag| {
            let tag = tag.value();
            let keys = ["property", "name"]
                .iter()
                .filter_map(|attr| tag.attr(attr).map(str::to_owned))
                .collect();
            (keys, tag.attr("content").unwrap_or_default().to_owned())
        })
        .collect();
    metas.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_counts_under_either_attribute_in_any_case_and_anywhere() {
        let html = r#"<html><head><meta property="og:image" content="a">
            <meta name=" OG:Image " content="b"><meta property="og:image:width" content="1">
            </head><body><meta property="og:image" content="c"></body></html>"#;
        assert_eq!(meta_contents(html, "og:image"), ["a", "b", "c"]);
        assert_eq!(meta_contents(html, "twitter:image"), Vec::<String>::new());
    }

    #[test]
    fn the_share_tags_are_the_image_url_and_card_keys_and_nothing_else() {
        let html = r#"<head><meta property="og:title" content="t">
            <meta property=" OG:Image " content="a"><meta name="twitter:image:src" content="b">
            <meta property="og:image" name="og:image" content="c">
            <meta property="og:url" name="twitter:card" content="d">
            <meta name="twitter:site" content="@x"></head>"#;
        assert_eq!(
            share_tags(html),
            [
                ("og:image", "a"),
                ("twitter:image:src", "b"),
                ("og:image", "c"),
                ("og:url", "d"),
                ("twitter:card", "d"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn ours_must_each_be_there_once_and_others_only_when_refused() {
        let ours = [
            ("og:image", "https://img/a.jpg"),
            ("og:url", "https://www/"),
        ];
        let right = r#"<meta property="og:image" content="https://img/a.jpg">
            <meta property="og:url" content="https://www/">
            <meta property="og:image:alt" content="alt">"#;
        assert_eq!(
            share_tag_problems(right, &ours, OtherShareTags::Unchecked),
            Vec::<String>::new()
        );
        assert_eq!(
            share_tag_problems(right, &ours, OtherShareTags::Refused),
            [r#"og:image:alt: not ours, found ["alt"]"#]
        );

        let wrong = r#"<meta property="og:image" content="https://img/a.jpg">
            <meta property="og:image" content="https://img/a.jpg">
            <meta property="og:url" content="https://evil/">"#;
        assert_eq!(
            share_tag_problems(wrong, &ours, OtherShareTags::Refused),
            [
                r#"og:image: want exactly [https://img/a.jpg], found ["https://img/a.jpg", "https://img/a.jpg"]"#,
                r#"og:url: want exactly [https://www/], found ["https://evil/"]"#,
            ]
        );
        assert_eq!(
            share_tag_problems("<p>no head</p>", &ours[..1], OtherShareTags::Unchecked),
            ["og:image: want exactly [https://img/a.jpg], found []"]
        );
    }
}
