//! A designer signing in to the render site in Chromium: the sign-in form shown at the
//! page asked for, a wrong token keeping the designer there, a right one landing on that
//! page; and a link to the site whose path names another host landing on the gallery,
//! never on that host.

use std::path::Path;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::network::ClearBrowserCookiesParams;
use e2e::CHROMIUM;
use futures::StreamExt;
use image_service::browser::INSTALL_HINT;
use render_site::{RenderSiteConfig, RenderToken};

/// `expression`'s value in the page, or `None` while the page is between documents
/// (its context is gone mid-navigation).
async fn evaluate(page: &Page, expression: &str) -> Option<serde_json::Value> {
    page.evaluate(expression).await.ok()?.value().cloned()
}

/// Waits until the page shows `url` with `selector` in it; fails naming where it is.
async fn until_at(page: &Page, url: &str, selector: &str) {
    let check = format!(
        "location.href === {} && document.readyState === 'complete' \
         && !!document.querySelector({})",
        serde_json::json!(url),
        serde_json::json!(selector)
    );
    for _ in 0..200 {
        if evaluate(page, &check).await == Some(serde_json::Value::Bool(true)) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let at = evaluate(page, "location.href + ' ' + document.title").await;
    panic!("never at {url} showing {selector}; at {at:?}");
}

/// Types `token` into the sign-in form on the page and sends it, as a designer does.
async fn sign_in(page: &Page, token: &str) {
    page.find_element("#token")
        .await
        .expect("the sign-in form")
        .click()
        .await
        .unwrap()
        .type_str(token)
        .await
        .unwrap();
    page.find_element("button[type=submit]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_lands_on_the_page_asked_for_and_never_on_another_site() {
    test_kit::require_chromium(CHROMIUM, INSTALL_HINT);
    let token = RenderToken::generate();
    let server = test_kit::serve(render_site::router(RenderSiteConfig::in_process(
        token.clone(),
    )))
    .await;
    let base = server.base();
    let image_service::browser::Launched {
        browser,
        mut handler,
        mut process,
    } = image_service::browser::launch(Path::new(CHROMIUM), &[])
        .await
        .expect("Chromium launches");
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
    let page = browser.new_page("about:blank").await.expect("a page");

    let asked_for = format!("{base}/preview/12-34-10?from=mail");
    page.goto(&asked_for).await.unwrap();
    until_at(&page, &asked_for, "form #token").await;

    sign_in(&page, "not-the-token").await;
    until_at(&page, &asked_for, "p.error").await;

    sign_in(&page, token.expose()).await;
    until_at(&page, &asked_for, "[data-network]").await;

    // A link whose path a browser reads as another host once it is a redirect's target.
    page.execute(ClearBrowserCookiesParams::default())
        .await
        .unwrap();
    let lure = format!("{base}//evil.example/preview");
    page.goto(&lure).await.unwrap();
    until_at(&page, &lure, "form #token").await;
    sign_in(&page, token.expose()).await;
    until_at(
        &page,
        &format!("{base}/preview"),
        "a[href=\"/preview/12-34-10\"]",
    )
    .await;

    events.abort();
    process.kill_tree().await;
    server.stop();
}
