//! The main site's configuration: flags and environment as typed, then the validated
//! `Config` the site starts with. Nothing here is ever read from a request.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use app_host::{LimitsError, ListenerLimits};
use clap::Parser;
use ipnet::IpNet;
use share_tags::{ShareSite, TrackingParamError, TrackingParams};
use shared_ids::{BaseUrl, BaseUrlError};

/// How long an upstream may keep the injector waiting at one step of a share page
/// (connecting, its page up to where the tags go) and between two pieces of any body,
/// either way; past it the client gets a 504 (`no-store`), or a body cut off, never
/// shortened. Other answers' heads have `UPSTREAM_ANSWER_TIMEOUT_MS`.
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
    /// Required with --upstream; without one it defaults to http://127.0.0.1:3000.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,

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

    /// With an HTTP upstream: how long the origin may take to start answering a request
    /// that is not a share (a long poll, a slow form handler), counted from the last
    /// byte of the request, before the client gets a 504. 100 to 3600000.
    #[arg(long, env = "UPSTREAM_ANSWER_TIMEOUT_MS", default_value_t = 120_000)]
    pub upstream_answer_timeout_ms: u64,

    /// How long a client may take to send a request's head, counted from when the server
    /// waits for it (a new connection, or an idle kept-alive one), before it is
    /// disconnected. 100 to 300000.
    #[arg(long, env = "HEADER_TIMEOUT_MS", default_value_t = 20_000)]
    pub header_timeout_ms: u64,

    /// How many client connections are served at once; more wait to be accepted.
    /// 1 to 1000000.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1_000)]
    pub max_connections: usize,

    /// With an upstream: a `social` value that is not a valid id gets the default image's
    /// tags (else such a page goes through untouched, as one without `social`).
    #[arg(long, env = "DEFAULT_IMAGE_FOR_INVALID")]
    pub default_image_for_invalid: bool,

    /// With an upstream: query parameters `og:url` leaves out besides the standard
    /// tracking ones (`utm_*`, `fbclid`, `gclid`, `msclkid`, ...; see docs/injector.md),
    /// comma-separated; a trailing `*` names a prefix (`hs_*`).
    #[arg(long, env = "TRACKING_PARAMS", value_delimiter = ',')]
    pub tracking_params: Vec<String>,

    /// With a directory or `s3://` upstream: the site is a single-page app, so a path
    /// without a file extension that names no file gets its `index.html` (else the
    /// site's `404.html`, with status 404).
    #[arg(long, env = "UPSTREAM_SPA")]
    pub spa: bool,

    /// The region of an `s3://` upstream's bucket; default: the SDK's own chain. On Lambda
    /// `AWS_REGION` is the function's, and may not be the bucket's.
    #[arg(long, env = "UPSTREAM_REGION")]
    pub upstream_region: Option<String>,

    /// With an HTTP upstream: the proxies in front of this one whose `X-Forwarded-For`,
    /// `Forwarded` and `X-Real-IP` reach the origin (appended to), as comma-separated
    /// CIDRs or addresses (`10.0.0.0/8,::1`); from any other client they are dropped.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,

    /// With an HTTP upstream: send the origin `PUBLIC_URL`'s host as `Host`, for an
    /// origin that routes by it (else it gets its own name, as `UPSTREAM` has it).
    #[arg(long, env = "UPSTREAM_PUBLIC_HOST")]
    pub upstream_public_host: bool,

    /// With an upstream: an address (`127.0.0.1:9464`) on which `GET /metrics` answers the
    /// injector's counters in the Prometheus text format; off by default. Ignored on AWS
    /// Lambda, which gets them as CloudWatch EMF log lines.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

/// ogshot's own share page, run locally, is on this URL unless `PUBLIC_URL` says
/// otherwise. An injector has no such default: its pages are another site's, whose
/// address nobody here can guess, and a wrong one would go out in every `og:url`.
const LOCAL_PUBLIC_URL: &str = "http://127.0.0.1:3000";

/// Validated configuration: every URL the site will ever emit derives from these.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// The site name, public URL and image base every share tag is built from.
    pub site: ShareSite,
    /// The existing site the tags go into; none serves ogshot's own share page.
    pub upstream: Option<Upstream>,
    pub upstream_timeout: UpstreamTimeout,
    /// How long a non-share request waits for its origin's answer to begin.
    pub upstream_answer_timeout: Duration,
    /// The local listener's header timeout and connection bound.
    pub listener: ListenerLimits,
    pub default_image_for_invalid: bool,
    /// Whose forwarding headers an HTTP origin gets.
    pub trusted_proxies: TrustedProxies,
    /// Whether an HTTP origin gets the public `Host` rather than its own.
    pub upstream_public_host: bool,
    /// Where the injector's counters are served, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
}

