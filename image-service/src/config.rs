//! Configuration in two stages: clap flags/env as typed, then a validated [`Config`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use shared_ids::{BaseUrl, DesignToken};
use url::Url;

use crate::render::RenderLimits;
use crate::storage::S3Config;

/// Command line of the image service.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "image-service",
    version,
    about = "ogshot's image service: serves /<design>/<id>.jpg, rendering missing cards with Chromium."
)]
pub struct Cli {
    #[command(flatten)]
    pub service: Args,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; serving is the default.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Fill storage ahead of a campaign: render every listed id that is not stored yet.
    Prerender(crate::prerender::PrerenderArgs),
}

/// Service settings, each also read from the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Address to listen on (ignored on AWS Lambda).
    #[arg(long, env = "IMAGE_SERVICE_ADDR", default_value = "127.0.0.1:3001")]
    pub addr: SocketAddr,

    /// Directory for stored cards when no S3 bucket is configured.
    #[arg(long, env = "STORAGE_DIR", default_value = ".ogshot/images")]
    pub storage_dir: PathBuf,

    /// Store cards in this S3 bucket instead of the local directory.
    #[arg(long, env = "S3_BUCKET")]
    pub s3_bucket: Option<String>,

    /// Key prefix inside the bucket, e.g. `cards/`.
    #[arg(long, env = "S3_PREFIX")]
    pub s3_prefix: Option<String>,

    /// Endpoint of an S3-compatible server (MinIO, Ceph, ...); AWS when unset.
    #[arg(long, env = "S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// Use path-style bucket addressing (most self-hosted S3 servers need it).
    #[arg(long, env = "S3_FORCE_PATH_STYLE")]
    pub s3_force_path_style: bool,

    /// Region of the bucket (default: the AWS configuration chain).
    #[arg(long, env = "S3_REGION")]
    pub s3_region: Option<String>,

    /// Chromium binary (default: Debian's headless shell, /usr/lib/chromium/
    /// chromium-headless-shell, then /usr/lib/chromium/chromium, then a Chromium on PATH).
    #[arg(long, env = "CHROMIUM_PATH")]
    pub chromium_path: Option<PathBuf>,

    /// A remote render site to screenshot; default: one mounted in-process on loopback.
    /// https unless on loopback: the token's cookie goes to it with every render.
    #[arg(long, env = "RENDER_URL")]
    pub render_url: Option<String>,

    /// The remote render site's token (only with RENDER_URL). Never logged.
    #[arg(long, env = "RENDER_TOKEN", hide_env_values = true)]
    pub render_token: Option<String>,

    /// Renders running at once, one browser page each.
    #[arg(long, env = "RENDER_CONCURRENCY", default_value_t = 2)]
    pub render_concurrency: usize,

    /// Renders that may wait for a free page; a request beyond that gets the default
    /// image at once, `no-store` (`x-ogshot-cache: overloaded`), never a 5xx.
    #[arg(long, env = "RENDER_QUEUE", default_value_t = 64)]
    pub render_queue: usize,

    /// Longest wait for a free page, in ms; then the fallback image (`public,
    /// max-age=60`, `x-ogshot-cache: fallback`). Must be below RESPONSE_BUDGET_MS.
    #[arg(long, env = "RENDER_QUEUE_TIMEOUT_MS", default_value_t = 2_000)]
    pub render_queue_timeout_ms: u64,

    /// Longest single render, in ms. A render may outlive its answer (the budget's):
    /// locally it goes on in the background and its card is stored for the next request.
    #[arg(long, env = "RENDER_TIMEOUT_MS", default_value_t = 5_000)]
    pub render_timeout_ms: u64,

    /// Longest time from a card request to its answer, in ms, whatever storage, the
    /// browser or the render site do: when it runs out, the rendered card if there is
    /// one, else the fallback image, goes out at once. Crawlers wait a few seconds.
    #[arg(long, env = "RESPONSE_BUDGET_MS", default_value_t = 3_000)]
    pub response_budget_ms: u64,

    /// Memory for recently served cards, in MiB, so hot cards skip storage.
    #[arg(long, env = "HOT_CACHE_MB", default_value_t = 64)]
    pub hot_cache_mb: u64,

    /// JPEG quality of the screenshots (1-100). A card over 300 KB (WhatsApp's limit) is
    /// taken again at lower qualities, down to 50; one still over is never stored.
    #[arg(long, env = "JPEG_QUALITY", default_value_t = 85)]
    pub jpeg_quality: u8,

    /// How a card swapped into a warm page is captured: `auto` takes its tagged
    /// screencast frame where the browser sends one (encoded off the browser's UI
    /// thread, so two renders encode at once), else a screenshot; `screenshot` always
    /// takes a screenshot.
    #[arg(long, env = "SWAP_CAPTURE", value_enum, default_value_t = SwapCaptureChoice::Auto)]
    pub swap_capture: SwapCaptureChoice,

    /// Design tokens honoured as earlier designs besides the compiled-in ones
    /// (comma-separated), e.g. the token of a deploy that was rolled back, whose URLs
    /// crawlers may already hold: they get the current card instead of the default.
    #[arg(long, env = "HONOURED_DESIGNS", value_delimiter = ',')]
    pub honoured_designs: Vec<String>,
}

