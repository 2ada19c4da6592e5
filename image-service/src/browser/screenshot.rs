//! Capture by `Page.captureScreenshot`: how every navigated card, and every swapped one
//! where no tagged screencast frame comes, is taken.

use base64::Engine as _;
use bytes::Bytes;
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams,
};

use crate::error::RenderError;

/// The screenshot every card is captured with.
pub fn capture_params(jpeg_quality: u8) -> CaptureScreenshotParams {
    CaptureScreenshotParams::builder()
        .format(CaptureScreenshotFormat::Jpeg)
        .quality(i64::from(jpeg_quality))
        .from_surface(true)
        .capture_beyond_viewport(false)
        .optimize_for_speed(true)
        .build()
}

/// Decodes the base64 image data of a CDP screenshot (or screencast frame).
pub fn screenshot_bytes(data: &impl AsRef<str>) -> Result<Bytes, RenderError> {
    base64::engine::general_purpose::STANDARD
        .decode(data.as_ref())
        .map(Bytes::from)
        .map_err(|e| RenderError::Browser(format!("screenshot is not base64: {e}")))
}
