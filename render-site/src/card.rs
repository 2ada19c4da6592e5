//! The card page Chromium captures, and the assets it may load (all same-origin); its
//! markup is pinned by the design snapshot test below.

use leptos::prelude::*;
use shared_ids::{CARD_HEIGHT_CSS, CARD_WIDTH_CSS, CURRENT_DESIGN, SocialId};

use card_wording::CardText;

/// The card's stylesheet, inlined into every card page.
pub const CARD_CSS: &str = include_str!("../assets/card.css");

/// Where the repository's card stylesheet lives, for `--dev` re-reading.
pub const REPO_CARD_CSS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/card.css");

/// Script that fits the headline to its box (`window.ogshotFit`, run again by drawn.js
/// before every capture), then resolves `window.ogshotReady` and sets `html[data-ready]`.
pub const READY_SCRIPT_PATH: &str = "/assets/ready.js";

/// JavaScript expression a screenshotter awaits before capturing the card.
pub const READY_EXPRESSION: &str = "window.ogshotReady";

/// A JavaScript function expression, `async (url, tag, [design, id], drawn) => [design,
/// id, verdict] | false`, that swaps the card at `url` (a card page's full URL) into a page already
/// showing a card and resolves once it is ready to capture (`assets/swap.js`): the
/// screenshotter's fast path, part of the card page's contract like `ready.js`. With a
/// numeric `tag` it also scrolls the page to `tag` for a tagged screencast frame (see
/// image-service's `browser::screencast`). Not served to browsers.
pub const SWAP_FUNCTION: &str = include_str!("../assets/swap.js");

/// A JavaScript function expression, `async (tag) => null | reason`, that a screenshotter
/// awaits on a card whose document is final (loaded and ready, or swapped in): it
/// resolves once every glyph of the card's text can be drawn in its own face, scrolls
/// to a numeric `tag` in the first frame painted after that, and says why the card
/// must not be captured, if it must not (`assets/drawn.js`). Not served to browsers.
pub const DRAWN_FUNCTION: &str = include_str!("../assets/drawn.js");

/// A static file the render site serves under `/assets/`.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! font {
    ($file:literal) => {
        Asset {
            name: concat!("fonts/", $file),
            content_type: "font/woff2",
            bytes: include_bytes!(concat!("../assets/fonts/", $file)),
        }
    };
}

/// Everything a card page may load. All of it is same-origin: the card's CSP is
/// `default-src 'self'`, so a card can never reach another origin (and never leak the
/// token to one).
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "ready.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/ready.js"),
    },
    font!("inter-latin-wght-normal.woff2"),
    font!("inter-latin-ext-wght-normal.woff2"),
    font!("inter-cyrillic-wght-normal.woff2"),
    font!("inter-greek-wght-normal.woff2"),
    font!("inter-latin-wght-italic.woff2"),
    font!("inter-latin-ext-wght-italic.woff2"),
    font!("noto-sans-arabic-wght-normal.woff2"),
    font!("noto-sans-hebrew-wght-normal.woff2"),
    font!("noto-sans-devanagari-wght-normal.woff2"),
    font!("noto-sans-bengali-wght-normal.woff2"),
    font!("noto-sans-thai-wght-normal.woff2"),
    font!("noto-sans-greek-wght-normal.woff2"),
    font!("noto-sans-greek-ext-wght-normal.woff2"),
];

/// Looks an asset up by its name under `/assets/`.
pub fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}

/// Path of `id`'s card page on the render site.
pub fn card_page_path(id: SocialId) -> String {
    format!("/card/{id}")
}

