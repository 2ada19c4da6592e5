//! One warm headless Chromium with a pool of pages, kept alive by a supervisor.
//!
//! - [`launch`](self::launch): which binary, which flags, and the process tree it runs
//!   as (its own process group, killed and reaped as a whole);
//! - `pool`: the warm browser ([`Chromium`]), its pooled pages, the render and capture;
//! - `screencast`: the fast capture of a swapped card, by a screencast frame tagged
//!   with the page's scroll offset;
//! - `supervisor`: the task that watches the browser and replaces it when it is dead
//!   or hung, off every request's path.

mod launch;
mod pool;
mod screencast;
mod supervisor;

pub use launch::{
    BrowserProcess, CHROMIUM_ARGS, DEBIAN_CHROMIUM, HEADLESS_SHELL, INSTALL_HINT, LAUNCH_TIMEOUT,
    Launched, ProcStat, chromium_command_line, find_chromium, group_members, launch, proc_stat,
};
pub use pool::{
    CardRequest, Chromium, ChromiumOptions, RenderOrigin, SwapCapture, capture_params,
    screenshot_bytes, swap_expression,
};
pub use screencast::{PROBE_FRAME_TIMEOUT, Screencast};
