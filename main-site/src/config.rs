//! The main site's configuration: flags and environment as typed, then the validated
//! `Config` the site starts with. Nothing here is ever read from a request.

use std::net::SocketAddr;

use clap::Parser;
use share_tags::ShareSite;
use shared_ids::{BaseUrl, BaseUrlError};

/// Command-line flags and environment variables, as typed by an operator.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "main-site",
    version,
    about = "ogshot's public site: emits og:image tags for ?social=<id>."
)]
pub struct Args {
    /// Address to listen on (ignored on AWS Lambda).
    #[arg(long, env = "MAIN_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Public URL of this site, used for og:url, the canonical link and share links.
    /// Absolute http(s), no query or fragment. Never taken from the Host header.
    #[arg(long, env = "PUBLIC_URL", default_value = "http://127.0.0.1:3000")]
    pub public_url: String,

    /// Public base URL of the image service (the CloudFront domain in production).
    /// Absolute http(s), no query or fragment.
    #[arg(long, env = "IMAGE_BASE_URL", default_value = "http://127.0.0.1:3001")]
    pub image_base_url: String,

    /// Site name shown in og:site_name and on the page.
    #[arg(long, env = "SITE_NAME", default_value = "ogshot")]
    pub site_name: String,
}

/// Validated configuration: every URL the site will ever emit derives from these.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// The site name, public URL and image base every share tag is built from.
    pub site: ShareSite,
}

/// A configuration the site refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("PUBLIC_URL is not usable: {0}")]
    PublicUrl(#[source] BaseUrlError),
    #[error("IMAGE_BASE_URL is not usable: {0}")]
    ImageBaseUrl(#[source] BaseUrlError),
    #[error("SITE_NAME must be 1 to 80 characters")]
    SiteName,
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;

    fn try_from(args: Args) -> Result<Self, Self::Error> {
        let site_name = args.site_name.trim().to_owned();
        if site_name.is_empty() || site_name.chars().count() > 80 {
            return Err(ConfigError::SiteName);
        }
        Ok(Self {
            addr: args.addr,
            site: ShareSite {
                site_name,
                public_url: BaseUrl::parse(&args.public_url).map_err(ConfigError::PublicUrl)?,
                image_base: BaseUrl::parse(&args.image_base_url)
                    .map_err(ConfigError::ImageBaseUrl)?,
            },
        })
    }
}

impl Config {
    /// The embedded local defaults, exactly as `main-site` starts with no flags.
    pub fn local_defaults() -> Self {
        Args::parse_from(["main-site"])
            .try_into()
            .expect("the built-in defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(flags: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["main-site"];
        argv.extend_from_slice(flags);
        Config::try_from(Args::try_parse_from(argv).unwrap())
    }

    #[test]
    fn defaults_point_at_the_local_image_service() {
        let c = Config::local_defaults();
        assert_eq!(c.site.image_base.as_str(), "http://127.0.0.1:3001");
        assert_eq!(c.site.public_url.as_str(), "http://127.0.0.1:3000");
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
    }

    #[test]
    fn unusable_bases_are_refused_with_the_variable_named() {
        let err = config(&["--image-base-url", "img.example.com"]).unwrap_err();
        assert!(err.to_string().contains("IMAGE_BASE_URL"), "{err}");
        let err = config(&["--public-url", "https://www.example.com/?x=1"]).unwrap_err();
        assert!(err.to_string().contains("PUBLIC_URL"), "{err}");
        assert!(config(&["--site-name", "  "]).is_err());
    }
}
