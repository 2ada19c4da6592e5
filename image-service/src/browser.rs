//! One warm headless Chromium with a pool of pages, kept alive by a supervisor. Each
//! file one job, each using only those above it in this list:
//!
//! - `options`: what the browser renders and where from;
//! - `screenshot`: capture by `Page.captureScreenshot`;
//! - `profile`: a browser's profile directory, locked while its service lives, and the
//!   start-up sweep of those that dead services left;
//! - `process`: the process tree (its own process group, killed and reaped whole, and
//!   killed by the kernel when the service dies);
//! - `live`: a browser that is up, and how its swapped cards are captured;
//! - `launch`: which binary, which flags, the DevTools connection;
//! - `screencast`: capture of a swapped card by tagged screencast frame (the frame
//!   tag is explained there);
//! - `page`: a pooled page's life: navigate or swap, check the card is the key's,
//!   capture;
//! - `pool`: the pages, handed out so that no window outlives its render;
//! - `supervisor`: watches the browser and replaces it when it is dead or hung, off
//!   every request's path;
//! - `chromium`: the warm browser as renders see it ([`Chromium`]).

mod chromium;
mod launch;
mod live;
mod options;
mod page;
mod pool;
mod process;
mod profile;
mod screencast;
mod screenshot;
mod supervisor;

pub use chromium::Chromium;
pub use launch::{
    CHROMIUM_ARGS, DEBIAN_CHROMIUM, HEADLESS_SHELL, INSTALL_HINT, LAUNCH_TIMEOUT, Launched,
    chromium_command_line, find_chromium, launch,
};
pub use live::SwapCapture;
pub use options::{ChromiumOptions, RenderOrigin};
pub use page::{CardRequest, swap_expression};
pub use process::{BrowserProcess, ProcStat, group_members, proc_stat};
pub use screencast::{PROBE_FRAME_TIMEOUT, Screencast};
pub use screenshot::{capture_params, screenshot_bytes};
