//! Image paths and URLs: built from a design token and a parsed id, and parsed back
//! from the raw request path in exactly one spelling per card.

use std::fmt;

use crate::{CURRENT_DESIGN, DesignToken, SocialId};

/// Path of the image served for anything that is not a card.
pub const DEFAULT_IMAGE_PATH: &str = "/default.jpg";

/// Longest path that can name a card: `/` + 16-byte token + `/` + 8-byte id + `.jpg`.
/// Anything longer is rejected before any other work.
const MAX_CARD_PATH_LEN: usize = 1 + 16 + 1 + 8 + 4;

/// The storage- and URL-path of a card: `/<design>/<id>.jpg`.
pub fn card_path(design: DesignToken, id: SocialId) -> String {
    format!("/{design}/{id}.jpg")
}

/// What a raw request path names. Matching is exact on the raw path (before any
/// percent-decoding or dot-segment removal): `%31%32-34-10`, `/./`, `//`, `.JPG` or
/// `.jpeg` are not aliases of a card, because every alias would be one more cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagePath {
    /// `/<design>/<id>.jpg` with an honoured design token and a canonical id.
    Card { design: DesignToken, id: SocialId },
    /// Exactly [`DEFAULT_IMAGE_PATH`].
    Default,
    /// Anything else.
    Other,
}

impl ImagePath {
    /// Classifies a raw request path (without query string).
    pub fn parse(raw_path: &str) -> Self {
        Self::parse_honouring(raw_path, &[])
    }

    /// Like [`ImagePath::parse`], also honouring `also` as earlier designs.
    pub fn parse_honouring(raw_path: &str, also: &[DesignToken]) -> Self {
        if raw_path == DEFAULT_IMAGE_PATH {
            return Self::Default;
        }
        if raw_path.len() > MAX_CARD_PATH_LEN {
            return Self::Other;
        }
        let card = raw_path
            .strip_prefix('/')
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(design, file)| {
                let id = file.strip_suffix(".jpg")?;
                Some(Self::Card {
                    design: DesignToken::honoured_with(design, also)?,
                    id: SocialId::parse(id).ok()?,
                })
            });
        card.unwrap_or(Self::Other)
    }
}

/// A validated public base URL: the image service's (`https://img.example.com`) or a
/// site's own (`https://www.example.com`).
///
/// Absolute `http`/`https` only, with a host, no credentials, no query and no
/// fragment: anything else would let a configuration mistake produce URLs crawlers
/// cannot fetch. A trailing `/` is dropped so paths join cleanly.
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    base: String,
    origin: String,
    https: bool,
}

/// Why a configured base URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaseUrlError {
    #[error("not an absolute URL: {0}")]
    NotAbsolute(String),
    #[error("the scheme must be http or https")]
    Scheme,
    #[error("the URL needs a host")]
    NoHost,
    #[error("the URL must not carry a user name or password")]
    Credentials,
    #[error("the URL must not have a query string")]
    Query,
    #[error("the URL must not have a fragment")]
    Fragment,
}

impl BaseUrl {
    /// Validates a base URL (see the type's documentation for the rules).
    pub fn parse(raw: &str) -> Result<Self, BaseUrlError> {
        let url = url::Url::parse(raw).map_err(|e| BaseUrlError::NotAbsolute(e.to_string()))?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(BaseUrlError::Scheme),
        };
        if url.host_str().is_none_or(str::is_empty) {
            return Err(BaseUrlError::NoHost);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(BaseUrlError::Credentials);
        }
        if url.query().is_some() {
            return Err(BaseUrlError::Query);
        }
        if url.fragment().is_some() {
            return Err(BaseUrlError::Fragment);
        }
        Ok(Self {
            base: url.as_str().trim_end_matches('/').to_owned(),
            origin: url.origin().ascii_serialization(),
            https,
        })
    }

    /// The URL of `id`'s card in the current design.
    pub fn card_url(&self, id: SocialId) -> String {
        format!("{}{}", self.base, card_path(CURRENT_DESIGN, id))
    }

    /// The URL of the default image.
    pub fn default_image_url(&self) -> String {
        format!("{}{DEFAULT_IMAGE_PATH}", self.base)
    }

    /// The card URL for a valid id, the default image URL otherwise.
    pub fn image_url(&self, id: Option<SocialId>) -> String {
        id.map_or_else(|| self.default_image_url(), |id| self.card_url(id))
    }

    /// The scheme, host and port, e.g. for a Content-Security-Policy source.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether images are served over https.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The base without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({})", self.base)
    }
}

