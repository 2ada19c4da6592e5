//! Which browser renders (Debian's headless shell by default, full Chromium through
//! `CHROMIUM_PATH`), and how a warm page's capture recovers from a missed frame.

use std::path::{Path, PathBuf};

use super::support::{Backend, Harness, ServiceReply, Setup, assert_rendered_card};
use crate::browser::{DEBIAN_CHROMIUM, HEADLESS_SHELL};
use test_kit::card_path;

/// The executable of the browser the service runs now.
fn running_browser(h: &Harness) -> PathBuf {
    let pid = h.service().chromium().pid().expect("a browser is up");
    std::fs::read_link(format!("/proc/{pid}/exe")).expect("/proc/<pid>/exe")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_headless_shell_renders_by_default() {
    let h = Harness::start(Backend::Local).await;
    assert_rendered_card(
        h.get(&card_path("81-00-01"))
            .await
            .assert_card("default browser"),
        "default browser",
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
    assert_rendered_card(
        h.get(&card_path("81-00-02"))
            .await
            .assert_card("full Chromium"),
        "full Chromium",
    );
    assert_eq!(running_browser(&h), Path::new(DEBIAN_CHROMIUM));
    h.stop().await;
}

/// After a probe whose tagged frame did not come, the page's next screencast starts
/// afresh while the page is still scrolled to the missed tag. A swap drawing that tag
/// again would scroll nowhere, and the new screencast's first frame, which shows the
/// card before, would carry it: the swap must take a tag of its own and its own card.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_after_a_missed_probe_takes_its_own_card() {
    let warm = Harness::start(Backend::Local).await;
    let pixels = |reply: super::support::Reply, what: &str| {
        assert_eq!(reply.cache_status(), Some("miss"), "{what}");
        jpeg_decoder::Decoder::new(reply.assert_card(what))
            .decode()
            .expect("a JPEG")
    };
    pixels(warm.get(&card_path("82-00-01")).await, "loaded");
    warm.service().chromium().miss_next_probe();
    pixels(warm.get(&card_path("82-00-02")).await, "its probe missed");
    let swapped = pixels(
        warm.get(&card_path("82-00-03")).await,
        "swapped after the miss",
    );
    assert_eq!(
        warm.service().chromium().swap_capture(),
        Some(crate::browser::SwapCapture::Screencast),
        "the card after the miss came from the screencast"
    );
    warm.stop().await;

    let fresh = Harness::start(Backend::Local).await;
    let loaded = pixels(fresh.get(&card_path("82-00-03")).await, "freshly loaded");
    fresh.stop().await;
    assert!(
        swapped == loaded,
        "the swap after the miss took another card"
    );
}