/// The networks of the proxies in front of the injector (`TRUSTED_PROXIES`); empty, the
/// default, trusts no client's word about who it forwards for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    fn parse(raw: &[String]) -> Result<Self, ConfigError> {
        let networks = (raw.iter().map(|entry| entry.trim()))
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                (entry.parse::<IpNet>())
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| ConfigError::TrustedProxies(entry.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self(networks))
    }

    /// Whether `peer` is one of them; an IPv4 address seen as IPv6 (`::ffff:10.0.0.1`)
    /// counts as the IPv4 one.
    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.0.iter().any(|network| network.contains(&peer))
    }
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
        /// Whether an extensionless path that names no object gets `index.html`.
        spa: bool,
    },
    /// A directory of the site's files.
    Dir {
        /// Canonical (symlinks resolved), so a file's canonical path can be held to it.
        root: PathBuf,
        /// Whether an extensionless path that names no file gets `index.html`.
        spa: bool,
    },
}

/// Where the pages come from, as an operator would write it (for the logs).
impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(base) => write!(f, "{base}"),
            Self::S3 { bucket, prefix, .. } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix, .. } => write!(f, "s3://{bucket}/{prefix}"),
            Self::Dir { root, .. } => write!(f, "{}", root.display()),
        }
    }
}

/// A configuration the site refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("PUBLIC_URL is not usable: {0}")]
    PublicUrl(#[source] BaseUrlError),
    #[error(
        "PUBLIC_URL (--public-url) must be set with an upstream: the address the site is \
         shared at, e.g. https://www.example.com, on which every og:url is built"
    )]
    PublicUrlMissing,
    #[error("IMAGE_BASE_URL is not usable: {0}")]
    ImageBaseUrl(#[source] BaseUrlError),
    #[error("SITE_NAME must be 1 to 80 characters")]
    SiteName,
    #[error("UPSTREAM is not usable: {0}")]
    Upstream(String),
    #[error("UPSTREAM_TIMEOUT_MS must be 100 to 60000")]
    UpstreamTimeout,
    #[error("UPSTREAM_ANSWER_TIMEOUT_MS must be 100 to 3600000")]
    UpstreamAnswerTimeout,
    #[error("HEADER_TIMEOUT_MS or MAX_CONNECTIONS is not usable: {0}")]
    Listener(#[source] LimitsError),
    #[error("TRUSTED_PROXIES is not usable: {0:?} is no CIDR (10.0.0.0/8) or address")]
    TrustedProxies(String),
    #[error("TRACKING_PARAMS is not usable: {0}")]
    TrackingParams(#[source] TrackingParamError),
    #[error(
        "UPSTREAM_SPA (--spa) needs a directory or an s3:// UPSTREAM: an HTTP origin \
         answers its own routes"
    )]
    Spa,
    #[error("METRICS_ADDR (--metrics-addr) counts the injector's answers: it needs an UPSTREAM")]
    MetricsWithoutUpstream,
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
        if !(100..=3_600_000).contains(&args.upstream_answer_timeout_ms) {
            return Err(ConfigError::UpstreamAnswerTimeout);
        }
        let listener = ListenerLimits::new(
            Duration::from_millis(args.header_timeout_ms),
            args.max_connections,
        )
        .map_err(ConfigError::Listener)?;
        let upstream = args
            .upstream
            .as_deref()
            .map(|raw| Upstream::parse(raw, args.upstream_region.clone(), args.spa))
            .transpose()?;
        if args.spa && matches!(upstream, None | Some(Upstream::Http(_))) {
            return Err(ConfigError::Spa);
        }
        if args.metrics_addr.is_some() && upstream.is_none() {
            return Err(ConfigError::MetricsWithoutUpstream);
        }
        let public_url = match (&args.public_url, &upstream) {
            (Some(raw), _) => raw.as_str(),
            (None, None) => LOCAL_PUBLIC_URL,
            (None, Some(_)) => return Err(ConfigError::PublicUrlMissing),
        };
        let names: Vec<String> = (args.tracking_params.iter())
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .collect();
        let site = ShareSite {
            tracking: TrackingParams::with(&names).map_err(ConfigError::TrackingParams)?,
            ..ShareSite::new(
                site_name,
                BaseUrl::parse(public_url).map_err(ConfigError::PublicUrl)?,
                BaseUrl::parse(&args.image_base_url).map_err(ConfigError::ImageBaseUrl)?,
            )
        };
        Ok(Self {
            addr: args.addr,
            site,
            upstream,
            upstream_timeout: UpstreamTimeout(Duration::from_millis(args.upstream_timeout_ms)),
            upstream_answer_timeout: Duration::from_millis(args.upstream_answer_timeout_ms),
            listener,
            default_image_for_invalid: args.default_image_for_invalid,
            trusted_proxies: TrustedProxies::parse(&args.trusted_proxies)?,
            upstream_public_host: args.upstream_public_host,
            metrics_addr: args.metrics_addr,
        })
    }
}

