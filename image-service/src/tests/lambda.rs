//! The router under AWS Lambda: a Function URL event in, the runtime's JSON out.
//!
//! On Lambda, app-host turns each event into a request and the response into the JSON
//! the Function URL reads back (`app_host::lambda::buffered`); these tests drive that
//! same function, so the base64 encoding checked here is production's own.

use base64::Engine as _;
use serde_json::Value;
use shared_ids::CURRENT_DESIGN;

use super::support::{Backend, Harness, assert_rendered_card};
use crate::DEFAULT_IMAGE;
use crate::cache_policy::CACHE_STATUS_HEADER;
use test_kit::card_path;

/// A Function URL event (payload format 2.0) for a card's `GET`, as recorded.
const EVENT: &str = include_str!("../../testdata/function-url-event.json");

/// The recorded event with its card path moved to the current design: the recording
/// names whichever design was current when it was made.
fn recorded_event() -> Value {
    let recorded: Value = serde_json::from_str(EVENT).expect("the event file is JSON");
    let recorded_path = recorded["rawPath"]
        .as_str()
        .expect("the event has a rawPath");
    let id = recorded_path
        .rsplit_once('/')
        .and_then(|(_, file)| file.strip_suffix(".jpg"))
        .expect("the event GETs a card");
    serde_json::from_str(&EVENT.replace(recorded_path, &card_path(id)))
        .expect("a card path needs no JSON escaping")
}

/// Invokes the router as the Lambda runtime would, with `raw_path` as the event's path.
async fn invoke(h: &Harness, raw_path: &str) -> Value {
    let mut event = recorded_event();
    event["rawPath"] = raw_path.into();
    event["requestContext"]["http"]["path"] = raw_path.into();
    let response = app_host::lambda::buffered(
        h.service().router(),
        app_host::lambda::invocation(&event.to_string()),
    )
    .await
    .expect("the router is infallible");
    serde_json::to_value(response).expect("a Lambda response serialises")
}

fn base64_body(response: &Value) -> Vec<u8> {
    assert_eq!(
        response["isBase64Encoded"], true,
        "binary bodies go out base64"
    );
    let body = response["body"].as_str().expect("a body");
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("the body is base64")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_url_event_gets_the_card_as_a_base64_jpeg() {
    let h = Harness::start(Backend::Local).await;
    let path = card_path("12-34-10");

    let response = invoke(&h, &path).await;
    assert_eq!(response["statusCode"], 200);
    let headers = &response["headers"];
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers[CACHE_STATUS_HEADER], "miss");
    let jpeg = base64_body(&response);
    assert_rendered_card(&jpeg, "the Lambda answer");
    h.service().cards().settled().await;
    assert_eq!(h.store.stored_card(&path[1..]).await, jpeg);

    let again = invoke(&h, &path).await;
    assert_eq!(again["headers"][CACHE_STATUS_HEADER], "hit");
    assert_eq!(base64_body(&again), jpeg);

    let default = invoke(&h, "/default.jpg").await;
    assert_eq!(default["statusCode"], 200);
    assert!(base64_body(&default) == DEFAULT_IMAGE);
    assert_eq!(h.counts().renders, 1);
    h.stop().await;
}

/// A WHATWG URL parser would remove dot segments and turn `\` into `/`; the event's raw
/// path is what names the image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_lambda_paths_are_matched_raw_too() {
    let h = Harness::start(Backend::Local).await;

    // `{d}` is the current design token: each path spells the card some other way.
    for raw_path in [
        "/{d}/./12-34-10.jpg",
        "/x/../{d}/12-34-10.jpg",
        "/{d}/%2e/12-34-10.jpg",
        "/{d}/%2E%2E/{d}/12-34-10.jpg",
        "/{d}\\12-34-10.jpg",
        "/{d}/%31%32-34-10.jpg",
        "//{d}/12-34-10.jpg",
        "/{d}/12-34-10.JPG",
    ] {
        let raw_path = raw_path.replace("{d}", CURRENT_DESIGN.as_str());
        let response = invoke(&h, &raw_path).await;
        assert_eq!(response["statusCode"], 200, "{raw_path}");
        assert_eq!(
            response["headers"][CACHE_STATUS_HEADER], "default",
            "{raw_path}"
        );
        assert!(base64_body(&response) == DEFAULT_IMAGE, "{raw_path}");
    }
    assert_eq!(h.counts().renders, 0);
    assert_eq!(h.stored_keys().await, Vec::<String>::new());
    h.stop().await;
}
