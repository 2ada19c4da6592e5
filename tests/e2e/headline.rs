//! The headline fits its card: in Chromium, every headline takes the largest size from
//! the design size down to the floor at which it fits its box, is clamped (with an
//! ellipsis) only at the floor, never overflows and is centred in the space the other
//! rows leave; in the stored JPEGs, the longest and the one-word sample headlines leave
//! no empty band; and a fitted card is the same pixels swapped into a warm page as
//! loaded afresh.

use e2e::{System, TokenBrowser, http_client, rendered_pixels};
use render_site::{DesignSource, RenderSiteConfig, RenderToken};

use crate::previews::evaluate;
use crate::scripts::{Card, show_card};

/// Headlines of every length and shape, under ids of their own, and what their fit must
/// be: at the design size, shrunk between design size and floor, or clamped at the floor.
/// The last is an Arabic card, right to left.
const HEADLINES: [(&str, &str, Fit); 7] = [
    ("01-00-01", "Launched", Fit::DesignSize),
    (
        "01-00-02",
        "The launch card: round 12, table 34",
        Fit::DesignSize,
    ),
    (
        "01-00-03",
        "A headline of four or five lines at the design size, which the card shrinks a \
         little so it fits in its box",
        Fit::Shrunk,
    ),
    (
        "01-00-04",
        "A headline so long that no size down to the floor can hold it: it is set at the \
         floor and clamped to the lines the box has, ending in an ellipsis, however much \
         longer the editor goes on writing about the card, its numbers, its story, its \
         launch, its round, its table and its seat, and more, and more again",
        Fit::Clamped,
    ),
    (
        "01-00-05",
        "Donaudampfschifffahrtsgesellschaftskapitänswitwenpensionsversicherungsanstalt\
         Donaudampfschifffahrtsgesellschaftskapitänswitwenpensionsversicherungsanstalt\
         Donaudampfschifffahrtsgesellschaftskapitänswitwen",
        Fit::Shrunk,
    ),
    (
        "01-00-06",
        "これは長い見出しです。カードはこの見出しを枠に収まるまで小さくし、それでも収まらなければ\
         最小の大きさで行数を切り詰めて省略記号で終えます。文字がはみ出すことはありません。\
         まだまだ続きます、もっと長く、さらに長く、とても長く。数字が三つ、物語がひとつ、\
         最初の依頼で描かれ、一年そのまま残ります。",
        Fit::Clamped,
    ),
    (
        "01-00-07",
        "بطاقة المشاركة: ثلاثة أرقام وقصة واحدة، تُرسم عند أول طلب وتبقى كما هي طوال العام، \
         بعنوان طويل يصغر حتى يناسب مكانه",
        Fit::Shrunk,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    DesignSize,
    Shrunk,
    Clamped,
}

/// The headline's fit, as the page shows it: `[size, clamped, design, floor, box top,
/// box bottom, text top, text bottom, fits at size + 1]`, the last measured with the
/// clamp off and the card's own fit run again after.
const MEASURE: &str = "(() => {
  const box = document.querySelector('.headline');
  const text = box.querySelector('.headline-text');
  const style = getComputedStyle(text);
  const size = parseFloat(text.style.fontSize || style.fontSize);
  const clamped = text.hasAttribute('data-clamped');
  const [b, t] = [box.getBoundingClientRect(), text.getBoundingClientRect()];
  text.removeAttribute('data-clamped');
  text.style.removeProperty('-webkit-line-clamp');
  text.style.fontSize = `${size + 1}px`;
  const larger = text.getBoundingClientRect().height <= box.clientHeight;
  window.ogshotFit();
  return [size, clamped, parseFloat(style.getPropertyValue('--headline-size')),
    parseFloat(style.getPropertyValue('--headline-floor')), b.top, b.bottom, t.top, t.bottom, larger];
})()";

