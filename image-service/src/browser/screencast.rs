//! Capture by tagged screencast: the fast way to capture a swapped card.
//!
//! `Page.captureScreenshot` encodes its JPEG on the browser's UI thread, which every
//! page shares, so at most one card is encoded at a time (about 38 ms of every
//! render here). A screencast (`Page.startScreencast`) sends a JPEG of every frame the
//! page draws, encoded on a thread pool, so two pages' cards are encoded at once.
//!
//! What a screencast lacks is a tie between a frame and the swap that drew it: frames
//! are encoded in parallel and may arrive out of order. The tie is the frame's root
//! scroll offset. Chromium's frame capturer copies each frame with the metadata of the
//! compositor frame that caused the copy, and the copy is of that frame or a later one.
//! The swap (`render-site/assets/swap.js`) scrolls its page, fixed in place so that no
//! pixel moves, to this capture's tag once the card is ready. A frame whose scroll
//! offset is the tag therefore shows the card at the time it was tagged or later, and
//! no later card exists until this one is taken. Every other frame is dropped.
//!
//! Which browsers send tagged frames is found on the first swaps of each browser (see
//! the pool): a swap whose tagged frame does not come within [`PROBE_FRAME_TIMEOUT`] is
//! captured by screenshot, and a browser that misses three such probes is captured by
//! screenshot from then on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::page::{
    EventScreencastFrame, ScreencastFrameAckParams, StartScreencastFormat, StartScreencastParams,
    StopScreencastParams,
};
use futures::StreamExt;
use shared_ids::{IMAGE_HEIGHT_PX, IMAGE_WIDTH_PX};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::screenshot::screenshot_bytes;
use crate::error::RenderError;

/// How long a swap that probes a browser waits for its tagged frame before it takes a
/// screenshot instead. A tagged frame takes about 50 ms here; this leaves room for a
/// loaded machine and still answers well inside the response budget.
pub const PROBE_FRAME_TIMEOUT: Duration = Duration::from_millis(800);

/// Tags cycle through `1..=TAG_CYCLE`; `swap.js` gives the page room to scroll that far
/// (0 is where a page starts, so it is never a tag).
const TAG_CYCLE: u32 = 4000;

/// Where tags are drawn from, for every page of every browser.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// Makes `tag` the next tag drawn, so a test can make a tag come round again.
#[cfg(test)]
pub(super) fn draw_next(tag: u32) {
    SEQUENCE.store(tag - 1, Ordering::Relaxed);
}

/// Frames with the wanted tag received but not yet taken. Any one of them shows the
/// card, so a full channel loses nothing by dropping the newest.
const FRAME_BACKLOG: usize = 2;

/// A running screencast of one page.
pub struct Screencast {
    frames: mpsc::Receiver<Arc<EventScreencastFrame>>,
    /// Acknowledges every frame as it arrives (Chromium stops sending frames while two
    /// are unacknowledged) and hands on only those with the wanted tag, so that no
    /// burst of other frames can crowd the tagged one out.
    forwarder: JoinHandle<()>,
    /// The tag of the capture under way (0: none).
    wanted: Arc<AtomicU32>,
}

impl std::fmt::Debug for Screencast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screencast")
            .field("wanted", &self.wanted.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Screencast {
    /// Starts a screencast of `page` at the card's full size, JPEG at `jpeg_quality`.
    pub async fn start(page: &Page, jpeg_quality: u8) -> Result<Self, RenderError> {
        let browser_error = |e: chromiumoxide::error::CdpError| RenderError::Browser(e.to_string());
        let mut events = page
            .event_listener::<EventScreencastFrame>()
            .await
            .map_err(browser_error)?;
        let (sender, frames) = mpsc::channel(FRAME_BACKLOG);
        let acking = page.clone();
        let wanted = Arc::new(AtomicU32::new(0));
        let wanted_here = Arc::clone(&wanted);
        let forwarder = tokio::spawn(async move {
            while let Some(event) = events.next().await {
                let ack = ScreencastFrameAckParams::new(event.session_id);
                // Handed on before the acknowledgement's round trip, which only the
                // next frame waits for.
                let tag = wanted_here.load(Ordering::Acquire);
                if tag != 0
                    && is_tagged(&event, tag)
                    && let Err(mpsc::error::TrySendError::Closed(_)) = sender.try_send(event)
                {
                    return;
                }
                if acking.execute(ack).await.is_err() {
                    return;
                }
            }
        });
        let start = StartScreencastParams::builder()
            .format(StartScreencastFormat::Jpeg)
            .quality(i64::from(jpeg_quality))
            .max_width(i64::from(IMAGE_WIDTH_PX))
            .max_height(i64::from(IMAGE_HEIGHT_PX))
            .every_nth_frame(1)
            .build();
        if let Err(error) = page.execute(start).await {
            forwarder.abort();
            return Err(browser_error(error));
        }
        Ok(Self {
            frames,
            forwarder,
            wanted,
        })
    }

    /// The tag for the next capture, which from now on is the only one forwarded. It is
    /// never `scrolled_to`, the tag the page already shows (a scroll to it would draw no
    /// frame, and a frame of the card before would carry it), and it is drawn from one
    /// sequence for every page, so no two pages capture under the same tag at once.
    pub fn next_tag(&mut self, scrolled_to: u32) -> u32 {
        let tag = loop {
            let tag = SEQUENCE.fetch_add(1, Ordering::Relaxed) % TAG_CYCLE + 1;
            if tag != scrolled_to {
                break tag;
            }
        };
        self.wanted.store(tag, Ordering::Release);
        // Frames of the capture before, forwarded before the new tag was stored.
        while self.frames.try_recv().is_ok() {}
        tag
    }

    /// The JPEG of the first frame tagged `tag`. Waits for it as long as the caller
    /// lets it.
    pub async fn frame_tagged(&mut self, tag: u32) -> Result<Bytes, RenderError> {
        while let Some(frame) = self.frames.recv().await {
            if is_tagged(&frame, tag) {
                return screenshot_bytes(&frame.data);
            }
        }
        Err(RenderError::Browser("the screencast ended".into()))
    }

    /// Stops the screencast, so that a navigation's frames are neither drawn for it
    /// nor encoded.
    pub async fn stop(self, page: &Page) {
        self.forwarder.abort();
        let _ = page.execute(StopScreencastParams::default()).await;
    }
}

/// Whether `frame` was drawn with the page scrolled to `tag`.
fn is_tagged(frame: &EventScreencastFrame, tag: u32) -> bool {
    (frame.metadata.scroll_offset_y - f64::from(tag)).abs() < 0.5
}

impl Drop for Screencast {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}
