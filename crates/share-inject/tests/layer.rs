//! `InjectLayer` as another app uses it: an axum app's own router wrapped in the layer,
//! as the crate's doc example wraps it, served on a real listener and asked over raw
//! HTTP. No main-site: the layer needs no ogshot app to work.

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use share_inject::{INJECT_HEADER, InjectLayer, InjectLimits, Injector, ShareSite};
use shared_ids::{BaseUrl, SocialId};
use test_kit::Served;
use test_kit::meta::meta_contents;
use test_kit::raw_http::request;

const PAGE: &str = include_str!("pages/telegram__post-full-image.html");
const FEED: &str = r#"{"items":["<head><meta property=\"og:image\" content=\"x\">"]}"#;
const ID: &str = "12-34-10";

fn injector() -> Injector {
    let site = ShareSite::new(
        "Example",
        BaseUrl::parse("https://www.example.com").expect("a base"),
        BaseUrl::parse("https://img.example.com").expect("a base"),
    );
    Injector::new(site, InjectLimits::default())
}

/// The app, its layer giving a junk `social` the default image when `default_for_invalid`,
/// served while the test holds it.
async fn app(default_for_invalid: bool) -> Served {
    let router: Router = Router::new()
        .route("/post", get(|| async { Html(PAGE) }))
        .route(
            "/feed.json",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    FEED,
                )
            }),
        )
        .layer(InjectLayer::new(injector()).default_image_for_invalid(default_for_invalid));
    test_kit::serve(router).await
}

#[tokio::test]
async fn an_axum_apps_page_shared_carries_our_card_and_is_untouched_otherwise() {
    let app = app(false).await;
    let card = BaseUrl::parse("https://img.example.com")
        .expect("a base")
        .image_url(Some(SocialId::parse(ID).expect("an id")));

    let shared = request(
        app.addr,
        "GET",
        &format!("/post?utm_source=x&social={ID}"),
        &[],
    )
    .await;
    assert_eq!(shared.status, 200);
    assert_eq!(shared.header(INJECT_HEADER), Some("injected"));
    let html = String::from_utf8(shared.body).expect("UTF-8");
    assert_eq!(meta_contents(&html, "og:image"), [card.as_str()]);
    assert_eq!(meta_contents(&html, "twitter:image"), [card.as_str()]);
    assert_eq!(
        meta_contents(&html, "og:url"),
        [format!("https://www.example.com/post?social={ID}")]
    );
    let after_head = &PAGE[PAGE.find("</head>").expect("a head")..];
    assert!(
        html.ends_with(after_head),
        "the page after its head changed"
    );

    let plain = request(app.addr, "GET", "/post", &[]).await;
    assert_eq!(plain.header(INJECT_HEADER), None);
    assert_eq!(plain.body, PAGE.as_bytes());

    let json = request(app.addr, "GET", &format!("/feed.json?social={ID}"), &[]).await;
    assert_eq!(json.status, 200);
    assert_eq!(json.body, FEED.as_bytes(), "a JSON answer was rewritten");
}

/// The HEAD of a share once said `Content-Length: 0` (axum's router made it from the
/// layer's empty body), telling a crawler that checks with HEAD that the page is empty.
#[tokio::test]
async fn a_head_of_a_share_says_no_length_that_its_get_does_not() {
    let app = app(false).await;
    let target = format!("/post?social={ID}");

    let get = request(app.addr, "GET", &target, &[]).await;
    let head = request(app.addr, "HEAD", &target, &[]).await;

    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "{} body bytes", head.body.len());
    assert_eq!(head.header(INJECT_HEADER), get.header(INJECT_HEADER));
    assert_eq!(
        get.header("content-length"),
        None,
        "a rewritten page streams"
    );
    assert_eq!(head.header("content-length"), None);
}

/// Opted in, a `social` that is no id gets the default image's tags; no `social` at all
/// still leaves the page alone, and without the opt-in a junk `social` does too.
#[tokio::test]
async fn a_junk_social_gets_the_default_image_only_when_opted_in() {
    let default_image = BaseUrl::parse("https://img.example.com")
        .expect("a base")
        .image_url(None);
    let opted_in = app(true).await;
    let junk = request(opted_in.addr, "GET", "/post?social=%3Cx%3E", &[]).await;
    assert_eq!(junk.header(INJECT_HEADER), Some("injected"));
    let html = String::from_utf8(junk.body).expect("UTF-8");
    assert_eq!(meta_contents(&html, "og:image"), [default_image.as_str()]);
    assert!(!html.contains("%3Cx%3E"), "the junk value was reflected");
    let plain = request(opted_in.addr, "GET", "/post", &[]).await;
    assert_eq!(plain.body, PAGE.as_bytes());

    let not_opted_in = app(false).await;
    let junk = request(not_opted_in.addr, "GET", "/post?social=%3Cx%3E", &[]).await;
    assert_eq!(junk.header(INJECT_HEADER), None);
    assert_eq!(junk.body, PAGE.as_bytes());
}

async fn gzip(data: &[u8]) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut coded = Vec::new();
    async_compression::tokio::bufread::GzipEncoder::new(data)
        .read_to_end(&mut coded)
        .await
        .expect("gzip");
    coded
}

/// A page in two gzip members (RFC 1952 allows any number, as `cat a.gz b.gz` makes)
/// once came out cut after its first member and still said `injected`.
#[tokio::test]
async fn a_page_in_two_gzip_members_comes_out_whole() {
    let split = PAGE.find("</head>").expect("a head");
    let coded = [
        gzip(&PAGE.as_bytes()[..split]).await,
        gzip(&PAGE.as_bytes()[split..]).await,
    ]
    .concat();
    let router: Router = Router::new()
        .route(
            "/post",
            get(move || async move {
                use axum::http::header;
                (
                    [
                        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                        (header::CONTENT_ENCODING, "gzip"),
                    ],
                    coded,
                )
            }),
        )
        .layer(InjectLayer::new(injector()));
    let app = test_kit::serve(router).await;

    let shared = request(app.addr, "GET", &format!("/post?social={ID}"), &[]).await;

    assert_eq!(shared.status, 200);
    assert_eq!(shared.header(INJECT_HEADER), Some("injected"));
    assert_eq!(shared.header("content-encoding"), None);
    let html = String::from_utf8(shared.body).expect("UTF-8");
    assert!(
        html.ends_with(&PAGE[split..]),
        "the page after its first gzip member is missing: {} bytes came out of {}",
        html.len(),
        PAGE.len()
    );
}
