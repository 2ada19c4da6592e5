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
/// so that no page the layer should rewrite arrives in a coding it cannot read, and no
/// answer that goes through untouched arrives in one the client refused.
///
/// The client's field is read as RFC 9110 12.5.3 says: `q=0` refuses a coding, `*`
/// stands for every coding it does not name, and identity is acceptable unless refused
/// by name or by `*;q=0`. A client that sent the field never leaves the origin without
/// one, which would let it pick any coding: when no decoded coding is acceptable the
/// origin gets `identity`, and a refused identity is passed on as `identity;q=0`. A
/// request without the field is left without it: the client takes any coding, and the
/// origin answers it as it would answer the client directly.
pub fn limit_accept_encoding(headers: &mut HeaderMap) {
    if !headers.contains_key(header::ACCEPT_ENCODING) {
        return;
    }
    let weights = AcceptedCodings::read(headers);
    let mut offered: Vec<&str> = DECODED_CODINGS
        .iter()
        .copied()
        .filter(|coding| weights.accepts(coding))
        .collect();
    if !weights.accepts("identity") {
        offered.push("identity;q=0");
    } else if offered.is_empty() {
        offered.push("identity");
    }
    let value = HeaderValue::from_str(&offered.join(", "))
        .expect("coding names and weights are header-safe");
    headers.insert(header::ACCEPT_ENCODING, value);
}

/// A client's `Accept-Encoding`: each coding it names with the weight it gives it.
struct AcceptedCodings(Vec<(String, f32)>);

impl AcceptedCodings {
    fn read(headers: &HeaderMap) -> Self {
        let named = headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|item| {
                let mut params = item.split(';');
                let coding = params.next()?.trim().to_ascii_lowercase();
                if coding.is_empty() {
                    return None;
                }
                // RFC 9110 8.4.1.3: `x-gzip` is gzip.
                let coding = if coding == "x-gzip" {
                    "gzip".to_owned()
                } else {
                    coding
                };
                let weight = params
                    .filter_map(|param| {
                        let (name, value) = param.split_once('=')?;
                        name.trim().eq_ignore_ascii_case("q").then(|| value.trim())
                    })
                    .next()
                    .map_or(Some(1.0), qvalue)?;
                Some((coding, weight))
            })
            .collect();
        Self(named)
    }

    /// Whether the client takes `coding` (lowercase): named with a weight above zero,
    /// else not named and `*` is, with one; identity also when neither is named.
    fn accepts(&self, coding: &str) -> bool {
        let weight_of = |wanted: &str| {
            self.0
                .iter()
                .filter(|(named, _)| named == wanted)
                .map(|&(_, weight)| weight)
                .reduce(f32::max)
        };
        match weight_of(coding).or_else(|| weight_of("*")) {
            Some(weight) => weight > 0.0,
            None => coding == "identity",
        }
    }
}

/// A weight (RFC 9110 12.4.2) between 0 and 1; `None` for anything else, which drops the
/// coding it is given to rather than guess.
fn qvalue(text: &str) -> Option<f32> {
    let looks_like_one = text
        .bytes()
        .all(|byte| byte.is_ascii_digit() || byte == b'.');
    let weight: f32 = text.parse().ok().filter(|_| looks_like_one)?;
    (0.0..=1.0).contains(&weight).then_some(weight)
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
        Coding::Gzip => {
            let mut decoder = GzipDecoder::new(reader);
            // A gzip body may be several members one after another (RFC 1952 2.2, as
            // `cat a.gz b.gz` makes); by default the decoder stops after the first and
            // the page would go out cut.
            decoder.multiple_members(true);
            decoder_stream(decoder)
        }
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

    /// What the origin is asked for, given what the client sent (`None`: no field).
    fn offered(accept: Option<&str>) -> Option<String> {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(accept).unwrap(),
            );
        }
        limit_accept_encoding(&mut headers);
        headers
            .get(header::ACCEPT_ENCODING)
            .map(|value| value.to_str().unwrap().to_owned())
    }

    #[test]
    fn the_origin_is_asked_only_for_codings_the_layer_decodes() {
        assert_eq!(
            offered(Some("gzip, deflate, br, zstd")).as_deref(),
            Some("gzip, br")
        );
        assert_eq!(offered(Some("br;q=0, GZIP;q=0.5")).as_deref(), Some("gzip"));
        assert_eq!(offered(Some("x-gzip")).as_deref(), Some("gzip"));
        assert_eq!(offered(Some("*")).as_deref(), Some("gzip, br"));
        assert_eq!(offered(Some("br;q=0, *")).as_deref(), Some("gzip"));
        assert_eq!(offered(None), None, "no field: the origin chooses");
    }

    /// `gzip;q=0` once left the origin no field at all, which per RFC 9110 12.5.3 lets
    /// it send gzip to a client that refused it.
    #[test]
    fn a_coding_refused_with_q_0_is_never_offered_and_the_field_stays() {
        for refused in [
            "gzip;q=0",
            "gzip; Q=0.000",
            "gzip;q=0, br;q=0",
            "zstd",
            "",
            "*;q=0, identity",
            "gzip;q=2",
            "gzip;q=nan",
        ] {
            assert_eq!(
                offered(Some(refused)).as_deref(),
                Some("identity"),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn a_refused_identity_stays_refused() {
        assert_eq!(
            offered(Some("identity;q=0")).as_deref(),
            Some("identity;q=0")
        );
        assert_eq!(offered(Some("*;q=0")).as_deref(), Some("identity;q=0"));
        assert_eq!(
            offered(Some("gzip, *;q=0")).as_deref(),
            Some("gzip, identity;q=0")
        );
        assert_eq!(
            offered(Some("br, identity;q=0")).as_deref(),
            Some("br, identity;q=0")
        );
        assert_eq!(
            offered(Some("gzip, *;q=0, identity;q=0.1")).as_deref(),
            Some("gzip")
        );
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
