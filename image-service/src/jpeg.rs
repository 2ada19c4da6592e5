//! The gate between a render and storage: a stored card is served for a year, so only
//! something that is unmistakably a card JPEG may pass.
//!
//! The check is structural first (magic bytes, marker walk to the frame header,
//! end-of-image marker, exact card size, byte bounds): a broken screenshot shows up as
//! the wrong shape, size or markers. Then the pixels, decoded at an eighth of the size
//! (a few milliseconds): a frame captured before the card painted is well formed but
//! blank or one flat colour, and must never be stored for a year.

use shared_ids::{IMAGE_HEIGHT_PX, IMAGE_WIDTH_PX};

use crate::DEFAULT_IMAGE;

/// Smallest accepted card. Even a flat single-colour 2400x1260 JPEG takes about 18 KB
/// (Pillow, quality 85, optimised Huffman tables), so this only rejects empty or cut-off
/// output, never a real if dull card.
pub const MIN_CARD_BYTES: usize = 4 * 1024;

/// Largest accepted card, and every card's byte budget: WhatsApp shows no preview for an
/// image over about 300 KB (share-check warns over the same figure), and it is far inside
/// X's 5 MB for `summary_large_image` and Lambda's 6 MB response payload. A text card
/// at quality 85 is about 120 KB; a busier one is captured again at lower qualities
/// ([`lower_quality`]) until it fits.
pub const MAX_CARD_BYTES: usize = 300 * 1024;

/// The lowest JPEG quality a card is captured at to fit [`MAX_CARD_BYTES`]. At device
/// scale 2 a card is shown at half its size or less, where quality 50 still reads
/// cleanly; a card that does not fit at it is a render error, never stored.
pub const MIN_JPEG_QUALITY: u8 = 50;

/// How far each capture past the first lowers the quality: a busy card at 85 fits within
/// two or three steps (each a screenshot of the page as it stands, a few tens of
/// milliseconds), and every step saves about a fifth of its bytes.
const QUALITY_STEP: u8 = 10;

/// The quality to capture a card at when it came out over [`MAX_CARD_BYTES`] at
/// `quality`: one step lower, down to [`MIN_JPEG_QUALITY`]; none once there (or when
/// the configured quality is already below it).
pub fn lower_quality(quality: u8) -> Option<u8> {
    (quality > MIN_JPEG_QUALITY).then(|| quality.saturating_sub(QUALITY_STEP).max(MIN_JPEG_QUALITY))
}

const SOI: [u8; 2] = [0xFF, 0xD8];
const EOI: [u8; 2] = [0xFF, 0xD9];

/// Why a rendered result may not be stored as a card. Carries sizes and marker bytes
/// only, never image bytes, so it can be logged as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JpegRejection {
    #[error("{len} bytes is smaller than any card ({MIN_CARD_BYTES} bytes at least)")]
    TooSmall { len: usize },
    #[error(
        "{len} bytes is over the {MAX_CARD_BYTES} bytes a card may take, at the lowest JPEG \
         quality it is captured at"
    )]
    TooLarge { len: usize },
    #[error("not a JPEG: no FF D8 FF start-of-image")]
    NotJpeg,
    #[error("truncated JPEG: no FF D9 end-of-image at the end")]
    Truncated,
    #[error("malformed JPEG marker structure")]
    Malformed,
    #[error("the JPEG has no frame header before its first scan")]
    NoFrameHeader,
    #[error("JPEG frame type FF {marker:02X} is neither baseline nor progressive Huffman")]
    UnsupportedFrame { marker: u8 },
    #[error("the image is {width}x{height}, a card is {IMAGE_WIDTH_PX}x{IMAGE_HEIGHT_PX}")]
    WrongDimensions { width: u32, height: u32 },
    #[error("the image is the bundled default image, not a card")]
    DefaultImage,
    #[error("the image does not decode")]
    Undecodable,
    #[error(
        "the image is near-uniform (pixel variance {variance}, a card has at least \
         {MIN_PIXEL_VARIANCE}): a frame captured before the card painted"
    )]
    NearUniform { variance: u64 },
}

/// Smallest pixel variance (per channel, summed, of the eighth-size decode) of a card.
/// A blank or flat frame is below 1; the card's gradient and text alone are in the
/// hundreds (the default image is about 2,000), so this leaves a wide margin both ways.
pub const MIN_PIXEL_VARIANCE: f64 = 25.0;

/// Accepts `jpeg` as a card that may be stored, or says why not.
pub fn validate_card(jpeg: &[u8]) -> Result<(), JpegRejection> {
    validate_structure(jpeg)?;
    let variance = pixel_variance(jpeg)?;
    if variance < MIN_PIXEL_VARIANCE {
        return Err(JpegRejection::NearUniform {
            variance: variance.round() as u64,
        });
    }
    Ok(())
}

