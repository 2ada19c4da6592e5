//! The words of the cards (`cards.toml`): sanitised with ammonia to a small allowlist
//! before the card page ever renders them, and as plain text for what a share says
//! about its image (`og:image:alt`). They are part of the design: the render site's
//! design fingerprint covers this file, so changing it needs a new design token.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use serde::Deserialize;
use shared_ids::SocialId;

/// The content file compiled into the binary, used unless another one is configured.
pub const EMBEDDED_CONTENT: &str = include_str!("../cards.toml");

/// Where the repository's content file lives, for `--dev` re-reading.
pub const REPO_CONTENT_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/cards.toml");

// The editors' inline subset. Everything else — links, images, styles, scripts,
// event handlers, any attribute — is removed, because card text must never be able to
// load a resource or run code on the page that holds the render token.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder.add_tags(["b", "strong", "i", "em", "br"]);
    builder
});

/// Sanitises an editor-written string to the inline allowlist; the result is safe to
/// insert as HTML.
pub fn sanitize(editor_html: &str) -> String {
    SANITIZER.clean(editor_html).to_string()
}

/// Sanitised wording as text: its only markup is the allowlist's tags (a `<` of the text
/// is `&lt;` by then), a line break reads as a space, and whitespace as a browser lays
/// it out.
fn plain_text(sanitized: &str) -> String {
    let mut text = String::with_capacity(sanitized.len());
    let mut rest = sanitized;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let close = rest[open..]
            .find('>')
            .map_or(rest.len(), |end| open + end + 1);
        if rest[open..close].starts_with("<br") {
            text.push(' ');
        }
        rest = &rest[close..];
    }
    text.push_str(rest);
    html_escape::decode_html_entities(&text)
        .split_ascii_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The card wording as written in the content file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContentFile {
    site_name: String,
    eyebrow: String,
    headline: String,
    footer: String,
    labels: [String; 3],
    #[serde(default = "Lang::english")]
    lang: Lang,
    #[serde(default)]
    dir: Dir,
    #[serde(default)]
    samples: Vec<SocialId>,
    #[serde(default)]
    ids: BTreeMap<SocialId, Overrides>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Overrides {
    eyebrow: Option<String>,
    headline: Option<String>,
    footer: Option<String>,
    labels: Option<[String; 3]>,
    lang: Option<Lang>,
    dir: Option<Dir>,
}

/// The language of a card's words, as its `<html lang>` says it: a BCP 47-shaped tag
/// (`en`, `ar`, `el-polyton`, `zh-Hant-TW`): a primary subtag of 2 to 8 letters, then
/// subtags of 1 to 8 letters or digits, joined by `-`. The browser picks shaping,
/// line breaking and the `:lang()` faces of card.css by it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Lang(String);

/// A `lang` the content file may not give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a language tag: 2 to 8 letters (en, ar, grc), then optional subtags of \
     1 to 8 letters or digits joined by '-' (el-polyton, zh-Hant-TW)"
)]
pub struct NotALanguageTag(String);

impl Lang {
    fn english() -> Self {
        Self("en".to_owned())
    }

    /// The tag as written in the content file.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Lang {
    type Error = NotALanguageTag;

    fn try_from(tag: String) -> Result<Self, Self::Error> {
        let mut subtags = tag.split('-');
        let primary = subtags.next().unwrap_or_default();
        let primary_ok =
            (2..=8).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
        let rest_ok = subtags.all(|sub| {
            (1..=8).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if primary_ok && rest_ok && tag.len() <= 64 {
            Ok(Self(tag))
        } else {
            Err(NotALanguageTag(tag))
        }
    }
}

/// The direction a card is laid out in, as its `<html dir>` says it: `rtl` mirrors the
/// card (the brand on the right, the first number on the right, text set from the
/// right); `auto` lets the browser take it from the first strong character.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    #[default]
    Ltr,
    Rtl,
    Auto,
}

impl Dir {
    /// The value of the `dir` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ltr => "ltr",
            Self::Rtl => "rtl",
            Self::Auto => "auto",
        }
    }
}

/// Validated, sanitised card content. Every string it hands out is already safe HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The file with every string sanitised once, when it is read: a share page asks for
    /// a card's wording on every request, and the sanitiser parses HTML.
    file: ContentFile,
}

impl ContentFile {
    fn sanitized(self) -> Self {
        let labels = |labels: [String; 3]| labels.map(|label| sanitize(&label));
        let text = |text: Option<String>| text.map(|text| sanitize(&text));
        Self {
            site_name: sanitize(&self.site_name),
            eyebrow: sanitize(&self.eyebrow),
            headline: sanitize(&self.headline),
            footer: sanitize(&self.footer),
            labels: labels(self.labels),
            ids: (self.ids.into_iter())
                .map(|(id, overrides)| {
                    let overrides = Overrides {
                        eyebrow: text(overrides.eyebrow),
                        headline: text(overrides.headline),
                        footer: text(overrides.footer),
                        labels: overrides.labels.map(labels),
                        ..overrides
                    };
                    (id, overrides)
                })
                .collect(),
            ..self
        }
    }
}

