//! The render site's configuration in two stages: clap flags/env as typed, then a
//! validated [`Config`]; the token is required unless `--dev` on loopback.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use shared_ids::{BaseUrl, BaseUrlError};

use crate::auth::{RenderToken, TokenError};
use card_wording::{Content, ContentError, REPO_CONTENT_PATH};

/// Command-line flags and environment variables, as typed by an operator.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "render-site",
    version,
    about = "ogshot's render site: the token-protected card page and the designers' gallery."
)]
pub struct Args {
    /// Address to listen on (ignored on AWS Lambda).
    #[arg(long, env = "RENDER_SITE_ADDR", default_value = "127.0.0.1:3002")]
    pub addr: SocketAddr,

    /// The render token every request but /healthz must present. Required unless
    /// --dev on a loopback address, where a random one is generated and printed.
    #[arg(long, env = "RENDER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Public base URL of the image service; when set, the gallery shows the real
    /// JPEG beside each live card.
    #[arg(long, env = "IMAGE_BASE_URL")]
    pub image_base_url: Option<String>,

    /// The main site; when set, `/preview/<id>` shows the title, description and domain
    /// its share page gives. Otherwise they are built as the main site builds them, from
    /// SITE_NAME and PUBLIC_URL.
    #[arg(long, env = "MAIN_SITE_URL")]
    pub main_site_url: Option<String>,

    /// The main site's name, as its SITE_NAME (for `/preview/<id>` without MAIN_SITE_URL).
    #[arg(long, env = "SITE_NAME", default_value = "ogshot")]
    pub site_name: String,

    /// The main site's public URL, as its PUBLIC_URL (for `/preview/<id>` without
    /// MAIN_SITE_URL).
    #[arg(long, env = "PUBLIC_URL", default_value = "http://127.0.0.1:3000")]
    pub public_url: String,

    /// Content file with the card wording, with --dev only (default: the repository's
    /// crates/card-wording/cards.toml). Outside --dev the compiled-in wording is used:
    /// it is part of the design fingerprint, so no card changes without a new token.
    #[arg(long, env = "CONTENT_FILE")]
    pub content_file: Option<PathBuf>,

    /// Designer mode: re-read the stylesheet and the content file on every request.
    /// Only allowed on a loopback address.
    #[arg(long, env = "RENDER_SITE_DEV")]
    pub dev: bool,
}

/// Where card wording and styles come from.
#[derive(Debug, Clone)]
pub enum DesignSource {
    /// Parsed once at start-up; the stylesheet is the compiled-in one.
    Fixed(Content),
    /// Re-read on every request, so a designer edits and refreshes without rebuilding.
    Reload {
        content_file: PathBuf,
        css_file: PathBuf,
    },
}

/// Validated configuration of the render-site router.
#[derive(Debug, Clone)]
pub struct RenderSiteConfig {
    pub token: RenderToken,
    pub design: DesignSource,
    pub image_base: Option<BaseUrl>,
    /// Where `/preview/<id>` gets a share's title, description and domain.
    pub share_text: ShareSource,
    /// Mark the session cookie `Secure`; off only for plain-http loopback use.
    pub secure_cookie: bool,
}

/// Where `/preview/<id>` gets what a share of a card says.
#[derive(Debug, Clone)]
pub enum ShareSource {
    /// Read from the main site's own share page.
    MainSite(BaseUrl),
    /// Built as the main site builds it, from its name and public URL.
    Built {
        site_name: String,
        public_url: BaseUrl,
    },
}

impl ShareSource {
    /// The main site's defaults (SITE_NAME `ogshot`, PUBLIC_URL on loopback).
    pub fn main_site_defaults() -> Self {
        Self::Built {
            site_name: "ogshot".into(),
            public_url: BaseUrl::parse("http://127.0.0.1:3000").expect("a valid URL"),
        }
    }
}

impl RenderSiteConfig {
    /// The configuration an image service uses to mount the render site in-process.
    pub fn in_process(token: RenderToken) -> Self {
        Self {
            token,
            design: DesignSource::Fixed(Content::embedded()),
            image_base: None,
            share_text: ShareSource::main_site_defaults(),
            secure_cookie: false,
        }
    }
}

/// The validated start-up configuration of the standalone binary.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub site: RenderSiteConfig,
    /// Set when the token was generated for `--dev` and must be shown to the designer.
    pub generated_token: bool,
}

