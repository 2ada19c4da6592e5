//! The main site's configuration: flags and environment as typed, then the validated
//! `Config` the site starts with. Nothing here is ever read from a request.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use share_tags::ShareSite;
use shared_ids::{BaseUrl, BaseUrlError};

/// How long an upstream may keep the injector waiting, at any one step (connecting,
/// the answer's head, each later piece of its body, the page up to where the tags go);
/// past it the client gets a 504 (`no-store`), or a body cut off, never shortened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamTimeout(pub Duration);

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

    /// An existing site to put the share tags into instead of serving ogshot's own share
    /// page: an http(s) origin (`https://origin.example.com`), an S3 bucket
    /// (`s3://bucket/prefix`) or a directory (`./dist`).
    #[arg(long, env = "UPSTREAM")]
    pub upstream: Option<String>,

    /// How long the upstream may take to send a page's head (headers, then the page up to
    /// where the tags go), and to send each later piece, before the client gets a 504 or
    /// the answer is cut off. 100 to 60000.
    #[arg(long, env = "UPSTREAM_TIMEOUT_MS", default_value_t = 10_000)]
    pub upstream_timeout_ms: u64,

    /// With an upstream: a `social` value that is not a valid id gets the default image's
    /// tags (else such a page goes through untouched, as one without `social`).
    #[arg(long, env = "DEFAULT_IMAGE_FOR_INVALID")]
    pub default_image_for_invalid: bool,

    /// The region of an `s3://` upstream's bucket; default: the SDK's own chain. On Lambda
    /// `AWS_REGION` is the function's, and may not be the bucket's.
    #[arg(long, env = "UPSTREAM_REGION")]
    pub upstream_region: Option<String>,
}

/// Validated configuration: every URL the site will ever emit derives from these.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// The site name, public URL and image base every share tag is built from.
    pub site: ShareSite,
    /// The existing site the tags go into; none serves ogshot's own share page.
    pub upstream: Option<Upstream>,
    pub upstream_timeout: UpstreamTimeout,
    pub default_image_for_invalid: bool,
}

/// Where an existing site's pages come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// An HTTP origin; requests keep their path and query below this base.
    Http(BaseUrl),
    /// A bucket of the site's files, read through the AWS SDK.
    S3 {
        bucket: String,
        prefix: String,
        region: Option<String>,
    },
    /// A directory of the site's files.
    Dir(PathBuf),
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
    #[error("UPSTREAM is not usable: {0}")]
    Upstream(String),
    #[error("UPSTREAM_TIMEOUT_MS must be 100 to 60000")]
    UpstreamTimeout,
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;

    fn try_from(args: Args) -> Result<Self, Self::Error> {
        let site_name = args.site_name.trim().to_owned();
        if site_name.is_empty() || site_name.chars().count() > 80 {
            return Err(ConfigError::SiteName);
        }
        if !(100..=60_000).contains(&args.upstream_timeout_ms) {
            return Err(ConfigError::UpstreamTimeout);
        }
        Ok(Self {
            addr: args.addr,
            site: ShareSite {
                site_name,
                public_url: BaseUrl::parse(&args.public_url).map_err(ConfigError::PublicUrl)?,
                image_base: BaseUrl::parse(&args.image_base_url)
                    .map_err(ConfigError::ImageBaseUrl)?,
            },
            upstream: args
                .upstream
                .as_deref()
                .map(|raw| Upstream::parse(raw, args.upstream_region.clone()))
                .transpose()?,
            upstream_timeout: UpstreamTimeout(Duration::from_millis(args.upstream_timeout_ms)),
            default_image_for_invalid: args.default_image_for_invalid,
        })
    }
}

impl Upstream {
    fn parse(raw: &str, region: Option<String>) -> Result<Self, ConfigError> {
        let refuse = |why: &str| ConfigError::Upstream(format!("{raw}: {why}"));
        if let Some(rest) = raw.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            // S3's bucket naming rules, so a typo fails at start-up, not on every request.
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b));
            if !valid_bucket {
                return Err(refuse("not an S3 bucket name"));
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
                region,
            });
        }
        if raw.contains("://") {
            return BaseUrl::parse(raw)
                .map(Self::Http)
                .map_err(|error| refuse(&error.to_string()));
        }
        let dir = std::fs::canonicalize(raw).map_err(|error| refuse(&error.to_string()))?;
        if !dir.is_dir() {
            return Err(refuse("not a directory"));
        }
        Ok(Self::Dir(dir))
    }
}

impl Args {
    /// Every flag at its default, as `main-site` starts with none (and no environment).
    pub fn defaults() -> Self {
        Self::parse_from(["main-site"])
    }
}

impl Config {
    /// The embedded local defaults, exactly as `main-site` starts with no flags.
    pub fn local_defaults() -> Self {
        Args::defaults()
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

    #[test]
    fn an_upstream_is_an_origin_a_bucket_or_a_directory_and_nothing_else() {
        let upstream = |raw: &str| config(&["--upstream", raw]).map(|c| c.upstream);
        assert!(matches!(
            upstream("https://origin.example.com/"),
            Ok(Some(Upstream::Http(base))) if base.as_str() == "https://origin.example.com"
        ));
        assert_eq!(
            upstream("s3://my-site/www/").unwrap(),
            Some(Upstream::S3 {
                bucket: "my-site".to_owned(),
                prefix: "www".to_owned(),
                region: None,
            })
        );
        let here = env!("CARGO_MANIFEST_DIR");
        assert!(matches!(upstream(here), Ok(Some(Upstream::Dir(_)))));
        for refused in [
            "ftp://origin.example.com",
            "https://origin.example.com/?x=1",
            "s3://My_Bucket",
            "./no-such-directory",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ] {
            let error = upstream(refused).unwrap_err();
            assert!(error.to_string().contains("UPSTREAM"), "{refused}: {error}");
        }
        assert!(config(&["--upstream-timeout-ms", "0"]).is_err());
        assert_eq!(Config::local_defaults().upstream, None);
    }
}
