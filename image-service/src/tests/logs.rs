//! What the service logs: never a secret, at any level.

use tracing_subscriber::EnvFilter;

use super::support::{Backend, Harness, RenderSite, ServiceReply, Setup, assert_rendered_card};
use crate::telemetry::{self, CapturedLogs, REDACTED};
use test_kit::card_path;

/// At `trace`, chromiumoxide logs every CDP command it sends, and so the session cookie
/// that `Storage.setCookies` carries; the service's log writer must redact it, and the
/// token it derives from, from every line.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_a_log_line_even_at_trace_level() {
    // tracing caches each callsite's interest for the whole process, decided by the
    // first thread to reach it; a sibling test's thread with no subscriber would cache
    // "never" and blind the capture below (tokio-rs/tracing#3611). A global subscriber
    // that keeps nothing makes every thread's answer "interested".
    let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
    let logs = CapturedLogs::default();
    // Everything below runs on this thread (a current-thread runtime), so this
    // subscriber sees the browser's CDP traffic too.
    let _guard = tracing::subscriber::set_default(telemetry::subscriber(
        false,
        EnvFilter::new("trace"),
        logs.clone(),
    ));
    let site = RenderSite::start().await;
    let token = site.token().clone();
    let setup = Setup {
        site: Some(site),
        ..Setup::default()
    };
    let h = Harness::start_with(Backend::Local, setup).await;
    assert_rendered_card(
        h.get(&card_path("66-00-01")).await.assert_card("a render"),
        "a render",
    );
    h.stop().await;

    let text = logs.text();
    assert!(
        text.contains("Storage.setCookies") && text.contains(REDACTED),
        "the capture saw the cookie being set, redacted"
    );
    assert!(
        !text.contains(token.cookie_value()),
        "the session cookie in a log line"
    );
    assert!(!text.contains(token.expose()), "the token in a log line");
}
