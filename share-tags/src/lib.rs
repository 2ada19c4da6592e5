//! What a share of an ogshot card says, for every app that says it: the wording
//! (`ShareText`) and the set of `og:*` / `twitter:*` meta tags (`ShareTags`) for a
//! parsed `SocialId`, or for no id (the default image); and the engine (`Injector`) that
//! streams a share's image tags into any site's HTML response in place of the site's own.
//!
//! Tags are built from a `ShareSite` (plain, validated configuration) and the parsed id
//! alone, and can be read as (attribute, key, value) items or rendered as HTML. This
//! crate never sees a request: no byte of one can reach a tag. The one door from raw
//! input, `social_id_from_query`, returns a parsed id or nothing, never the input. The
//! engine reads a page's bytes only to find where the tags go and which to take out;
//! nothing of the page reaches the tags, and a page it cannot rewrite safely goes through
//! byte for byte.

mod charset;
mod inject;
mod layer;
mod query;
mod scan;
mod tags;
mod text;

use shared_ids::BaseUrl;

pub use inject::{
    ENGINE_VERSION, InjectLimits, InjectStats, Injector, Outcome, PassReason, Rewrite,
};
pub use layer::{
    BoxError, DECODED_CODINGS, INJECT_HEADER, InjectBody, InjectLayer, InjectService, gateway_error,
};
pub use query::{SOCIAL_PARAM, social_id_from_query};
pub use tags::{MetaAttr, MetaTag, OG_TYPE, ShareTags, TWITTER_CARD, is_replaced_key};
pub use text::ShareText;

/// The configuration a share is built from: every URL a tag carries derives from these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareSite {
    /// `og:site_name`, and part of every title and description.
    pub site_name: String,
    /// The shared site's public URL: `og:url` and the canonical share URL.
    pub public_url: BaseUrl,
    /// Public base of the image service: `og:image` and `twitter:image`.
    pub image_base: BaseUrl,
}
