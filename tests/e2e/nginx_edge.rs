//! The self-hosted edge, `infra/nginx/ogshot-edge.conf.template`, run by Debian's nginx
//! in front of the real injector and a plain origin: every vector of
//! `shared-ids/testdata/social-ids.json`, and each query the CloudFront Function's test
//! routes, reaches the injector exactly when the CloudFront Function would send it there,
//! and the site otherwise; a share link still gets the site's own page when the injector
//! is down or fails.
//!
//! Which upstream answered is read off `$upstream_addr`, which the test's own `http`
//! block adds to every answer (the template is included as it ships): the injector adds
//! `x-ogshot-inject` only to requests it takes for a share, so a polluted query sent to
//! it by mistake would otherwise go unseen.

use std::net::SocketAddr;
use std::path::PathBuf;

use e2e::System;
use e2e::nginx::Nginx;
use test_kit::process::free_port;
use test_kit::raw_http::{self, Reply};

const TEMPLATE: &str = include_str!("../../infra/nginx/ogshot-edge.conf.template");
const UPSTREAM_HEADER: &str = "x-test-upstream";
const INJECT_HEADER: &str = "x-ogshot-inject";
const SITE_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\">\
    <title>The site's own page</title>\
    <meta property=\"og:image\" content=\"https://site.example/own.png\">\
    </head><body><p>Nothing but the site's bytes.</p></body></html>";

/// Where the edge sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Injector,
    Site,
}

/// Debian's nginx running the template on a free port.
struct Edge {
    addr: SocketAddr,
    _nginx: Nginx,
}

impl Edge {
    /// nginx with the template's addresses filled in, as the template's `envsubst` line
    /// does; the test's one addition to the template is the header that names the
    /// upstream of each answer.
    async fn start(injector: &str, site: &str) -> Self {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let edge = TEMPLATE
            .replace("${OGSHOT_LISTEN}", &addr.to_string())
            .replace("${OGSHOT_INJECTOR}", injector)
            .replace("${OGSHOT_SITE}", site);
        assert!(!edge.contains("${"), "a placeholder left unfilled:\n{edge}");
        let http = format!(
            "access_log access.log;\n\
             add_header {UPSTREAM_HEADER} $upstream_addr always;\n\
             include ogshot-edge.conf;"
        );
        let nginx = Nginx::start(&http, [("ogshot-edge.conf", edge)]).await;
        Self {
            addr,
            _nginx: nginx,
        }
    }

    async fn request(&self, method: &str, target: &str) -> Reply {
        raw_http::request(self.addr, method, target, &[]).await
    }
}

/// The plain site: one page, which carries its own share image.
fn site_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("index.html"), SITE_PAGE).expect("the site's page");
    std::fs::write(dir.path().join("404.html"), "no such page").expect("the site's 404");
    dir
}

fn host_port(base: &str) -> &str {
    base.strip_prefix("http://").expect("an http:// base")
}

/// Where the edge sent the request, by the upstreams nginx tried (", " or " : " between
/// them); the first is the one the routing chose.
fn route_of(reply: &Reply, injector: &str, site: &str, what: &str) -> Route {
    let tried = reply
        .header(UPSTREAM_HEADER)
        .unwrap_or_else(|| panic!("{what}: no upstream header in {reply:?}"));
    let first = tried.split([',', ' ']).next().unwrap_or_default();
    if first == host_port(injector) {
        Route::Injector
    } else if first == host_port(site) {
        Route::Site
    } else {
        panic!("{what}: an unknown upstream {tried:?}")
    }
}

/// A query value as a browser's `encodeURIComponent` writes it.
fn encode_component(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (byte as char).to_string(),
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Whether `value` can stand in a request line as it is and stay one query value.
fn sendable_raw(value: &str) -> bool {
    value
        .bytes()
        .all(|byte| byte.is_ascii_graphic() && !matches!(byte, b'&' | b'#'))
}

fn vectors() -> serde_json::Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared-ids/testdata/social-ids.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the shared vectors"))
        .expect("the shared vectors are JSON")
}

