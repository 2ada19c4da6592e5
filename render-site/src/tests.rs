//! Router tests in-process (`oneshot`). The card in real Chromium is tested end to end
//! (`tests/e2e/card.rs`), launched as the image service launches it.

use app_host::CapturedLogs;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::auth::COOKIE_NAME;
use crate::{DesignSource, RenderSiteConfig, RenderToken, router};
use card_wording::Content;

const TOKEN: &str = "correct-horse-battery-staple";

fn site() -> RenderSiteConfig {
    RenderSiteConfig::in_process(RenderToken::new(TOKEN).unwrap())
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(config: RenderSiteConfig, request: Request<Body>) -> Reply {
    let response = router(config).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(path: &str, auth: Option<(header::HeaderName, String)>) -> Reply {
    let mut request = Request::get(path);
    if let Some((name, value)) = auth {
        request = request.header(name, value);
    }
    send(site(), request.body(Body::empty()).unwrap()).await
}

fn bearer(token: &str) -> Option<(header::HeaderName, String)> {
    Some((header::AUTHORIZATION, format!("Bearer {token}")))
}

fn is_card(body: &str) -> bool {
    body.contains("class=\"card\"")
}

#[tokio::test]
async fn the_card_needs_the_token() {
    let card = get("/card/12-34-10", bearer(TOKEN)).await;
    assert_eq!(card.status, StatusCode::OK);
    assert!(is_card(&card.body));
    assert_eq!(
        card.headers[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );

    let absent = get("/card/12-34-10", None).await;
    assert_eq!(absent.status, StatusCode::UNAUTHORIZED);
    assert!(!is_card(&absent.body) && !absent.body.contains("12-34-10"));
    assert!(
        absent.body.contains("<form method=\"post\">") && !absent.body.contains("action="),
        "401 offers the sign-in form, posting back to the page asked for"
    );

    let wrong_tokens = [
        "correct-horse-battery-stapl3".to_owned(),
        "correct".to_owned(),
        format!("{TOKEN}{TOKEN}"),
        "x".repeat(4096),
        String::new(),
    ];
    for wrong in &wrong_tokens {
        let reply = get("/card/12-34-10", bearer(wrong)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", wrong.len());
        assert!(!is_card(&reply.body));
    }
    let basic = get(
        "/card/12-34-10",
        Some((header::AUTHORIZATION, TOKEN.to_owned())),
    )
    .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_route_but_health_and_signin_needs_the_token() {
    for path in [
        "/",
        "/preview",
        "/card/12-34-10",
        "/card/nope",
        "/assets/ready.js",
        "/nope",
    ] {
        assert_eq!(
            get(path, None).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    let health = get("/healthz", None).await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (StatusCode::OK, "ok")
    );
}

#[tokio::test]
async fn signing_in_sets_a_cookie_that_opens_the_gallery() {
    let form = |token: &str| {
        Request::post("/signin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .unwrap()
    };
    let refused = send(site(), form("wrong")).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(!refused.headers.contains_key(header::SET_COOKIE));

    let signed_in = send(site(), form(TOKEN)).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers[header::LOCATION], "/preview");
    let set_cookie = signed_in.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    assert!(
        !set_cookie.contains(TOKEN),
        "the cookie never carries the token itself"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with(&format!("{COOKIE_NAME}=")));

    let gallery = get("/preview", Some((header::COOKIE, cookie.clone()))).await;
    assert_eq!(gallery.status, StatusCode::OK);
    assert!(
        gallery.body.contains("src=\"/card/12-34-10\""),
        "samples are shown live"
    );
    let card = get("/card/00-00-00", Some((header::COOKIE, cookie))).await;
    assert!(is_card(&card.body));
    let forged = get(
        "/preview",
        Some((header::COOKIE, format!("{COOKIE_NAME}={TOKEN}"))),
    )
    .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}

/// The sign-in form as the 401 page's form posts it: to the URL that was asked for.
fn signin_at(target: &str, token: &str) -> Request<Body> {
    Request::post(target)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={token}")))
        .unwrap()
}

/// Regression: every sign-in used to land on `/preview`, whatever page was asked for.
#[tokio::test]
async fn signing_in_returns_to_the_page_asked_for() {
    let asked_for = "/preview/12-34-10?from=mail";
    let refused = send(site(), signin_at(asked_for, "wrong")).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(!refused.headers.contains_key(header::SET_COOKIE));
    assert!(!refused.headers.contains_key(header::LOCATION));
    assert!(
        refused.body.contains("That token is not right.")
            && refused.body.contains("<form method=\"post\">"),
        "the form again, posting to the same page for the next try"
    );
    assert!(
        !refused.body.contains("12-34-10") && !refused.body.contains("from=mail"),
        "nothing of the request is in the page"
    );

    let signed_in = send(site(), signin_at(asked_for, TOKEN)).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers[header::LOCATION], asked_for);
    let cookie = signed_in.headers[header::SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let page = get(asked_for, Some((header::COOKIE, cookie))).await;
    assert_eq!(page.status, StatusCode::OK);

    let card = send(site(), signin_at("/card/12-34-10", TOKEN)).await;
    assert_eq!(card.headers[header::LOCATION], "/card/12-34-10");
}

/// A sign-in never redirects off the site: a path a browser would read as another host
/// (or anything that is not a plain path) goes to the gallery instead.
#[tokio::test]
async fn a_sign_in_at_a_hostile_path_lands_on_the_gallery() {
    for hostile in [
        "//evil.example",
        "//evil.example/preview",
        "///evil.example/",
        "/\\evil.example",
        "/\\/evil.example",
        // An absolute-form target, as a proxy request carries it: its path is the above.
        "http://evil.example//evil.example/preview",
    ] {
        let reply = send(site(), signin_at(hostile, TOKEN)).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{hostile}");
        assert_eq!(reply.headers[header::LOCATION], "/preview", "{hostile}");
    }
    // The host of an absolute-form target is never used: only its path, on this site.
    let reply = send(
        site(),
        signin_at("https://evil.example/card/12-34-10", TOKEN),
    )
    .await;
    assert_eq!(reply.headers[header::LOCATION], "/card/12-34-10");
    // A path that is this site's even when it names another host in its query.
    let reply = send(site(), signin_at("/preview?next=//evil.example", TOKEN)).await;
    assert_eq!(
        reply.headers[header::LOCATION],
        "/preview?next=//evil.example"
    );
    // The POST the form used to make still signs in, to the gallery.
    let reply = send(site(), signin_at("/signin", TOKEN)).await;
    assert_eq!(reply.headers[header::LOCATION], "/preview");
}

#[tokio::test]
async fn the_gallery_shows_the_real_jpeg_when_the_image_service_is_configured() {
    let mut config = site();
    config.image_base = Some(shared_ids::BaseUrl::parse("https://img.example.com").unwrap());
    let request = Request::get("/preview")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let reply = send(config, request).await;
    let design = shared_ids::CURRENT_DESIGN;
    assert!(
        reply.body.contains(&format!(
            "src=\"https://img.example.com/{design}/12-34-10.jpg\""
        )),
        "no tile shows the service's JPEG"
    );
    let csp = reply.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("img-src 'self' data: https://img.example.com;"),
        "{csp}"
    );
    let tiles = reply.body.matches("<iframe").count();
    assert_eq!(
        tiles,
        Content::embedded().samples().len() + 3,
        "samples plus 3 random ids"
    );
}

#[tokio::test]
async fn invalid_ids_get_404_and_no_card() {
    for path in [
        "/card/12-34-1",
        "/card/%31%32-34-10",
        "/card/12-34-10.jpg",
        "/card/%3Cscript%3E",
    ] {
        let reply = get(path, bearer(TOKEN)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!is_card(&reply.body));
    }
}

#[tokio::test]
async fn the_card_is_locked_to_its_own_origin() {
    let card = get("/card/12-34-10", bearer(TOKEN)).await;
    let csp = card.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.starts_with("default-src 'self';"), "{csp}");
    assert!(
        !csp.contains("script-src"),
        "scripts fall back to 'self': {csp}"
    );
    assert_eq!(card.headers[header::CACHE_CONTROL], "private, no-store");
    let font = get("/assets/fonts/inter-latin-wght-normal.woff2", bearer(TOKEN)).await;
    assert_eq!(font.status, StatusCode::OK);
    assert_eq!(font.headers[header::CONTENT_TYPE], "font/woff2");
}

#[tokio::test]
async fn hostile_content_comes_out_as_harmless_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cards.toml");
    std::fs::write(
        &path,
        r#"
site_name = "<script>alert('site')</script>Evil Co"
eyebrow = "<img src=//evil.example/pixel.gif onerror=alert(1)>Hello"
headline = "<a href='javascript:alert(1)'>Click</a> <b onmouseover='alert(1)'>bold</b>"
footer = "<iframe src=https://evil.example></iframe><style>*{background:url(//evil.example)}</style>ok"
labels = ["<svg onload=alert(1)>A", "B<script src=//evil.example/x.js></script>", "C"]
"#,
    )
    .unwrap();
    let mut config = site();
    config.design = DesignSource::Fixed(Content::load(&path).unwrap());
    let request = Request::get("/card/01-02-03")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let card = send(config, request).await.body;
    for needle in [
        "alert",
        "evil.example",
        "javascript:",
        "onerror",
        "onload",
        "onmouseover",
        "<img",
        "<iframe",
        "<svg",
        "<a ",
    ] {
        assert!(!card.contains(needle), "{needle:?} survived sanitising");
    }
    assert_eq!(card.matches("<script").count(), 1, "only the ready script");
    assert_eq!(
        card.matches("<style").count(),
        1,
        "only the card stylesheet"
    );
    for text in ["Evil Co", "Hello", "Click", "<b>bold</b>", "ok"] {
        assert!(card.contains(text), "{text:?} kept as text");
    }
}

#[tokio::test]
async fn dev_mode_rereads_content_on_every_request() {
    let dir = tempfile::tempdir().unwrap();
    let content_file = dir.path().join("cards.toml");
    let css_file = dir.path().join("card.css");
    let write = |headline: &str| {
        std::fs::write(
            &content_file,
            format!("site_name = \"s\"\neyebrow = \"e\"\nheadline = \"{headline}\"\nfooter = \"f\"\nlabels = [\"a\", \"b\", \"c\"]\n"),
        )
        .unwrap();
    };
    write("First draft");
    std::fs::write(&css_file, ".card { color: red }").unwrap();
    let mut config = site();
    config.design = DesignSource::Reload {
        content_file: content_file.clone(),
        css_file: css_file.clone(),
    };
    let app = router(config);
    let fetch = || {
        let app = app.clone();
        async move {
            let request = Request::get("/card/12-34-10")
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                .body(Body::empty())
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    assert!(fetch().await.1.contains("First draft"));
    write("Second draft");
    std::fs::write(&css_file, ".card { color: blue }").unwrap();
    let (_, body) = fetch().await;
    assert!(body.contains("Second draft") && body.contains("color: blue"));
    std::fs::write(&content_file, "headline = = broken").unwrap();
    let (status, body) = fetch().await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.contains("line 1"),
        "the designer sees which line is wrong: {body}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_token_never_reaches_a_response_body_or_a_log_line() {
    // tracing caches each callsite's interest for the whole process, decided by the
    // first thread to reach it; a sibling test's thread with no subscriber would cache
    // "never" and blind the capture below (tokio-rs/tracing#3611). A global subscriber
    // that keeps nothing makes every thread's answer "interested".
    let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
    let logs = CapturedLogs::default();
    // No redactor here: the site itself must not log the token.
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut bodies = String::new();
    for path in [
        "/card/12-34-10",
        "/preview",
        "/card/bad",
        "/assets/ready.js",
        "/nope",
    ] {
        for auth in [bearer(TOKEN), bearer("wrong"), None] {
            bodies.push_str(&get(path, auth).await.body);
        }
    }
    let signin = Request::post("/signin")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={TOKEN}")))
        .unwrap();
    bodies.push_str(&send(site(), signin).await.body);
    let logs = logs.text();
    assert!(
        logs.contains("request"),
        "the capture saw the request spans: {logs}"
    );
    assert!(!logs.contains(TOKEN), "token in logs:\n{logs}");
    assert!(!bodies.contains(TOKEN), "token in a response body");
}

/// The render site's binary registers its token before anything logs
/// ([`RenderToken::redact_from_logs`]); a line that carries the token or its cookie,
/// from whatever crate, comes out of the apps' subscriber redacted.
#[test]
fn a_log_line_with_the_token_or_its_cookie_comes_out_redacted() {
    // Not TOKEN: redaction is process-wide, and the test above must see TOKEN itself if
    // the site ever logged it.
    let token = RenderToken::new("render-site-redaction-test-token").unwrap();
    token.redact_from_logs();
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(app_host::subscriber(
        false,
        tracing_subscriber::EnvFilter::new("trace"),
        logs.clone(),
    ));
    tracing::info!(
        cookie = token.cookie_value(),
        "signed in with {}",
        token.expose()
    );
    let text = logs.text();
    assert!(
        text.contains("signed in with"),
        "the line was written: {text}"
    );
    assert!(
        !text.contains(token.expose()),
        "the token in a log line: {text}"
    );
    assert!(
        !text.contains(token.cookie_value()),
        "the cookie in a log line: {text}"
    );
    assert_eq!(text.matches(app_host::REDACTED).count(), 2, "{text}");
}
