//! main-site as a reverse proxy, what it tells the origin and what it hands back: the
//! forwarding headers as reverse proxies set them (the client's own kept only from a
//! trusted proxy), the public name in the origin's redirects and cookies, no path above
//! an upstream's base, and `OPTIONS *`.
//!
//! The site is served with each connection's peer address (`ConnectInfo`), as main-site
//! serves itself; on Lambda the address is the request context's.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::{any, get};
use http_body_util::BodyExt;
use main_site::{Args, Config};
use test_kit::raw_http;
use tower::ServiceExt;

use crate::support::{
    ID, Origin, PUBLIC_URL, SHARED_PAGE, args, client, fetch, html, page, site_from,
};

fn page_origin() -> Router {
    Router::new().fallback(any(|| async { html(page(SHARED_PAGE)) }))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .map(|value| value.to_str().expect("a text header"))
}

/// What a client that lies about its way here sends.
const SPOOFED: [(&str, &str); 6] = [
    ("x-forwarded-for", "10.9.9.9"),
    ("forwarded", "for=10.9.9.9;host=evil.example"),
    ("x-real-ip", "10.9.9.9"),
    ("x-forwarded-host", "evil.example"),
    ("x-forwarded-proto", "http"),
    ("x-forwarded-port", "8443"),
];

#[tokio::test]
async fn the_origin_hears_the_clients_address_and_the_public_name_never_the_clients_word() {
    let origin = Origin::start(page_origin()).await;
    let site = site_from(args(&origin.url())).await;

    for query in ["", &format!("?social={ID}")] {
        let mut request = client().get(format!("{}/post{query}", site.base()));
        for (name, value) in SPOOFED {
            request = request.header(name, value);
        }
        let answer = fetch(request).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}");

        let seen = origin.last().headers;
        let got = |name: &str| header(&seen, name);
        assert_eq!(got("x-forwarded-for"), Some("127.0.0.1"), "{query}");
        assert_eq!(got("x-forwarded-host"), Some("www.example.com"), "{query}");
        assert_eq!(got("x-forwarded-proto"), Some("https"), "{query}");
        assert_eq!(
            got("forwarded"),
            Some("for=127.0.0.1;host=\"www.example.com\";proto=https"),
            "{query}"
        );
        assert_eq!(got("via"), Some("1.1 ogshot"), "{query}");
        assert_eq!(got("x-real-ip"), None, "{query}");
        assert_eq!(got("x-forwarded-port"), None, "{query}");
        assert!(
            !format!("{seen:?}").contains("10.9.9.9"),
            "{query}: {seen:?}"
        );
    }
}

#[tokio::test]
async fn a_trusted_proxys_chain_is_kept_and_the_proxy_appended() {
    let origin = Origin::start(page_origin()).await;
    let site = site_from(Args {
        trusted_proxies: vec!["127.0.0.0/8".to_owned()],
        ..args(&origin.url())
    })
    .await;

    let mut request = client().get(format!("{}/post?social={ID}", site.base()));
    for (name, value) in SPOOFED {
        request = request.header(name, value);
    }
    assert_eq!(fetch(request).await.status, StatusCode::OK);

    let seen = origin.last().headers;
    let got = |name: &str| header(&seen, name);
    assert_eq!(got("x-forwarded-for"), Some("10.9.9.9, 127.0.0.1"));
    assert_eq!(got("x-real-ip"), Some("10.9.9.9"));
    assert_eq!(
        got("forwarded"),
        Some("for=10.9.9.9;host=evil.example, for=127.0.0.1;host=\"www.example.com\";proto=https")
    );
    // The public name is configuration's, whoever the proxy in front is.
    assert_eq!(got("x-forwarded-host"), Some("www.example.com"));
    assert_eq!(got("x-forwarded-proto"), Some("https"));
    assert_eq!(got("x-forwarded-port"), None);
}

