//! A pooled page's life: it shows a card by navigating to it, or by swapping it into the
//! document it holds (`render-site/assets/swap.js`), checks that the card shown is the
//! key's (design and id), and captures it by screenshot or by tagged screencast frame
//! ([`super::screencast`]), again at lower qualities while it is over a card's byte
//! budget; every [`SWAPS_PER_DOCUMENT`] renders it navigates afresh.

use std::time::Duration;

use bytes::Bytes;
use chromiumoxide::Page;
use chromiumoxide::cdp::js_protocol::heap_profiler::CollectGarbageParams;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use shared_ids::{DesignToken, SocialId};

use super::live::{Live, SwapCapture};
use super::options::RenderOrigin;
use super::screencast::{PROBE_FRAME_TIMEOUT, Screencast};
use super::screenshot::{capture_params, screenshot_bytes};
use crate::error::RenderError;
use crate::jpeg::{MAX_CARD_BYTES, lower_quality};

/// Renders on one document before it is replaced by a fresh navigation.
const SWAPS_PER_DOCUMENT: u32 = 200;

/// Swaps between full garbage collections of a page's renderer. Each swap leaves a
/// parsed card document behind, and the renderer collects it lazily: at concurrency 2
/// its memory peaked 50–70 MiB higher without these, which cost no measurable speed.
const SWAPS_PER_GARBAGE_COLLECTION: u32 = 10;

/// How long a garbage collection may take; it runs off the request's path.
const GARBAGE_COLLECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// The card page a render shows, and the key whose card it must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardRequest {
    pub design: DesignToken,
    pub id: SocialId,
}

impl CardRequest {
    /// The card page's path on the render site.
    pub(super) fn path(self) -> String {
        render_site::card_page_path(self.id)
    }
}

/// A window of the pool, and what it shows.
pub(super) struct PooledPage {
    pub(super) page: Page,
    pub(super) generation: u64,
    /// Cards rendered on the current document by swapping (0: needs a navigation).
    swaps: u32,
    /// The page's screencast, once a swap has been captured by one.
    screencast: Option<Screencast>,
    /// The frame tag the page is scrolled to (0: unscrolled). It outlives the page's
    /// screencasts, so a new screencast never takes a frame of the card before for a
    /// tag the page already shows.
    scrolled_to: u32,
}

impl PooledPage {
    pub(super) fn new(page: Page, generation: u64) -> Self {
        Self {
            page,
            generation,
            swaps: 0,
            screencast: None,
            scrolled_to: 0,
        }
    }

    /// Stops the page's screencast, if it has one.
    async fn stop_screencast(&mut self) {
        if let Some(screencast) = self.screencast.take() {
            screencast.stop(&self.page).await;
        }
    }

    /// Shows `card` on this page and captures it within a card's byte budget: captured
    /// at `quality` first, then, while over [`MAX_CARD_BYTES`], by screenshot of the
    /// card as it stands one quality step lower each time, down to the floor. A card
    /// still over the budget there is returned as it is, for the JPEG gate to refuse.
    pub(super) async fn capture(
        &mut self,
        live: &Live,
        origin: &RenderOrigin,
        quality: u8,
        card: CardRequest,
    ) -> Result<Bytes, RenderError> {
        let mut jpeg = self.show_and_capture(live, origin, quality, card).await?;
        let mut quality = quality;
        while jpeg.len() > MAX_CARD_BYTES {
            let Some(lower) = lower_quality(quality) else {
                break;
            };
            quality = lower;
            jpeg = screenshot(&self.page, quality).await?;
        }
        Ok(jpeg)
    }

    /// Shows `card` on this page and captures it at `quality`: a fresh page (or one due
    /// for a fresh document) navigates and is captured by screenshot; a page showing a
    /// card swaps the new one in, which costs little more than the capture, and is
    /// captured by tagged screencast where the browser supports it.
    async fn show_and_capture(
        &mut self,
        live: &Live,
        origin: &RenderOrigin,
        quality: u8,
        card: CardRequest,
    ) -> Result<Bytes, RenderError> {
        let pooled = self;
        // The full URL: a remote render site may live under a path prefix.
        let url = format!("{}{}", origin.base, card.path());
        if pooled.swaps == 0 || pooled.swaps >= SWAPS_PER_DOCUMENT {
            pooled.stop_screencast().await;
            pooled
                .page
                .goto(url)
                .await
                .map_err(|e| RenderError::Browser(e.to_string()))?;
            pooled.swaps = 0;
            pooled.scrolled_to = 0;
            until_card_ready(&pooled.page, loaded_card_expression(), card).await?;
        } else {
            let method = live.swap_capture();
            if method != SwapCapture::Screenshot {
                let probing = method == SwapCapture::Untried;
                match pooled
                    .swap_by_screencast(live, &url, card, probing, quality)
                    .await
                {
                    Ok(Some(jpeg)) => {
                        live.found_swap_capture(SwapCapture::Screencast);
                        rendered(pooled);
                        return Ok(jpeg);
                    }
                    // The card is swapped in and ready, but no tagged frame came.
                    Ok(None) => {
                        live.missed_probe();
                        pooled.stop_screencast().await;
                    }
                    Err(error) => return Err(error),
                }
            } else {
                until_card_ready(&pooled.page, swap_expression(&url, card, None), card).await?;
            }
        }
        let jpeg = screenshot(&pooled.page, quality).await?;
        rendered(pooled);
        Ok(jpeg)
    }