/// The `SWAP_CAPTURE` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SwapCaptureChoice {
    Auto,
    Screenshot,
}

/// Where cards are stored.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    Local(PathBuf),
    S3(S3Config),
}

/// Which render site Chromium loads.
#[derive(Clone)]
pub enum RenderTarget {
    /// The render-site router mounted in this process on 127.0.0.1 with a random token.
    InProcess,
    /// A render site elsewhere, with its token.
    Remote {
        base: BaseUrl,
        token: render_site::RenderToken,
    },
}

impl std::fmt::Debug for RenderTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InProcess => f.write_str("InProcess"),
            Self::Remote { base, .. } => write!(f, "Remote({base})"),
        }
    }
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub storage: StorageConfig,
    pub chromium_path: Option<PathBuf>,
    pub render_target: RenderTarget,
    /// Private, so that no caller (a test harness or drill included) can run limits
    /// that validation would refuse: they come from flags and the environment only.
    limits: RenderLimits,
    pub jpeg_quality: u8,
    /// Whether swapped cards may be captured by tagged screencast.
    pub screencast: bool,
    /// Earlier designs honoured besides [`shared_ids::EARLIER_DESIGNS`].
    pub honoured_designs: Vec<DesignToken>,
}

/// A configuration the service refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "RENDER_URL and RENDER_TOKEN go together: set both for a remote render site, or neither"
    )]
    RenderPair,
    #[error("RENDER_URL is not usable: {0}")]
    RenderUrl(#[source] shared_ids::BaseUrlError),
    #[error(
        "RENDER_URL {0} must be https unless its host is loopback (127.0.0.0/8, ::1, \
         localhost): the render token's cookie travels to it with every render"
    )]
    RenderUrlNotHttps(String),
    #[error(transparent)]
    RenderToken(#[from] render_site::auth::TokenError),
    #[error("RENDER_CONCURRENCY must be between 1 and 64")]
    Concurrency,
    #[error("JPEG_QUALITY must be between 1 and 100")]
    Quality,
    #[error("RENDER_TIMEOUT_MS and RENDER_QUEUE_TIMEOUT_MS must be between 1 and 60000")]
    Timeout,
    #[error("RESPONSE_BUDGET_MS must be between 500 and 60000")]
    Budget,
    #[error(
        "RENDER_QUEUE_TIMEOUT_MS ({queue} ms) must be below RESPONSE_BUDGET_MS ({budget} ms): \
         otherwise a request always runs out of budget before the queue could give up on it"
    )]
    QueueBeyondBudget { queue: u64, budget: u64 },
    #[error("S3_BUCKET must not be empty")]
    Bucket,
    #[error("HONOURED_DESIGNS: {0}")]
    Design(#[from] shared_ids::NotADesignToken),
    #[error("{0}")]
    Flags(String),
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;

    fn try_from(args: Args) -> Result<Self, Self::Error> {
        let render_target = match (args.render_url, args.render_token) {
            (None, None) => RenderTarget::InProcess,
            (Some(url), Some(token)) => RenderTarget::Remote {
                base: render_base(&url)?,
                token: render_site::RenderToken::new(token)?,
            },
            _ => return Err(ConfigError::RenderPair),
        };
        if !(1..=64).contains(&args.render_concurrency) {
            return Err(ConfigError::Concurrency);
        }
        if !(1..=100).contains(&args.jpeg_quality) {
            return Err(ConfigError::Quality);
        }
        let millis = |ms: u64| {
            (1..=60_000)
                .contains(&ms)
                .then(|| Duration::from_millis(ms))
                .ok_or(ConfigError::Timeout)
        };
        if !(500..=60_000).contains(&args.response_budget_ms) {
            return Err(ConfigError::Budget);
        }
        if args.render_queue_timeout_ms >= args.response_budget_ms {
            return Err(ConfigError::QueueBeyondBudget {
                queue: args.render_queue_timeout_ms,
                budget: args.response_budget_ms,
            });
        }
        let honoured_designs = args
            .honoured_designs
            .iter()
            .map(|raw| DesignToken::configured(raw.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        let storage = match args.s3_bucket {
            Some(bucket) if bucket.trim().is_empty() => return Err(ConfigError::Bucket),
            Some(bucket) => StorageConfig::S3(S3Config {
                bucket,
                prefix: args.s3_prefix,
                endpoint: args.s3_endpoint,
                force_path_style: args.s3_force_path_style,
                region: args.s3_region,
            }),
            None => StorageConfig::Local(args.storage_dir),
        };
        Ok(Self {
            addr: args.addr,
            storage,
            chromium_path: args.chromium_path,
            render_target,
            limits: RenderLimits {
                concurrency: args.render_concurrency,
                queue: args.render_queue,
                queue_timeout: millis(args.render_queue_timeout_ms)?,
                render_timeout: millis(args.render_timeout_ms)?,
                response_budget: Duration::from_millis(args.response_budget_ms),
                hot_cache_bytes: args.hot_cache_mb.saturating_mul(1024 * 1024),
                store_before_answer: std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some(),
            },
            jpeg_quality: args.jpeg_quality,
            screencast: args.swap_capture == SwapCaptureChoice::Auto,
            honoured_designs,
        })
    }
}

/// A remote render site's base: plain http only to this machine, where nothing on the
/// network sees the cookie that carries the token.
fn render_base(raw: &str) -> Result<BaseUrl, ConfigError> {
    let base = BaseUrl::parse(raw).map_err(ConfigError::RenderUrl)?;
    let url = Url::parse(raw).expect("a valid base URL is a valid URL");
    if !base.is_https() && !is_loopback(&url) {
        return Err(ConfigError::RenderUrlNotHttps(base.to_string()));
    }
    Ok(base)
}

/// Whether `url`'s host is this machine: 127.0.0.0/8, ::1 (also IPv4-mapped) or
/// `localhost`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.to_canonical().is_loopback(),
        None => false,
    }
}

