//! What the browser is asked to render, and where from.

use std::path::PathBuf;

/// What the browser renders and how.
#[derive(Debug, Clone)]
pub struct ChromiumOptions {
    pub executable: PathBuf,
    pub jpeg_quality: u8,
    /// Capture swapped cards by tagged screencast where the browser sends tagged frames
    /// (`false`: always by screenshot).
    pub screencast: bool,
}

/// The render site Chromium loads cards from, and the cookie that admits it there.
#[derive(Clone)]
pub struct RenderOrigin {
    /// e.g. `http://127.0.0.1:41234`, no trailing slash.
    pub base: String,
    pub cookie_name: &'static str,
    pub cookie_value: String,
}

impl std::fmt::Debug for RenderOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The cookie admits whoever holds it: never print it.
        f.debug_struct("RenderOrigin")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}