/// Renders the complete card document for `id`.
///
/// Every string in `text` is already sanitised HTML (see `card_wording::sanitize`), which is
/// why it goes in through `inner_html`; the id's numbers are formatted here.
pub fn render(id: SocialId, text: &CardText, css: &str) -> String {
    let CardText {
        site_name,
        eyebrow,
        headline,
        footer,
        labels,
        lang,
        dir,
    } = text.clone();
    let values = labels
        .into_iter()
        .zip(id.parts())
        .map(|(label, value)| {
            view! {
                <li>
                    <span class="label" inner_html=label></span>
                    <span class="value">{format!("{value:02}")}</span>
                </li>
            }
        })
        .collect_view();
    let title = format!("Card {id}");
    let viewport = format!("width={CARD_WIDTH_CSS}, height={CARD_HEIGHT_CSS}");
    view! {
        <!DOCTYPE html>
        <html lang=lang.as_str().to_owned() dir=dir.as_str() data-design=CURRENT_DESIGN.as_str() data-id=id.to_string()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content=viewport/>
                <title>{title}</title>
                <style>{css.to_owned()}</style>
            </head>
            <body>
                <main class="card">
                    <header class="top">
                        <span class="brand"><span class="brand-name" inner_html=site_name></span></span>
                        <span class="eyebrow" inner_html=eyebrow></span>
                    </header>
                    <h1 class="headline"><span class="headline-text" inner_html=headline></span></h1>
                    <ul class="values">{values}</ul>
                    <footer class="bottom">
                        <span class="footer" inner_html=footer></span>
                        <span class="id">{id.to_string()}</span>
                    </footer>
                </main>
                <script src=READY_SCRIPT_PATH></script>
            </body>
        </html>
    }
    .to_html()
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::path::PathBuf;

    use sha2::{Digest, Sha256};

    use super::*;
    use card_wording::Content;

    /// Ids whose cards pin the design. Fixed forever: changing this list would change
    /// every snapshot.
    const PINNED_IDS: [&str; 5] = ["12-34-10", "00-00-00", "99-99-99", "07-01-42", "31-12-25"];

    fn digest(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .fold(String::new(), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
    }

    /// Everything that decides how a card looks, one digest per line: the whole page
    /// (markup, the inline stylesheet, the wording) of the pinned cards and of every id
    /// with wording of its own, then every asset the page loads (fonts, scripts).
    fn design_fingerprint() -> String {
        let content = Content::embedded();
        let mut lines = String::new();
        let pinned = PINNED_IDS.map(|raw| SocialId::parse(raw).unwrap());
        let overridden = content.overridden_ids().filter(|id| !pinned.contains(id));
        for id in pinned.into_iter().chain(overridden) {
            let html = render(id, &content.card_text(id), CARD_CSS);
            let _ = writeln!(lines, "{}  card {id}", digest(html.as_bytes()));
        }
        for asset in ASSETS {
            let _ = writeln!(lines, "{}  asset {}", digest(asset.bytes), asset.name);
        }
        lines
    }

    fn snapshot_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("design-snapshots")
            .join(format!("{}.txt", CURRENT_DESIGN.as_str()))
    }

    /// Crawlers never refetch an image URL they have cached, so a card that looks
    /// different must live under a new design token. Each token's snapshot is written
    /// once and never changes; a changed card with an unchanged token fails here.
    #[test]
    fn the_card_cannot_change_without_a_new_design_token() {
        let path = snapshot_path();
        let actual = design_fingerprint();
        let next = shared_ids::design::next_token();
        match std::fs::read_to_string(&path) {
            Ok(recorded) => assert!(
                recorded == actual,
                "the card for design token {CURRENT_DESIGN} changed, but its snapshot {} is \
                 fixed forever: crawlers would keep the old card under the old URLs.\nTo ship \
                 the new card run `scripts/new-design {next}`, which makes it current, keeps \
                 {CURRENT_DESIGN} honoured and records the snapshot.\nrecorded:\n{recorded}\n\
                 now:\n{actual}",
                path.display()
            ),
            Err(_) if std::env::var_os("OGSHOT_RECORD_DESIGN").is_some() => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &actual).unwrap();
            }
            Err(_) => panic!(
                "no snapshot for design token {CURRENT_DESIGN} at {}: `scripts/new-design` \
                 records it (or `OGSHOT_RECORD_DESIGN=1 cargo test -p render-site`)",
                path.display()
            ),
        }
    }

    #[test]
    fn the_card_shows_the_three_numbers_with_their_labels() {
        let id = SocialId::parse("07-34-99").unwrap();
        let html = render(id, &Content::embedded().card_text(id), CARD_CSS);
        let doc = scraper::Html::parse_document(&html);
        let values: Vec<String> = doc
            .select(&scraper::Selector::parse(".values .value").unwrap())
            .map(|v| v.text().collect())
            .collect();
        assert_eq!(values, ["07", "34", "99"]);
        let labels: Vec<String> = doc
            .select(&scraper::Selector::parse(".values .label").unwrap())
            .map(|v| v.text().collect())
            .collect();
        assert_eq!(labels, ["Round", "Table", "Seat"]);
        // The screenshotter checks both against the key it stores the card under.
        let root = doc.root_element().value();
        assert_eq!(root.attr("data-design"), Some(CURRENT_DESIGN.as_str()));
        assert_eq!(root.attr("data-id"), Some("07-34-99"));
    }

    #[test]
    fn a_card_carries_its_language_and_direction_on_its_html() {
        let content = Content::embedded();
        for (raw, lang, dir) in [
            ("12-34-10", "en", "ltr"),
            ("88-11-11", "ar", "rtl"),
            ("88-11-12", "he", "rtl"),
        ] {
            let id = SocialId::parse(raw).unwrap();
            let html = render(id, &content.card_text(id), CARD_CSS);
            let doc = scraper::Html::parse_document(&html);
            let root = doc.root_element().value();
            assert_eq!(
                (root.attr("lang"), root.attr("dir")),
                (Some(lang), Some(dir)),
                "{raw}"
            );
        }
    }

    #[test]
    fn every_face_the_stylesheet_names_is_served_and_every_served_face_is_named() {
        let named: std::collections::BTreeSet<&str> = CARD_CSS
            .split("url(/assets/")
            .skip(1)
            .map(|rest| &rest[..rest.find(')').unwrap()])
            .collect();
        let served: std::collections::BTreeSet<&str> = ASSETS
            .iter()
            .filter(|asset| asset.content_type == "font/woff2")
            .map(|asset| asset.name)
            .collect();
        assert_eq!(named, served);
    }

    #[test]
    fn the_card_references_no_other_origin() {
        let content = Content::embedded();
        let samples = content.samples().iter().map(ToString::to_string);
        for raw in PINNED_IDS.map(str::to_owned).into_iter().chain(samples) {
            let raw = raw.as_str();
            let id = SocialId::parse(raw).unwrap();
            let html = render(id, &Content::embedded().card_text(id), CARD_CSS);
            for needle in ["http:", "https:", "//", "@import"] {
                assert!(
                    !html.contains(needle),
                    "{raw}: the card mentions {needle:?}"
                );
            }
            let doc = scraper::Html::parse_document(&html);
            let sel = scraper::Selector::parse("[src], [href]").unwrap();
            for el in doc.select(&sel) {
                for attr in ["src", "href"] {
                    if let Some(url) = el.value().attr(attr) {
                        assert!(url.starts_with("/assets/"), "{raw}: {attr}={url}");
                    }
                }
            }
        }
    }
}
