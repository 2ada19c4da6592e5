//! The card wording (`content/cards.toml`), sanitised with ammonia to a small allowlist
//! before it is ever rendered.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use serde::Deserialize;
use shared_ids::SocialId;

/// The content file compiled into the binary, used unless another one is configured.
pub const EMBEDDED_CONTENT: &str = include_str!("../content/cards.toml");

/// Where the repository's content file lives, for `--dev` re-reading.
pub const REPO_CONTENT_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/content/cards.toml");

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

/// The card wording as written in the content file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContentFile {
    site_name: String,
    eyebrow: String,
    headline: String,
    footer: String,
    labels: [String; 3],
    #[serde(default)]
    samples: Vec<SocialId>,
    #[serde(default)]
    ids: BTreeMap<SocialId, Overrides>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Overrides {
    eyebrow: Option<String>,
    headline: Option<String>,
    footer: Option<String>,
}

/// Validated, sanitised card content. Every string it hands out is already safe HTML.
#[derive(Debug, Clone)]
pub struct Content {
    file: ContentFile,
}

/// The wording of one card, sanitised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardText {
    pub site_name: String,
    pub eyebrow: String,
    pub headline: String,
    pub footer: String,
    pub labels: [String; 3],
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
        let file = toml::from_str(text).map_err(|source| ContentError::Parse {
            origin: origin.to_owned(),
            source,
        })?;
        Ok(Self { file })
    }

    /// The content compiled into the binary.
    pub fn embedded() -> Self {
        Self::parse(EMBEDDED_CONTENT, "render-site/content/cards.toml")
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
            site_name: sanitize(&file.site_name),
            eyebrow: sanitize(overrides.eyebrow.as_ref().unwrap_or(&file.eyebrow)),
            headline: sanitize(overrides.headline.as_ref().unwrap_or(&file.headline)),
            footer: sanitize(overrides.footer.as_ref().unwrap_or(&file.footer)),
            labels: file.labels.clone().map(|label| sanitize(&label)),
        }
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
