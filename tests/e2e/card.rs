//! The render site's card in Chromium over real HTTP, launched exactly as the image
//! service launches it: the ready signal, the exact size, the emoji font, a real image.

use e2e::{CHROMIUM, TokenBrowser};
use image_service::browser::INSTALL_HINT;
use image_service::browser::{capture_params, screenshot_bytes};
use render_site::{READY_EXPRESSION, RenderSiteConfig, RenderToken};

#[tokio::test(flavor = "multi_thread")]
async fn the_card_page_is_ready_fits_1200x630_and_draws_emoji() {
    test_kit::require_chromium(CHROMIUM, INSTALL_HINT);
    let token = RenderToken::generate();
    let site = render_site::router(RenderSiteConfig::in_process(token.clone()));
    let server = test_kit::serve(site).await;

    let browser = TokenBrowser::launch(&token).await;
    let page = browser.page.clone();
    // The CJK and emoji card (crates/card-wording/cards.toml).
    page.goto(format!("{}/card/07-01-42", server.base()))
        .await
        .unwrap();

    let evaluate = |expression: &'static str| {
        let page = page.clone();
        async move {
            page.evaluate(expression)
                .await
                .unwrap()
                .into_value::<serde_json::Value>()
                .unwrap()
        }
    };
    assert_eq!(evaluate(READY_EXPRESSION).await, true, "the ready promise");
    assert_eq!(
        evaluate("document.documentElement.dataset.ready").await,
        "true"
    );
    assert_eq!(
        evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            .await,
        serde_json::json!([1200, 630]),
        "the card fits 1200x630 exactly"
    );
    assert_eq!(
        evaluate("document.fonts.check('16px \"Noto Color Emoji\"', '🚀')").await,
        true,
        "emoji have a real font (fonts-noto-color-emoji)"
    );

    let data = page.execute(capture_params(85)).await.unwrap().result.data;
    test_kit::assert_real_card(&screenshot_bytes(&data).unwrap(), "the screenshot");

    browser.close().await;
    server.stop();
}
