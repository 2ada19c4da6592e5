//! The share id in a share URL's query string, found without decoding it.
//!
//! It hands out a parsed `SocialId` or nothing; the raw value never leaves this module.

use shared_ids::SocialId;

/// The name of the query parameter that carries the share id.
pub const SOCIAL_PARAM: &str = "social";

/// Finds the share id in a raw query string.
///
/// The value is matched as it arrived, without percent- or `+`-decoding: a canonical
/// id never needs encoding, so `%31%32-34-10` is a second spelling, not the same id.
/// Exactly one `social` parameter must be present; repeating it (parameter pollution)
/// yields no id, whatever the values.
pub fn social_id_from_query(raw_query: Option<&str>) -> Option<SocialId> {
    let mut values = social_values(raw_query?);
    let only = values.next()?;
    if values.next().is_some() {
        return None;
    }
    SocialId::parse(only).ok()
}

/// Whether the query carries a `social` parameter at all, an id or not.
pub fn has_social_param(raw_query: Option<&str>) -> bool {
    raw_query.is_some_and(|query| social_values(query).next().is_some())
}

/// The raw value of every `social` parameter (a bare `social` has the empty value).
fn social_values(raw_query: &str) -> impl Iterator<Item = &str> {
    raw_query
        .split('&')
        .filter_map(|pair| match pair.split_once('=') {
            Some((key, value)) if key == SOCIAL_PARAM => Some(value),
            None if pair == SOCIAL_PARAM => Some(""),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_raw_canonical_social_parameter_is_an_id() {
        let id = SocialId::parse("12-34-10").ok();
        assert_eq!(social_id_from_query(Some("social=12-34-10")), id);
        assert_eq!(social_id_from_query(Some("a=1&social=12-34-10&b=2")), id);
        assert_eq!(social_id_from_query(Some("Social=x&social=12-34-10")), id);
        for no_id in [
            None,
            Some(""),
            Some("social"),
            Some("social="),
            Some("social=12-34-10&social=12-34-10"),
            Some("social=12-34-10&social=<x>"),
            Some("social=%31%32-34-10"),
            Some("social=12-34-10%0A"),
            Some("social=+12-34-10"),
            Some("soc%69al=12-34-10"),
            Some("social=12-34-10;x=1"),
        ] {
            assert_eq!(social_id_from_query(no_id), None, "{no_id:?}");
        }
    }
}