/// Each request and where the CloudFront Function (`infra/cloudfront/share-route.js`)
/// routes it, as its test (`share-route.test.mjs`) says: the shared vectors, then its
/// own cases of repeated, encoded and look-alike names, other methods and no `social`.
fn cases() -> Vec<(&'static str, String, Route)> {
    let vectors = vectors();
    let mut cases = Vec::new();
    for id in vectors["valid"].as_array().expect("valid ids") {
        let id = id.as_str().expect("an id");
        for method in ["GET", "HEAD"] {
            let query = format!("utm_source=x%20y&social={id}&page=2&flag=");
            cases.push((method, query, Route::Injector));
        }
        for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
            cases.push((method, format!("social={id}&q=1"), Route::Site));
        }
    }
    for invalid in vectors["invalid"].as_array().expect("invalid ids") {
        let input = invalid["input"].as_str().expect("an input");
        cases.push((
            "GET",
            format!("a=1&social={}&b=two", encode_component(input)),
            Route::Site,
        ));
        if sendable_raw(input) {
            cases.push(("GET", format!("a=1&social={input}&b=two"), Route::Site));
        }
    }
    let site = [
        // Parameter pollution, in any order and spelling.
        "keep=me&social=12-34-10&social=12-34-10",
        "keep=me&social=12-34-10&social=99-99-99",
        "keep=me&social=12-34-10&social=junk",
        "keep=me&social=junk&social=12-34-10",
        "keep=me&social=&social=12-34-10",
        "keep=me&social&social=12-34-10",
        "social=12-34-10&social",
        "keep=me&social=12-34-10&%73ocial=12-34-10",
        "keep=me&%73ocial=12-34-10&social=12-34-10",
        "keep=me&social=12-34-10&%73%6F%63%69%61%6C=00-00-00",
        "social=12-34-10&soci%61l=12-34-10",
        // An encoded name alone.
        "%73ocial=12-34-10&q=1",
        "soci%61l=12-34-10&q=1",
        "%73%6f%63%69%61%6c=12-34-10&q=1",
        // Names that are not social.
        "Social=12-34-10&q=1",
        "SOCIAL=12-34-10&q=1",
        "social%20=12-34-10&q=1",
        "social%00=12-34-10&q=1",
        "socia=12-34-10&q=1",
        "socials=12-34-10&q=1",
        "soc%ZZial=12-34-10&q=1",
        "social[]=12-34-10&q=1",
        "x-social=12-34-10&q=1",
        "social_id=12-34-10",
        // No social at all.
        "",
        "q=a+b&ref=news",
        "=",
    ];
    cases.extend(site.iter().map(|q| ("GET", q.to_string(), Route::Site)));
    // A name that only looks like one of the above is still one `social`.
    for query in [
        "Social=x&social=12-34-10",
        "socials=1&social=12-34-10&x-social=2",
        "social=12-34-10&social_id=5",
    ] {
        cases.push(("GET", query.to_owned(), Route::Injector));
    }
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_sends_a_request_to_the_injector_exactly_when_cloudfront_would() {
    let site_files = site_dir();
    let mut system = System::start().await;
    let site = system.start_plain_origin(site_files.path(), false).await;
    let injector = system.start_injector(&site, false).await;
    let edge = Edge::start(&injector, &site).await;
    let site_addr: SocketAddr = host_port(&site).parse().expect("an address");

    let cases = cases();
    assert!(cases.len() > 150, "{} cases", cases.len());
    for (method, query, expected) in &cases {
        let target = format!("/?{query}");
        let what = format!("{method} {}", target.chars().take(80).collect::<String>());
        let reply = edge.request(method, &target).await;
        if reply.status == 414 && reply.header(UPSTREAM_HEADER).is_none() {
            // Past nginx's 8 KiB request line (CloudFront's URL limit is 8 KiB too), the
            // edge answers alone: no upstream is asked.
            assert_eq!(*expected, Route::Site, "{what}");
            continue;
        }
        assert_eq!(
            route_of(&reply, &injector, &site, &what),
            *expected,
            "{what}"
        );
        match expected {
            Route::Injector => {
                assert_eq!(reply.status, 200, "{what}");
                assert_eq!(reply.header(INJECT_HEADER), Some("injected"), "{what}");
            }
            Route::Site => {
                assert_eq!(reply.header(INJECT_HEADER), None, "{what}");
                let own = raw_http::request(site_addr, method, &target, &[]).await;
                assert_eq!(reply.status, own.status, "{what}: the site's own answer");
                assert_eq!(reply.body, own.body, "{what}: the site's own bytes");
            }
        }
    }
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_link_gets_the_sites_own_page_when_the_injector_is_down_or_failing() {
    let site_files = site_dir();
    let mut system = System::start().await;
    let site = system.start_plain_origin(site_files.path(), false).await;
    // Nothing listens on a port that was free: the injector is stopped.
    let stopped = format!("http://127.0.0.1:{}", free_port());
    // A running injector whose upstream is gone answers 502 itself.
    let failing = system
        .start_injector(&format!("http://127.0.0.1:{}", free_port()), false)
        .await;
    let direct = raw_http::request(
        host_port(&failing).parse().expect("an address"),
        "GET",
        "/?social=12-34-10",
        &[],
    )
    .await;
    assert_eq!(direct.status, 502, "the failing injector fails");

    for injector in [&stopped, &failing] {
        let edge = Edge::start(injector, &site).await;
        for method in ["GET", "HEAD"] {
            let what = format!("{method} through an edge whose injector is {injector}");
            let reply = edge.request(method, "/?social=12-34-10&page=2").await;
            assert_eq!(reply.status, 200, "{what}");
            assert_eq!(reply.header(INJECT_HEADER), None, "{what}");
            let tried = reply.header(UPSTREAM_HEADER).unwrap_or_default();
            assert!(
                tried.starts_with(host_port(injector)) && tried.ends_with(host_port(&site)),
                "{what}: the injector first, then the site: {tried:?}"
            );
            let expected: &[u8] = if method == "GET" {
                SITE_PAGE.as_bytes()
            } else {
                b""
            };
            assert_eq!(reply.body, expected, "{what}: the site's own page");
        }
    }
    system.stop().await;
}
