//! The capture methods, each timed in the same run on the same cards: a card is
//! swapped into a warm page, as the service does for a miss, then captured. Both the
//! capture alone and the swap with the capture are timed: under begin-frame control
//! the swap draws nothing, so its capture also rasterises the card, which a normal
//! browser did during the swap; a tagged screencast's frame is drawn and encoded while
//! the swap finishes, so its capture alone is timed on the card already shown (a new
//! tag, its frame). The fastest capture is the floor.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::headless_experimental::{
    BeginFrameParams, ScreenshotParams, ScreenshotParamsFormat,
};
use chromiumoxide::cdp::browser_protocol::target::CreateTargetParams;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use futures::StreamExt;
use image_service::browser::{
    CardRequest, Launched, Screencast, capture_params, screenshot_bytes, swap_expression,
};
use render_site::RenderToken;
use shared_ids::{CURRENT_DESIGN, SocialId};

use crate::browser::{JPEG_QUALITY, authorize};

/// Longest any one step may take before the method counts as hanging here.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// A way of capturing the card as the 2400x1260 JPEG the service stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// `Page.captureScreenshot` as the service captures (`optimizeForSpeed`).
    Screenshot,
    /// `Page.captureScreenshot` without `optimizeForSpeed` (zlib at its default level).
    ScreenshotDefault,
    /// `HeadlessExperimental.beginFrame` with a screenshot, on a browser launched with
    /// `enable-begin-frame-control` (frames are drawn only when asked for).
    BeginFrame,
    /// `Page.startScreencast` at the card's full size, the frame tagged by the page's
    /// scroll offset (`image_service::browser::Screencast`): what the service takes for
    /// a swapped card. Chromium encodes it off the browser's UI thread.
    Screencast,
}

impl Method {
    pub(crate) const ALL: [Self; 4] = [
        Self::Screenshot,
        Self::ScreenshotDefault,
        Self::BeginFrame,
        Self::Screencast,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Screenshot => {
                "Page.captureScreenshot, optimizeForSpeed (the service's for a navigated card)"
            }
            Self::ScreenshotDefault => "Page.captureScreenshot, default encoder",
            Self::BeginFrame => "HeadlessExperimental.beginFrame screenshot",
            Self::Screencast => "Page.startScreencast tagged frame (the service's for a swap)",
        }
    }
}

async fn step<T>(what: &str, work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(STEP_TIMEOUT, work)
        .await
        .with_context(|| format!("{what} hung for {STEP_TIMEOUT:?}"))?
}

/// Runs `work` while asking for frames that run layout and animation callbacks but draw
/// nothing, as a begin-frame-controlled page needs for `requestAnimationFrame` to fire.
/// Each frame is awaited whole before `work` is looked at, so no frame is left pending
/// when it returns (a new `beginFrame` would then fail with "Another frame is pending").
async fn pumping<T>(page: &Page, work: impl Future<Output = Result<T>>) -> Result<T> {
    let idle = BeginFrameParams::builder().no_display_updates(true).build();
    let mut work = std::pin::pin!(work);
    loop {
        if let Some(result) = futures::FutureExt::now_or_never(&mut work) {
            return result;
        }
        page.execute(idle.clone()).await?;
    }
}

pub(crate) async fn evaluate(page: &Page, expression: String) -> Result<serde_json::Value> {
    let params = EvaluateParams::builder()
        .expression(expression)
        .await_promise(true)
        .return_by_value(true)
        .build()
        .map_err(anyhow::Error::msg)?;
    Ok(page
        .evaluate_expression(params)
        .await?
        .value()
        .cloned()
        .unwrap_or_default())
}

/// What one method took per card.
#[derive(Debug, Default)]
pub(crate) struct Timings {
    pub(crate) capture: Vec<Duration>,
    pub(crate) swap_and_capture: Vec<Duration>,
}

