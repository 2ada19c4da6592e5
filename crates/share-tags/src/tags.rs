//! The share tags: every `og:*` and `twitter:*` meta tag of a share, in one order, as
//! items a caller can inspect or rewrite with, or as HTML.
//!
//! Values come from a `ShareSite`, a parsed id and a `PageAddress` (or, for the words a
//! page lacks, its own decoded text), and are escaped when rendered; this module never
//! formats an image path (shared-ids' `BaseUrl` does).

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use shared_ids::{IMAGE_CONTENT_TYPE, IMAGE_HEIGHT_PX, IMAGE_WIDTH_PX, SocialId};

use crate::{PageAddress, ShareSite, ShareText};

/// `og:type` of every share.
pub const OG_TYPE: &str = "website";
/// `twitter:card` of every share: the card fills the preview, as the other networks show it.
pub const TWITTER_CARD: &str = "summary_large_image";

/// Everything a share of `id` (or of no card) says, built from configuration, the parsed
/// id and the shared page's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareTags {
    pub id: Option<SocialId>,
    pub site_name: String,
    pub text: ShareText,
    /// The shared page's own URL with the share (`og:url`).
    pub page_url: String,
    pub image_url: String,
    /// `og:image:secure_url` is only meaningful for an https image URL.
    pub image_secure_url: Option<String>,
    pub image_type: &'static str,
    pub image_width: u32,
    pub image_height: u32,
}

impl ShareTags {
    /// The share of the site's own share page: `og:url` is the public URL's `/?social=`.
    pub fn new(site: &ShareSite, id: Option<SocialId>) -> Self {
        let page_url = format!("{}{}", site.public_url, PageAddress::root().with_social(id));
        Self::with_page_url(site, id, page_url)
    }

    /// The share of another page of the site: `og:url` is that page's public URL (the
    /// public URL's origin and the page's address) with the share.
    pub fn for_page(site: &ShareSite, id: Option<SocialId>, page: &PageAddress) -> Self {
        let page_url = format!("{}{}", site.public_url.origin(), page.with_social(id));
        Self::with_page_url(site, id, page_url)
    }

    fn with_page_url(site: &ShareSite, id: Option<SocialId>, page_url: String) -> Self {
        let image_url = site.image_base.image_url(id);
        Self {
            id,
            site_name: site.site_name.clone(),
            text: ShareText::new(&site.site_name, &site.wording, id),
            page_url,
            image_secure_url: site.image_base.is_https().then(|| image_url.clone()),
            image_url,
            image_type: IMAGE_CONTENT_TYPE,
            image_width: IMAGE_WIDTH_PX,
            image_height: IMAGE_HEIGHT_PX,
        }
    }

