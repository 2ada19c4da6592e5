use std::fmt;

/// A card design token: a short `[a-z0-9]{1,16}` name that appears in every image path.
///
/// Crawlers cache an image URL for weeks and never refetch it, so a new card design
/// must produce new URLs: bump [`CURRENT_DESIGN`] whenever the card's markup or styles
/// change (a render-site test enforces this).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DesignToken(&'static str);

/// The design every newly built image URL uses.
pub const CURRENT_DESIGN: DesignToken = DesignToken("v1");

/// Earlier designs whose URLs are still honoured: crawlers that cached them get the
/// current design's card (stored under the current key) rather than the default image.
pub const EARLIER_DESIGNS: &[DesignToken] = &[];

/// A stand-in earlier design for the end-to-end suite, which must show that an earlier
/// design's URLs get the current card while no real design has been retired yet.
/// Honoured only with the `test-earlier-design` feature, which only the e2e package's
/// dev-dependency turns on; nothing that ships honours it.
pub const TEST_EARLIER_DESIGN: DesignToken = DesignToken("v0e2e");

const TEST_DESIGNS: &[DesignToken] = if cfg!(feature = "test-earlier-design") {
    &[TEST_EARLIER_DESIGN]
} else {
    &[]
};

impl DesignToken {
    /// The token as it appears in paths.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// Looks `raw` up among the current and honoured earlier tokens; exact match only.
    pub fn honoured(raw: &str) -> Option<Self> {
        std::iter::once(CURRENT_DESIGN)
            .chain(EARLIER_DESIGNS.iter().copied())
            .chain(TEST_DESIGNS.iter().copied())
            .find(|token| token.0 == raw)
    }

    /// Whether this is the design new images are rendered with.
    pub fn is_current(self) -> bool {
        self == CURRENT_DESIGN
    }
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

    fn well_formed(token: &str) -> bool {
        (1..=16).contains(&token.len())
            && token
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }

    #[test]
    fn every_token_is_short_lowercase_ascii_and_unique() {
        let all: Vec<_> = std::iter::once(CURRENT_DESIGN)
            .chain(EARLIER_DESIGNS.iter().copied())
            .collect();
        for token in &all {
            assert!(
                well_formed(token.as_str()),
                "{token:?} is not [a-z0-9]{{1,16}}"
            );
        }
        let mut names: Vec<_> = all.iter().map(|t| t.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "design tokens must be unique");
    }

    #[test]
    fn honoured_matches_exactly() {
        assert_eq!(DesignToken::honoured("v1"), Some(CURRENT_DESIGN));
        assert_eq!(DesignToken::honoured("V1"), None);
        assert_eq!(DesignToken::honoured("v1 "), None);
        assert_eq!(DesignToken::honoured(""), None);
    }
}
