//! A card in every script the card draws, in Chromium: every character of every sample
//! card is drawn in a face (the gallery's own missing-glyph check, `assets/preview.js`),
//! and in a face the card brings or names (never a fallback the host happens to have),
//! on Debian's Chromium and on the Lambda layer's; and the right-to-left cards, as
//! stored, are laid out from the right.

use std::collections::BTreeMap;
use std::path::Path;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::css::{
    EnableParams as CssEnable, GetPlatformFontsForNodeParams,
};
use chromiumoxide::cdp::browser_protocol::dom::{
    EnableParams as DomEnable, GetDocumentParams, QuerySelectorAllParams,
};
use e2e::{System, TokenBrowser, http_client, rendered_pixels};
use render_site::{DRAWN_FUNCTION, READY_EXPRESSION, RenderSiteConfig, RenderToken};
use test_kit::Served;

use crate::lambda_chromium::lambda_layer;
use crate::previews::{evaluate, until};

/// One sample card per script (`crates/card-wording/cards.toml`), and the face that must
/// draw its script.
const SCRIPT_SAMPLES: [(&str, &str, &str); 12] = [
    ("12-34-10", "Latin", "Inter"),
    ("04-04-01", "Latin Extended", "Inter"),
    ("04-04-02", "Cyrillic", "Inter"),
    ("04-04-03", "Greek", "Inter"),
    ("04-04-04", "polytonic Greek", "Noto Sans"),
    ("04-04-05", "CJK", "Noto Sans CJK JP"),
    ("88-11-11", "Arabic", "Noto Sans Arabic"),
    ("88-11-12", "Hebrew", "Noto Sans Hebrew"),
    ("04-04-06", "Devanagari", "Noto Sans Devanagari"),
    ("04-04-07", "Bengali", "Noto Sans Bengali"),
    ("04-04-08", "Thai", "Noto Sans Thai"),
    ("04-04-09", "emoji", "Noto Color Emoji"),
];

/// The system's fonts a card may be drawn in (Debian's, or the same files in the Lambda
/// layer): the card's font stack names them, for CJK and emoji. Every other face must
/// be one the render site serves.
fn is_named_system_face(family: &str) -> bool {
    family.starts_with("Noto Sans CJK ") || family == "Noto Color Emoji"
}

/// The render site, in-process and served on loopback, and its token.
async fn render_site() -> (Served, RenderToken) {
    let token = RenderToken::generate();
    let site = render_site::router(RenderSiteConfig::in_process(token.clone()));
    (test_kit::serve(site).await, token)
}

/// Shows the card at `url` in `page` as the screenshotter takes it: loaded, ready, and
/// every glyph of its text drawable (drawn.js's verdict is null).
pub(crate) async fn show_card(page: &Page, url: &str) {
    page.goto(url).await.unwrap();
    let drawn =
        format!("Promise.resolve({READY_EXPRESSION}).then(() => ({DRAWN_FUNCTION})(undefined))");
    assert_eq!(
        evaluate(page, &drawn).await,
        serde_json::Value::Null,
        "{url}"
    );
}

/// The gallery's missing-glyph check, run by the gallery itself on every card it shows
/// (the samples and a few random ids): the characters each card's check found with no
/// face, by id.
async fn gallery_missing_glyphs(page: &Page, base: &str) -> BTreeMap<String, String> {
    page.goto(format!("{base}/preview")).await.unwrap();
    until(
        page,
        "[...document.querySelectorAll('.glyphs')].every((g) => g.dataset.checked === 'true')",
    )
    .await;
    let found = evaluate(
        page,
        "[...document.querySelectorAll('.tile')].map((tile) => [\
           tile.querySelector('h2 a').textContent, \
           tile.querySelector('.glyphs').dataset.missingGlyphs])",
    )
    .await;
    let pairs: Vec<(String, String)> = serde_json::from_value(found).expect("[id, missing] pairs");
    pairs.into_iter().collect()
}

