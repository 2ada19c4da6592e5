use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use shared_ids::{IMAGE_CONTENT_TYPE, IMAGE_HEIGHT_PX, IMAGE_WIDTH_PX, SocialId};

use crate::config::Config;

/// The name of the query parameter that carries the share id.
const SOCIAL_PARAM: &str = "social";

/// Finds the share id in a raw query string.
///
/// The value is matched as it arrived, without percent- or `+`-decoding: a canonical
/// id never needs encoding, so `%31%32-34-10` is a second spelling, not the same id.
/// Exactly one `social` parameter must be present; repeating it (parameter pollution)
/// yields no id, whatever the values.
pub fn social_id_from_query(raw_query: Option<&str>) -> Option<SocialId> {
    let mut values = raw_query?
        .split('&')
        .filter_map(|pair| match pair.split_once('=') {
            Some((key, value)) if key == SOCIAL_PARAM => Some(value),
            None if pair == SOCIAL_PARAM => Some(""),
            _ => None,
        });
    let only = values.next()?;
    if values.next().is_some() {
        return None;
    }
    SocialId::parse(only).ok()
}

/// Everything the page says about what is being shared, built from configuration and
/// the parsed id only: no byte of the request reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareTags {
    pub id: Option<SocialId>,
    pub site_name: String,
    pub title: String,
    pub description: String,
    pub page_url: String,
    pub image_url: String,
    /// `og:image:secure_url` is only meaningful for an https image URL.
    pub image_secure_url: Option<String>,
    pub image_type: &'static str,
    pub image_width: u32,
    pub image_height: u32,
    pub image_alt: String,
    pub share_links: Vec<ShareLink>,
}

/// A "share on …" link whose target is the canonical page URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLink {
    pub network: &'static str,
    pub href: String,
}

// The networks' documented share endpoints; each takes the page URL as one
// percent-encoded query parameter.
const SHARE_ENDPOINTS: [(&str, &str); 3] = [
    ("Facebook", "https://www.facebook.com/sharer/sharer.php?u="),
    ("X", "https://x.com/intent/post?url="),
    (
        "LinkedIn",
        "https://www.linkedin.com/sharing/share-offsite/?url=",
    ),
];

impl ShareTags {
    pub fn new(config: &Config, id: Option<SocialId>) -> Self {
        let site = &config.site_name;
        let (title, description, image_alt, page_url) = match id {
            Some(id) => (
                format!("Card {id} · {site}"),
                format!("The {site} share card for {id}."),
                format!("{site} card for {id}"),
                format!("{}/?{SOCIAL_PARAM}={id}", config.public_url),
            ),
            None => (
                site.clone(),
                format!("Share cards from {site}."),
                format!("{site} default share image"),
                format!("{}/", config.public_url),
            ),
        };
        let image_url = config.image_base.image_url(id);
        let share_links = SHARE_ENDPOINTS
            .iter()
            .map(|(network, endpoint)| ShareLink {
                network,
                href: format!(
                    "{endpoint}{}",
                    utf8_percent_encode(&page_url, NON_ALPHANUMERIC)
                ),
            })
            .collect();
        Self {
            id,
            site_name: site.clone(),
            title,
            description,
            image_secure_url: config.image_base.is_https().then(|| image_url.clone()),
            image_url,
            page_url,
            image_type: IMAGE_CONTENT_TYPE,
            image_width: IMAGE_WIDTH_PX,
            image_height: IMAGE_HEIGHT_PX,
            image_alt,
            share_links,
        }
    }
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

    #[test]
    fn share_links_target_the_encoded_canonical_url() {
        let config = Config::local_defaults();
        let tags = ShareTags::new(&config, SocialId::parse("12-34-10").ok());
        assert_eq!(tags.page_url, "http://127.0.0.1:3000/?social=12-34-10");
        assert_eq!(
            tags.share_links[0].href,
            "https://www.facebook.com/sharer/sharer.php?u=http%3A%2F%2F127%2E0%2E0%2E1%3A3000%2F%3Fsocial%3D12%2D34%2D10"
        );
        assert_eq!(tags.image_secure_url, None, "http bases have no secure_url");
    }
}
