//! Content codings, both ways: which codings an upstream may send a page in (asked for in
//! its `Accept-Encoding`), and the streaming decoders of those the layer reads before it
//! rewrites a page. Pages the layer does not rewrite go out still coded.

use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use http::header::{self, HeaderMap, HeaderValue};
use http_body::Body;
use http_body_util::BodyDataStream;

use crate::outcome::PassReason;
use crate::response::BoxError;

/// The content codings a share's page is asked for in, for an upstream's
/// `Accept-Encoding`: those the layer decodes and an origin commonly sends.
pub const DECODED_CODINGS: &[&str] = &["gzip", "br"];

/// A content coding the layer decodes before rewriting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Deflate,
    Brotli,
}

/// The coding a page comes in (`None`: as it is), or why it cannot be read.
pub(crate) fn coding_of(headers: &HeaderMap) -> Result<Option<Coding>, PassReason> {
    let codings: Vec<&str> = headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"))
        .collect();
    match codings.as_slice() {
        [] => Ok(None),
        [one] if one.eq_ignore_ascii_case("gzip") || one.eq_ignore_ascii_case("x-gzip") => {
            Ok(Some(Coding::Gzip))
        }
        [one] if one.eq_ignore_ascii_case("deflate") => Ok(Some(Coding::Deflate)),
        [one] if one.eq_ignore_ascii_case("br") => Ok(Some(Coding::Brotli)),
        _ => Err(PassReason::ContentEncoding),
    }
}

/// Narrows a request's `Accept-Encoding` to the [`DECODED_CODINGS`] the client accepts,
/// so that no page the layer should rewrite arrives in a coding it cannot read.
pub fn limit_accept_encoding(headers: &mut HeaderMap) {
    let accepted: Vec<&str> = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| {
            let mut params = item.split(';');
            let coding = params.next()?.trim();
            let refused = params.any(|param| {
                param
                    .trim()
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            let decoded = DECODED_CODINGS
                .iter()
                .find(|known| known.eq_ignore_ascii_case(coding));
            decoded.filter(|_| !refused).copied()
        })
        .collect();
    headers.remove(header::ACCEPT_ENCODING);
    if let Ok(value) = HeaderValue::from_str(&accepted.join(", "))
        && !accepted.is_empty()
    {
        headers.insert(header::ACCEPT_ENCODING, value);
    }
}

/// A page's bytes as they stream, decoded.
pub(crate) type Decoded = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;

pub(crate) fn decoded<B>(body: B, coding: Option<Coding>) -> Decoded
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder};
    use tokio_util::io::StreamReader;

    let raw = BodyDataStream::new(body).map_err(Into::<BoxError>::into);
    let Some(coding) = coding else {
        return raw.boxed();
    };
    let reader = StreamReader::new(raw.map_err(std::io::Error::other));
    match coding {
        Coding::Gzip => decoder_stream(GzipDecoder::new(reader)),
        Coding::Deflate => decoder_stream(ZlibDecoder::new(reader)),
        Coding::Brotli => decoder_stream(BrotliDecoder::new(reader)),
    }
}

fn decoder_stream(decoder: impl tokio::io::AsyncRead + Send + 'static) -> Decoded {
    tokio_util::io::ReaderStream::new(decoder)
        .map_err(BoxError::from)
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_asked_only_for_codings_the_layer_decodes() {
        let limited = |accept: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(accept).unwrap(),
            );
            limit_accept_encoding(&mut headers);
            headers
                .get(header::ACCEPT_ENCODING)
                .map(|value| value.to_str().unwrap().to_owned())
        };
        assert_eq!(
            limited("gzip, deflate, br, zstd").as_deref(),
            Some("gzip, br")
        );
        assert_eq!(limited("br;q=0, GZIP;q=0.5").as_deref(), Some("gzip"));
        assert_eq!(limited("zstd"), None);
    }

    #[test]
    fn one_known_coding_is_read_and_anything_else_passes() {
        let coding = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(
                    header::CONTENT_ENCODING,
                    HeaderValue::from_str(value).unwrap(),
                );
            }
            coding_of(&headers)
        };
        assert_eq!(coding(&[]), Ok(None));
        assert_eq!(coding(&["identity"]), Ok(None));
        assert_eq!(coding(&["X-GZIP"]), Ok(Some(Coding::Gzip)));
        assert_eq!(coding(&["deflate"]), Ok(Some(Coding::Deflate)));
        assert_eq!(coding(&["br"]), Ok(Some(Coding::Brotli)));
        assert_eq!(coding(&["zstd"]), Err(PassReason::ContentEncoding));
        assert_eq!(coding(&["gzip", "br"]), Err(PassReason::ContentEncoding));
    }
}
