//! What a page and an image are: the share tags a page declares, and the format, pixel
//! size and integrity of an image's bytes (never its Content-Type's word for it).

/// What a page says about itself: every `<meta property|name=… content=…>`, in document
/// order, its first `<link rel=canonical>` and its `<title>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    meta: Vec<(String, String)>,
    canonical: Option<String>,
    title: Option<String>,
}

impl Tags {
    /// The tags of an HTML document. Keys are lower-cased, as crawlers compare them.
    pub fn parse(html: &str) -> Self {
        let document = scraper::Html::parse_document(html);
        let selector = |css| scraper::Selector::parse(css).expect("a valid selector");
        let meta = document
            .select(&selector("meta"))
            .filter_map(|meta| {
                let element = meta.value();
                let key = element.attr("property").or_else(|| element.attr("name"))?;
                let content = element.attr("content")?;
                Some((key.trim().to_ascii_lowercase(), content.to_owned()))
            })
            .collect();
        // `rel` is a set of case-insensitive tokens: `rel="Canonical"` and
        // `rel="canonical alternate"` name it too.
        let canonical = document
            .select(&selector("link[rel][href]"))
            .find(|link| {
                let rel = link.value().attr("rel").unwrap_or_default();
                rel.split_ascii_whitespace()
                    .any(|token| token.eq_ignore_ascii_case("canonical"))
            })
            .and_then(|link| link.value().attr("href"))
            .map(|href| href.trim().to_owned());
        let title = document.select(&selector("title")).next().map(|title| {
            // As a browser shows it: runs of whitespace are one space.
            let text: String = title.text().collect();
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        });
        Self {
            meta,
            canonical,
            title,
        }
    }

    /// The `href` of the page's first `<link rel=canonical>`, as written.
    pub fn canonical(&self) -> Option<&str> {
        self.canonical.as_deref()
    }

    /// The title a share shows: `og:title`, else the page's `<title>`.
    pub fn title(&self) -> Option<&str> {
        self.one("og:title")
            .or(self.title.as_deref())
            .map(str::trim)
            .filter(|title| !title.is_empty())
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.meta
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The single value of `key`, if there is exactly one.
    pub fn one(&self, key: &str) -> Option<&str> {
        match self.all(key).as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// The share tags only (og:*, twitter:*), for comparing what two crawlers got.
    pub fn share_tags(&self) -> Vec<(String, String)> {
        self.meta
            .iter()
            .filter(|(k, _)| k.starts_with("og:") || k.starts_with("twitter:"))
            .cloned()
            .collect()
    }
}

/// An image format, by its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Gif,
    Svg,
    Unknown,
}

impl Format {
    /// Sniffs the magic bytes.
    pub fn of(bytes: &[u8]) -> Self {
        let head = &bytes[..bytes.len().min(512)];
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Self::Jpeg
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Self::Png
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Self::Webp
        } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
            Self::Gif
        } else if String::from_utf8_lossy(head)
            .to_ascii_lowercase()
            .contains("<svg")
        {
            Self::Svg
        } else {
            Self::Unknown
        }
    }

    /// The media type a server should send it with.
    pub fn media_type(self) -> Option<&'static str> {
        match self {
            Self::Jpeg => Some("image/jpeg"),
            Self::Png => Some("image/png"),
            Self::Webp => Some("image/webp"),
            Self::Gif => Some("image/gif"),
            Self::Svg => Some("image/svg+xml"),
            Self::Unknown => None,
        }
    }
}

/// The most pixels an image may declare. Past what any crawler here shows, and the
/// check is made on the header's word before any pixel buffer exists: a header that
/// declares 60000x60000 (3.6 G pixels, over 10 GB decoded) costs nothing to refuse.
pub const MAX_PIXELS: u64 = 100_000_000;

/// The most bytes a decoder may allocate for one image: [`MAX_PIXELS`] at 4 bytes each
/// (RGBA or CMYK, the widest pixel an 8-bit image decodes to), in case a header's word
/// and the data disagree.
const MAX_DECODED_BYTES: usize = MAX_PIXELS as usize * 4;

/// What png may allocate besides the pixels we hand it: a row, and decompressed text
/// chunks. 16 MiB is a row of a million 16-bit RGBA pixels, far past any card.
const PNG_BUFFER_BYTES: usize = 16 * 1024 * 1024;

/// Why an image was not decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Its header declares more than [`MAX_PIXELS`]; nothing past the header was read.
    #[error(
        "the image declares {width}×{height}, over {} megapixels; crawlers refuse it",
        MAX_PIXELS / 1_000_000
    )]
    TooLarge { width: u32, height: u32 },
    /// It is not a whole image of a format crawlers show.
    #[error("{0}")]
    Broken(String),
}

impl DecodeError {
    fn broken(error: impl ToString) -> Self {
        Self::Broken(error.to_string())
    }
}

/// Refuses a declared size over [`MAX_PIXELS`].
fn within_limit(width: u32, height: u32) -> Result<(u32, u32), DecodeError> {
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(DecodeError::TooLarge { width, height });
    }
    Ok((width, height))
}