/// The headers the origin saw for the recorded Function URL event with `headers` added.
async fn seen_on_lambda(headers: serde_json::Value) -> axum::http::HeaderMap {
    let origin = Origin::start(page_origin()).await;
    let config = Config::try_from(args(&origin.url())).expect("a valid configuration");
    let recorded = include_str!("../../testdata/function-url-event.json");
    let mut event: serde_json::Value = serde_json::from_str(recorded).unwrap();
    for (name, value) in headers.as_object().unwrap() {
        event["headers"][name] = value.clone();
    }
    let request =
        app_host::lambda::request_from_event(&event.to_string()).expect("a Function URL event");
    let response = main_site::router(config).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body().collect().await.expect("a whole body");
    origin.last().headers
}

/// On Lambda only CloudFront can call the function URL (OAC signs every request), so
/// the viewer is the one CloudFront reports; the event's own `X-Forwarded-Host`
/// (`evil.example`) is a client's word like any other.
#[tokio::test]
async fn on_lambda_the_client_is_the_viewer_cloudfront_reports() {
    let seen = seen_on_lambda(serde_json::json!({})).await;
    assert_eq!(
        header(&seen, "x-forwarded-for"),
        Some("203.0.113.7"),
        "without CloudFront's word, the request context's caller"
    );
    assert_eq!(header(&seen, "x-forwarded-host"), Some("www.example.com"));

    let seen = seen_on_lambda(serde_json::json!({
        "x-forwarded-for": "10.9.9.9, 198.51.100.20",
        "cloudfront-viewer-address": "2001:db8::7:46532",
    }))
    .await;
    assert_eq!(header(&seen, "x-forwarded-for"), Some("2001:db8::7"));

    let seen =
        seen_on_lambda(serde_json::json!({"x-forwarded-for": "10.9.9.9, 198.51.100.20"})).await;
    assert_eq!(
        header(&seen, "x-forwarded-for"),
        Some("198.51.100.20"),
        "the element CloudFront appended, never the viewer's own claim"
    );
}

/// CloudFront's signature for the function URL (OAC, SigV4) stays with the function.
#[tokio::test]
async fn on_lambda_the_edges_signature_never_reaches_the_origin() {
    let seen = seen_on_lambda(serde_json::json!({
        "authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261206/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
        "x-amz-date": "20261206T050000Z",
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        "x-amz-security-token": "token",
        "x-amz-source-arn": "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE",
    }))
    .await;
    let signed: Vec<&str> = (seen.keys())
        .map(axum::http::HeaderName::as_str)
        .filter(|name| *name == "authorization" || name.starts_with("x-amz-"))
        .collect();
    assert_eq!(signed, Vec::<&str>::new());
    assert_eq!(
        header(&seen, "accept"),
        Some("*/*"),
        "the viewer's own headers pass"
    );
}

// ---------------------------------------------------------------- the public name

/// An origin that, as nginx and Apache do, redirects `/docs` to `/docs/` on the name it
/// was called by, sets a cookie for that name, and sends one redirect elsewhere.
fn redirecting_origin() -> Router {
    let own_url = |request: &Request, path: &str| {
        let host = header(request.headers(), "host")
            .unwrap_or_default()
            .to_owned();
        let query = request.uri().query().map(|q| format!("?{q}"));
        format!("http://{host}{path}{}", query.unwrap_or_default())
    };
    Router::new()
        .route(
            "/docs",
            get(move |request: Request| async move {
                let host = header(request.headers(), "host")
                    .unwrap_or_default()
                    .to_owned();
                let host = host.split(':').next().unwrap_or_default().to_owned();
                (
                    StatusCode::MOVED_PERMANENTLY,
                    AppendHeaders([
                        (header::LOCATION, own_url(&request, "/docs/")),
                        (header::CONTENT_LOCATION, own_url(&request, "/docs.html")),
                        (header::SET_COOKIE, format!("seen=1; Domain={host}; Path=/")),
                        (header::SET_COOKIE, "other=1; Domain=example.org".to_owned()),
                    ]),
                )
                    .into_response()
            }),
        )
        .route(
            "/away",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "https://elsewhere.example/x?social=1")],
                )
            }),
        )
}