    /// The tag set, in the order the main site's page carries it.
    pub fn meta(&self) -> Vec<MetaTag<'_>> {
        let text = &self.text;
        let mut tags = vec![
            MetaTag::property("og:type", OG_TYPE),
            MetaTag::property("og:site_name", &self.site_name),
            MetaTag::property("og:title", &text.title),
            MetaTag::property("og:description", &text.description),
            self.og_url(),
        ];
        tags.extend(self.og_image());
        tags.extend([
            twitter_card(),
            MetaTag::name("twitter:title", &text.title),
            MetaTag::name("twitter:description", &text.description),
        ]);
        tags.extend(self.twitter_image());
        tags
    }

    /// The tags the injector writes into another site's page: the image, the canonical
    /// share URL and the card type, and nothing about the page's own title or wording.
    /// Every key here is one `is_replaced_key` takes out of the page.
    pub fn image_tags(&self) -> Vec<MetaTag<'_>> {
        let mut tags = self.og_image();
        tags.extend([self.og_url(), twitter_card()]);
        tags.extend(self.twitter_image());
        tags
    }

    /// `image_tags` as HTML, escaped as every rendered tag is.
    pub fn image_tags_html(&self) -> String {
        self.image_tags().iter().map(ToString::to_string).collect()
    }

    /// What the injector puts into a page: `image_tags`, then the page's own words for
    /// the `og:title` and `og:description` it lacks, as HTML.
    pub fn page_block_html(&self, words: &PageWords) -> String {
        let mut tags = self.image_tags();
        tags.extend((words.title.as_deref()).map(|title| MetaTag::property("og:title", title)));
        tags.extend(
            (words.description.as_deref())
                .map(|description| MetaTag::property("og:description", description)),
        );
        html_of(&tags)
    }

    /// The tag set as HTML, one `<meta>` after another, byte for byte as the main site's
    /// page writes them.
    pub fn to_html(&self) -> String {
        html_of(&self.meta())
    }

    fn og_url(&self) -> MetaTag<'_> {
        MetaTag::property("og:url", &self.page_url)
    }

    fn og_image(&self) -> Vec<MetaTag<'_>> {
        let mut tags = vec![MetaTag::property("og:image", &self.image_url)];
        tags.extend(
            self.image_secure_url
                .as_ref()
                .map(|url| MetaTag::property("og:image:secure_url", url)),
        );
        tags.extend([
            MetaTag::property("og:image:type", self.image_type),
            MetaTag::property("og:image:width", self.image_width.to_string()),
            MetaTag::property("og:image:height", self.image_height.to_string()),
            MetaTag::property("og:image:alt", &self.text.image_alt),
        ]);
        tags
    }

    fn twitter_image(&self) -> [MetaTag<'_>; 2] {
        [
            MetaTag::name("twitter:image", &self.image_url),
            MetaTag::name("twitter:image:alt", &self.text.image_alt),
        ]
    }
}

/// A page's own words for the `og:title` and `og:description` it lacks (its `<title>`
/// and `<meta name="description">`, decoded); `None` where it has the tag or no words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageWords {
    pub title: Option<String>,
    pub description: Option<String>,
}

fn twitter_card() -> MetaTag<'static> {
    MetaTag::name("twitter:card", TWITTER_CARD)
}

/// Whether a page's `<meta>` whose `property` or `name` is `key` says something about the
/// shared image or URL, and so must go when the injector writes its own: `og:image`,
/// `og:url`, `twitter:card`, `twitter:image` and every `og:image:*` / `twitter:image:*`
/// (`og:image:url`, `twitter:image:src`, ...). Matched as HTML matches attribute values a
/// crawler reads: trimmed of ASCII whitespace, ASCII case-insensitive.
pub fn is_replaced_key(key: &str) -> bool {
    let is = |exact: &str| is_meta_key(key, exact);
    let key = key.trim_matches(|c: char| c.is_ascii_whitespace());
    let under = |prefix: &str| {
        key.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    is("og:image")
        || under("og:image:")
        || is("og:url")
        || is("twitter:card")
        || is("twitter:image")
        || under("twitter:image:")
}

/// Whether a page's `<meta>` `property` or `name` value `found` names `key`, as a
/// crawler reads it: trimmed of ASCII whitespace, ASCII case-insensitive.
pub fn is_meta_key(found: &str, key: &str) -> bool {
    found
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .eq_ignore_ascii_case(key)
}

/// Which attribute of a `<meta>` tag holds its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaAttr {
    /// Open Graph's RDFa `property`.
    Property,
    /// `name`, which Twitter/X cards use.
    Name,
}

impl MetaAttr {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Property => "property",
            Self::Name => "name",
        }
    }
}

/// One share tag: `<meta {attr}="{key}" content="{value}">`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaTag<'a> {
    pub attr: MetaAttr,
    pub key: &'static str,
    pub value: Cow<'a, str>,
}

impl<'a> MetaTag<'a> {
    fn property(key: &'static str, value: impl Into<Cow<'a, str>>) -> Self {
        Self {
            attr: MetaAttr::Property,
            key,
            value: value.into(),
        }
    }

    fn name(key: &'static str, value: impl Into<Cow<'a, str>>) -> Self {
        Self {
            attr: MetaAttr::Name,
            key,
            value: value.into(),
        }
    }
}