#[tokio::test(flavor = "multi_thread")]
async fn a_headline_takes_the_largest_size_that_fits_and_is_clamped_only_at_the_floor() {
    test_kit::require_chromium(e2e::CHROMIUM, image_service::browser::INSTALL_HINT);
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("cards.toml");
    let mut wording = card_wording::EMBEDDED_CONTENT.to_owned();
    for (id, headline, _) in HEADLINES {
        wording.push_str(&format!("\n[ids.\"{id}\"]\nheadline = \"{headline}\"\n"));
    }
    // The last card's language and direction.
    wording.push_str("lang = \"ar\"\ndir = \"rtl\"\n");
    std::fs::write(&content, wording).unwrap();
    let token = RenderToken::generate();
    let site = test_kit::serve(render_site::router(RenderSiteConfig {
        design: DesignSource::Reload {
            content_file: content,
            css_file: render_site::card::REPO_CARD_CSS_PATH.into(),
        },
        ..RenderSiteConfig::in_process(token.clone())
    }))
    .await;
    let browser = TokenBrowser::launch(&token).await;
    let page = browser.page.clone();

    for (id, _, fit) in HEADLINES {
        show_card(&page, &format!("{}/card/{id}", site.base())).await;
        let measured = evaluate(&page, MEASURE).await;
        let [
            size,
            clamped,
            design,
            floor,
            box_top,
            box_bottom,
            top,
            bottom,
            larger_fits,
        ] = <[serde_json::Value; 9]>::try_from(measured.as_array().unwrap().clone()).unwrap();
        let [size, design, floor, box_top, box_bottom, top, bottom] =
            [size, design, floor, box_top, box_bottom, top, bottom]
                .map(|v| v.as_f64().unwrap_or(f64::NAN));
        let (clamped, larger_fits) = (clamped == true, larger_fits == true);
        let what = format!(
            "{id}: {size}px (design {design}, floor {floor}), clamped {clamped}, text \
             {top}..{bottom} in box {box_top}..{box_bottom}"
        );
        assert!(
            top >= box_top - 0.5 && bottom <= box_bottom + 0.5,
            "{what}: it overflows its box"
        );
        assert!(
            ((top - box_top) - (box_bottom - bottom)).abs() <= 1.0,
            "{what}: it is not centred in its space"
        );
        assert!((floor..=design).contains(&size), "{what}");
        if size < design {
            assert!(!larger_fits, "{what}: it would fit one px larger");
        }
        let found = match (size == design, clamped) {
            (true, false) => Fit::DesignSize,
            (false, false) => Fit::Shrunk,
            (_, true) => {
                assert_eq!(size, floor, "{what}: clamped above the floor");
                Fit::Clamped
            }
        };
        assert_eq!(found, fit, "{what}");
    }
    browser.close().await;
    site.stop();
}

/// Rows of a stored card with ink of text, in CSS px, across the card's content width
/// (72..1128): pixels brighter than the background ever is.
fn inked_rows(card: &Card) -> Vec<u32> {
    (0..630)
        .filter(|&y| (72..1128).any(|x| card.ink(x, y, 150.0)))
        .collect()
}

/// The empty bands between the top row's ink and the headline's, and between the
/// headline's and the numbers' labels. On a Latin card the top row's ink ends above row
/// 110, and the numbers' row stands on the footer, its labels' ink starting near row 400
/// whatever the headline: what is inked between is the headline.
fn bands_around_the_headline(card: &Card) -> (u32, u32) {
    const LABELS_FROM: u32 = 380;
    let rows = inked_rows(card);
    let top_row_end = rows
        .iter()
        .copied()
        .filter(|&y| y < 110)
        .max()
        .expect("the top row");
    let headline: Vec<u32> = rows
        .iter()
        .copied()
        .filter(|&y| (110..LABELS_FROM).contains(&y))
        .collect();
    let first = *headline.first().expect("headline ink");
    let last = *headline.last().expect("headline ink");
    let labels_start = rows
        .iter()
        .copied()
        .find(|&y| y >= LABELS_FROM)
        .expect("the labels");
    (first - top_row_end, labels_start - last)
}

/// The longest sample headline (clamped at the floor) and a one-word one (at the design
/// size) fill the space between the top row and the numbers: neither leaves an empty
/// band wider than the one on its other side, nor more than a quarter of the card.
#[tokio::test(flavor = "multi_thread")]
async fn the_longest_and_a_one_word_sample_headline_leave_no_empty_band() {
    let system = System::start().await;
    let client = http_client();
    for id in ["31-12-25", "04-04-10"] {
        let card = Card(rendered_pixels(&client, &system.image_service, id).await);
        let (above, below) = bands_around_the_headline(&card);
        assert!(
            above.abs_diff(below) <= 40 && above.max(below) < 630 / 4,
            "{id}: {above} px empty above the headline, {below} px below"
        );
    }
    system.stop().await;
}

/// The fit runs in the page before every capture and starts from the design size each
/// time, so a card swapped into a page that showed other cards (other sizes, another
/// direction) is the same image as the card loaded afresh.
#[tokio::test(flavor = "multi_thread")]
async fn a_fitted_card_is_the_same_swapped_in_as_loaded_afresh() {
    let warm = System::start().await;
    let client = http_client();
    rendered_pixels(&client, &warm.image_service, "12-34-10").await;
    let ids = [
        "88-11-11", "31-12-25", "04-04-10", "04-04-04", "88-11-12", "00-00-02",
    ];
    e2e::assert_swapped_cards_equal_loaded(&client, &warm, &ids).await;
    warm.stop().await;
}
