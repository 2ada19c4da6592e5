//! ogshot's main site: the page people share, either ogshot's own or an existing site's.
//!
//! Without an upstream, `GET /?social=<id>` answers a server-rendered (Leptos SSR, no
//! hydration) page whose `og:image` / `twitter:image` point at the image service's card
//! for a valid id, or at the default image for anything else. With one (`--upstream`),
//! every request goes to the existing site (an HTTP origin, an S3 bucket or a
//! directory) and share-tags' inject layer puts the share's tags into its pages. Either
//! way it never echoes the raw query value, never redirects of its own, and takes hosts
//! only from configuration, never from request headers.

pub mod config;
pub mod page;
pub mod proxy;
pub mod s3_site;
pub mod security;
pub mod static_dir;

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

pub use config::{Args, Config, ConfigError, Upstream};
use share_tags::{InjectLayer, InjectLimits, Injector, ShareTags, social_id_from_query};

/// Crawlers re-read the page rarely and the page only depends on configuration and
/// the id, so a short shared cache lifetime is safe and spares the site bursts.
const PAGE_CACHE_CONTROL: &str = "public, max-age=300";

/// Builds the site's router; the same router serves locally and on AWS Lambda.
pub fn router(config: Config) -> Router {
    match config.upstream.clone() {
        None => share_page_router(config),
        Some(upstream) => upstream_router(&config, upstream),
    }
}

/// The existing site, through the inject layer.
fn upstream_router(config: &Config, upstream: Upstream) -> Router {
    let site = match upstream {
        Upstream::Http(base) => {
            Router::new()
                .fallback(proxy::forward)
                .with_state(Arc::new(proxy::HttpOrigin::new(
                    base,
                    config.upstream_timeout,
                )))
        }
        Upstream::S3 {
            bucket,
            prefix,
            region,
        } => Router::new()
            .fallback(s3_site::serve)
            .with_state(Arc::new(s3_site::Bucket::new(
                bucket,
                prefix,
                region,
                config.upstream_timeout,
            ))),
        Upstream::Dir(dir) => Router::new().fallback_service(static_dir::service(&dir)),
    };
    let injector = Injector::new(config.site.clone(), InjectLimits::default());
    let inject = InjectLayer::new(injector)
        .decision_deadline(config.upstream_timeout)
        .default_image_for_invalid(config.default_image_for_invalid);
    site.layer(inject)
        .layer(app_host::route_trace_layer("upstream"))
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
