//! The main site's own binary as AWS Lambda runs it in front of an existing site, off
//! AWS, under test-kit's Runtime API emulator (see `test_kit::lambda`): a share link's
//! page comes from a real HTTP origin, streams out through the Lambda runtime's streaming
//! runner (the function URL's `RESPONSE_STREAM` mode), and carries the card's tags. The
//! origin's repeated header lines arrive as a function URL takes them, the path is the
//! raw one CloudFront sent, and no header value stops a request on its way in.

use std::path::Path;
use std::time::Duration;

use axum::response::{AppendHeaders, IntoResponse};
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
            AppendHeaders([
                ("content-type", "text/html; charset=utf-8"),
                ("link", "</a.css>; rel=preload; as=style"),
                ("link", "</b.js>; rel=preload; as=script"),
                ("set-cookie", "first=1; Path=/"),
                ("set-cookie", "second=2; Path=/; HttpOnly"),
            ]),
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
    let reply = answered(addr, FUNCTION_URL_EVENT, &function).await;
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
    // A function URL's answer holds each field once, and its cookies in a list of their
    // own, which the emulator turns back into header lines.
    assert_eq!(
        reply.header_lines("link"),
        ["</a.css>; rel=preload; as=style, </b.js>; rel=preload; as=script"]
    );
    assert_eq!(
        reply.header_lines("set-cookie"),
        ["first=1; Path=/", "second=2; Path=/; HttpOnly"]
    );

    let event = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut event: serde_json::Value = serde_json::from_str(FUNCTION_URL_EVENT).unwrap();
        edit(&mut event);
        event.to_string()
    };
    let escaping = event(&|event| event["rawPath"] = "/a/%2e%2e/b".into());
    let reply = answered(addr, &escaping, &function).await;
    assert_eq!(
        reply.status, 400,
        "the raw path, with its encoded dot-segment, not /b"
    );
    let odd_headers = event(&|event| {
        event["headers"]["host"] = "a b[".into();
        event["headers"]["x-forwarded-proto"] = "a b://".into();
    });
    let reply = answered(addr, &odd_headers, &function).await;
    assert_eq!(reply.status, 200, "{:#?}", function.output());
    assert_eq!(reply.header("x-ogshot-inject"), Some("injected"));
    drop(function);
    drop(emulator);
}

/// The function's answer to `event`. cargo lambda's emulator can leave an invocation that
/// arrives before the function's first poll unanswered for good; on AWS, Lambda holds
/// requests until the function has initialised. So it is retried until one is answered.
async fn answered(
    addr: std::net::SocketAddr,
    event: &str,
    function: &Process,
) -> test_kit::raw_http::Reply {
    for _ in 0..15 {
        let attempt = tokio::time::timeout(Duration::from_secs(2), invoke(addr, event));
        if let Ok(Ok(answer)) = attempt.await {
            return answer;
        }
    }
    panic!(
        "no answer through the emulator; the function said: {:#?}",
        function.output()
    )
}
