//! ogshot's image service: path -> id -> stored JPEG or Chromium render -> storage.
//!
//! `GET /<design>/<id>.jpg` answers the stored card, or renders it once with a warm
//! headless Chromium from the render site's card page, validates it ([`jpeg`]) and
//! stores it; every response's cache lifetime comes from one table ([`cache_policy`]).
//! It never renders for an invalid path, never stores a fallback image under a card's
//! key, and never answers bad input with a 5xx or a redirect.

pub mod browser;
pub mod cache_policy;
pub mod circuit;
pub mod config;
pub mod error;
pub mod jpeg;
pub mod prerender;
pub mod render;
pub mod routes;
pub mod storage;
pub mod telemetry;

use std::sync::Arc;

use axum::Router;
use tokio::task::JoinHandle;

use browser::{Chromium, ChromiumOptions, RenderOrigin};
pub use config::{Cli, Command, Config, ConfigError, RenderTarget, StorageConfig};
pub use error::RenderError;
use render::Cards;
use routes::AppState;
use storage::{LocalDirStorage, S3Storage, Storage, StorageError};
use telemetry::Metrics;

/// The image served for every path that is not a card, and in place of a card whose
/// render failed (see `assets/README.md`). 2400x1260, like every card.
pub const DEFAULT_IMAGE: &[u8] = include_bytes!("../assets/default.jpg");

/// How long shutdown waits for renders under way to be stored.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("cannot start the in-process render site: {0}")]
    RenderSite(#[source] std::io::Error),
}

/// A running image service: storage, a warm browser and, by default, its own render
/// site on loopback.
#[derive(Debug)]
pub struct ImageService {
    state: AppState,
    chromium: Arc<Chromium>,
    render_site: Option<JoinHandle<()>>,
}

impl ImageService {
    /// Opens the configured storage and starts everything.
    pub async fn start(config: Config, metrics: Arc<Metrics>) -> Result<Self, StartError> {
        let storage: Arc<dyn Storage> = match &config.storage {
            StorageConfig::Local(dir) => Arc::new(LocalDirStorage::new(dir)?),
            StorageConfig::S3(s3) => Arc::new(S3Storage::connect(s3).await?),
        };
        Self::start_with_storage(config, storage, metrics).await
    }

    /// Starts everything around an already opened storage backend.
    pub async fn start_with_storage(
        config: Config,
        storage: Arc<dyn Storage>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StartError> {
        let executable = browser::find_chromium(config.chromium_path.as_deref())?;
        let limits = *config.limits();
        let (origin, render_site) = match config.render_target {
            RenderTarget::InProcess => {
                // A fresh random token per process, on loopback only: no secret domain,
                // no shared secret to rotate, no network hop.
                let token = render_site::RenderToken::generate();
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .map_err(StartError::RenderSite)?;
                let addr = listener.local_addr().map_err(StartError::RenderSite)?;
                let site =
                    render_site::router(render_site::RenderSiteConfig::in_process(token.clone()));
                let task = tokio::spawn(async move {
                    if let Err(error) = axum::serve(listener, site).await {
                        tracing::error!(%error, "in-process render site stopped");
                    }
                });
                (render_origin(format!("http://{addr}"), &token), Some(task))
            }
            RenderTarget::Remote { base, token } => {
                (render_origin(base.as_str().to_owned(), &token), None)
            }
        };
        let options = ChromiumOptions {
            executable,
            jpeg_quality: config.jpeg_quality,
            screencast: config.screencast,
        };
        let chromium = Arc::new(Chromium::launch(options, origin, Arc::clone(&metrics)).await?);
        let cards = Cards::new(storage, Arc::clone(&chromium), limits, Arc::clone(&metrics));
        Ok(Self {
            state: AppState {
                cards,
                metrics,
                honoured_designs: config.honoured_designs.into(),
            },
            chromium,
            render_site,
        })
    }

    /// The HTTP router; the same one serves locally and on AWS Lambda.
    pub fn router(&self) -> Router {
        routes::router(self.state.clone())
    }

    /// The card pipeline, for `prerender` and tests.
    pub fn cards(&self) -> &Cards {
        &self.state.cards
    }

    /// The service's counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.state.metrics
    }

    /// The warm browser, for drills and memory accounting.
    pub fn chromium(&self) -> &Arc<Chromium> {
        &self.chromium
    }

    /// Lets renders under way finish and be stored (for at most [`SHUTDOWN_GRACE`]),
    /// then closes the browser (deleting its profile) and stops the in-process render
    /// site.
    pub async fn shutdown(self) {
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, self.state.cards.settled()).await;
        self.chromium.shutdown().await;
        if let Some(task) = self.render_site {
            task.abort();
        }
    }
}

/// Where Chromium loads cards, admitted by the token's cookie. Both the token and the
/// cookie are kept out of every log line from here on.
fn render_origin(base: String, token: &render_site::RenderToken) -> RenderOrigin {
    token.redact_from_logs();
    RenderOrigin {
        base,
        cookie_name: render_site::auth::COOKIE_NAME,
        cookie_value: token.cookie_value().to_owned(),
    }
}

#[cfg(test)]
mod tests;
