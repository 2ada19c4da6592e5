//! What a page and an image are: the share tags a page declares, and the format, pixel
//! size and integrity of an image's bytes (never its Content-Type's word for it).

/// Every `<meta property|name=… content=…>` of a page, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<(String, String)>);

impl Tags {
    /// The tags of an HTML document. Keys are lower-cased, as crawlers compare them.
    pub fn parse(html: &str) -> Self {
        let document = scraper::Html::parse_document(html);
        let selector = scraper::Selector::parse("meta").expect("a valid selector");
        let tags = document
            .select(&selector)
            .filter_map(|meta| {
                let element = meta.value();
                let key = element.attr("property").or_else(|| element.attr("name"))?;
                let content = element.attr("content")?;
                Some((key.trim().to_ascii_lowercase(), content.to_owned()))
            })
            .collect();
        Self(tags)
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
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
        self.0
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

/// Decodes `bytes` whole and returns its pixel size, or why it does not decode.
pub fn decode(format: Format, bytes: &[u8]) -> Result<(u32, u32), String> {
    match format {
        Format::Jpeg => {
            let mut decoder = jpeg_decoder::Decoder::new(bytes);
            decoder.decode().map_err(|e| e.to_string())?;
            let info = decoder.info().ok_or("no frame header")?;
            Ok((u32::from(info.width), u32::from(info.height)))
        }
        Format::Png => {
            let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
                .read_info()
                .map_err(|e| e.to_string())?;
            let mut pixels = vec![0; reader.output_buffer_size().ok_or("an image too large")?];
            let frame = reader.next_frame(&mut pixels).map_err(|e| e.to_string())?;
            Ok((frame.width, frame.height))
        }
        Format::Webp => {
            let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(bytes))
                .map_err(|e| e.to_string())?;
            let (width, height) = decoder.dimensions();
            let size = decoder.output_buffer_size().ok_or("an image too large")?;
            let mut pixels = vec![0; size];
            decoder.read_image(&mut pixels).map_err(|e| e.to_string())?;
            Ok((width, height))
        }
        Format::Gif => Err("GIF is not checked here: crawlers show its first frame only".into()),
        Format::Svg => Err("SVG is not shown by any of these crawlers".into()),
        Format::Unknown => Err("not an image format any crawler shows".into()),
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
    fn formats_are_told_by_their_bytes() {
        assert_eq!(Format::of(crate::DEFAULT_IMAGE), Format::Jpeg);
        assert_eq!(Format::of(b"\x89PNG\r\n\x1a\nrest"), Format::Png);
        assert_eq!(Format::of(b"RIFF\0\0\0\0WEBPVP8 "), Format::Webp);
        assert_eq!(Format::of(b"<?xml version=\"1.0\"?><svg>"), Format::Svg);
        assert_eq!(Format::of(b"<html>"), Format::Unknown);
        assert_eq!(
            decode(Format::Jpeg, crate::DEFAULT_IMAGE),
            Ok((shared_ids::IMAGE_WIDTH_PX, shared_ids::IMAGE_HEIGHT_PX))
        );
        assert!(decode(Format::Jpeg, &crate::DEFAULT_IMAGE[..5_000]).is_err());
    }
}