/// Tags written one after another into one string: the injector writes a block into
/// every share page it serves.
fn html_of(tags: &[MetaTag<'_>]) -> String {
    let mut html = String::with_capacity(tags.len() * 96);
    for tag in tags {
        let _ = write!(html, "{tag}");
    }
    html
}

/// Escapes as Leptos escapes attribute values (html-escape's double-quoted attribute
/// rules: `&`, `<`, `>`, `"`), so a rendered tag is the same bytes as the main site's.
impl fmt::Display for MetaTag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use html_escape::encode_double_quoted_attribute as escape;
        write!(
            f,
            "<meta {}=\"{}\" content=\"{}\">",
            self.attr.as_str(),
            escape(self.key),
            escape(&self.value)
        )
    }
}

#[cfg(test)]
mod tests {
    use shared_ids::{BaseUrl, CURRENT_DESIGN};

    use super::*;

    fn site(site_name: &str, public_url: &str, image_base: &str) -> ShareSite {
        ShareSite::new(
            site_name,
            BaseUrl::parse(public_url).unwrap(),
            BaseUrl::parse(image_base).unwrap(),
        )
    }

    fn local() -> ShareSite {
        site("ogshot", "http://127.0.0.1:3000", "http://127.0.0.1:3001")
    }

    #[test]
    fn urls_carry_the_parsed_id_or_nothing() {
        let card = ShareTags::new(&local(), SocialId::parse("12-34-10").ok());
        assert_eq!(card.page_url, "http://127.0.0.1:3000/?social=12-34-10");
        assert_eq!(
            card.image_url,
            format!("http://127.0.0.1:3001/{CURRENT_DESIGN}/12-34-10.jpg")
        );
        assert_eq!(card.image_secure_url, None, "http bases have no secure_url");
        let none = ShareTags::new(&local(), None);
        assert_eq!(none.page_url, "http://127.0.0.1:3000/");
        assert_eq!(none.image_url, "http://127.0.0.1:3001/default.jpg");
    }

    #[test]
    fn a_page_of_the_site_shares_its_own_url_on_the_public_origin() {
        let under_a_path = site(
            "s",
            "https://www.example.com/base",
            "https://img.example.com",
        );
        let id = SocialId::parse("12-34-10").ok();
        let page = PageAddress::of_request(
            "/product",
            Some("id=5&utm_source=x&social=12-34-10"),
            &under_a_path.tracking,
        );
        let tags = ShareTags::for_page(&under_a_path, id, &page);
        assert_eq!(
            tags.page_url,
            "https://www.example.com/product?id=5&social=12-34-10"
        );
        assert_eq!(
            ShareTags::new(&under_a_path, id).page_url,
            "https://www.example.com/base/?social=12-34-10"
        );
    }

    #[test]
    fn the_page_block_adds_only_the_words_the_page_lacks_escaped() {
        let tags = ShareTags::new(&local(), SocialId::parse("12-34-10").ok());
        assert_eq!(
            tags.page_block_html(&PageWords::default()),
            tags.image_tags_html()
        );
        let words = PageWords {
            title: Some("Fish & \"chips\" <b>".into()),
            description: Some("Tasty".into()),
        };
        assert_eq!(
            tags.page_block_html(&words),
            format!(
                "{}<meta property=\"og:title\" content=\"Fish &amp; &quot;chips&quot; &lt;b&gt;\">\
                 <meta property=\"og:description\" content=\"Tasty\">",
                tags.image_tags_html()
            )
        );
    }

