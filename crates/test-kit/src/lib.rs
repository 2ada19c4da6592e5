//! ogshot's shared test helpers: an in-process S3 server that fails the way S3 does
//! ([`s3`]), a router on a loopback port ([`serve`]), a raw HTTP/1.1 client
//! ([`raw_http`]), a binary run as a child process ([`process`]), Lambda's Runtime API
//! emulator ([`lambda`]), a page's meta tags as crawlers read them and the one check
//! that they are a share's own ([`meta`]), and the few checks every suite makes (a
//! card's path, a real card's pixels, a `max-age`, Chromium being installed, logs under
//! `TEST_LOG`, the real pages of a directory).
//!
//! It never depends on an app crate, so no app depends on itself to test itself and no
//! app type exists in two copies; what it needs from an app comes in as a parameter. It
//! is only ever a dev-dependency, except of the test-only `e2e` package. It holds no
//! stand-ins: the S3 server speaks the real protocol behind a real SigV4 check.
//!
//! # Where a test goes
//!
//! - A unit test sits beside the code it tests, in that file's `#[cfg(test)] mod tests`.
//! - One app's integration tests sit in that app's own `tests/` directory, or in its
//!   `src/tests/` module when they need the crate's private items (the image service's
//!   scenarios do).
//! - A flow across apps sits in the top-level `tests/` (package `e2e`, one test binary).
//! - A helper that more than one of those uses sits here, once, and nowhere else.

pub mod lambda;
pub mod meta;
pub mod process;
pub mod raw_http;
pub mod s3;
pub mod serve;

pub use serve::{Served, serve, serve_on};

use std::path::Path;

use shared_ids::{CURRENT_DESIGN, IMAGE_HEIGHT_PX, IMAGE_WIDTH_PX, SocialId};

/// The card path of `id` (e.g. `12-34-10`) in the current design, so no test names a
/// design token literally and a design bump leaves the suites green.
///
/// # Panics
/// If `id` is not a canonical id: a test's own typo.
pub fn card_path(id: &str) -> String {
    let id = SocialId::parse(id).unwrap_or_else(|e| panic!("{id:?} is not an id: {e}"));
    shared_ids::card_path(CURRENT_DESIGN, id)
}

/// Fails, never skips, when the browser at `path` is missing, saying how to install it
/// with `install` (the command the renderer's crate gives).
#[track_caller]
pub fn require_chromium(path: impl AsRef<Path>, install: &str) {
    let path = path.as_ref();
    assert!(
        path.is_file(),
        "these tests render with Debian's Chromium, which is missing at {}: install it \
         with `{install}` (scripts/test does this on a fresh machine)",
        path.display()
    );
}

/// The `.html` files of a directory of real pages, each with its file name, in name
/// order.
///
/// # Panics
/// If the directory or a page cannot be read.
pub fn html_pages(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "html"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let page = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name, page)
        })
        .collect();
    pages.sort();
    pages
}

/// Sends logs to the test output only when `TEST_LOG` is set: `TEST_LOG=1` shows what
/// the apps log by default, any other value is the filter (e.g. `TEST_LOG=debug`).
/// Calling it again, from any test, does nothing.
pub fn init_logs() {
    let Some(filter) = std::env::var_os("TEST_LOG") else {
        return;
    };
    let filter = filter
        .to_str()
        .filter(|f| !f.is_empty() && *f != "1")
        .unwrap_or(app_host::DEFAULT_FILTER)
        .to_owned();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_test_writer()
        .try_init();
}

/// Asserts that `jpeg` decodes to a card-sized image with real content; `what` names it
/// in the failure.
///
/// It checks pixels, not provenance: the bundled default image passes too, so a suite
/// that must tell a card from it compares the bytes as well.
#[track_caller]
pub fn assert_real_card(jpeg: &[u8], what: &str) {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    let pixels = match decoder.decode() {
        Ok(pixels) => pixels,
        Err(e) => panic!("{what}: not a decodable JPEG ({} bytes): {e}", jpeg.len()),
    };
    let Some(info) = decoder.info() else {
        panic!("{what}: a decoded JPEG without a frame header");
    };
    assert_eq!(
        (u32::from(info.width), u32::from(info.height)),
        (IMAGE_WIDTH_PX, IMAGE_HEIGHT_PX),
        "{what}: not card-sized"
    );
    // Per channel, then summed: over interleaved samples, a flat coloured frame would
    // count its colour's channel spread as content.
    let channels = info.pixel_format.pixel_bytes();
    let variance: f64 = (0..channels)
        .map(|channel| {
            let samples = || {
                pixels
                    .iter()
                    .skip(channel)
                    .step_by(channels)
                    .map(|&p| f64::from(p))
            };
            let n = samples().count() as f64;
            let mean = samples().sum::<f64>() / n;
            samples().map(|p| (p - mean).powi(2)).sum::<f64>() / n
        })
        .sum();
    // A blank or flat frame (a page captured before it painted) is near 0; a card's
    // text on its background is far above this.
    assert!(
        variance > 100.0,
        "{what}: a blank image, not a card (pixel variance {variance:.1})"
    );
}

/// The `max-age` of a Cache-Control value, in seconds.
pub fn max_age(cache_control: &str) -> Option<u64> {
    cache_control
        .split(',')
        .find_map(|directive| directive.trim().strip_prefix("max-age="))
        .and_then(|secs| secs.parse().ok())
}

/// A real encoder's card-sized JPEG (quality 85) whose pixel at (x, y) is `colour(x, y)`.
pub fn card_sized_jpeg(colour: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let (w, h) = (IMAGE_WIDTH_PX, IMAGE_HEIGHT_PX);
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            rgb.extend_from_slice(&colour(x, y));
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .expect("the encoder encodes");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_like_image_passes_the_card_check_and_a_flat_one_does_not() {
        let card = card_sized_jpeg(|x, y| {
            let text = (400..520).contains(&y) && (x / 9) % 3 == 0;
            if text {
                [250, 250, 250]
            } else {
                [(x / 10) as u8, 40, (y / 5) as u8]
            }
        });
        assert_real_card(&card, "a gradient with a band of text");

        // Coloured: its channels differ, its pixels do not.
        let flat = card_sized_jpeg(|_, _| [30, 30, 160]);
        let refused = std::panic::catch_unwind(|| assert_real_card(&flat, "flat"));
        assert!(refused.is_err(), "a flat image passed as a card");
        let refused = std::panic::catch_unwind(|| assert_real_card(b"\xFF\xD8 no", "junk"));
        assert!(refused.is_err(), "junk passed as a card");
    }

    #[test]
    fn a_card_path_is_in_the_current_design() {
        assert_eq!(
            card_path("12-34-10"),
            format!("/{CURRENT_DESIGN}/12-34-10.jpg")
        );
    }

    #[test]
    fn a_missing_chromium_fails_with_the_install_command() {
        let missing = std::panic::catch_unwind(|| {
            require_chromium("/nonexistent/chromium", "apt-get install chromium-x");
        })
        .expect_err("a missing browser passed");
        let message = missing
            .downcast_ref::<String>()
            .expect("a formatted message");
        assert!(
            message.contains("/nonexistent/chromium")
                && message.contains("`apt-get install chromium-x`"),
            "{message}"
        );
        require_chromium(std::env::current_exe().unwrap(), "unused");
    }

    #[test]
    fn max_age_is_read_from_any_directive_position() {
        assert_eq!(max_age("public, max-age=60"), Some(60));
        assert_eq!(max_age("max-age=31536000,immutable"), Some(31_536_000));
        assert_eq!(max_age("no-store"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }
}
