//! A page's `<meta>` tags as a crawler reads them: parsed by an HTML5 parser (so a tag
//! the markup puts in the body, or a malformed head, counts where a crawler counts it),
//! keyed by `property` or `name` alike, compared trimmed and ASCII case-insensitive.

use scraper::{Html, Selector};

/// Every `content` of a `<meta>` whose `property` or `name` is `key` (`og:image`), in
/// document order.
pub fn meta_contents(html: &str, key: &str) -> Vec<String> {
    let document = Html::parse_document(html);
    let selector = Selector::parse("meta").expect("a valid selector");
    document
        .select(&selector)
        .filter(|tag| {
            ["property", "name"].iter().any(|attr| {
                tag.value()
                    .attr(attr)
                    .is_some_and(|value| value.trim().eq_ignore_ascii_case(key))
            })
        })
        .map(|tag| tag.value().attr("content").unwrap_or_default().to_owned())
        .collect()
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
}
