//! The one table from "what kind of image is this response" to its caching headers.
//!
//! Crawlers cache what they fetch, often for weeks, and never ask again; CloudFront
//! caches by the same headers. A wrong lifetime is therefore not a performance bug but a
//! correctness bug that outlives the deploy that fixes it, which is why every response's
//! lifetime is decided here and nowhere else.

/// Response header naming the row of the table a response came from, so operators and
/// tests can tell a card from a fallback without decoding the image.
pub const CACHE_STATUS_HEADER: &str = "x-ogshot-cache";

/// What an image response is, and so how long anyone may keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CachePolicy {
    /// A card, rendered now or read from storage, served under `<design>/<id>.jpg`.
    ///
    /// The bytes behind a card URL never change: a new design gets a new design token
    /// and so new URLs. The URL may therefore be cached for the conventional maximum of
    /// one year, and `immutable` spares browsers a revalidation on reload. This is also
    /// the Cache-Control stored with the object, so S3 hits carry it too.
    Card,
    /// The default image, for a path that names no card.
    ///
    /// A day lets CloudFront absorb scanners and junk paths without waking the function,
    /// yet a redesigned default image, or a path that a newly honoured design token
    /// turns into a card, is picked up within a day.
    Default,
    /// The default image in place of a card whose render failed. Never stored.
    ///
    /// A crawler gives up after a few seconds, so it gets an image now, but the failure
    /// (a timeout, a dying browser) is transient and must not poison the key for a year:
    /// a minute absorbs a burst of retries for one key, then the next request renders
    /// again.
    Fallback,
    /// A rendered card that storage would not take: the right bytes, but only in this
    /// process's memory for a few minutes.
    ///
    /// Five minutes keep a popular card from being rendered for every request while
    /// writes fail, and bring CloudFront back soon enough to find it stored once they
    /// work again.
    Unstored,
    /// The default image because the render queue is full: every waiting place is
    /// taken, so the request is not even queued.
    ///
    /// An image, not a 503: a crawler given no image caches the share without one for
    /// weeks, one given the default image at least shows a card. `no-store`: the
    /// answer says nothing about the URL, which must render as soon as capacity frees
    /// up, so no cache may keep it.
    Overloaded,
}

impl CachePolicy {
    /// Every policy, for tests and documentation tables.
    pub const ALL: [Self; 5] = [
        Self::Card,
        Self::Default,
        Self::Fallback,
        Self::Unstored,
        Self::Overloaded,
    ];

    /// The `Cache-Control` value of a response with this policy.
    pub const fn cache_control(self) -> &'static str {
        match self {
            Self::Card => "public, max-age=31536000, immutable",
            Self::Default => "public, max-age=86400",
            Self::Fallback => "public, max-age=60",
            Self::Unstored => "public, max-age=300",
            Self::Overloaded => "no-store",
        }
    }

    /// Whether a response with this policy may be written to storage. Only a card may:
    /// a stored object is served for a year, so anything else stored under a card's key
    /// would replace that card for a year.
    pub const fn is_storable(self) -> bool {
        matches!(self, Self::Card)
    }
}

/// How a response came to be, as reported in [`CACHE_STATUS_HEADER`]; each maps to one
/// row of the [`CachePolicy`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheStatus {
    /// A card read from storage.
    Hit,
    /// A card rendered for this request (and stored).
    Miss,
    /// A card rendered earlier that storage refused, served from memory.
    Unstored,
    /// The default image in place of a card whose render failed.
    Fallback,
    /// The default image for a path that names no card.
    Default,
    /// The default image because the render queue is full.
    Overloaded,
}

impl CacheStatus {
    /// Every status, for tests.
    pub const ALL: [Self; 6] = [
        Self::Hit,
        Self::Miss,
        Self::Unstored,
        Self::Fallback,
        Self::Default,
        Self::Overloaded,
    ];

    /// The header value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Unstored => "unstored",
            Self::Fallback => "fallback",
            Self::Default => "default",
            Self::Overloaded => "overloaded",
        }
    }

    /// The caching row this response belongs to.
    pub const fn policy(self) -> CachePolicy {
        match self {
            Self::Hit | Self::Miss => CachePolicy::Card,
            Self::Fallback => CachePolicy::Fallback,
            Self::Unstored => CachePolicy::Unstored,
            Self::Default => CachePolicy::Default,
            Self::Overloaded => CachePolicy::Overloaded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_age(policy: CachePolicy) -> Option<u64> {
        policy
            .cache_control()
            .split(", ")
            .find_map(|directive| directive.strip_prefix("max-age="))
            .map(|secs| secs.parse().expect("max-age is a number of seconds"))
    }

    #[test]
    fn the_table_matches_the_design() {
        let rows: Vec<_> = CacheStatus::ALL
            .iter()
            .map(|&s| {
                (
                    s.as_str(),
                    s.policy().cache_control(),
                    s.policy().is_storable(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("hit", "public, max-age=31536000, immutable", true),
                ("miss", "public, max-age=31536000, immutable", true),
                ("unstored", "public, max-age=300", false),
                ("fallback", "public, max-age=60", false),
                ("default", "public, max-age=86400", false),
                ("overloaded", "no-store", false),
            ]
        );
    }

    #[test]
    fn only_a_card_is_immutable_or_lives_longer_than_a_day() {
        for policy in CachePolicy::ALL {
            let immutable = policy.cache_control().contains("immutable");
            assert_eq!(immutable, policy == CachePolicy::Card, "{policy:?}");
            if policy != CachePolicy::Card {
                assert!(max_age(policy).unwrap_or(0) <= 86_400, "{policy:?}");
            }
        }
    }

    #[test]
    fn a_fallback_expires_sooner_than_the_default_image() {
        let fallback = max_age(CachePolicy::Fallback).unwrap();
        assert!(
            fallback <= 300,
            "a failed render must be retried within minutes"
        );
        assert!(fallback < max_age(CachePolicy::Default).unwrap());
        assert_eq!(max_age(CachePolicy::Overloaded), None);
    }

    #[test]
    fn status_values_are_distinct_lowercase_tokens() {
        let mut values: Vec<_> = CacheStatus::ALL.map(CacheStatus::as_str).to_vec();
        assert!(
            values
                .iter()
                .all(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_lowercase()))
        );
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), CacheStatus::ALL.len());
        assert!(
            CACHE_STATUS_HEADER
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-')
        );
    }
}
