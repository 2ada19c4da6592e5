//! Cards whose text needs a font face that arrives late: each capture path (a freshly
//! loaded page, a swap captured by tagged screencast, a swap captured by screenshot)
//! must wait until every glyph is drawn in its own face. A face in its block period
//! draws nothing, so a capture taken too early stores a card without its headline for
//! a year. The faces are made slow by the render site's own server, not by luck of
//! timing: every response of a face beyond the Latin ones is held back before it is
//! sent.

use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::IntoResponse;
use e2e::{Options, System, http_client, rendered_pixels};
use image_service::RenderTarget;
use image_service::browser::SwapCapture;
use render_site::{RenderSiteConfig, RenderToken};
use test_kit::Served;

/// How long each new face's response is held back: long enough that no capture can take the
/// face by chance, well inside the block period (3 s) and the response budget.
const FONT_DELAY: Duration = Duration::from_millis(900);

/// Cards whose headlines need a face of Inter no Latin card loads (latin-ext, Cyrillic,
/// Greek), from the render site's own content file.
const NEW_FACE_IDS: [&str; 3] = ["04-04-02", "04-04-03", "04-04-01"];

/// What the render site does with a face beyond the Latin ones (which every card uses
/// and ready.js waits for).
#[derive(Debug, Clone, Copy)]
enum NewFaces {
    /// Served after [`FONT_DELAY`].
    Slow,
    /// Answered 503, as a render site behind a failing CDN edge would.
    Failing,
}

/// The render site, served on loopback as a remote one, answering new faces as `faces`
/// says. Its base URL, its token, and the server, serving until dropped.
async fn render_site_with(faces: NewFaces) -> (shared_ids::BaseUrl, RenderToken, Served) {
    let hold_fonts = move |request: Request, next: Next| async move {
        let path = request.uri().path();
        let new_face = path.starts_with("/assets/fonts/") && !path.contains("-latin-wght-");
        if !new_face {
            return next.run(request).await;
        }
        match faces {
            NewFaces::Slow => {
                let response = next.run(request).await;
                tokio::time::sleep(FONT_DELAY).await;
                response
            }
            NewFaces::Failing => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    };
    let token = RenderToken::generate();
    let site = render_site::router(RenderSiteConfig::in_process(token.clone()))
        .layer(axum::middleware::from_fn(hold_fonts));
    let served = test_kit::serve(site).await;
    let base = shared_ids::BaseUrl::parse(&served.base()).unwrap();
    (base, token, served)
}

/// The cards for `ids`, each rendered unhurried: fonts served at once, each on a page
/// of its own system that loads it fresh.
async fn unhurried(ids: &[&str]) -> Vec<Vec<u8>> {
    let mut cards = Vec::new();
    for id in ids {
        let system = System::start().await;
        cards.push(rendered_pixels(&http_client(), &system.image_service, id).await);
        system.stop().await;
    }
    cards
}

/// The share of `a`'s pixels that differ from `b`'s, for the failure message.
fn differing(a: &[u8], b: &[u8]) -> f64 {
    let differ = a.iter().zip(b).filter(|(x, y)| x != y).count();
    differ as f64 / a.len().max(1) as f64
}

/// Renders `ids` on one system whose render site answers fonts late, each after a Latin
/// card when `after_latin`, and checks each is the unhurried card, pixel for pixel.
async fn slow_faces_are_drawn(after_latin: bool, screenshot_swaps: bool) {
    let expected = unhurried(&NEW_FACE_IDS).await;
    let (base, token, site) = render_site_with(NewFaces::Slow).await;
    let system = System::start_with(Options {
        render_target: Some(RenderTarget::Remote { base, token }),
        screenshot_swaps,
        ..Options::default()
    })
    .await;
    if after_latin {
        // A Latin card first, so every card below is swapped into a page whose document
        // has only the Latin faces.
        rendered_pixels(&http_client(), &system.image_service, "12-34-10").await;
    }
    for (id, expected) in NEW_FACE_IDS.iter().zip(&expected) {
        let card = rendered_pixels(&http_client(), &system.image_service, id).await;
        assert!(
            card == *expected,
            "{id}: the card rendered while its face was slow is not the unhurried one \
             ({:.2}% of its bytes differ)",
            100.0 * differing(&card, expected)
        );
        if !after_latin {
            break;
        }
    }
    if after_latin {
        let expected = if screenshot_swaps {
            SwapCapture::Screenshot
        } else {
            SwapCapture::Screencast
        };
        assert_eq!(system.service.chromium().swap_capture(), Some(expected));
    }
    system.stop().await;
    site.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_swapped_in_while_its_face_is_slow_is_captured_by_screencast_with_its_text() {
    slow_faces_are_drawn(true, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_swapped_in_while_its_face_is_slow_is_captured_by_screenshot_with_its_text() {
    slow_faces_are_drawn(true, true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_freshly_loaded_card_whose_face_is_slow_is_captured_with_its_text() {
    slow_faces_are_drawn(false, false).await;
}

/// A face that never loads leaves text drawn in another font, or not at all: such a
/// card is answered with the fallback, counted, and never stored, whether it is loaded
/// fresh or swapped in.
#[tokio::test(flavor = "multi_thread")]
async fn a_card_whose_face_fails_to_load_is_never_stored() {
    let (base, token, site) = render_site_with(NewFaces::Failing).await;
    let system = System::start_with(Options {
        render_target: Some(RenderTarget::Remote { base, token }),
        ..Options::default()
    })
    .await;
    let get = |id: &str| {
        let url = format!("{}{}", system.image_service, test_kit::card_path(id));
        async move {
            let response = http_client().get(&url).send().await.unwrap();
            response.headers()["x-ogshot-cache"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    // Loaded fresh: the page's first card.
    assert_eq!(get("04-04-02").await, "fallback");
    // Swapped in, after a Latin card on the same page.
    assert_eq!(get("12-34-10").await, "miss");
    assert_eq!(get("04-04-03").await, "fallback");
    assert_eq!(
        system.stored_keys().await,
        [&test_kit::card_path("12-34-10")[1..]],
        "only the Latin card, whose faces loaded, is stored"
    );
    assert_eq!(system.service.metrics().counts().text_not_drawn, 2);
    system.stop().await;
    site.stop();
}
