//! The existing site the injector stands in front of, of one of three kinds: an HTTP
//! origin (`origin`, a reverse proxy), an S3 bucket (`bucket`) or a directory
//! (`directory`), the last two served as a static host serves files (`static_site`); and
//! the router that puts share-inject's layer around it. Each kind only moves bytes;
//! which requests are shares, decoding and validators are the layer's.
//!
//! Every log line of a request names the upstream (a span around it), so a 502 or 504
//! says which site failed, whichever part logs it.
//!
//! `UPSTREAM_TIMEOUT_MS` (config's `UpstreamTimeout`) is the layer's deadline for a
//! share page's head (its answer's head, then the page up to where the tags go) and the
//! limit on connecting and on each silence within a body; nothing else has a total
//! deadline. An HTTP origin's other answers start within `UPSTREAM_ANSWER_TIMEOUT_MS` of
//! the request's last byte (`origin`'s `pace` says which traffic waits how long).

pub mod bucket;
pub mod directory;
pub mod origin;
pub mod static_site;

use std::sync::Arc;

use axum::Router;
use share_inject::{InjectLayer, Injector};

use crate::config::{Config, Upstream};

/// The existing site, through the inject layer of `injector`.
pub fn router(config: &Config, upstream: Upstream, injector: Injector) -> Router {
    let timeout = config.upstream_timeout;
    let name: Arc<str> = upstream.to_string().into();
    let site = match upstream {
        Upstream::Http(base) => Router::new()
            .fallback(origin::forward)
            .with_state(Arc::new(origin::HttpOrigin::new(base, config))),
        Upstream::S3 {
            bucket,
            prefix,
            region,
            spa,
        } => Router::new()
            .fallback(bucket::serve)
            .with_state(Arc::new(bucket::Bucket::new(
                bucket, prefix, region, spa, timeout,
            ))),
        Upstream::Dir { root, spa } => Router::new()
            .fallback(directory::serve)
            .with_state(Arc::new(directory::Directory::new(root, spa))),
    };
    let inject = InjectLayer::new(injector)
        .decision_deadline(timeout.0)
        .default_image_for_invalid(config.default_image_for_invalid);
    (site.layer(inject)).layer(app_host::upstream_trace_layer(name))
}
