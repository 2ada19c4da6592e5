//! Which browser renders: Debian's headless shell by default, full Chromium through
//! `CHROMIUM_PATH`.

use std::path::{Path, PathBuf};

use super::support::{Backend, Harness, Setup, assert_real_card, card};
use crate::browser::{DEBIAN_CHROMIUM, HEADLESS_SHELL};

/// The executable of the browser the service runs now.
fn running_browser(h: &Harness) -> PathBuf {
    let pid = h.service().chromium().pid().expect("a browser is up");
    std::fs::read_link(format!("/proc/{pid}/exe")).expect("/proc/<pid>/exe")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_headless_shell_renders_by_default() {
    let h = Harness::start(Backend::Local).await;
    assert_real_card(
        h.get(&card("81-00-01"))
            .await
            .assert_card("default browser"),
    );
    assert_eq!(running_browser(&h), Path::new(HEADLESS_SHELL));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_chromium_still_renders_through_chromium_path() {
    let setup = Setup {
        chromium_path: Some(DEBIAN_CHROMIUM.into()),
        ..Setup::default()
    };
    let h = Harness::start_with(Backend::Local, setup).await;
    assert_real_card(h.get(&card("81-00-02")).await.assert_card("full Chromium"));
    assert_eq!(running_browser(&h), Path::new(DEBIAN_CHROMIUM));
    h.stop().await;
}
