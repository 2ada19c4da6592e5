//! A browser that is up, as renders and the supervisor see it: its CDP client, its
//! generation, whether it is still connected, and how its swapped cards are captured
//! (found on its first swaps).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use chromiumoxide::Browser;

/// A browser that is up: the CDP client and what tells whether it still is.
pub(super) struct Live {
    pub(super) browser: Browser,
    pub(super) generation: u64,
    pub(super) pid: u32,
    /// Cleared when the CDP connection ends (the browser died or closed it).
    pub(super) connected: Arc<AtomicBool>,
    /// How this browser's swapped cards are captured: a [`SwapCapture`], found on its
    /// first swaps.
    swap_capture: AtomicU8,
    /// Probes that got no tagged frame in time.
    missed_probes: AtomicU8,
    /// Set by a test: the next probing swap gets no tagged frame.
    #[cfg(test)]
    pub(super) miss_next_probe: AtomicBool,
}

/// Probes without a tagged frame before a browser counts as one that sends none: a
/// frame can be late on a loaded machine, and one late frame must not cost a browser
/// its fast capture for good.
const PROBES_BEFORE_SCREENSHOTS: u8 = 3;

/// How a browser's swapped cards are captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SwapCapture {
    /// Not known yet: the next swap tries a tagged screencast, within
    /// [`PROBE_FRAME_TIMEOUT`], and takes a screenshot if no tagged frame came.
    Untried = 0,
    Screencast = 1,
    Screenshot = 2,
}

impl Live {
    /// A browser just connected; `screencast`: whether its swaps may try screencasts.
    pub(super) fn new(
        browser: Browser,
        generation: u64,
        pid: u32,
        connected: Arc<AtomicBool>,
        screencast: bool,
    ) -> Self {
        let method = if screencast {
            SwapCapture::Untried
        } else {
            SwapCapture::Screenshot
        };
        Self {
            browser,
            generation,
            pid,
            connected,
            swap_capture: AtomicU8::new(method as u8),
            missed_probes: AtomicU8::new(0),
            #[cfg(test)]
            miss_next_probe: AtomicBool::new(false),
        }
    }

    /// Whether a test asked the next probing swap to miss its frame (never, outside
    /// tests).
    pub(super) fn take_forced_miss(&self) -> bool {
        #[cfg(test)]
        return self.miss_next_probe.swap(false, Ordering::AcqRel);
        #[cfg(not(test))]
        false
    }

    pub(super) fn swap_capture(&self) -> SwapCapture {
        match self.swap_capture.load(Ordering::Acquire) {
            0 => SwapCapture::Untried,
            1 => SwapCapture::Screencast,
            _ => SwapCapture::Screenshot,
        }
    }

    /// Counts a probe that got no tagged frame; the last allowed one settles on
    /// screenshots.
    pub(super) fn missed_probe(&self) {
        let missed = self.missed_probes.fetch_add(1, Ordering::AcqRel) + 1;
        if missed >= PROBES_BEFORE_SCREENSHOTS {
            self.found_swap_capture(SwapCapture::Screenshot);
        } else {
            tracing::info!(
                generation = self.generation,
                missed,
                "no tagged screencast frame in time; this card is captured by screenshot"
            );
        }
    }

    pub(super) fn found_swap_capture(&self, found: SwapCapture) {
        let untried = SwapCapture::Untried as u8;
        let newly = self
            .swap_capture
            .compare_exchange(untried, found as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if newly {
            match found {
                SwapCapture::Screencast => tracing::info!(
                    generation = self.generation,
                    "swapped cards are captured by tagged screencast"
                ),
                _ => tracing::warn!(
                    generation = self.generation,
                    "this browser sends no tagged screencast frames; swapped cards are \
                     captured by screenshot"
                ),
            }
        }
    }
}