/// The summed per-channel pixel variance of `jpeg` decoded at an eighth of its size.
pub fn pixel_variance(jpeg: &[u8]) -> Result<f64, JpegRejection> {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    decoder
        .read_info()
        .map_err(|_| JpegRejection::Undecodable)?;
    let (width, height) = (IMAGE_WIDTH_PX / 8, IMAGE_HEIGHT_PX / 8);
    decoder
        .scale(width as u16, height as u16)
        .map_err(|_| JpegRejection::Undecodable)?;
    let pixels = decoder.decode().map_err(|_| JpegRejection::Undecodable)?;
    let channels = match decoder.info().map(|info| info.pixel_format) {
        Some(jpeg_decoder::PixelFormat::L8) => 1,
        Some(jpeg_decoder::PixelFormat::RGB24) => 3,
        _ => return Err(JpegRejection::Undecodable),
    };
    if pixels.len() < channels {
        return Err(JpegRejection::Undecodable);
    }
    let n = (pixels.len() / channels) as f64;
    Ok((0..channels)
        .map(|channel| {
            let values = || {
                pixels
                    .iter()
                    .skip(channel)
                    .step_by(channels)
                    .map(|&p| f64::from(p))
            };
            let mean = values().sum::<f64>() / n;
            values().map(|p| (p - mean).powi(2)).sum::<f64>() / n
        })
        .sum())
}

/// The structural half of [`validate_card`]: size bounds, markers, dimensions, and not
/// the default image.
fn validate_structure(jpeg: &[u8]) -> Result<(), JpegRejection> {
    if jpeg.len() < MIN_CARD_BYTES {
        return Err(JpegRejection::TooSmall { len: jpeg.len() });
    }
    if jpeg.len() > MAX_CARD_BYTES {
        return Err(JpegRejection::TooLarge { len: jpeg.len() });
    }
    let (width, height) = dimensions(jpeg)?;
    // Checked after the header so a non-JPEG is reported as such; a screenshot cut off
    // mid-scan still has an intact header and is caught only here.
    if !jpeg.ends_with(&EOI) {
        return Err(JpegRejection::Truncated);
    }
    if (width, height) != (IMAGE_WIDTH_PX, IMAGE_HEIGHT_PX) {
        return Err(JpegRejection::WrongDimensions { width, height });
    }
    // A render that produced the default image (e.g. a card page that fell back to it)
    // must not be stored under a card key: the default would then be that id's card
    // for a year.
    if jpeg == DEFAULT_IMAGE {
        return Err(JpegRejection::DefaultImage);
    }
    Ok(())
}

