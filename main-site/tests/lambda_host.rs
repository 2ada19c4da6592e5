//! The main site's own binary as AWS Lambda runs it in front of an existing site, off
//! AWS, under test-kit's Runtime API emulator (see `test_kit::lambda`): a share link's
//! page comes from a real HTTP origin, streams out through lambda_http's streaming
//! runner (the function URL's `RESPONSE_STREAM` mode), and carries the card's tags.

use std::path::Path;
use std::time::Duration;

use axum::response::IntoResponse;
use futures::StreamExt as _;
use shared_ids::{BaseUrl, SocialId};
use test_kit::Served;
use test_kit::lambda::{invoke, start_emulator};
use test_kit::meta::meta_contents;
use test_kit::process::Process;
use tokio::process::Command;

/// The recorded Function URL event (payload format 2.0) of a share link.
const FUNCTION_URL_EVENT: &str = include_str!("../testdata/function-url-event.json");

const IMAGE_BASE: &str = "https://img.example.com";

/// A real page, sent in two pieces with a pause between, as an origin streams it; served
/// while the test holds it.
async fn start_origin() -> Served {
    let page = include_str!("../../crates/share-inject/tests/pages/bluesky__post.html");
    let app = axum::Router::new().fallback(move || async move {
        let (head, rest) = page.split_at(page.len() / 2);
        let pieces = futures::stream::iter([head, rest]).then(|piece| async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, std::io::Error>(piece)
        });
        (
            [("content-type", "text/html; charset=utf-8")],
            axum::body::Body::from_stream(pieces),
        )
            .into_response()
    });
    test_kit::serve(app).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_link_streams_through_the_lambda_host_with_the_cards_tags() {
    let origin = start_origin().await;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let (emulator, addr, variables) = start_emulator(&manifest).await;
    let function = Process::spawn(
        "main-site (Lambda host)",
        Command::new(env!("CARGO_BIN_EXE_main-site"))
            .envs(variables.iter().map(|(k, v)| (k, v)))
            .env("UPSTREAM", origin.base())
            .env("PUBLIC_URL", "https://www.example.com")
            .env("IMAGE_BASE_URL", IMAGE_BASE)
            .env("RUST_LOG", "info"),
    );
    // cargo lambda's emulator can leave an invocation that arrives before the function's
    // first poll unanswered for good; on AWS, Lambda holds requests until the function
    // has initialised. So the share link is retried until one invocation is answered.
    let mut reply = None;
    for _ in 0..15 {
        let attempt =
            tokio::time::timeout(Duration::from_secs(2), invoke(addr, FUNCTION_URL_EVENT));
        if let Ok(Ok(answer)) = attempt.await {
            reply = Some(answer);
            break;
        }
    }
    let reply = reply.unwrap_or_else(|| {
        panic!(
            "no answer through the emulator; the function said: {:#?}",
            function.output()
        )
    });
    assert_eq!(reply.status, 200, "{:#?}", function.output());
    assert_eq!(reply.header("x-ogshot-inject"), Some("injected"));
    assert_eq!(
        reply.header("lambda-runtime-function-response-mode"),
        Some("streaming"),
        "the streaming runner answered"
    );

    let body = String::from_utf8_lossy(&reply.body);
    let content = |key: &str| meta_contents(&body, key);
    let id = SocialId::parse("12-34-10").expect("an id");
    let card = BaseUrl::parse(IMAGE_BASE).expect("a base").card_url(id);
    assert_eq!(
        content("og:image"),
        std::slice::from_ref(&card),
        "exactly one og:image, ours"
    );
    assert_eq!(content("twitter:image"), [card]);
    assert_eq!(
        content("og:url"),
        ["https://www.example.com/?social=12-34-10"],
        "canonical, never the event's Host or X-Forwarded-Host"
    );
    assert!(
        body.trim_end().ends_with("</html>"),
        "the whole page came through"
    );
    drop(function);
    drop(emulator);
}
