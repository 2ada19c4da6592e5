//! ogshot's main site: the page people share, either ogshot's own or an existing site's.
//!
//! Without an upstream, `GET /?social=<id>` answers a server-rendered (Leptos SSR, no
//! hydration) page whose `og:image` / `twitter:image` point at the image service's card
//! for a valid id, or at the default image for anything else. With one (`--upstream`),
//! every request goes to the existing site (an HTTP origin, an S3 bucket or a
//! directory) and share-inject's layer puts the share's tags into its pages. Either
//! way it never echoes the raw query value, redirects only as a static host does
//! (`/docs` to `/docs/`, relative), and takes hosts only from configuration, never from
//! request headers.

pub mod config;
pub mod metrics;
pub mod page;
pub mod security;
pub mod upstream;

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

pub use config::{Args, Config, ConfigError, Upstream};
use share_inject::{InjectLimits, Injector};
use share_tags::{ShareTags, social_id_from_query};

/// Crawlers re-read the page rarely and the page only depends on configuration and
/// the id, so a short shared cache lifetime is safe and spares the site bursts.
const PAGE_CACHE_CONTROL: &str = "public, max-age=300";

/// Builds the site's router; the same router serves locally and on AWS Lambda.
pub fn router(config: Config) -> Router {
    site(config).0
}

/// The site's router and, in front of an upstream, the injector whose counters
/// [`metrics`] reports.
pub fn site(config: Config) -> (Router, Option<Injector>) {
    let (mut routers, injector) = routers(config, 1);
    (routers.remove(0), injector)
}

/// `count` routers of the site, one for each runtime of a local server, and the
/// injector whose counters they all add to.
pub fn routers(config: Config, count: usize) -> (Vec<Router>, Option<Injector>) {
    let Some(upstream) = config.upstream.clone() else {
        let router = share_page_router(config);
        return (vec![router; count.max(1)], None);
    };
    let public_url = &config.site.public_url;
    tracing::info!("putting share tags into the pages of {upstream}, shared as {public_url}");
    let injector = Injector::new(config.site.clone(), InjectLimits::default());
    let routers = (0..count.max(1))
        .map(|_| upstream::router(&config, upstream.clone(), injector.clone()))
        .collect();
    (routers, Some(injector))
}

fn share_page_router(config: Config) -> Router {
    let config = Arc::new(config);
    let routes = Router::new()
        .route("/", get(share_page))
        .route("/healthz", get(|| async { "ok" }))
        .route("/robots.txt", get(robots_txt))
        .route(page::STYLESHEET_PATH, get(stylesheet))
        .with_state(Arc::clone(&config));
    security::with_security_headers(routes, &config).layer(app_host::route_trace_layer("unmatched"))
}

async fn share_page(
    State(config): State<Arc<Config>>,
    RawQuery(query): RawQuery,
) -> impl IntoResponse {
    let id = social_id_from_query(query.as_deref());
    let html = page::render(&ShareTags::new(&config.site, id));
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, PAGE_CACHE_CONTROL),
        ],
        html,
    )
}

async fn robots_txt() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "User-agent: *\nAllow: /\n",
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        page::STYLESHEET,
    )
}

#[cfg(test)]
mod tests;