/// The wording of one card, sanitised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardText {
    pub site_name: String,
    pub eyebrow: String,
    pub headline: String,
    pub footer: String,
    pub labels: [String; 3],
    pub lang: Lang,
    pub dir: Dir,
}

/// A content file the site refuses to use.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("cannot read content file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// toml's message names the line and column and quotes the offending line.
    #[error("content file {origin} is malformed: {source}")]
    Parse {
        origin: String,
        #[source]
        source: toml::de::Error,
    },
}

impl Content {
    /// Parses content; `origin` names the source in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ContentError> {
        let file: ContentFile = toml::from_str(text).map_err(|source| ContentError::Parse {
            origin: origin.to_owned(),
            source,
        })?;
        Ok(Self {
            file: file.sanitized(),
        })
    }

    /// The content compiled into the binary.
    pub fn embedded() -> Self {
        Self::parse(EMBEDDED_CONTENT, "crates/card-wording/cards.toml")
            .expect("the embedded content file is valid (tested)")
    }

    /// Reads and parses a content file from disk.
    pub fn load(path: &Path) -> Result<Self, ContentError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ContentError::Read {
            path: origin.clone(),
            source,
        })?;
        Self::parse(&text, &origin)
    }

    /// The sanitised wording of `id`'s card, with its overrides applied.
    pub fn card_text(&self, id: SocialId) -> CardText {
        let file = &self.file;
        let overrides = file.ids.get(&id).cloned().unwrap_or_default();
        CardText {
            site_name: file.site_name.clone(),
            eyebrow: overrides.eyebrow.unwrap_or_else(|| file.eyebrow.clone()),
            headline: overrides.headline.unwrap_or_else(|| file.headline.clone()),
            footer: overrides.footer.unwrap_or_else(|| file.footer.clone()),
            labels: overrides.labels.unwrap_or_else(|| file.labels.clone()),
            lang: overrides.lang.unwrap_or_else(|| file.lang.clone()),
            dir: overrides.dir.unwrap_or(file.dir),
        }
    }

    /// What `id`'s card shows, in plain text: its headline, then its three labelled
    /// numbers as the card writes them ("The launch card — Round 12 · Table 34 · Seat 10").
    pub fn image_alt(&self, id: SocialId) -> String {
        let text = self.card_text(id);
        let numbers: Vec<String> = text
            .labels
            .iter()
            .zip(id.parts())
            .map(|(label, value)| format!("{} {value:02}", plain_text(label)))
            .collect();
        format!("{} — {}", plain_text(&text.headline), numbers.join(" · "))
    }

    /// The ids with wording of their own.
    pub fn overridden_ids(&self) -> impl Iterator<Item = SocialId> + '_ {
        self.file.ids.keys().copied()
    }

    /// The ids the designers' gallery always shows.
    pub fn samples(&self) -> &[SocialId] {
        &self.file.samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_content_file_is_valid() {
        let content = Content::embedded();
        assert!(!content.samples().is_empty());
        let id = SocialId::parse("12-34-10").unwrap();
        assert!(content.card_text(id).headline.contains("<i>launch</i>"));
    }

    #[test]
    fn the_inline_subset_survives_and_nothing_else_does() {
        assert_eq!(
            sanitize("<b>bold</b> <i>it</i><br>x"),
            "<b>bold</b> <i>it</i><br>x"
        );
        assert_eq!(
            sanitize("<strong>s</strong><em>e</em>"),
            "<strong>s</strong><em>e</em>"
        );
        let hostile = [
            ("<script>alert(1)</script>hi", "hi"),
            ("<img src=//evil.example/x.png onerror=alert(1)>hi", "hi"),
            ("<a href=\"javascript:alert(1)\">click</a>", "click"),
            (
                "<b onclick=\"alert(1)\" style=\"color:red\">b</b>",
                "<b>b</b>",
            ),
            ("<style>body{background:url(//evil.example)}</style>x", "x"),
            ("<iframe src=//evil.example></iframe>x", "x"),
            ("<svg onload=alert(1)><circle/></svg>x", "x"),
            ("<link rel=stylesheet href=//evil.example/x.css>x", "x"),
            ("<b><i>nested</b>", "<b><i>nested</i></b>"),
            ("1 < 2 & 3 > 2", "1 &lt; 2 &amp; 3 &gt; 2"),
        ];
        for (input, expected) in hostile {
            assert_eq!(sanitize(input), expected, "{input}");
        }
    }

    #[test]
    fn the_alt_text_is_the_headline_and_the_labelled_numbers_in_plain_text() {
        let content = Content::embedded();
        assert_eq!(
            content.image_alt(SocialId::parse("12-34-10").unwrap()),
            "The launch card: round 12, table 34 — Round 12 · Table 34 · Seat 10"
        );
        let content = Content::parse(
            r#"
            site_name = "s"
            eyebrow = "e"
            headline = "Fish &amp; <b>chips</b><br>for\t two <script>x</script>"
            footer = "f"
            labels = ["A<br>b", "1 < 2", "<i>C</i>"]
            "#,
            "test",
        )
        .unwrap();
        assert_eq!(
            content.image_alt(SocialId::parse("07-01-42").unwrap()),
            "Fish & chips for two — A b 07 · 1 < 2 01 · C 42"
        );
    }

    #[test]
    fn overrides_are_sanitised_too() {
        let content = Content::parse(
            r#"
            site_name = "<script>x</script>Site"
            eyebrow = "e"
            headline = "h"
            footer = "f"
            labels = ["a", "<img src=x onerror=alert(1)>b", "c"]
            [ids."01-02-03"]
            headline = "<a href='javascript:alert(1)'>go</a>"
            "#,
            "test",
        )
        .unwrap();
        let text = content.card_text(SocialId::parse("01-02-03").unwrap());
        assert_eq!(text.site_name, "Site");
        assert_eq!(text.headline, "go");
        assert_eq!(text.labels[1], "b");
        assert_eq!(
            content
                .card_text(SocialId::parse("01-02-04").unwrap())
                .headline,
            "h"
        );
    }

    /// A content file of the required fields, then `rest`.
    fn with(rest: &str) -> Result<Content, ContentError> {
        Content::parse(
            &format!(
                "site_name = \"s\"\neyebrow = \"e\"\nheadline = \"h\"\nfooter = \"f\"\n\
                 labels = [\"a\", \"b\", \"c\"]\n{rest}"
            ),
            "cards.toml",
        )
    }

    #[test]
    fn a_card_is_english_and_left_to_right_unless_its_wording_says_otherwise() {
        let content = with(
            "[ids.\"88-11-11\"]\nlang = \"ar\"\ndir = \"rtl\"\nlabels = [\"x\", \"<b>y</b><script>\", \"z\"]\n\
             [ids.\"01-01-01\"]\nlang = \"el-polyton\"\n",
        )
        .unwrap();
        let text = |raw: &str| content.card_text(SocialId::parse(raw).unwrap());
        let arabic = text("88-11-11");
        assert_eq!((arabic.lang.as_str(), arabic.dir), ("ar", Dir::Rtl));
        assert_eq!(
            arabic.labels,
            ["x", "<b>y</b>", "z"],
            "labels are sanitised too"
        );
        assert_eq!(
            content.image_alt(SocialId::parse("88-11-11").unwrap()),
            "h — x 88 · y 11 · z 11"
        );
        let polytonic = text("01-01-01");
        assert_eq!(
            (polytonic.lang.as_str(), polytonic.dir),
            ("el-polyton", Dir::Ltr)
        );
        let plain = text("02-02-02");
        assert_eq!((plain.lang.as_str(), plain.dir.as_str()), ("en", "ltr"));
        assert_eq!(plain.labels, ["a", "b", "c"]);

        let content = with("lang = \"he\"\ndir = \"rtl\"\n").unwrap();
        let text = content.card_text(SocialId::parse("02-02-02").unwrap());
        assert_eq!((text.lang.as_str(), text.dir), ("he", Dir::Rtl));
    }

    #[test]
    fn only_language_tags_and_the_three_directions_are_accepted() {
        for good in [
            "en",
            "ar",
            "grc",
            "el-polyton",
            "zh-Hant-TW",
            "sr-Latn",
            "es-419",
        ] {
            assert_eq!(
                Lang::try_from(good.to_owned()).map(|l| l.as_str().to_owned()),
                Ok(good.to_owned())
            );
        }
        for bad in [
            "",
            "e",
            "en_US",
            "en-",
            "-en",
            "en--us",
            "ar rtl",
            "12",
            "en-toolongsub",
            "\"><script>",
            "en\u{663}",
        ] {
            assert!(Lang::try_from(bad.to_owned()).is_err(), "{bad:?}");
        }
        let err = with("[ids.\"01-02-03\"]\nlang = \"en_US\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 7") && err.contains("not a language tag"),
            "{err}"
        );
        for dir in ["ltr", "rtl", "auto"] {
            assert!(with(&format!("dir = \"{dir}\"\n")).is_ok(), "{dir}");
        }
        for bad in ["RTL", "right", "", "rtl "] {
            let err = with(&format!("[ids.\"01-02-03\"]\ndir = \"{bad}\"\n"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("line 7") && err.contains("ltr"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn a_malformed_file_is_refused_naming_the_line() {
        let err = Content::parse(
            "site_name = \"s\"\neyebrow = \"e\"\nheadline = \"h\nfooter = \"f\"\n",
            "cards.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("cards.toml") && err.contains("line 3"),
            "{err}"
        );

        let err = Content::parse(
            "site_name = \"s\"\neyebrow = \"e\"\nheadline = \"h\"\nfooter = \"f\"\nlabels = [\"a\", \"b\", \"c\"]\n\n[ids.\"1-2-3\"]\nheadline = \"x\"\n",
            "cards.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 7"), "a bad id names its line: {err}");

        let err = Content::parse(
            "site_name = \"s\"\neyebrow = \"e\"\nheadline = \"h\"\nfooter = \"f\"\nlabels = [\"a\", \"b\", \"c\"]\nheadlin = \"typo\"\n",
            "cards.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("line 6"),
            "an unknown key names its line: {err}"
        );
    }
}
