//! [`SocialId`]: a share id, `DD-DD-DD`, parsed once, in linear time, with no second
//! spelling.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;

/// The canonical spelling is exactly eight bytes: `DD-DD-DD`.
const ID_LEN: usize = 8;

// `[0-9]`, never `\d`: the regex crate's `\d` is Unicode-aware and would accept
// Arabic-Indic or full-width digits, i.e. second spellings of an id.
static ID_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\A([0-9]{2})-([0-9]{2})-([0-9]{2})\z").expect("the id pattern is valid")
});

/// A share id such as `12-34-10`: three two-digit numbers.
///
/// The only way to get one is [`SocialId::parse`] (or `FromStr`, `TryFrom<&str>`,
/// serde), so holding a `SocialId` proves the text was canonical.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocialId {
    parts: [u8; 3],
}

/// Why a string is not a [`SocialId`]. Deliberately carries none of the input, so an
/// error can be logged or shown without echoing attacker-controlled text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseSocialIdError {
    #[error("a share id is exactly 8 bytes long (DD-DD-DD)")]
    Length,
    #[error("a share id is three pairs of ASCII digits joined by '-' (DD-DD-DD)")]
    Format,
}

impl SocialId {
    /// Parses the exact canonical spelling `DD-DD-DD` (ASCII digits only).
    ///
    /// The length is checked before the regex runs, so hostile megabyte inputs cost
    /// one comparison; the regex crate itself is linear-time.
    pub fn parse(raw: &str) -> Result<Self, ParseSocialIdError> {
        if raw.len() != ID_LEN {
            return Err(ParseSocialIdError::Length);
        }
        let captures = ID_PATTERN.captures(raw).ok_or(ParseSocialIdError::Format)?;
        let part = |i: usize| -> u8 {
            captures[i]
                .parse()
                .expect("two ASCII digits always fit in a u8")
        };
        Ok(Self {
            parts: [part(1), part(2), part(3)],
        })
    }

    /// The three numbers of the id, in order (each 0..=99).
    pub fn parts(&self) -> [u8; 3] {
        self.parts
    }
}

impl fmt::Display for SocialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c] = self.parts;
        write!(f, "{a:02}-{b:02}-{c:02}")
    }
}

impl fmt::Debug for SocialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SocialId({self})")
    }
}

impl FromStr for SocialId {
    type Err = ParseSocialIdError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

impl TryFrom<&str> for SocialId {
    type Error = ParseSocialIdError;

    fn try_from(raw: &str) -> Result<Self, Self::Error> {
        Self::parse(raw)
    }
}

impl serde::Serialize for SocialId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SocialId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(serde::Deserialize)]
    struct Vectors {
        valid: Vec<String>,
        invalid: Vec<InvalidCase>,
    }

    #[derive(serde::Deserialize)]
    struct InvalidCase {
        input: String,
        why: String,
    }

    fn vectors() -> Vectors {
        serde_json::from_str(include_str!("../testdata/social-ids.json"))
            .expect("testdata/social-ids.json is valid")
    }

    #[test]
    fn every_valid_vector_parses_and_displays_unchanged() {
        let v = vectors();
        assert!(v.valid.len() >= 20, "keep a broad set of valid ids");
        for raw in &v.valid {
            let id = SocialId::parse(raw).unwrap_or_else(|e| panic!("{raw:?} should parse: {e}"));
            assert_eq!(id.to_string(), *raw);
        }
    }

    #[test]
    fn every_invalid_vector_is_rejected() {
        let v = vectors();
        assert!(
            v.valid.len() + v.invalid.len() >= 80,
            "the vectors file needs at least 80 cases"
        );
        for case in &v.invalid {
            assert!(
                SocialId::parse(&case.input).is_err(),
                "{:?} ({}) must be rejected",
                case.input,
                case.why
            );
        }
    }

    #[test]
    fn parts_are_the_three_numbers() {
        let id = SocialId::parse("07-34-99").unwrap();
        assert_eq!(id.parts(), [7, 34, 99]);
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let id: SocialId = serde_json::from_str("\"12-34-10\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"12-34-10\"");
        assert!(serde_json::from_str::<SocialId>("\"12-34-1\"").is_err());
        assert!(serde_json::from_str::<SocialId>("\"１２-34-10\"").is_err());
    }

    #[test]
    fn errors_never_echo_the_input() {
        let hostile = "<script>x</script>";
        let message = SocialId::parse(hostile).unwrap_err().to_string();
        assert!(!message.contains("script"));
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(raw in any::<String>()) {
            let _ = SocialId::parse(&raw);
        }

        #[test]
        fn parsing_near_ids_never_panics(raw in "[0-9\\-]{0,12}") {
            if let Ok(id) = SocialId::parse(&raw) {
                prop_assert_eq!(id.to_string(), raw);
            }
        }

        #[test]
        fn display_then_parse_is_identity(a in 0u8..100, b in 0u8..100, c in 0u8..100) {
            let text = format!("{a:02}-{b:02}-{c:02}");
            let id = SocialId::parse(&text).unwrap();
            prop_assert_eq!(SocialId::parse(&id.to_string()).unwrap(), id);
            prop_assert_eq!(id.to_string(), text);
        }
    }
}