/// The faces `page`'s card was drawn in, as the browser reports them for each element's
/// text, with how many glyphs each drew and whether the page brought it (a web font).
async fn faces_drawn(page: &Page) -> BTreeMap<String, (bool, f64)> {
    let root = page
        .execute(GetDocumentParams::default())
        .await
        .unwrap()
        .result
        .root
        .node_id;
    let nodes = page
        .execute(QuerySelectorAllParams::new(root, "body *"))
        .await
        .unwrap()
        .result
        .node_ids
        .clone();
    let mut faces = BTreeMap::new();
    for node in nodes {
        let fonts = page
            .execute(GetPlatformFontsForNodeParams::new(node))
            .await
            .unwrap()
            .result
            .fonts
            .clone();
        for font in fonts {
            let entry = faces
                .entry(font.family_name)
                .or_insert((font.is_custom_font, 0.0));
            entry.1 += font.glyph_count;
        }
    }
    faces
}

/// Every sample card in every script, in the browser at `executable`: no character the
/// gallery's check finds without a face, and every run of text drawn in a face the card
/// brings or names, its script's in particular.
async fn every_sample_is_drawn_whole(executable: &Path) {
    let (site, token) = render_site().await;
    let base = site.base();
    let browser = TokenBrowser::launch_with(executable, &token).await;
    let page = browser.page.clone();

    let samples: Vec<String> = card_wording::Content::embedded()
        .samples()
        .iter()
        .map(ToString::to_string)
        .collect();
    for (id, script, _) in SCRIPT_SAMPLES {
        assert!(
            samples.iter().any(|s| s == id),
            "{script}: {id} is not a sample"
        );
    }

    // A face of another script is fetched only for a card with text in it: first, in a
    // browser that has fetched no face yet (a face another page fetched is taken from
    // the memory cache, and listed again), a Latin card, then an Arabic one.
    for (id, faces) in [
        ("12-34-10", serde_json::json!([])),
        (
            "88-11-11",
            serde_json::json!(["noto-sans-arabic-wght-normal.woff2"]),
        ),
    ] {
        show_card(&page, &format!("{base}/card/{id}")).await;
        let fetched = evaluate(
            &page,
            "performance.getEntriesByType('resource').map((e) => e.name.split('/').pop())\
             .filter((name) => name.startsWith('noto-')).sort()",
        )
        .await;
        assert_eq!(fetched, faces, "{id}: the Noto faces it fetched");
    }

    let missing = gallery_missing_glyphs(&page, &base).await;
    for id in &samples {
        assert!(
            missing.contains_key(id),
            "the gallery shows sample {id}: {missing:?}"
        );
    }
    let with_tofu: Vec<_> = missing
        .iter()
        .filter(|(_, chars)| !chars.is_empty())
        .collect();
    assert!(
        with_tofu.is_empty(),
        "{}: characters drawn with no font, by card: {with_tofu:?}",
        executable.display()
    );

    page.execute(DomEnable::default()).await.unwrap();
    page.execute(CssEnable::default()).await.unwrap();
    for id in &samples {
        show_card(&page, &format!("{base}/card/{id}")).await;
        let faces = faces_drawn(&page).await;
        let foreign: Vec<_> = faces
            .iter()
            .filter(|(family, (custom, _))| !custom && !is_named_system_face(family))
            .collect();
        assert!(
            foreign.is_empty(),
            "{id} in {}: text drawn in a host fallback, not a face of the card: {foreign:?} \
             (all: {faces:?})",
            executable.display()
        );
        if let Some((_, script, face)) = SCRIPT_SAMPLES.iter().find(|(s, ..)| s == id) {
            assert!(
                faces.get(*face).is_some_and(|(_, glyphs)| *glyphs > 0.0),
                "{id}: its {script} is not drawn in {face}: {faces:?}"
            );
        }
    }
    browser.close().await;
    site.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sample_card_is_drawn_in_faces_of_its_own_in_debians_chromium() {
    test_kit::require_chromium(e2e::CHROMIUM, image_service::browser::INSTALL_HINT);
    every_sample_is_drawn_whole(Path::new(e2e::CHROMIUM)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sample_card_is_drawn_in_faces_of_its_own_in_the_lambda_layers_chromium() {
    every_sample_is_drawn_whole(&lambda_layer().join("chromium")).await;
}

/// A decoded card (2400x1260 RGB, device scale 2), read in CSS px.
pub(crate) struct Card(pub(crate) Vec<u8>);

impl Card {
    /// Whether the pixel at CSS px (x, y) is ink brighter than `luminance`: the card's
    /// text is near white (numbers, headline) or light lavender (labels, bold words),
    /// its background never above about 80.
    pub(crate) fn ink(&self, x: u32, y: u32, luminance: f64) -> bool {
        let at = ((y * 2 * shared_ids::IMAGE_WIDTH_PX + x * 2) * 3) as usize;
        let [r, g, b] = [0, 1, 2].map(|c| f64::from(self.0[at + c]));
        0.2126 * r + 0.7152 * g + 0.0722 * b > luminance
    }

    /// Inked pixels in CSS px columns `xs` and rows `ys`.
    fn ink_in(&self, xs: std::ops::Range<u32>, ys: std::ops::Range<u32>, luminance: f64) -> usize {
        ys.flat_map(|y| xs.clone().map(move |x| (x, y)))
            .filter(|&(x, y)| self.ink(x, y, luminance))
            .count()
    }
}

/// The card's content columns, in CSS px (card.css: 1200 wide, 72 px padding each side).
const CONTENT: std::ops::Range<u32> = 72..1128;

/// The columns of the three number boxes, 22 px apart across the content.
fn number_boxes() -> [std::ops::Range<u32>; 3] {
    let width = (CONTENT.len() as u32 - 2 * 22) / 3;
    [0, 1, 2].map(|i| {
        let left = CONTENT.start + i * (width + 22);
        left..left + width
    })
}

/// Where the card's headline and its numbers are, in CSS px rows: below the top row
/// (60 px padding, 44 px row) and above the numbers; the numbers' digits sit in the
/// number boxes' lower part, which the footer row keeps at the same height on every card.
const HEADLINE_ROWS: std::ops::Range<u32> = 130..330;
const DIGIT_ROWS: std::ops::Range<u32> = 440..495;

/// The first and last columns of the headline's ink.
fn headline_ink_columns(card: &Card) -> (u32, u32) {
    let inked: Vec<u32> = CONTENT
        .filter(|&x| HEADLINE_ROWS.clone().any(|y| card.ink(x, y, 150.0)))
        .collect();
    (
        *inked.first().expect("headline ink"),
        *inked.last().expect("headline ink"),
    )
}

/// Which number box has the most ink of digits (only the near-white digits count).
fn heaviest_number_box(card: &Card) -> usize {
    let ink = number_boxes().map(|xs| card.ink_in(xs, DIGIT_ROWS, 215.0));
    (0..3).max_by_key(|&i| ink[i]).expect("three boxes")
}

/// The Arabic and Hebrew sample cards, as the image service stores them, are mirrored:
/// the headline is set from the right edge, and the first number, 88, the one with the
/// most ink, stands in the rightmost box. The same id part order in a left-to-right card
/// (a card without wording of its own) puts 88 on the left.
#[tokio::test(flavor = "multi_thread")]
async fn right_to_left_cards_are_laid_out_from_the_right() {
    let system = System::start().await;
    let client = http_client();
    for id in ["88-11-11", "88-11-12"] {
        let card = Card(rendered_pixels(&client, &system.image_service, id).await);
        let (left, right) = headline_ink_columns(&card);
        assert!(
            CONTENT.end - right <= 8 && left - CONTENT.start >= 24,
            "{id}: the headline's ink spans columns {left}..={right} of {CONTENT:?}: it is \
             not set from the right"
        );
        assert_eq!(
            heaviest_number_box(&card),
            2,
            "{id}: 88 is not in the rightmost box"
        );
    }
    let ltr = Card(rendered_pixels(&client, &system.image_service, "88-11-10").await);
    let (left, _) = headline_ink_columns(&ltr);
    assert!(
        left - CONTENT.start <= 8,
        "88-11-10: the headline starts at {left}"
    );
    assert_eq!(
        heaviest_number_box(&ltr),
        0,
        "88-11-10: 88 is not in the leftmost box"
    );
    system.stop().await;
}
