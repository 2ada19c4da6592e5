//! Design tokens: the first segment of every image path, issued as `v1`, `v2`, ….

use std::fmt;

/// A card design token, the first segment of every image path.
///
/// Crawlers cache an image URL for weeks and never refetch it, so a new card design
/// must produce new URLs: `scripts/new-design` issues the next token whenever anything
/// that changes a card changes (a render-site test enforces this). Tokens are issued as
/// `v1`, `v2`, …: `v` and a number without leading zeros, at most 16 bytes in all. A
/// string of any other shape can never be issued, so it is unknown forever.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DesignToken(&'static str);

/// The design every newly built image URL uses.
pub const CURRENT_DESIGN: DesignToken = DesignToken("v3");

/// Earlier designs whose URLs are still honoured: crawlers that cached them get the
/// current design's card (stored under the current key) rather than the default image.
pub const EARLIER_DESIGNS: &[DesignToken] = &[DesignToken("v2"), DesignToken("v1")];

/// Why a configured design token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a design token: tokens are issued as v1, v2, ... (at most 16 bytes)")]
pub struct NotADesignToken(pub String);

impl DesignToken {
    /// The token as it appears in paths.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// Looks `raw` up among the current and the compiled-in earlier tokens; exact match.
    pub fn honoured(raw: &str) -> Option<Self> {
        Self::honoured_with(raw, &[])
    }

    /// Like [`DesignToken::honoured`], also honouring `also` (tokens from configuration)
    /// as earlier designs.
    pub fn honoured_with(raw: &str, also: &[DesignToken]) -> Option<Self> {
        issued_tokens()
            .chain(also.iter().copied())
            .find(|token| token.0 == raw)
    }

    /// A token from configuration, e.g. the tokens of a deploy that was rolled back, whose
    /// URLs crawlers may already hold. Only issuable shapes are accepted.
    pub fn configured(raw: &str) -> Result<Self, NotADesignToken> {
        if let Some(known) = Self::honoured(raw) {
            return Ok(known);
        }
        if !is_issuable(raw) {
            return Err(NotADesignToken(raw.to_owned()));
        }
        // Configuration is read once per process: a handful of bytes, kept for its life.
        Ok(Self(Box::leak(raw.to_owned().into_boxed_str())))
    }

    /// Whether this is the design new images are rendered with.
    pub fn is_current(self) -> bool {
        self == CURRENT_DESIGN
    }

    fn number(self) -> u64 {
        self.0[1..].parse().expect("issued tokens are v<number>")
    }
}

/// Whether `raw` has the shape of an issued token: `v`, then a number without leading
/// zeros, at most 16 bytes in all.
pub fn is_issuable(raw: &str) -> bool {
    raw.len() <= 16
        && raw.strip_prefix('v').is_some_and(|n| {
            !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())
        })
}

/// The token a design bump issues next: one past the highest ever issued. Until then no
/// path with it names a card.
pub fn next_token() -> String {
    let highest = issued_tokens().map(DesignToken::number).max().unwrap_or(0);
    format!("v{}", highest + 1)
}

/// Tokens shaped almost like issued ones that can never be issued: zero, the current
/// token with a leading zero, in capitals, and with a letter after it. Tests of "unknown
/// design" use these (and [`next_token`]), so they stay unknown whatever is current.
pub fn never_issued() -> [String; 4] {
    let current = CURRENT_DESIGN.as_str();
    [
        "v0".to_owned(),
        format!("v0{}", &current[1..]),
        current.to_uppercase(),
        format!("{current}a"),
    ]
}

fn issued_tokens() -> impl Iterator<Item = DesignToken> {
    std::iter::once(CURRENT_DESIGN).chain(EARLIER_DESIGNS.iter().copied())
}

impl fmt::Display for DesignToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for DesignToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DesignToken({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_is_issuable_and_unique() {
        let all: Vec<_> = issued_tokens().collect();
        for token in &all {
            assert!(is_issuable(token.as_str()), "{token:?} is not v<number>");
        }
        let mut numbers: Vec<_> = all.iter().map(|t| t.number()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), all.len(), "design tokens must be unique");
    }

    #[test]
    fn honoured_matches_exactly() {
        let current = CURRENT_DESIGN.as_str();
        assert_eq!(DesignToken::honoured(current), Some(CURRENT_DESIGN));
        assert_eq!(DesignToken::honoured(&current.to_uppercase()), None);
        assert_eq!(DesignToken::honoured(&format!("{current} ")), None);
        assert_eq!(DesignToken::honoured(""), None);
        assert_eq!(DesignToken::honoured(&next_token()), None);
    }

    #[test]
    fn only_issuable_shapes_are_tokens() {
        for good in ["v1", "v2", "v10", "v999999999999999"] {
            assert!(is_issuable(good), "{good}");
        }
        for bad in [
            "",
            "v",
            "v0",
            "v01",
            "V1",
            "1",
            "v1a",
            "v1.0",
            "v-1",
            "v 1",
            "current",
            "v9999999999999999",
        ] {
            assert!(!is_issuable(bad), "{bad}");
            assert!(DesignToken::configured(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn never_issued_tokens_are_never_issuable_nor_honoured() {
        for token in never_issued() {
            assert!(!is_issuable(&token), "{token}");
            assert_eq!(DesignToken::honoured(&token), None, "{token}");
        }
    }

    #[test]
    fn a_configured_token_is_honoured_only_where_it_is_given() {
        let next = next_token();
        assert!(is_issuable(&next));
        let configured = DesignToken::configured(&next).expect("issuable");
        assert!(!configured.is_current());
        assert_eq!(DesignToken::honoured(&next), None);
        assert_eq!(
            DesignToken::honoured_with(&next, &[configured]),
            Some(configured)
        );
        assert_eq!(
            DesignToken::configured(CURRENT_DESIGN.as_str()),
            Ok(CURRENT_DESIGN)
        );
    }
}