/// Reads the header's declared size, refuses it over [`MAX_PIXELS`], then decodes
/// `bytes` whole and returns its pixel size, or why it does not decode.
pub fn decode(format: Format, bytes: &[u8]) -> Result<(u32, u32), DecodeError> {
    match format {
        Format::Jpeg => {
            let mut decoder = jpeg_decoder::Decoder::new(bytes);
            decoder.set_max_decoding_buffer_size(MAX_DECODED_BYTES);
            decoder.read_info().map_err(DecodeError::broken)?;
            let info = decoder
                .info()
                .ok_or_else(|| DecodeError::broken("no frame header"))?;
            let size = within_limit(u32::from(info.width), u32::from(info.height))?;
            decoder.decode().map_err(DecodeError::broken)?;
            Ok(size)
        }
        Format::Png => {
            let limits = png::Limits {
                bytes: PNG_BUFFER_BYTES,
            };
            let mut decoder = png::Decoder::new_with_limits(std::io::Cursor::new(bytes), limits);
            let header = decoder.read_header_info().map_err(DecodeError::broken)?;
            within_limit(header.width, header.height)?;
            let mut reader = decoder.read_info().map_err(DecodeError::broken)?;
            let size = reader
                .output_buffer_size()
                .ok_or_else(|| DecodeError::broken("an image too large"))?;
            let mut pixels = vec![0; size];
            let frame = reader
                .next_frame(&mut pixels)
                .map_err(DecodeError::broken)?;
            Ok((frame.width, frame.height))
        }
        Format::Webp => {
            let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(bytes))
                .map_err(DecodeError::broken)?;
            let (width, height) = decoder.dimensions();
            within_limit(width, height)?;
            decoder.set_memory_limit(MAX_DECODED_BYTES);
            let size = decoder
                .output_buffer_size()
                .ok_or_else(|| DecodeError::broken("an image too large"))?;
            let mut pixels = vec![0; size];
            decoder
                .read_image(&mut pixels)
                .map_err(DecodeError::broken)?;
            Ok((width, height))
        }
        Format::Gif => Err(DecodeError::broken(
            "GIF is not checked here: crawlers show its first frame only",
        )),
        Format::Svg => Err(DecodeError::broken(
            "SVG is not shown by any of these crawlers",
        )),
        Format::Unknown => Err(DecodeError::broken("not an image format any crawler shows")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_by_property_or_name_and_counted() {
        let tags = Tags::parse(
            r#"<html><head>
            <meta property="og:image" content="https://img.example.com/a.jpg">
            <meta property="OG:Image" content="https://img.example.com/b.jpg">
            <meta name="twitter:card" content="summary_large_image">
            <meta property="og:title">
            </head></html>"#,
        );
        assert_eq!(tags.all("og:image").len(), 2);
        assert_eq!(tags.one("og:image"), None);
        assert_eq!(tags.one("twitter:card"), Some("summary_large_image"));
        assert_eq!(tags.one("og:title"), None);
    }

    #[test]
    fn the_canonical_link_and_the_title_are_read_as_a_browser_reads_them() {
        let tags = Tags::parse(
            "<html><head><title>\n  Deep   guide\n</title>\
             <link rel=\"stylesheet\" href=\"/a.css\">\
             <link rel=\"Alternate CANONICAL\" href=\" /guide/deep/ \">\
             <link rel=\"canonical\" href=\"/second\"></head></html>",
        );
        assert_eq!(tags.canonical(), Some("/guide/deep/"));
        assert_eq!(tags.title(), Some("Deep guide"));
        let titled = Tags::parse(r#"<title>Page</title><meta property="og:title" content="Card">"#);
        assert_eq!(
            titled.title(),
            Some("Card"),
            "og:title is what a share shows"
        );
        assert_eq!(Tags::parse("<p>no head</p>").title(), None);
        assert_eq!(Tags::parse("<p>no head</p>").canonical(), None);
    }

    #[test]
    fn formats_are_told_by_their_bytes() {
        assert_eq!(Format::of(&small(Format::Jpeg)), Format::Jpeg);
        assert_eq!(Format::of(b"\x89PNG\r\n\x1a\nrest"), Format::Png);
        assert_eq!(Format::of(b"RIFF\0\0\0\0WEBPVP8 "), Format::Webp);
        assert_eq!(Format::of(b"<?xml version=\"1.0\"?><svg>"), Format::Svg);
        assert_eq!(Format::of(b"<html>"), Format::Unknown);
    }

    #[test]
    fn a_cut_off_image_does_not_decode() {
        for format in [Format::Jpeg, Format::Png, Format::Webp] {
            let image = small(format);
            let cut = &image[..image.len() / 2];
            assert_eq!(Format::of(cut), format);
            assert!(
                matches!(decode(format, cut), Err(DecodeError::Broken(_))),
                "{format:?}"
            );
        }
    }

    const SMALL: (u32, u32) = (16, 8);

    /// A valid [`SMALL`] image of `format`, from a real encoder.
    fn small(format: Format) -> Vec<u8> {
        let (width, height) = SMALL;
        let rgb: Vec<u8> = (0..width * height * 3).map(|i| (i * 7) as u8).collect();
        let mut out = Vec::new();
        match format {
            Format::Jpeg => jpeg_encoder::Encoder::new(&mut out, 90)
                .encode(
                    &rgb,
                    width as u16,
                    height as u16,
                    jpeg_encoder::ColorType::Rgb,
                )
                .unwrap(),
            Format::Png => {
                let mut encoder = png::Encoder::new(&mut out, width, height);
                encoder.set_color(png::ColorType::Rgb);
                let mut writer = encoder.write_header().unwrap();
                writer.write_image_data(&rgb).unwrap();
                writer.finish().unwrap();
            }
            Format::Webp => {
                let mut encoder = image_webp::WebPEncoder::new(&mut out);
                // Metadata makes the encoder write the extended (VP8X) header, whose
                // canvas size is 24 bits a side.
                encoder.set_xmp_metadata(b"<x:xmpmeta/>".to_vec());
                encoder
                    .encode(&rgb, width, height, image_webp::ColorType::Rgb8)
                    .unwrap();
            }
            _ => unreachable!("no encoder for {format:?}"),
        }
        out
    }

    /// `image` with only its header's declared size changed: the JPEG frame header
    /// (SOF), the PNG IHDR (and its CRC), the WebP VP8X canvas.
    fn declaring(format: Format, mut image: Vec<u8>, width: u32, height: u32) -> Vec<u8> {
        match format {
            Format::Jpeg => {
                let mut at = 2;
                while !matches!(image[at + 1], 0xC0..=0xC2) {
                    at += 2 + usize::from(u16::from_be_bytes([image[at + 2], image[at + 3]]));
                }
                image[at + 5..at + 7].copy_from_slice(&(height as u16).to_be_bytes());
                image[at + 7..at + 9].copy_from_slice(&(width as u16).to_be_bytes());
            }
            Format::Png => {
                assert_eq!(&image[12..16], b"IHDR");
                image[16..20].copy_from_slice(&width.to_be_bytes());
                image[20..24].copy_from_slice(&height.to_be_bytes());
                let crc = crc32(&image[12..29]);
                image[29..33].copy_from_slice(&crc.to_be_bytes());
            }
            Format::Webp => {
                assert_eq!(&image[12..16], b"VP8X");
                image[24..27].copy_from_slice(&(width - 1).to_le_bytes()[..3]);
                image[27..30].copy_from_slice(&(height - 1).to_le_bytes()[..3]);
            }
            _ => unreachable!("no header to patch in {format:?}"),
        }
        image
    }

    /// CRC-32 (ISO-HDLC), as PNG chunks carry it.
    fn crc32(bytes: &[u8]) -> u32 {
        !bytes.iter().fold(!0, |crc, &byte| {
            (0..8).fold(crc ^ u32::from(byte), |crc, _| {
                (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg())
            })
        })
    }

    #[test]
    fn small_images_of_every_format_decode() {
        for format in [Format::Jpeg, Format::Png, Format::Webp] {
            let image = small(format);
            assert_eq!(Format::of(&image), format);
            assert_eq!(decode(format, &image), Ok(SMALL), "{format:?}");
            // The patching itself keeps an image whole: only the size is a lie.
            let same = declaring(format, image, SMALL.0, SMALL.1);
            assert_eq!(decode(format, &same), Ok(SMALL), "{format:?} patched");
        }
    }

    /// A header that declares 60000x60000 (3.6 G pixels) is refused on its word: were
    /// its pixel buffer allocated, the whole run would abort.
    #[test]
    fn a_header_declaring_a_huge_image_is_refused_before_decoding() {
        for format in [Format::Jpeg, Format::Png, Format::Webp] {
            let hostile = declaring(format, small(format), 60_000, 60_000);
            let started = std::time::Instant::now();
            let refused = decode(format, &hostile);
            assert!(
                started.elapsed() < std::time::Duration::from_secs(1),
                "{format:?}: refusing read more than the header"
            );
            assert_eq!(
                refused,
                Err(DecodeError::TooLarge {
                    width: 60_000,
                    height: 60_000
                }),
                "{format:?}"
            );
        }
        assert_eq!(
            DecodeError::TooLarge {
                width: 60_000,
                height: 60_000
            }
            .to_string(),
            "the image declares 60000×60000, over 100 megapixels; crawlers refuse it"
        );
    }

    #[test]
    fn the_limit_is_on_pixels_not_on_either_side() {
        assert_eq!(within_limit(10_000, 10_000), Ok((10_000, 10_000)));
        assert_eq!(within_limit(100_000_000, 1), Ok((100_000_000, 1)));
        assert!(within_limit(10_001, 10_000).is_err());
        assert!(within_limit(u32::MAX, u32::MAX).is_err());
    }
}
