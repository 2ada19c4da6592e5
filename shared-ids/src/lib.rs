//! The id contract of ogshot: the one place that says what a share id is, which card
//! designs exist, and how image paths and URLs are spelled.
//!
//! Every app (main site, render site, image service) parses ids and builds image URLs
//! through this crate and never re-implements either. It never normalises input: a
//! second spelling of one id would split the image cache, so anything that is not
//! byte-for-byte canonical is rejected.

pub mod design;
mod image_path;
mod social_id;

pub use design::{CURRENT_DESIGN, DesignToken, EARLIER_DESIGNS, NotADesignToken};
pub use image_path::{BaseUrl, BaseUrlError, DEFAULT_IMAGE_PATH, ImagePath, card_path};
pub use social_id::{ParseSocialIdError, SocialId};

/// Width of the card page in CSS pixels.
pub const CARD_WIDTH_CSS: u32 = 1200;
/// Height of the card page in CSS pixels.
pub const CARD_HEIGHT_CSS: u32 = 630;
/// Device scale factor of the screenshot: crisp on high-density screens, which crawlers'
/// own resizing turns into a sharper thumbnail than a 1x capture would.
pub const DEVICE_SCALE: u32 = 2;
/// Width of every card JPEG (and of the default image) in pixels.
pub const IMAGE_WIDTH_PX: u32 = CARD_WIDTH_CSS * DEVICE_SCALE;
/// Height of every card JPEG (and of the default image) in pixels.
pub const IMAGE_HEIGHT_PX: u32 = CARD_HEIGHT_CSS * DEVICE_SCALE;
/// The media type of every image ogshot serves.
pub const IMAGE_CONTENT_TYPE: &str = "image/jpeg";
