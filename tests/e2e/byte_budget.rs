//! Every stored card fits the byte budget (`image_service::jpeg::MAX_CARD_BYTES`, 300
//! KB, over which WhatsApp shows no image): a busy card, over it at the configured
//! quality, is captured again at lower qualities until it fits and is stored; one that
//! is over it even at the lowest quality is a render error, answered with the fallback,
//! counted and never stored. The busy cards are the real card page under a test
//! stylesheet that lays fine noise over it, from a render site of their own.

use e2e::{Options, System, TokenBrowser, http_client};
use image_service::RenderTarget;
use image_service::browser::capture_params;
use image_service::jpeg::MIN_JPEG_QUALITY;
use image_service::storage::{Storage, StorageKey, StoredImage};
use render_site::{DesignSource, RenderSiteConfig, RenderToken};
use shared_ids::{CURRENT_DESIGN, SocialId};
use test_kit::Served;

use crate::scripts::show_card;

/// The card's stylesheet with noise laid over the whole card at `alpha`: fine rays of
/// three conic gradients, which no JPEG quality compresses well.
fn busy_css(alpha: f64) -> String {
    format!(
        "{}\n.card::before {{ content: \"\"; position: absolute; inset: 0; pointer-events: none; \
         background: \
         repeating-conic-gradient(from 3deg at 31% 47%, rgb(255 255 255 / {alpha}) 0deg .9deg, transparent .9deg 2.3deg), \
         repeating-conic-gradient(from 7deg at 77% 23%, rgb(255 0 128 / {alpha}) 0deg 1.3deg, transparent 1.3deg 2.9deg), \
         repeating-conic-gradient(from 1deg at 55% 91%, rgb(0 200 255 / {alpha}) 0deg .7deg, transparent .7deg 1.7deg); }}\n",
        render_site::card::CARD_CSS
    )
}

/// A render site whose cards wear `css`, served on loopback; its token; and the
/// directory holding the stylesheet.
async fn render_site_with(css: &str) -> (Served, RenderToken, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let css_file = dir.path().join("card.css");
    std::fs::write(&css_file, css).unwrap();
    let token = RenderToken::generate();
    let site = render_site::router(RenderSiteConfig {
        design: DesignSource::Reload {
            content_file: card_wording::REPO_CONTENT_PATH.into(),
            css_file,
        },
        ..RenderSiteConfig::in_process(token.clone())
    });
    (test_kit::serve(site).await, token, dir)
}

/// The bytes of `id`'s card captured at `quality` from the render site at `base`, as
/// the service captures a loaded card.
async fn captured_at(base: &str, token: &RenderToken, id: &str, quality: u8) -> usize {
    let browser = TokenBrowser::launch(token).await;
    let page = browser.page.clone();
    show_card(&page, &format!("{base}/card/{id}")).await;
    let data = page
        .execute(capture_params(quality))
        .await
        .unwrap()
        .result
        .data
        .clone();
    let len = image_service::browser::screenshot_bytes(&data)
        .unwrap()
        .len();
    browser.close().await;
    len
}

/// The image service, rendering from the render site at `base`.
async fn system_on(site: &Served, token: &RenderToken) -> System {
    System::start_with(Options {
        render_target: Some(RenderTarget::Remote {
            base: shared_ids::BaseUrl::parse(&site.base()).unwrap(),
            token: token.clone(),
        }),
        ..Options::default()
    })
    .await
}

const ID: &str = "12-34-10";

/// The budget, as WhatsApp has it: no preview for an image over about 300 KB.
const BUDGET: usize = 300 * 1024;

/// The card stored under [`ID`], once every render so far has been stored.
async fn stored_card(system: &System) -> Option<StoredImage> {
    system.service.cards().settled().await;
    let key = StorageKey::new(CURRENT_DESIGN, SocialId::parse(ID).unwrap());
    e2e::bucket_storage(&system.s3).get(&key).await.unwrap()
}

/// The busy card, as a crawler asks the image service for it.
async fn ask_for_the_card(system: &System) -> reqwest::Response {
    let url = format!("{}{}", system.image_service, test_kit::card_path(ID));
    http_client().get(url).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_card_is_captured_at_lower_quality_until_it_fits_and_is_stored() {
    let (site, token, _dir) = render_site_with(&busy_css(0.1)).await;
    let default_quality = image_service::Config::from_flags(Vec::<String>::new())
        .unwrap()
        .jpeg_quality;
    let at_default = captured_at(&site.base(), &token, ID, default_quality).await;
    assert!(
        at_default > BUDGET,
        "the busy card is {at_default} bytes at quality {default_quality}: not busy enough \
         to need the step-down"
    );

    let system = system_on(&site, &token).await;
    let response = ask_for_the_card(&system).await;
    assert_eq!(response.headers()["x-ogshot-cache"], "miss");
    let served = response.bytes().await.unwrap();
    test_kit::assert_real_card(&served, "the busy card");
    let stored = stored_card(&system).await.expect("the card is stored");
    assert_eq!(stored.bytes, served);
    assert!(
        stored.bytes.len() <= BUDGET,
        "the stored card is {} bytes, over the budget of {BUDGET} (it was \
         {at_default} at quality {default_quality})",
        stored.bytes.len()
    );
    system.stop().await;
    site.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_over_the_budget_even_at_the_lowest_quality_is_never_stored() {
    let (site, token, _dir) = render_site_with(&busy_css(0.55)).await;
    let at_floor = captured_at(&site.base(), &token, ID, MIN_JPEG_QUALITY).await;
    assert!(
        at_floor > BUDGET,
        "{at_floor} bytes at quality {MIN_JPEG_QUALITY}"
    );

    let system = system_on(&site, &token).await;
    let response = ask_for_the_card(&system).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-ogshot-cache"], "fallback");
    assert!(stored_card(&system).await.is_none(), "nothing is stored");
    assert_eq!(system.service.metrics().counts().cards_too_large, 1);
    system.stop().await;
    site.stop();
}