impl Config {
    /// The embedded local defaults: local directory storage, in-process render site.
    pub fn local_defaults() -> Self {
        Self::from_flags::<[&str; 0], _>([]).expect("the built-in defaults are valid")
    }

    /// The configuration the service gets from these command-line flags (and the
    /// environment), validated as at start-up. A flag clap cannot parse is refused too.
    pub fn from_flags<I, T>(flags: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let argv = std::iter::once(std::ffi::OsString::from("image-service"))
            .chain(flags.into_iter().map(Into::into));
        let cli = Cli::try_parse_from(argv).map_err(|e| ConfigError::Flags(e.to_string()))?;
        Self::try_from(cli.service)
    }

    /// The validated limits on rendering work.
    pub fn limits(&self) -> &RenderLimits {
        &self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(flags: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["image-service"];
        argv.extend_from_slice(flags);
        Config::try_from(Cli::try_parse_from(argv).unwrap().service)
    }

    #[test]
    fn defaults_are_local_and_in_process() {
        let c = config(&[]).unwrap();
        assert!(matches!(c.render_target, RenderTarget::InProcess));
        assert!(
            matches!(c.storage, StorageConfig::Local(ref dir) if dir.ends_with(".ogshot/images"))
        );
        assert_eq!(c.addr.to_string(), "127.0.0.1:3001");
        assert_eq!(
            c.limits.response_budget,
            crate::render::DEFAULT_RESPONSE_BUDGET
        );
    }

    #[test]
    fn inconsistent_settings_are_refused() {
        assert!(matches!(
            config(&["--render-url", "https://r.example.com"]),
            Err(ConfigError::RenderPair)
        ));
        assert!(matches!(
            config(&["--render-token", "t"]),
            Err(ConfigError::RenderPair)
        ));
        assert!(config(&["--render-url", "r.example.com", "--render-token", "t"]).is_err());
        assert!(config(&["--render-concurrency", "0"]).is_err());
        assert!(config(&["--jpeg-quality", "0"]).is_err());
        assert!(config(&["--render-timeout-ms", "0"]).is_err());
        assert!(matches!(
            config(&["--response-budget-ms", "100"]),
            Err(ConfigError::Budget)
        ));
        assert!(matches!(
            config(&["--response-budget-ms", "2000"]),
            Err(ConfigError::QueueBeyondBudget {
                queue: 2000,
                budget: 2000
            })
        ));
        assert!(
            config(&[
                "--response-budget-ms",
                "2000",
                "--render-queue-timeout-ms",
                "1500"
            ])
            .is_ok()
        );
        assert!(config(&["--s3-bucket", " "]).is_err());
        let remote = config(&[
            "--render-url",
            "https://r.example.com",
            "--render-token",
            "t",
        ])
        .unwrap();
        assert!(
            !format!("{remote:?}").contains("\"t\""),
            "the token stays out of Debug"
        );
    }

    /// The render token's cookie goes to RENDER_URL with every render: never in clear
    /// text over a network.
    #[test]
    fn a_render_url_is_https_unless_it_is_this_machine() {
        let remote = |url: &str| config(&["--render-url", url, "--render-token", "t"]);
        for refused in [
            "http://render.example.com",
            "http://render.example.com:4000/base",
            "http://10.0.0.5:4000",
            "http://[2001:db8::1]:4000",
            "http://localhost.example.com",
        ] {
            let error = remote(refused).unwrap_err();
            assert!(
                matches!(error, ConfigError::RenderUrlNotHttps(_)),
                "{refused}: {error}"
            );
            assert!(error.to_string().contains("must be https"), "{error}");
        }
        for accepted in [
            "https://render.example.com",
            "https://10.0.0.5:4000",
            "http://127.0.0.1:4000",
            "http://127.3.4.5:4000",
            "http://[::1]:4000",
            "http://localhost:4000",
            "http://LOCALHOST:4000",
        ] {
            let config = remote(accepted).unwrap_or_else(|e| panic!("{accepted}: {e}"));
            assert!(
                matches!(config.render_target, RenderTarget::Remote { .. }),
                "{accepted}"
            );
        }
    }

    /// Regression: the help promised a 503 for a full or slow render queue, which the
    /// service stopped sending (it answers an image: see `CachePolicy::Overloaded`).
    #[test]
    fn the_help_promises_no_5xx() {
        let help = <Cli as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        assert!(!help.contains("503"), "{help}");
        let queue = &help[help.find("--render-queue <").expect("the queue flag")..];
        let queue = &queue[..queue.find("--render-timeout-ms").expect("the next flag")];
        for promise in ["default image", "overloaded", "fallback", "max-age=60"] {
            assert!(queue.contains(promise), "{promise}: {queue}");
        }
    }

    /// On Lambda every answer must be the service's own: the budget runs out before the
    /// function's timeout (which CloudFront would answer with a 5xx), and that before
    /// CloudFront's origin read timeout.
    #[test]
    fn the_template_keeps_budget_below_function_timeout_below_origin_timeout() {
        let template = include_str!("../../infra/template.yaml");
        let from = |start: &str| &template[template.find(start).expect(start)..];
        let number = |text: &str, key: &str| -> u64 {
            text.lines()
                .find_map(|line| line.trim().strip_prefix(key))
                .and_then(|value| value.trim().trim_matches('"').parse().ok())
                .unwrap_or_else(|| panic!("no {key} in the template"))
        };
        let budget = from("\n  ResponseBudgetMs:");
        let function = from("\n  ImageServiceFunction:");
        let origin = from("- Id: render-function");
        assert_eq!(
            u128::from(number(budget, "Default:")),
            crate::render::DEFAULT_RESPONSE_BUDGET.as_millis(),
            "the template's default budget is the service's"
        );
        let timeout_ms = number(function, "Timeout:") * 1000;
        assert!(number(budget, "MaxValue:") < timeout_ms);
        assert!(number(function, "Timeout:") < number(origin, "OriginReadTimeout:"));
        assert!(
            number(function, "RENDER_QUEUE_TIMEOUT_MS:") < number(budget, "MinValue:"),
            "the service refuses a queue timeout beyond its budget"
        );
    }
}
