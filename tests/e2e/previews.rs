//! `/preview/<id>` in Chromium: a frame per network with the documented image box, the
//! real JPEG decoded in each, the safe-zone overlay switching on, and the missing-glyph
//! warning on a card whose text no font covers (and on no sample card).

use chromiumoxide::Page;
use e2e::{System, TokenBrowser, http_client};
use render_site::networks::NETWORKS;
use render_site::{DesignSource, RenderSiteConfig, RenderToken, ShareSource};
use shared_ids::BaseUrl;

/// A character in Unicode's private use area: no font the card loads draws it.
const UNCOVERED: char = '\u{E123}';

pub(crate) async fn evaluate(page: &Page, expression: &str) -> serde_json::Value {
    page.evaluate(expression)
        .await
        .unwrap_or_else(|e| panic!("{expression}: {e}"))
        .value()
        .cloned()
        .unwrap_or_default()
}

/// Waits until `expression` is true in `page`.
pub(crate) async fn until(page: &Page, expression: &str) {
    for _ in 0..200 {
        if evaluate(page, expression).await == true {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("never true: {expression}");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_network_frames_the_real_jpeg_and_missing_glyphs_are_flagged() {
    // The image service renders the JPEGs; the render site under test shows them.
    let system = System::start().await;
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("cards.toml");
    std::fs::write(
        &content,
        format!(
            "{}\n[ids.\"44-44-44\"]\nheadline = \"Tofu {UNCOVERED} here\"\n",
            card_wording::EMBEDDED_CONTENT
        ),
    )
    .unwrap();
    let token = RenderToken::generate();
    let site = render_site::router(RenderSiteConfig {
        token: token.clone(),
        design: DesignSource::Reload {
            content_file: content,
            css_file: render_site::card::REPO_CARD_CSS_PATH.into(),
        },
        image_base: Some(BaseUrl::parse(&system.image_service).unwrap()),
        share_text: ShareSource::MainSite(BaseUrl::parse(&system.main_site).unwrap()),
        secure_cookie: false,
    });
    let server = test_kit::serve(site).await;
    let base = server.base();

    // Like every render-site page, refused without the token.
    let refused = http_client()
        .get(format!("{base}/preview/12-34-10"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let browser = TokenBrowser::launch(&token).await;
    let page = browser.page.clone();

    // The gallery links every card to its network preview.
    page.goto(format!("{base}/preview")).await.unwrap();
    assert_eq!(
        evaluate(
            &page,
            "!!document.querySelector('a[href=\"/preview/12-34-10\"]')"
        )
        .await,
        true
    );

    page.goto(format!("{base}/preview/12-34-10")).await.unwrap();
    until(
        &page,
        "[...document.images].every(i => i.complete && i.naturalWidth > 0)",
    )
    .await;
    for network in NETWORKS {
        let frame = format!(
            "document.querySelector('[data-network=\"{}\"]')",
            network.name
        );
        let measured = evaluate(
            &page,
            &format!(
                "(() => {{ const f = {frame}; const box = f.querySelector('.image-box');
                   const r = box.getBoundingClientRect(); const img = box.querySelector('img');
                   return [r.width, r.height, img.naturalWidth, img.naturalHeight,
                           f.textContent.includes('Card 12-34-10')]; }})()"
            ),
        )
        .await;
        assert_eq!(
            measured,
            serde_json::json!([network.width, network.height, 2400, 1260, true]),
            "{}: the image box, the decoded JPEG, the main site's title",
            network.name
        );
        let aspect = f64::from(network.width) / f64::from(network.height);
        assert!(
            (1.85..=2.05).contains(&aspect),
            "{}: {aspect}",
            network.name
        );
    }
    // Every frame's card says, to a screen reader, what the main site's share says.
    let shared = http_client()
        .get(format!("{}/?social=12-34-10", system.main_site))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let alt = test_kit::meta::meta_contents(&shared, "og:image:alt");
    assert!(
        alt.len() == 1 && alt[0].ends_with("Round 12 · Table 34 · Seat 10"),
        "{alt:?}"
    );
    let alts = evaluate(
        &page,
        "[...document.querySelectorAll('.card-image')].map(i => i.alt)",
    )
    .await;
    assert_eq!(alts, serde_json::json!(vec![&alt[0]; NETWORKS.len()]));
    let overlay = "getComputedStyle(document.querySelector('[data-network=\"x\"] .safe')).display";
    assert_eq!(evaluate(&page, overlay).await, "none");
    evaluate(&page, "document.getElementById('safe-zones').click()").await;
    assert_eq!(evaluate(&page, overlay).await, "block");
    let readings = evaluate(
        &page,
        "[...document.querySelectorAll('.reading img')].map(i => i.getBoundingClientRect().width)",
    )
    .await;
    assert_eq!(readings, serde_json::json!([500, 360, 80]));

    // Sample cards, CJK and emoji included, warn of nothing; a card with an uncovered
    // character names it.
    let glyphs = "document.querySelector('.glyphs')";
    // The missing characters the preview of `id` names, and whether its warning is hidden.
    let glyph_check = |id: &'static str| {
        let (page, base) = (page.clone(), base.clone());
        async move {
            page.goto(format!("{base}/preview/{id}")).await.unwrap();
            until(&page, &format!("{glyphs}.dataset.checked === 'true'")).await;
            let state = format!("[{glyphs}.dataset.missingGlyphs, {glyphs}.hidden]");
            evaluate(&page, &state).await
        }
    };
    for id in ["12-34-10", "07-01-42"] {
        assert_eq!(glyph_check(id).await, serde_json::json!(["", true]), "{id}");
    }
    assert_eq!(
        glyph_check("44-44-44").await,
        serde_json::json!([UNCOVERED.to_string(), false])
    );
    let warning = evaluate(&page, &format!("{glyphs}.textContent")).await;
    assert!(
        warning.as_str().unwrap().contains("U+E123"),
        "the warning names the character: {warning}"
    );

    browser.close().await;
    server.stop();
    system.stop().await;
}