impl std::str::FromStr for BaseUrl {
    type Err = BaseUrlError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(raw: &str) -> SocialId {
        SocialId::parse(raw).unwrap()
    }

    #[test]
    fn card_urls_join_base_design_and_id() {
        let base = BaseUrl::parse("http://127.0.0.1:3001").unwrap();
        assert_eq!(
            base.card_url(id("12-34-10")),
            format!("http://127.0.0.1:3001/{CURRENT_DESIGN}/12-34-10.jpg")
        );
        assert_eq!(
            base.default_image_url(),
            "http://127.0.0.1:3001/default.jpg"
        );
        let with_path = BaseUrl::parse("https://cdn.example.com/og/").unwrap();
        assert_eq!(
            with_path.card_url(id("00-00-00")),
            format!("https://cdn.example.com/og/{CURRENT_DESIGN}/00-00-00.jpg")
        );
        assert_eq!(with_path.origin(), "https://cdn.example.com");
        assert!(with_path.is_https());
    }

    #[test]
    fn bases_that_crawlers_could_not_use_are_refused() {
        for bad in [
            "",
            "img.example.com",
            "/relative",
            "ftp://img.example.com",
            "javascript:alert(1)",
            "https://user:pw@img.example.com",
            "https://img.example.com/?a=b",
            "https://img.example.com/?",
            "https://img.example.com/#x",
            "file:///etc/passwd",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn image_paths_match_the_raw_path_exactly() {
        let d = CURRENT_DESIGN.as_str();
        assert_eq!(
            ImagePath::parse(&format!("/{d}/12-34-10.jpg")),
            ImagePath::Card {
                design: CURRENT_DESIGN,
                id: id("12-34-10")
            }
        );
        assert_eq!(ImagePath::parse("/default.jpg"), ImagePath::Default);
        // `{d}` is the current design token and `{next}` the token a bump would issue
        // next: none of these, nor a token that can never be issued, may name a card,
        // whatever the current design is.
        for other in [
            "/",
            "",
            "/{d}/12-34-10.JPG",
            "/{d}/12-34-10.jpeg",
            "/{d}/12-34-10.jpg/",
            "/{d}/12-34-10.jpgx",
            "/{d}//12-34-10.jpg",
            "//{d}/12-34-10.jpg",
            "/./{d}/12-34-10.jpg",
            "/{d}/./12-34-10.jpg",
            "/{d}/%31%32-34-10.jpg",
            "/{d}/12-34-10%2Ejpg",
            "/{next}/12-34-10.jpg",
            "/{d}/12-34-1.jpg",
            "/{d}/１２-34-10.jpg",
            "/{d}/12-34-10.jpg\n",
            "/default.jpg/",
            "/Default.jpg",
            "/{d}/12-34-10",
        ]
        .map(|p| {
            p.replace("{d}", d)
                .replace("{next}", &crate::design::next_token())
        })
        .into_iter()
        .chain(crate::design::never_issued().map(|t| format!("/{t}/12-34-10.jpg")))
        {
            assert_eq!(ImagePath::parse(&other), ImagePath::Other, "{other:?}");
        }
        assert_eq!(
            ImagePath::parse(&format!("/{d}/").repeat(10_000)),
            ImagePath::Other
        );
    }

    #[test]
    fn card_path_round_trips_through_parse() {
        let path = card_path(CURRENT_DESIGN, id("99-00-42"));
        assert_eq!(
            ImagePath::parse(&path),
            ImagePath::Card {
                design: CURRENT_DESIGN,
                id: id("99-00-42")
            }
        );
    }
}