/// Times `shots` captures by `method` of cards swapped in from `site` (e.g.
/// `http://127.0.0.1:4000`), each checked to be a storable card.
pub(crate) async fn measure(
    method: Method,
    site: &str,
    token: &RenderToken,
    shots: usize,
) -> Result<Timings> {
    let begin_frames = method == Method::BeginFrame;
    let extra: Vec<String> = if begin_frames {
        vec![
            "enable-begin-frame-control".into(),
            "run-all-compositor-stages-before-draw".into(),
        ]
    } else {
        Vec::new()
    };
    let Launched {
        browser,
        mut handler,
        mut process,
    } = image_service::browser::launch(Path::new(e2e::CHROMIUM), &extra).await?;
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
    let result = async {
        let target = CreateTargetParams::builder()
            .url("about:blank")
            .new_window(true)
            .enable_begin_frame_control(begin_frames)
            .build()
            .map_err(anyhow::Error::msg)?;
        let page = step("opening a page", async {
            Ok(browser.new_page(target).await?)
        })
        .await?;
        authorize(&page, token).await?;
        let load = async {
            page.goto(format!("{site}/card/12-34-10")).await?;
            evaluate(&page, render_site::READY_EXPRESSION.to_owned()).await
        };
        if begin_frames {
            step("loading the card", pumping(&page, load)).await?;
        } else {
            step("loading the card", load).await?;
        }
        let mut screencast = if method == Method::Screencast {
            Some(Screencast::start(&page, JPEG_QUALITY).await?)
        } else {
            None
        };
        let mut timings = Timings::default();
        let mut scrolled_to = 0;
        for n in 0..shots {
            let id = SocialId::parse(&format!("12-35-{:02}", n % 100))?;
            let card = CardRequest {
                design: CURRENT_DESIGN,
                id,
            };
            let url = format!("{site}/card/{id}");
            let tag = screencast
                .as_mut()
                .map(|screencast| screencast.next_tag(scrolled_to));
            scrolled_to = tag.unwrap_or(scrolled_to);
            let swap_started = Instant::now();
            let swap = evaluate(&page, swap_expression(&url, card, tag));
            let swapped = if begin_frames {
                step("swapping a card", pumping(&page, swap)).await?
            } else {
                step("swapping a card", swap).await?
            };
            // The swap's answer: the card it shows, and drawn.js's verdict (null: drawn).
            anyhow::ensure!(
                swapped == serde_json::json!([CURRENT_DESIGN.as_str(), id.to_string(), null]),
                "the swap failed: {swapped}"
            );
            let started = Instant::now();
            let jpeg = match (screencast.as_mut(), tag) {
                (Some(screencast), Some(tag)) => {
                    let jpeg = step("the swap's tagged frame", async {
                        Ok(screencast.frame_tagged(tag).await?)
                    })
                    .await?;
                    timings.swap_and_capture.push(swap_started.elapsed());
                    // The capture alone: the card already shown, under a new tag.
                    let retag = screencast.next_tag(scrolled_to);
                    scrolled_to = retag;
                    let started = Instant::now();
                    evaluate(&page, format!("window.scrollTo(0, {retag}); true")).await?;
                    let again = step("a re-tagged frame", async {
                        Ok(screencast.frame_tagged(retag).await?)
                    })
                    .await?;
                    timings.capture.push(started.elapsed());
                    anyhow::ensure!(
                        image_service::jpeg::validate_card(&again).is_ok(),
                        "a re-tagged frame is no storable card"
                    );
                    jpeg
                }
                _ => {
                    let jpeg = step("capturing", capture(&page, method)).await?;
                    timings.capture.push(started.elapsed());
                    timings.swap_and_capture.push(swap_started.elapsed());
                    jpeg
                }
            };
            anyhow::ensure!(
                image_service::jpeg::validate_card(&jpeg).is_ok(),
                "{} made no storable card",
                method.name()
            );
        }
        if let Some(screencast) = screencast {
            screencast.stop(&page).await;
        }
        Ok(timings)
    }
    .await;
    events.abort();
    process.kill_tree().await;
    result
}

async fn capture(page: &Page, method: Method) -> Result<bytes::Bytes> {
    match method {
        Method::Screenshot => {
            let data = page
                .execute(capture_params(JPEG_QUALITY))
                .await?
                .result
                .data;
            Ok(screenshot_bytes(&data)?)
        }
        Method::ScreenshotDefault => {
            let mut params = capture_params(JPEG_QUALITY);
            params.optimize_for_speed = Some(false);
            let data = page.execute(params).await?.result.data;
            Ok(screenshot_bytes(&data)?)
        }
        Method::Screencast => unreachable!("screencast frames are not asked for"),
        Method::BeginFrame => {
            let screenshot = ScreenshotParams::builder()
                .format(ScreenshotParamsFormat::Jpeg)
                .quality(i64::from(JPEG_QUALITY))
                .optimize_for_speed(true)
                .build();
            let frame = page
                .execute(BeginFrameParams::builder().screenshot(screenshot).build())
                .await?
                .result;
            let data = frame
                .screenshot_data
                .context("beginFrame returned no screenshot (no damage drawn)")?;
            Ok(screenshot_bytes(&data)?)
        }
    }
}
