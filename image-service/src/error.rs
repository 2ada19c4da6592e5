//! Why a card could not be produced. None of these reach a client as a 5xx: each is
//! answered with the default image, under the fallback's or the overload's cache policy.

use std::time::Duration;

use crate::jpeg::JpegRejection;

/// A render that produced no storable card.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    ChromiumMissing(String),
    #[error("chromium could not be launched: {0}")]
    Launch(String),
    #[error("chromium failed: {0}")]
    Browser(String),
    #[error(
        "the render site did not answer with a ready card (wrong token, missing card or error page)"
    )]
    NotACard,
    #[error("the render site showed the card of {design}/{id}, not the one asked for")]
    WrongCard { design: String, id: String },
    /// A card whose text was not drawable when it would have been captured: a capture
    /// then could show it without some of its text, so it is never taken.
    #[error("the card's text was not drawn: {0}")]
    TextNotDrawn(String),
    #[error("the render site keeps failing; renders are refused until it answers again")]
    RenderSiteDown,
    #[error("the render took longer than the {0:?} it had")]
    Timeout(Duration),
    #[error("no browser was up in time (it is being relaunched)")]
    BrowserUnavailable,
    #[error("the response budget of {0:?} ran out before the card was ready")]
    OverBudget(Duration),
    #[error("the screenshot is not a storable card: {0}")]
    Rejected(#[from] JpegRejection),
    #[error("no render page came free within the {0:?} a render may wait")]
    QueueTimeout(Duration),
    #[error("the render queue is full")]
    Overloaded,
    #[error("the render task stopped unexpectedly: {0}")]
    Task(String),
}