    #[test]
    fn the_tag_set_is_every_og_and_twitter_tag_in_order() {
        let https = site(
            "Example",
            "https://www.example.com",
            "https://img.example.com",
        );
        let tags = ShareTags::new(&https, SocialId::parse("01-02-03").ok());
        let card = format!("https://img.example.com/{CURRENT_DESIGN}/01-02-03.jpg");
        let alt = https
            .wording
            .image_alt(SocialId::parse("01-02-03").unwrap());
        let items: Vec<_> = tags
            .meta()
            .into_iter()
            .map(|t| (t.attr.as_str(), t.key, t.value.into_owned()))
            .collect();
        let expected: Vec<(&str, &str, String)> = vec![
            ("property", "og:type", "website".into()),
            ("property", "og:site_name", "Example".into()),
            ("property", "og:title", "Card 01-02-03 · Example".into()),
            (
                "property",
                "og:description",
                "The Example share card for 01-02-03.".into(),
            ),
            (
                "property",
                "og:url",
                "https://www.example.com/?social=01-02-03".into(),
            ),
            ("property", "og:image", card.clone()),
            ("property", "og:image:secure_url", card.clone()),
            ("property", "og:image:type", "image/jpeg".into()),
            ("property", "og:image:width", "2400".into()),
            ("property", "og:image:height", "1260".into()),
            ("property", "og:image:alt", alt.clone()),
            ("name", "twitter:card", "summary_large_image".into()),
            ("name", "twitter:title", "Card 01-02-03 · Example".into()),
            (
                "name",
                "twitter:description",
                "The Example share card for 01-02-03.".into(),
            ),
            ("name", "twitter:image", card),
            ("name", "twitter:image:alt", alt),
        ];
        assert_eq!(items, expected);
        let plain = ShareTags::new(&local(), None);
        assert!(plain.meta().iter().all(|t| t.key != "og:image:secure_url"));
        assert_eq!(plain.meta().len(), expected.len() - 1);
    }

    #[test]
    fn the_image_tags_are_the_image_url_and_card_and_every_one_is_replaced() {
        let https = site(
            "Example",
            "https://www.example.com",
            "https://img.example.com",
        );
        let tags = ShareTags::new(&https, SocialId::parse("01-02-03").ok());
        let keys: Vec<_> = tags.image_tags().iter().map(|t| t.key).collect();
        assert_eq!(
            keys,
            [
                "og:image",
                "og:image:secure_url",
                "og:image:type",
                "og:image:width",
                "og:image:height",
                "og:image:alt",
                "og:url",
                "twitter:card",
                "twitter:image",
                "twitter:image:alt",
            ]
        );
        assert!(keys.iter().all(|key| is_replaced_key(key)));
        let all = tags.meta();
        for tag in tags.image_tags() {
            assert!(all.contains(&tag), "{tag} is one of the share's own tags");
        }
        let html = tags.image_tags_html();
        assert_eq!(html.matches("<meta ").count(), keys.len());
        assert!(html.starts_with(&tags.image_tags()[0].to_string()));
    }

    #[test]
    fn replaced_keys_are_the_image_url_and_card_in_any_case_and_spacing() {
        for key in [
            "og:image",
            " OG:IMAGE\t",
            "og:image:width",
            "og:image:secure_url",
            "og:Image:URL",
            "og:url",
            "twitter:card",
            "Twitter:Image",
            "twitter:image:src",
            "twitter:image:alt",
        ] {
            assert!(is_replaced_key(key), "{key:?}");
        }
        for key in [
            "og:title",
            "og:images",
            "og:image-x",
            "og:video",
            "og:site_name",
            "twitter:title",
            "twitter:site",
            "twitter:images",
            "image",
            "og:",
            "",
            "og:url:x",
        ] {
            assert!(!is_replaced_key(key), "{key:?}");
        }
    }

    #[test]
    fn rendered_values_are_escaped_attributes() {
        let hostile = site(
            "a\"><script>&'",
            "http://127.0.0.1:3000",
            "http://127.0.0.1:3001",
        );
        let tags = ShareTags::new(&hostile, None);
        let html = tags.to_html();
        assert!(html.starts_with(
            "<meta property=\"og:type\" content=\"website\">\
             <meta property=\"og:site_name\" content=\"a&quot;&gt;&lt;script&gt;&amp;'\">"
        ));
        assert!(!html.contains("<script"));
        assert_eq!(html.matches("<meta ").count(), tags.meta().len());
    }
}