#[tokio::test]
async fn the_origins_redirects_and_cookies_name_the_public_site() {
    let origin = Origin::start(redirecting_origin()).await;
    let site = site_from(args(&origin.url())).await;

    let answer = fetch(client().get(format!("{}/docs?social={ID}&a=1", site.base()))).await;
    assert_eq!(answer.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        answer.header("location"),
        Some(format!("{PUBLIC_URL}/docs/?social={ID}&a=1").as_str())
    );
    assert_eq!(
        answer.header("content-location"),
        Some(format!("{PUBLIC_URL}/docs.html?social={ID}&a=1").as_str())
    );
    let cookies: Vec<&str> = (answer.headers.get_all("set-cookie").iter())
        .map(|value| value.to_str().unwrap())
        .collect();
    assert_eq!(
        cookies,
        [
            "seen=1; Domain=www.example.com; Path=/",
            "other=1; Domain=example.org"
        ]
    );
    // The origin was asked by its own name, as it is by default.
    assert_eq!(
        header(&origin.last().headers, "host"),
        Some(origin.addr().to_string().as_str())
    );

    let away = fetch(client().get(format!("{}/away", site.base()))).await;
    assert_eq!(
        away.header("location"),
        Some("https://elsewhere.example/x?social=1")
    );
}

#[tokio::test]
async fn the_public_host_switch_sends_the_origin_the_public_name() {
    let origin = Origin::start(page_origin()).await;
    let site = site_from(Args {
        upstream_public_host: true,
        ..args(&origin.url())
    })
    .await;
    let answer = fetch(client().get(format!("{}/post?social={ID}", site.base()))).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        header(&origin.last().headers, "host"),
        Some("www.example.com")
    );
}

// ---------------------------------------------------------------- the base path

#[tokio::test]
async fn no_path_leaves_the_upstreams_base() {
    let origin = Origin::start(page_origin()).await;
    let site = site_from(args(&format!("{}/base", origin.url()))).await;

    for (target, reached) in [
        ("/a/b?x=1", "/base/a/b?x=1"),
        ("/../secret", "/base/secret"),
        ("/a/../../../secret?social=1", "/base/secret?social=1"),
        ("/a/./b/..", "/base/a/"),
    ] {
        let answer = raw_http::request(site.addr, "GET", target, &[]).await;
        assert_eq!(answer.status, 200, "{target}");
        assert_eq!(origin.last().target, reached, "{target}");
    }
    let asked = origin.seen().len();
    for target in [
        "/%2e%2e/secret",
        "/a/%2E./%2e%2E/secret",
        "/..%2fsecret",
        "/a/..%2F..%2Fsecret",
        "/..;/secret",
    ] {
        let answer = raw_http::request(site.addr, "GET", target, &[]).await;
        assert_eq!(answer.status, 400, "{target}");
        assert!(
            !String::from_utf8_lossy(&answer.body).contains("secret"),
            "{target}"
        );
    }
    assert_eq!(
        origin.seen().len(),
        asked,
        "a refused path reached the origin"
    );
}

// ---------------------------------------------------------------- OPTIONS *

#[tokio::test]
async fn options_asterisk_is_answered_as_the_servers_own() {
    let origin = Origin::start(page_origin()).await;
    let site = site_from(args(&origin.url())).await;

    let answer = raw_http::request(site.addr, "OPTIONS", "*", &[]).await;
    assert_eq!(answer.status, 200);
    let allow = answer.header("allow").expect("an Allow header");
    for method in ["GET", "HEAD", "POST", "OPTIONS"] {
        assert!(allow.contains(method), "{allow}");
    }
    assert!(answer.body.is_empty());
    let not_options = raw_http::request(site.addr, "GET", "*", &[]).await;
    assert_eq!(not_options.status, 400);
    assert!(origin.seen().is_empty(), "{:?}", origin.seen());
}
