//! The crawler profiles of `crawlers.toml`: how each platform fetches a shared page and
//! its image, and the limits it documents for the image.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The profiles file, compiled in.
pub const PROFILES_TOML: &str = include_str!("../crawlers.toml");

/// One platform's link-preview crawler.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub platform: String,
    pub page_user_agent: String,
    pub image_user_agent: Option<String>,
    #[serde(default)]
    pub page_headers: BTreeMap<String, String>,
    #[serde(default)]
    pub image_headers: BTreeMap<String, String>,
    /// The tag the platform reads first; it falls back to `og:image`.
    pub image_tag: String,
    pub max_redirects: usize,
    pub min_width: u32,
    pub min_height: u32,
    pub max_image_bytes: u64,
    pub warn_image_bytes: Option<u64>,
    pub aspect: Option<f64>,
    pub aspect_tolerance: Option<f64>,
    /// The agent name its robots.txt rules are written for; none for a browser.
    pub robots_agent: Option<String>,
    /// Whether the platform fetches the page its `og:url` names and shows that page's
    /// card: every link naming one `og:url` is then one shared object.
    #[serde(default)]
    pub follows_og_url: bool,
    /// A person's browser, not a crawler: what the crawlers are read against. It reads no
    /// share tag, so no tag or image rule fails it, and it is left out of the crawlers'
    /// comparison with each other.
    #[serde(default)]
    pub reference: bool,
    pub sources: Vec<String>,
    #[serde(default)]
    pub unverified: Vec<String>,
}

impl Profile {
    /// The User-Agent of the image fetch.
    pub fn image_user_agent(&self) -> &str {
        self.image_user_agent
            .as_deref()
            .unwrap_or(&self.page_user_agent)
    }

    /// `" (unverified)"` when `field`'s figure does not come from the platform itself.
    pub fn caveat(&self, field: &str) -> &'static str {
        if self.unverified.iter().any(|f| f == field) {
            " (unverified)"
        } else {
            ""
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfilesFile {
    profile: Vec<Profile>,
}

/// Every profile of `crawlers.toml`, in file order.
pub fn all() -> Vec<Profile> {
    toml::from_str::<ProfilesFile>(PROFILES_TOML)
        .expect("crawlers.toml is valid (tested)")
        .profile
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_is_complete_and_sourced() {
        let profiles = all();
        let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
        for wanted in [
            "facebookexternalhit",
            "Facebot",
            "Twitterbot",
            "LinkedInBot",
            "Slackbot",
            "Discordbot",
            "TelegramBot",
            "WhatsApp",
            "iMessage",
            "browser",
        ] {
            assert!(names.contains(&wanted), "no {wanted} profile: {names:?}");
        }
        for profile in &profiles {
            assert!(!profile.sources.is_empty(), "{}: no source", profile.name);
            assert!(
                profile.sources.iter().all(|s| s.starts_with("https://")),
                "{}",
                profile.name
            );
        }
        let facebook = &profiles[0];
        assert_eq!(facebook.image_headers["Range"], "bytes=0-524288");
        assert_eq!(facebook.image_headers["Accept-Encoding"], "gzip, deflate");
        let slack = profiles.iter().find(|p| p.name == "Slackbot").unwrap();
        assert!(slack.image_user_agent().starts_with("Slack-ImgProxy"));
        assert!(facebook.follows_og_url);
        let references: Vec<&str> = profiles
            .iter()
            .filter(|p| p.reference)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(references, ["browser"]);
    }
}