impl Upstream {
    fn parse(raw: &str, region: Option<String>, spa: bool) -> Result<Self, ConfigError> {
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
                spa,
            });
        }
        if raw.contains("://") {
            return BaseUrl::parse(raw)
                .map(Self::Http)
                .map_err(|error| refuse(&error.to_string()));
        }
        let root = std::fs::canonicalize(raw).map_err(|error| refuse(&error.to_string()))?;
        if !root.is_dir() {
            return Err(refuse("not a directory"));
        }
        Ok(Self::Dir { root, spa })
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
    fn tracking_params_extend_the_standard_list_and_a_bad_name_is_refused() {
        let upstream = ["--upstream", ".", "--public-url", "https://www.example.com"];
        let c = config(&[&upstream[..], &["--tracking-params", "ref, hs_*"]].concat()).unwrap();
        let names = c.site.tracking.names();
        assert!(names.ends_with(&["ref".to_owned(), "hs_*".to_owned()]));
        assert!(names.contains(&"fbclid".to_owned()));
        let err = config(&[&upstream[..], &["--tracking-params", "a=b"]].concat()).unwrap_err();
        assert!(err.to_string().contains("TRACKING_PARAMS"), "{err}");
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
        let upstream = |raw: &str| {
            config(&["--upstream", raw, "--public-url", "https://www.example.com"])
                .map(|c| c.upstream)
        };
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
                spa: false,
            })
        );
        let here = env!("CARGO_MANIFEST_DIR");
        assert!(matches!(upstream(here), Ok(Some(Upstream::Dir { .. }))));
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

    #[test]
    fn an_upstream_without_a_public_url_is_refused_naming_it() {
        let here = env!("CARGO_MANIFEST_DIR");
        for upstream in [here, "https://origin.example.com", "s3://my-site"] {
            let error = config(&["--upstream", upstream]).unwrap_err().to_string();
            assert!(
                error.contains("PUBLIC_URL") && error.contains("--public-url"),
                "{upstream}: {error}"
            );
        }
        let injector = config(&[
            "--upstream",
            here,
            "--public-url",
            "https://www.example.com",
        ]);
        assert_eq!(
            injector.unwrap().site.public_url.as_str(),
            "https://www.example.com"
        );
    }

    #[test]
    fn trusted_proxies_are_networks_or_addresses_and_nothing_else() {
        let trusted = config(&["--trusted-proxies", "10.0.0.0/8, 192.0.2.7,2001:db8::/32"])
            .unwrap()
            .trusted_proxies;
        for (peer, expected) in [
            ("10.1.2.3", true),
            ("::ffff:10.1.2.3", true),
            ("192.0.2.7", true),
            ("192.0.2.8", false),
            ("2001:db8::1", true),
            ("127.0.0.1", false),
        ] {
            assert_eq!(trusted.contains(peer.parse().unwrap()), expected, "{peer}");
        }
        assert_eq!(
            Config::local_defaults().trusted_proxies,
            TrustedProxies::default()
        );
        for refused in ["10.0.0.0/33", "example.com", "10.0.0.0/8/1"] {
            let error = config(&["--trusted-proxies", refused]).unwrap_err();
            assert!(
                error.to_string().contains("TRUSTED_PROXIES"),
                "{refused}: {error}"
            );
        }
    }

    #[test]
    fn timeouts_and_the_connection_bound_outside_their_range_are_refused() {
        for (flag, value, named) in [
            (
                "--upstream-answer-timeout-ms",
                "99",
                "UPSTREAM_ANSWER_TIMEOUT_MS",
            ),
            ("--header-timeout-ms", "99", "HEADER_TIMEOUT_MS"),
            ("--header-timeout-ms", "300001", "HEADER_TIMEOUT_MS"),
            ("--max-connections", "0", "MAX_CONNECTIONS"),
        ] {
            let error = config(&[flag, value]).unwrap_err();
            assert!(error.to_string().contains(named), "{flag} {value}: {error}");
        }
        assert_eq!(Config::local_defaults().listener, ListenerLimits::default());
    }

    #[test]
    fn the_single_page_app_switch_is_for_files_only() {
        let here = env!("CARGO_MANIFEST_DIR");
        let with_spa = |upstream: &str| {
            config(&[
                "--spa",
                "--public-url",
                "https://www.example.com",
                "--upstream",
                upstream,
            ])
        };
        assert!(matches!(
            with_spa(here).unwrap().upstream,
            Some(Upstream::Dir { spa: true, .. })
        ));
        assert!(matches!(
            with_spa("s3://my-site").unwrap().upstream,
            Some(Upstream::S3 { spa: true, .. })
        ));
        let error = with_spa("https://origin.example.com").unwrap_err();
        assert!(error.to_string().contains("--spa"), "{error}");
        let error = config(&["--spa"]).unwrap_err();
        assert!(error.to_string().contains("UPSTREAM_SPA"), "{error}");
    }

    #[test]
    fn a_metrics_address_needs_an_upstream() {
        let error = config(&["--metrics-addr", "127.0.0.1:9464"]).unwrap_err();
        assert!(error.to_string().contains("METRICS_ADDR"), "{error}");
        assert_eq!(Config::local_defaults().metrics_addr, None);
    }
}