/// A configuration the site refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "RENDER_TOKEN is required (or run with --dev on a loopback address to get a generated one)"
    )]
    MissingToken,
    #[error("--dev is only allowed on a loopback address, not {0}")]
    DevNotLoopback(SocketAddr),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("IMAGE_BASE_URL is not usable: {0}")]
    ImageBaseUrl(#[source] BaseUrlError),
    #[error("MAIN_SITE_URL is not usable: {0}")]
    MainSiteUrl(#[source] BaseUrlError),
    #[error("PUBLIC_URL is not usable: {0}")]
    PublicUrl(#[source] BaseUrlError),
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error(
        "CONTENT_FILE is only read with --dev: outside designer mode the compiled-in wording \
         is served, because a card whose wording changes under an unchanged design token is \
         served stale from crawler caches for a year. Edit crates/card-wording/cards.toml and \
         run scripts/new-design instead"
    )]
    ContentFileOutsideDev,
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;

    fn try_from(args: Args) -> Result<Self, Self::Error> {
        let loopback = args.addr.ip().is_loopback();
        if args.dev && !loopback {
            return Err(ConfigError::DevNotLoopback(args.addr));
        }
        let (token, generated_token) = match args.token {
            Some(secret) => (RenderToken::new(secret)?, false),
            None if args.dev => (RenderToken::generate(), true),
            None => return Err(ConfigError::MissingToken),
        };
        let image_base = args
            .image_base_url
            .as_deref()
            .map(BaseUrl::parse)
            .transpose()
            .map_err(ConfigError::ImageBaseUrl)?;
        let share_text = match &args.main_site_url {
            Some(url) => {
                ShareSource::MainSite(BaseUrl::parse(url).map_err(ConfigError::MainSiteUrl)?)
            }
            None => ShareSource::Built {
                site_name: args.site_name.clone(),
                public_url: BaseUrl::parse(&args.public_url).map_err(ConfigError::PublicUrl)?,
            },
        };
        let design = if args.dev {
            let content_file = args
                .content_file
                .unwrap_or_else(|| PathBuf::from(REPO_CONTENT_PATH));
            // Refuse a broken file now rather than on the first request.
            Content::load(&content_file)?;
            DesignSource::Reload {
                content_file,
                css_file: PathBuf::from(crate::card::REPO_CARD_CSS_PATH),
            }
        } else if args.content_file.is_some() {
            return Err(ConfigError::ContentFileOutsideDev);
        } else {
            DesignSource::Fixed(Content::embedded())
        };
        Ok(Self {
            addr: args.addr,
            site: RenderSiteConfig {
                token,
                design,
                image_base,
                share_text,
                secure_cookie: !loopback,
            },
            generated_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(flags: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["render-site"];
        argv.extend_from_slice(flags);
        Config::try_from(Args::try_parse_from(argv).unwrap())
    }

    #[test]
    fn a_token_is_required_outside_loopback_dev_mode() {
        assert!(matches!(config(&[]), Err(ConfigError::MissingToken)));
        assert!(matches!(
            config(&["--dev", "--addr", "0.0.0.0:3002"]),
            Err(ConfigError::DevNotLoopback(_))
        ));
        let dev = config(&["--dev"]).unwrap();
        assert!(dev.generated_token);
        assert!(matches!(dev.site.design, DesignSource::Reload { .. }));
        let fixed = config(&["--token", "t"]).unwrap();
        assert!(!fixed.generated_token && !fixed.site.secure_cookie);
        let public = config(&["--token", "t", "--addr", "0.0.0.0:3002"]).unwrap();
        assert!(public.site.secure_cookie);
    }

    #[test]
    fn a_malformed_content_file_is_refused_at_start_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cards.toml");
        std::fs::write(&path, "site_name = \"x\"\nheadline = = \"broken\"\n").unwrap();
        let err = config(&["--dev", "--content-file", path.to_str().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn a_content_file_is_refused_outside_designer_mode() {
        let err = config(&["--token", "t", "--content-file", REPO_CONTENT_PATH])
            .unwrap_err()
            .to_string();
        assert!(err.contains("only read with --dev"), "{err}");
        assert!(config(&["--dev", "--content-file", REPO_CONTENT_PATH]).is_ok());
    }
}