    /// Swaps `card` (at `url`) in with a frame tag and takes the tagged frame; `None`
    /// when `probing` and the frame did not come in [`PROBE_FRAME_TIMEOUT`].
    async fn swap_by_screencast(
        &mut self,
        live: &Live,
        url: &str,
        card: CardRequest,
        probing: bool,
        quality: u8,
    ) -> Result<Option<Bytes>, RenderError> {
        let pooled = self;
        let screencast = match &mut pooled.screencast {
            Some(screencast) => screencast,
            none => none.insert(Screencast::start(&pooled.page, quality).await?),
        };
        let tag = screencast.next_tag(pooled.scrolled_to);
        // From here the page may be scrolled to `tag`, whatever becomes of the swap.
        pooled.scrolled_to = tag;
        let swap = swap_expression(url, card, Some(tag));
        until_card_ready(&pooled.page, swap, card).await?;
        if probing && live.take_forced_miss() {
            #[cfg(test)]
            super::screencast::draw_next(tag);
            return Ok(None);
        }
        if probing {
            tokio::time::timeout(PROBE_FRAME_TIMEOUT, screencast.frame_tagged(tag))
                .await
                .ok()
                .transpose()
        } else {
            screencast.frame_tagged(tag).await.map(Some)
        }
    }
}

/// A screenshot of `page` as it stands, JPEG at `quality`.
async fn screenshot(page: &Page, quality: u8) -> Result<Bytes, RenderError> {
    let data = page
        .execute(capture_params(quality))
        .await
        .map_err(|e| RenderError::Browser(e.to_string()))?
        .result
        .data;
    screenshot_bytes(&data)
}

/// Counts a card rendered on `pooled`'s document, and every
/// [`SWAPS_PER_GARBAGE_COLLECTION`] has its renderer collect garbage, off the request's
/// path.
fn rendered(pooled: &mut PooledPage) {
    pooled.swaps += 1;
    if pooled.swaps.is_multiple_of(SWAPS_PER_GARBAGE_COLLECTION) {
        let page = pooled.page.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(
                GARBAGE_COLLECTION_TIMEOUT,
                page.execute(CollectGarbageParams::default()),
            )
            .await;
        });
    }
}

/// The call of `swap.js` that shows `card` (at `url`), tagging its frame with `tag`.
pub fn swap_expression(url: &str, card: CardRequest, tag: Option<u32>) -> String {
    let url = serde_json::to_string(url).expect("a string serialises");
    let tag = tag.map_or_else(|| "undefined".to_owned(), |tag| tag.to_string());
    format!(
        "({})({url}, {tag}, [\"{}\", \"{}\"], {})",
        render_site::SWAP_FUNCTION,
        card.design.as_str(),
        card.id,
        render_site::DRAWN_FUNCTION,
    )
}

/// What a navigated card page is evaluated with: like `swap.js`, once the page is ready
/// and `drawn.js` has waited for its text, it resolves to the `[design, id, verdict]`
/// its `<html>` names, or false (a 401, 404 or error page has no ready signal).
fn loaded_card_expression() -> String {
    format!(
        "Promise.resolve({}).then(async (ready) => ready === true && \
         [document.documentElement.dataset.design, document.documentElement.dataset.id, \
          await ({})(undefined)])",
        render_site::READY_EXPRESSION,
        render_site::DRAWN_FUNCTION,
    )
}

/// Evaluates `ready` (a loaded card's ready promise, or a swap) on `page`, and checks
/// that the card it shows is `card`, whole: a page without a ready signal is not a
/// card, one of another design or id (a render site a deploy behind, a wrong route) is
/// never captured, and neither is one whose text `drawn.js` found not drawable (a face
/// still loading, text not laid out).
async fn until_card_ready(
    page: &Page,
    ready: String,
    card: CardRequest,
) -> Result<(), RenderError> {
    let ready = EvaluateParams::builder()
        .expression(ready)
        .await_promise(true)
        .return_by_value(true)
        .build()
        .map_err(RenderError::Browser)?;
    let ready = page
        .evaluate_expression(ready)
        .await
        .map_err(|e| RenderError::Browser(e.to_string()))?;
    let Some(serde_json::Value::Array(shown)) = ready.value() else {
        return Err(RenderError::NotACard);
    };
    let ([
        serde_json::Value::String(design),
        serde_json::Value::String(id),
    ]
    | [
        serde_json::Value::String(design),
        serde_json::Value::String(id),
        _,
    ]) = shown.as_slice()
    else {
        return Err(RenderError::NotACard);
    };
    if design != card.design.as_str() || *id != card.id.to_string() {
        return Err(RenderError::WrongCard {
            design: design.chars().take(32).collect(),
            id: id.chars().take(32).collect(),
        });
    }
    match shown.get(2) {
        Some(serde_json::Value::Null) => Ok(()),
        Some(serde_json::Value::String(why)) => {
            Err(RenderError::TextNotDrawn(why.chars().take(120).collect()))
        }
        _ => Err(RenderError::NotACard),
    }
}