/// The `(width, height)` in pixels from a JPEG's frame header (SOF0, SOF1 or SOF2).
///
/// Walks the marker segments from the start of the image to the first frame header,
/// within the bounds of `jpeg`; any inconsistency is an error, never a panic.
pub fn dimensions(jpeg: &[u8]) -> Result<(u32, u32), JpegRejection> {
    if !jpeg.starts_with(&SOI) || jpeg.get(2) != Some(&0xFF) {
        return Err(JpegRejection::NotJpeg);
    }
    let byte = |at: usize| jpeg.get(at).copied().ok_or(JpegRejection::Malformed);
    let mut pos = SOI.len();
    // Every pass moves `pos` forward by at least two bytes and every read is bounds
    // checked, so the walk ends within `jpeg.len()` passes.
    loop {
        if byte(pos)? != 0xFF {
            return Err(JpegRejection::Malformed);
        }
        // Any number of FF fill bytes may precede a marker (ITU T.81, B.1.1.2).
        pos += 1;
        while byte(pos)? == 0xFF {
            pos += 1;
        }
        let marker = byte(pos)?;
        pos += 1;
        match marker {
            // TEM and RSTn stand alone: no length follows.
            0x01 | 0xD0..=0xD7 => continue,
            // A scan or the end of the image before any frame header: nothing to measure.
            0xD9 | 0xDA => return Err(JpegRejection::NoFrameHeader),
            // 00 is byte stuffing, valid only inside entropy-coded data; a second SOI
            // is never valid.
            0x00 | 0xD8 => return Err(JpegRejection::Malformed),
            _ => {}
        }
        // The length counts its own two bytes but not the marker.
        let len = usize::from(u16::from_be_bytes([byte(pos)?, byte(pos + 1)?]));
        if len < 2 {
            return Err(JpegRejection::Malformed);
        }
        let segment = jpeg
            .get(pos + 2..pos + len)
            .ok_or(JpegRejection::Malformed)?;
        match marker {
            // Sequential (baseline or extended) and progressive Huffman: what every
            // browser and crawler decodes. Layout: precision, height, width, ...
            0xC0..=0xC2 => {
                let [_precision, h1, h2, w1, w2, ..] = *segment else {
                    return Err(JpegRejection::Malformed);
                };
                let height = u32::from(u16::from_be_bytes([h1, h2]));
                let width = u32::from(u16::from_be_bytes([w1, w2]));
                return Ok((width, height));
            }
            // Lossless, hierarchical and arithmetic-coded frames, which many decoders
            // lack. C4 (DHT), C8 (JPG) and CC (DAC) are not frame headers.
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(JpegRejection::UnsupportedFrame { marker });
            }
            _ => pos += len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A structurally valid JPEG: SOI, APP0, a frame header of the given type and size,
    /// a scan of `scan_len` filler bytes, EOI. Nothing here decodes pixels, so filler is
    /// as good as real entropy-coded data.
    fn synthetic(sof: u8, width: u16, height: u16, scan_len: usize) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        out.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10]);
        out.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        out.extend_from_slice(&[0xFF, 0xFF, sof, 0x00, 0x11, 8]);
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x0C, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
        out.extend((0..scan_len).map(|i| (i % 251) as u8 & 0x7F));
        out.extend_from_slice(&EOI);
        out
    }

    fn card(sof: u8) -> Vec<u8> {
        synthetic(sof, 2400, 1260, 64 * 1024)
    }

    #[test]
    fn the_default_image_is_card_sized_small_and_never_a_card() {
        assert_eq!(
            dimensions(DEFAULT_IMAGE),
            Ok((IMAGE_WIDTH_PX, IMAGE_HEIGHT_PX))
        );
        assert!(DEFAULT_IMAGE.ends_with(&EOI));
        assert!(
            DEFAULT_IMAGE.len() <= 300 * 1024,
            "keep assets/default.jpg under 300 KB: crawlers fetch it on every bad path"
        );
        assert_eq!(
            validate_card(DEFAULT_IMAGE),
            Err(JpegRejection::DefaultImage)
        );
    }

    #[test]
    fn a_real_encoder_card_that_is_not_the_default_passes() {
        // A gradient with a band of "text": what a card is made of.
        let card = test_kit::card_sized_jpeg(|x, y| {
            let text = (400..520).contains(&y) && (x / 9) % 3 == 0;
            if text {
                [250, 250, 250]
            } else {
                [(x / 10) as u8, 40, (y / 5) as u8]
            }
        });
        assert_eq!(validate_card(&card), Ok(()));
        assert!(pixel_variance(&card).unwrap() > 10.0 * MIN_PIXEL_VARIANCE);
        assert!(pixel_variance(DEFAULT_IMAGE).unwrap() > 10.0 * MIN_PIXEL_VARIANCE);
    }

    #[test]
    fn a_frame_captured_before_the_card_painted_is_refused() {
        // A blank page, a flat background, and a flat background with faint noise: all
        // well-formed 2400x1260 JPEGs of the right size, none of them a card.
        let blank = test_kit::card_sized_jpeg(|_, _| [255, 255, 255]);
        let flat = test_kit::card_sized_jpeg(|_, _| [24, 32, 64]);
        let faint = test_kit::card_sized_jpeg(|x, y| [24 + ((x ^ y) & 3) as u8, 32, 64]);
        for (what, jpeg) in [("blank", &blank), ("flat", &flat), ("faint", &faint)] {
            assert_eq!(validate_structure(jpeg), Ok(()), "{what}");
            assert!(
                matches!(validate_card(jpeg), Err(JpegRejection::NearUniform { .. })),
                "{what}: {:?}",
                validate_card(jpeg)
            );
        }
        let mut garbled = test_kit::card_sized_jpeg(|x, _| [(x / 10) as u8, 0, 0]);
        let mid = garbled.len() / 2;
        garbled[mid..mid + 64].fill(0xFF);
        assert!(validate_card(&garbled).is_err(), "garbled scan data");
    }

    #[test]
    fn an_over_budget_card_steps_down_to_the_floor_and_no_further() {
        let mut ladder = vec![85];
        while let Some(next) = lower_quality(*ladder.last().unwrap()) {
            ladder.push(next);
        }
        assert_eq!(ladder, [85, 75, 65, 55, 50]);
        assert_eq!(lower_quality(100), Some(90));
        assert_eq!(lower_quality(MIN_JPEG_QUALITY + 1), Some(MIN_JPEG_QUALITY));
        // A quality configured below the floor is the only one tried.
        assert_eq!(lower_quality(MIN_JPEG_QUALITY), None);
        assert_eq!(lower_quality(30), None);
        assert_eq!(lower_quality(1), None);
    }

    #[test]
    fn a_card_over_the_byte_budget_is_refused() {
        // Faint noise over a dark card: a busy card of some 600 KB at quality 85, which
        // the gate allowed when it only bounded a card to 2 MiB.
        let noise = test_kit::card_sized_jpeg(|x, y| {
            let hash = (x.wrapping_mul(0x9E37_79B9) ^ y.wrapping_mul(0x85EB_CA6B))
                .wrapping_mul(0xC2B2_AE35);
            let [r, g, b, _] = (hash ^ (hash >> 15)).to_le_bytes();
            [40 + (r & 31), 40 + (g & 31), 60 + (b & 31)]
        });
        assert!(
            (300 * 1024..2 * 1024 * 1024).contains(&noise.len()),
            "{} bytes",
            noise.len()
        );
        assert_eq!(
            validate_card(&noise),
            Err(JpegRejection::TooLarge { len: noise.len() })
        );
    }

    #[test]
    fn baseline_extended_and_progressive_frames_are_measured() {
        for sof in [0xC0, 0xC1, 0xC2] {
            assert_eq!(validate_structure(&card(sof)), Ok(()), "SOF {sof:02X}");
        }
        assert_eq!(dimensions(&synthetic(0xC2, 1, 65535, 0)), Ok((1, 65535)));
    }

    #[test]
    fn other_frame_types_are_refused() {
        for sof in [0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF] {
            assert_eq!(
                validate_structure(&card(sof)),
                Err(JpegRejection::UnsupportedFrame { marker: sof })
            );
        }
    }

    #[test]
    fn wrong_sizes_are_refused() {
        for (w, h) in [(1200, 630), (2400, 1261), (1260, 2400), (0, 0)] {
            assert_eq!(
                validate_structure(&synthetic(0xC0, w, h, 64 * 1024)),
                Err(JpegRejection::WrongDimensions {
                    width: w.into(),
                    height: h.into()
                })
            );
        }
        assert_eq!(
            validate_structure(&card(0xC0)[..MIN_CARD_BYTES - 1]),
            Err(JpegRejection::TooSmall {
                len: MIN_CARD_BYTES - 1
            })
        );
        let huge = synthetic(0xC0, 2400, 1260, MAX_CARD_BYTES);
        assert_eq!(
            validate_structure(&huge),
            Err(JpegRejection::TooLarge { len: huge.len() })
        );
    }

    #[test]
    fn non_jpegs_and_cut_off_jpegs_are_refused() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.resize(64 * 1024, 0);
        assert_eq!(validate_card(&png), Err(JpegRejection::NotJpeg));
        let cut = &DEFAULT_IMAGE[..DEFAULT_IMAGE.len() - 100];
        assert_eq!(validate_card(cut), Err(JpegRejection::Truncated));
        let mut no_frame = card(0xC0);
        let sof_at = no_frame.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        no_frame[sof_at + 1] = 0xE1;
        assert_eq!(validate_card(&no_frame), Err(JpegRejection::NoFrameHeader));
    }

    /// Deterministic xorshift, so a failure reproduces without a seed to report.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn truncated_mutated_and_random_input_never_panics() {
        let sources = [DEFAULT_IMAGE.to_vec(), card(0xC2), synthetic(0xC0, 9, 9, 0)];
        for source in &sources {
            // Every prefix of the header region: the walker stops at the first scan.
            let header_end = source.len().min(4096);
            for end in 0..=header_end {
                let _ = dimensions(&source[..end]);
                let _ = validate_structure(&source[..end]);
            }
            // Every header byte replaced by the values that steer the walker.
            for at in 0..header_end.min(1024) {
                for value in [0x00, 0x01, 0x02, 0xC0, 0xC2, 0xD0, 0xD8, 0xD9, 0xDA, 0xFF] {
                    let mut mutated = source.clone();
                    mutated[at] = value;
                    let _ = dimensions(&mutated);
                    let _ = validate_structure(&mutated);
                }
            }
        }
        // The decoder on damaged entropy-coded data, which passes the structural walk.
        for at in
            (DEFAULT_IMAGE.len() / 4..DEFAULT_IMAGE.len() - 2).step_by(DEFAULT_IMAGE.len() / 48)
        {
            for value in [0x00, 0xFF, 0xD9] {
                let mut mutated = DEFAULT_IMAGE.to_vec();
                mutated[at] = value;
                let _ = validate_card(&mutated);
            }
        }
        // Random buffers after a valid magic, heavy in FF so markers come often.
        let mut state = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let len = (xorshift(&mut state) % 96) as usize;
            let mut buf = vec![0xFF, 0xD8, 0xFF];
            buf.extend((0..len).map(|_| match xorshift(&mut state) % 4 {
                0 => 0xFF,
                _ => xorshift(&mut state) as u8,
            }));
            let _ = dimensions(&buf);
        }
    }
}
