//! The existing site the injector stands in front of, of one of three kinds: an HTTP
//! origin (`origin`, a reverse proxy), an S3 bucket (`bucket`) or a directory
//! (`directory`); and the router that puts share-inject's layer around it. Each kind only
//! moves bytes; which requests are shares, decoding and validators are the layer's.
//!
//! One setting, `UPSTREAM_TIMEOUT_MS` (config's `UpstreamTimeout`), bounds every wait on
//! an upstream: connecting, its answer's head, each later piece of its body, and the
//! layer's wait for a page up to where the tags go.

pub mod bucket;
pub mod directory;
pub mod origin;

use std::sync::Arc;

use axum::Router;
use share_inject::{InjectLayer, InjectLimits, Injector};

use crate::config::{Config, Upstream};

/// The existing site, through the inject layer.
pub fn router(config: &Config, upstream: Upstream) -> Router {
    let timeout = config.upstream_timeout;
    let site = match upstream {
        Upstream::Http(base) => Router::new()
            .fallback(origin::forward)
            .with_state(Arc::new(origin::HttpOrigin::new(base, timeout))),
        Upstream::S3 {
            bucket,
            prefix,
            region,
        } => Router::new()
            .fallback(bucket::serve)
            .with_state(Arc::new(bucket::Bucket::new(
                bucket, prefix, region, timeout,
            ))),
        Upstream::Dir(dir) => Router::new().fallback_service(directory::service(&dir)),
    };
    let injector = Injector::new(config.site.clone(), InjectLimits::default());
    let inject = InjectLayer::new(injector)
        .decision_deadline(timeout.0)
        .default_image_for_invalid(config.default_image_for_invalid);
    site.layer(inject)
        .layer(app_host::route_trace_layer("upstream"))
}
