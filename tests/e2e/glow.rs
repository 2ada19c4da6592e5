//! The brand mark's glow is drawn whole: its `box-shadow` reaches past the brand's own
//! box, which once clipped it (`overflow: hidden`, there for the name's ellipsis) into
//! a hard-edged rectangle on every card.

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams, Viewport,
};
use e2e::TokenBrowser;
use render_site::{RenderSiteConfig, RenderToken};

use crate::previews::evaluate;
use crate::scripts::show_card;

/// How far around the brand's box the glow is looked for, in CSS px: the mark's shadow
/// blurs 24 px out.
const AROUND: f64 = 24.0;

/// The region around the brand's box, decoded (RGB, row by row), its width in pixels,
/// and the pixels a CSS px takes.
async fn around_the_brand(page: &Page, brand: [f64; 4]) -> (Vec<u8>, usize, usize) {
    let [left, top, right, bottom] = brand;
    let clip = Viewport {
        x: left - AROUND,
        y: top - AROUND,
        width: right - left + 2.0 * AROUND,
        height: bottom - top + 2.0 * AROUND,
        scale: 1.0,
    };
    let params = CaptureScreenshotParams::builder()
        .format(CaptureScreenshotFormat::Jpeg)
        .quality(100)
        .clip(clip.clone())
        .from_surface(true)
        .build();
    let data = page.execute(params).await.unwrap().result.data.clone();
    let jpeg = image_service::browser::screenshot_bytes(&data).unwrap();
    let mut decoder = jpeg_decoder::Decoder::new(&jpeg[..]);
    let pixels = decoder.decode().unwrap();
    let width = usize::from(decoder.info().unwrap().width);
    (pixels, width, (width as f64 / clip.width).round() as usize)
}

/// The pixels of the region that lie outside the brand's box by more than 2 CSS px.
fn outside_the_box(pixels: &[u8], width: usize, scale: usize) -> Vec<u8> {
    let height = pixels.len() / 3 / width;
    let margin = (AROUND as usize - 2) * scale;
    (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .filter(|&(x, y)| x < margin || y < margin || x >= width - margin || y >= height - margin)
        .flat_map(|(x, y)| pixels[(y * width + x) * 3..][..3].to_vec())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_brand_marks_glow_is_drawn_past_the_brands_box() {
    test_kit::require_chromium(e2e::CHROMIUM, image_service::browser::INSTALL_HINT);
    let token = RenderToken::generate();
    let site = test_kit::serve(render_site::router(RenderSiteConfig::in_process(
        token.clone(),
    )))
    .await;
    let browser = TokenBrowser::launch(&token).await;
    let page = browser.page.clone();
    show_card(&page, &format!("{}/card/12-34-10", site.base())).await;
    let brand = evaluate(
        &page,
        "(() => { const r = document.querySelector('.brand').getBoundingClientRect(); \
         return [r.left, r.top, r.right, r.bottom]; })()",
    )
    .await;
    let brand: [f64; 4] = serde_json::from_value(brand).unwrap();

    let (with_glow, width, scale) = around_the_brand(&page, brand).await;
    evaluate(
        &page,
        "new Promise((resolve) => { const style = document.createElement('style'); \
         style.textContent = '.brand::before { box-shadow: none !important; }'; \
         document.head.append(style); requestAnimationFrame(() => requestAnimationFrame(resolve)); })",
    )
    .await;
    let (without_glow, ..) = around_the_brand(&page, brand).await;

    // What the glow adds outside the brand's box: nothing at all when the box clips it.
    let (with_glow, without_glow) = (
        outside_the_box(&with_glow, width, scale),
        outside_the_box(&without_glow, width, scale),
    );
    let added: u64 = with_glow
        .iter()
        .zip(&without_glow)
        .map(|(a, b)| u64::from(a.saturating_sub(*b)))
        .sum();
    let per_pixel = added as f64 / (with_glow.len() / 3) as f64;
    assert!(
        per_pixel > 2.0,
        "outside the brand's box the glow adds {per_pixel:.2} levels a pixel: it is clipped"
    );
    browser.close().await;
    site.stop();
}
