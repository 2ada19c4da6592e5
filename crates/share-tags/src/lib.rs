//! What a share of an ogshot card says, for every app that says it: the wording
//! (`ShareText`) and the set of `og:*` / `twitter:*` meta tags (`ShareTags`) for a
//! parsed `SocialId`, or for no id (the default image).
//!
//! Tags are built from a `ShareSite` (plain, validated configuration), the parsed id and
//! the shared page's address, and can be read as (attribute, key, value) items or
//! rendered as HTML. This crate has no HTTP and no HTML rewriter (share-inject puts these
//! tags into pages). Its two doors from raw input: the query functions return a parsed id
//! (or whether a `social` parameter is there), never the input, and `PageAddress` keeps
//! only URL characters of a request's path and query, which every tag escapes again.

mod page;
mod query;
mod tags;
mod text;

use std::sync::Arc;

use card_wording::Content;
use shared_ids::BaseUrl;

pub use page::{PageAddress, TRACKING_PARAMS, TrackingParamError, TrackingParams};
pub use query::{SOCIAL_PARAM, has_social_param, social_id_from_query};
pub use tags::{
    MetaAttr, MetaTag, OG_TYPE, PageWords, ShareTags, TWITTER_CARD, is_meta_key, is_replaced_key,
};
pub use text::ShareText;

/// The configuration a share is built from: every URL a tag carries derives from these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareSite {
    /// `og:site_name`, and part of every title and description.
    pub site_name: String,
    /// The shared site's public URL: its origin begins every `og:url`.
    pub public_url: BaseUrl,
    /// Public base of the image service: `og:image` and `twitter:image`.
    pub image_base: BaseUrl,
    /// The query parameters `og:url` leaves out.
    pub tracking: TrackingParams,
    /// The cards' words, which the image's alt text describes.
    pub wording: Arc<Content>,
}

impl ShareSite {
    /// A site with the standard tracking parameters and the design's own wording.
    pub fn new(site_name: impl Into<String>, public_url: BaseUrl, image_base: BaseUrl) -> Self {
        Self {
            site_name: site_name.into(),
            public_url,
            image_base,
            tracking: TrackingParams::default(),
            wording: Arc::new(Content::embedded()),
        }
    }
}
