//! The injector: streams a share's image tags into any site's HTML response in place of
//! the site's own, as an engine (`Injector`) and as tower middleware (`InjectLayer`)
//! that any Rust app, and ogshot's main site, wraps its router in.
//!
//! The tags come from share-tags, built from configuration and the parsed id alone: the
//! engine reads a page's bytes only to find where the tags go and which to take out, so
//! nothing of the page or the request reaches them. A page it cannot rewrite safely goes
//! through byte for byte (fail open), and says why in `x-ogshot-inject`. It never
//! fetches anything itself: what to wrap (a proxy, a directory, an app) is the caller's.
//!
//! Modules by stage: `engine` (the decision and the rewrite, with `scan` and `charset`),
//! `outcome` (what became of an answer, one vocabulary and one counter per reason),
//! `decoding` (content codings, both ways), `conditional` (validators, `If-None-Match`),
//! `response` (bodies and gateway answers) and `layer` (the service that runs them).

/// A lol_html selector, parsed once: every body gets rewriters of its own, and parsing
/// their selectors anew was a twentieth of a share page's time.
macro_rules! selector {
    ($css:literal) => {{
        static SELECTOR: std::sync::LazyLock<lol_html::Selector> =
            std::sync::LazyLock::new(|| $css.parse().expect("the selector is valid CSS"));
        &*SELECTOR
    }};
}

mod charset;
mod conditional;
mod decoding;
mod engine;
#[cfg(test)]
mod fixtures;
mod layer;
mod outcome;
mod response;
mod scan;
mod skim;

pub use decoding::{DECODED_CODINGS, limit_accept_encoding};
pub use engine::{ENGINE_VERSION, InjectLimits, Injector, Rewrite};
pub use layer::{InjectLayer, InjectService};
pub use outcome::{InjectStats, Outcome, PassReason};
pub use response::{BoxError, INJECT_HEADER, InjectBody, gateway_error};
pub use share_tags::ShareSite;
