//! What a share of an ogshot card says, for every app that says it: the wording
//! (`ShareText`) and the set of `og:*` / `twitter:*` meta tags (`ShareTags`) for a
//! parsed `SocialId`, or for no id (the default image).
//!
//! Tags are built from a `ShareSite` (plain, validated configuration) and the parsed id
//! alone, and can be read as (attribute, key, value) items or rendered as HTML. This
//! crate has no HTTP and no HTML rewriter (share-inject puts these tags into pages): no
//! byte of a request can reach a tag. Its one door from raw input, the query functions,
//! returns a parsed id (or whether a `social` parameter is there), never the input.

mod query;
mod tags;
mod text;

use shared_ids::BaseUrl;

pub use query::{SOCIAL_PARAM, has_social_param, social_id_from_query};
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
