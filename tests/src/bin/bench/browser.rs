//! Chromium as the sections drive it themselves: launched exactly as the service
//! launches it, let into the render site, and captured at the service's JPEG quality.
//! It never renders a card itself.

use std::path::Path;

use anyhow::Result;
use chromiumoxide::Browser;
use chromiumoxide::cdp::browser_protocol::network::{Headers, SetExtraHttpHeadersParams};
use futures::StreamExt;
use image_service::browser::{BrowserProcess, Launched};
use render_site::RenderToken;

pub(crate) const JPEG_QUALITY: u8 = 85;

/// A browser launched exactly as the service launches its own (same flags, own
/// process group, fresh profile).
pub(crate) async fn launch() -> Result<(Browser, tokio::task::JoinHandle<()>, BrowserProcess)> {
    let Launched {
        browser,
        mut handler,
        process,
    } = image_service::browser::launch(Path::new(e2e::CHROMIUM), &[]).await?;
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
    Ok((browser, events, process))
}

pub(crate) async fn authorize(page: &chromiumoxide::Page, token: &RenderToken) -> Result<()> {
    let headers = serde_json::json!({ "Authorization": format!("Bearer {}", token.expose()) });
    page.execute(SetExtraHttpHeadersParams::new(Headers::new(headers)))
        .await?;
    Ok(())
}
