//! main-site serving a site from an S3 bucket (`--upstream s3://bucket/prefix`), in
//! test-kit's S3 server: the main-site binary itself runs, since the AWS SDK takes its
//! endpoint and keys from the environment and only a child process can be given its own.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::StatusCode;
use share_inject::INJECT_HEADER;
use test_kit::raw_http;

use crate::support::{
    DOCS_PAGE, ID, IMAGE_BASE, NOT_FOUND_PAGE, PUBLIC_URL, SECRET, SECURITY_TXT, SHARED_PAGE,
    assert_not_found_page, assert_plain_not_found_page, assert_share_links_get_their_pages, client,
    fetch, get_from, page, spawn_site,
};

/// A site's files in a bucket of test-kit's S3 server, under a prefix, and the
/// main-site binary serving them.
struct BucketSite {
    addr: SocketAddr,
    s3: test_kit::s3::TestS3,
    _site: test_kit::process::Process,
    _dir: tempfile::TempDir,
}

const BUCKET_PREFIX: &str = "www";
const CSS: &[u8] = b"body { margin: 0 }";

impl BucketSite {
    /// The site's files (pages, an asset, its 404 page, dotfile keys, a `.well-known`
    /// file) in the bucket, served as a single-page app if `spa`.
    async fn start(spa: bool) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let s3 = test_kit::s3::start(dir.path().join("s3")).await;
        let html = "text/html; charset=utf-8";
        for (key, body, content_type) in [
            ("index.html", page(SHARED_PAGE), html),
            ("docs/index.html", page(DOCS_PAGE), html),
            ("app.css", Bytes::from_static(CSS), "text/css"),
            (
                "404.html",
                Bytes::from_static(NOT_FOUND_PAGE.as_bytes()),
                html,
            ),
            (".env", Bytes::from_static(SECRET.as_bytes()), "text/plain"),
            (
                ".git/config",
                Bytes::from_static(SECRET.as_bytes()),
                "text/plain",
            ),
            (
                "docs/.draft.html",
                Bytes::from_static(SECRET.as_bytes()),
                html,
            ),
            (
                ".well-known/security.txt",
                Bytes::from_static(SECURITY_TXT.as_bytes()),
                "text/plain",
            ),
        ] {
            s3.client()
                .put_object()
                .bucket(&s3.bucket)
                .key(format!("{BUCKET_PREFIX}/{key}"))
                .content_type(content_type)
                .body(aws_sdk_s3::primitives::ByteStream::from(body))
                .send()
                .await
                .unwrap_or_else(|e| panic!("put {key}: {e}"));
        }
        let (site, addr) = spawn_site(
            "main-site (S3 upstream)",
            tokio::process::Command::new(env!("CARGO_BIN_EXE_main-site"))
                .env_clear()
                .env("UPSTREAM", format!("s3://{}/{BUCKET_PREFIX}", s3.bucket))
                .env("UPSTREAM_SPA", spa.to_string())
                .env("PUBLIC_URL", PUBLIC_URL)
                .env("IMAGE_BASE_URL", IMAGE_BASE)
                .env("AWS_ENDPOINT_URL_S3", &s3.endpoint)
                .env("AWS_ACCESS_KEY_ID", &s3.access_key)
                .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
                .env("AWS_REGION", test_kit::s3::REGION)
                .env("AWS_EC2_METADATA_DISABLED", "true")
                // No profile of whoever runs the tests reaches the site.
                .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
                .env(
                    "AWS_SHARED_CREDENTIALS_FILE",
                    dir.path().join("no-credentials"),
                )
                .env("RUST_LOG", "info"),
        )
        .await;
        Self {
            addr,
            s3,
            _site: site,
            _dir: dir,
        }
    }

    async fn delete(&self, key: &str) {
        self.s3
            .client()
            .delete_object()
            .bucket(&self.s3.bucket)
            .key(format!("{BUCKET_PREFIX}/{key}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete {key}: {e}"));
    }

    async fn object_etag(&self, key: &str) -> String {
        self.s3
            .client()
            .head_object()
            .bucket(&self.s3.bucket)
            .key(format!("{BUCKET_PREFIX}/{key}"))
            .send()
            .await
            .expect("the object")
            .e_tag
            .expect("an ETag")
    }
}

#[tokio::test]
async fn a_bucket_sites_share_links_get_the_page_they_name_injected() {
    let site = BucketSite::start(true).await;

    assert_share_links_get_their_pages(site.addr).await;
}

#[tokio::test]
async fn a_bucket_sites_objects_keep_their_headers_and_a_missing_asset_gets_its_404_page() {
    let site = BucketSite::start(true).await;

    let index = get_from(site.addr, "/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.body == page(SHARED_PAGE), "the page changed");
    assert_eq!(
        index.header("etag"),
        Some(site.object_etag("index.html").await.as_str())
    );
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(index.header(INJECT_HEADER), None);

    let css = get_from(site.addr, &format!("/app.css?social={ID}")).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.body, CSS);
    assert_eq!(
        css.header("etag"),
        Some(site.object_etag("app.css").await.as_str())
    );
    assert_eq!(css.header("content-type"), Some("text/css"));
    assert_eq!(
        css.header("content-length"),
        Some(CSS.len().to_string().as_str())
    );

    for target in ["/app.js".to_owned(), format!("/app.js?social={ID}")] {
        assert_not_found_page(&get_from(site.addr, &target).await, &target);
    }
}

#[tokio::test]
async fn without_the_spa_switch_a_missing_bucket_page_is_its_404_page_and_a_directory_redirects() {
    let site = BucketSite::start(false).await;

    for target in [
        "/no-such-page".to_owned(),
        format!("/deep/route?social={ID}"),
        "/docs/missing/".to_owned(),
    ] {
        assert_not_found_page(&get_from(site.addr, &target).await, &target);
    }
    let docs = get_from(site.addr, "/docs/").await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.body == page(DOCS_PAGE), "the docs page changed");
    let redirect = raw_http::request(
        site.addr,
        "GET",
        &format!("http://evil.example/docs?social={ID}"),
        &[],
    )
    .await;
    assert_eq!(redirect.status, 301);
    assert_eq!(
        redirect.header("location"),
        Some(format!("/docs/?social={ID}").as_str())
    );
}

#[tokio::test]
async fn a_bucket_serves_no_dotfile_key_and_no_over_long_path_but_well_known() {
    let site = BucketSite::start(true).await;

    let long = "a".repeat(300);
    for target in [
        "/.env".to_owned(),
        "/%2Eenv".to_owned(),
        "/.git/config".to_owned(),
        "/docs/.draft.html".to_owned(),
        format!("/{long}"),
        format!("/docs/{long}.html"),
        format!("/{}", "abc/".repeat(300)),
    ] {
        assert_not_found_page(&get_from(site.addr, &target).await, &target);
    }
    let security = get_from(site.addr, "/.well-known/security.txt").await;
    assert_eq!(security.status, StatusCode::OK);
    assert_eq!(security.text(), SECURITY_TXT);
}

#[tokio::test]
async fn a_bucket_without_a_404_page_gets_a_plain_one_never_an_empty_body() {
    let site = BucketSite::start(false).await;
    site.delete("404.html").await;

    assert_plain_not_found_page(&get_from(site.addr, "/no-such-page").await);
}

/// A 304 once came with no header at all (S3 answered the condition and the proxy kept
/// only its status), so a cache could not refresh the object's lifetime; and
/// `If-Modified-Since` never reached the bucket.
#[tokio::test]
async fn a_304_from_a_bucket_carries_the_objects_validators_and_caching_headers() {
    let site = BucketSite::start(false).await;
    site.s3
        .client()
        .put_object()
        .bucket(&site.s3.bucket)
        .key(format!("{BUCKET_PREFIX}/cached.css"))
        .content_type("text/css")
        .cache_control("public, max-age=600")
        .expires(aws_sdk_s3::primitives::DateTime::from_secs(4_102_444_800))
        .body(aws_sdk_s3::primitives::ByteStream::from_static(CSS))
        .send()
        .await
        .expect("put cached.css");
    let url = format!("http://{}/cached.css", site.addr);
    let whole = get_from(site.addr, "/cached.css").await;
    assert_eq!(whole.status, StatusCode::OK);
    let kept = [
        ("etag", Some(site.object_etag("cached.css").await)),
        (
            "last-modified",
            whole.header("last-modified").map(str::to_owned),
        ),
        ("cache-control", Some("public, max-age=600".to_owned())),
        ("expires", Some("Fri, 01 Jan 2100 00:00:00 GMT".to_owned())),
    ];
    for (name, value) in &kept {
        assert!(value.is_some(), "{name}");
        assert_eq!(whole.header(name), value.as_deref(), "200: {name}");
    }
    let etag = whole.header("etag").expect("an ETag");
    let last_modified = whole.header("last-modified").expect("a Last-Modified");

    for (method, condition, value) in [
        ("GET", "if-none-match", etag),
        ("GET", "if-none-match", &format!("\"other\", W/{etag}")),
        ("HEAD", "if-none-match", "*"),
        ("GET", "if-modified-since", last_modified),
        ("HEAD", "if-modified-since", last_modified),
    ] {
        let method = method.parse().expect("a method");
        let answer = fetch(client().request(method, &url).header(condition, value)).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_MODIFIED,
            "{condition}: {value}"
        );
        assert!(answer.body.is_empty());
        for (name, value) in &kept {
            assert_eq!(answer.header(name), value.as_deref(), "304: {name}");
        }
    }

    for (condition, value) in [
        ("if-none-match", "\"other\""),
        ("if-modified-since", "Mon, 01 Jan 2001 00:00:00 GMT"),
        // A date that is no HTTP-date is no condition (RFC 9110 13.1.3).
        ("if-modified-since", "yesterday"),
    ] {
        let answer = fetch(client().get(&url).header(condition, value)).await;
        assert_eq!(answer.status, StatusCode::OK, "{condition}: {value}");
        assert_eq!(answer.body, CSS);
    }
    // With both, `If-None-Match` decides (RFC 9110 13.1.3), not S3's rule.
    let both = fetch(
        client()
            .get(&url)
            .header("if-none-match", "\"other\"")
            .header("if-modified-since", last_modified),
    )
    .await;
    assert_eq!(both.status, StatusCode::OK);
}

/// A path within the 1,024 bytes of an S3 key made a key beyond them once under the
/// bucket's prefix (or with `index.html` after it), which S3 refuses: a 502 and a WARN
/// line for every such request.
#[tokio::test]
async fn a_key_s3_would_refuse_is_a_missing_page_not_a_gateway_error() {
    let site = BucketSite::start(false).await;
    let segment = "a".repeat(203);
    let directory = format!("/{}/", [segment.as_str(); 5].join("/"));
    let file = format!("/{}", vec!["b".repeat(255); 4].join("/"));
    assert!(directory.len() <= 1024 && file.len() <= 1024);

    for target in [directory, file] {
        assert_not_found_page(&get_from(site.addr, &target).await, &target);
    }
    for target in [
        "/docs/../.env",
        "/docs/%2e%2e/.git/config",
        "/%2E%2E/index.html",
    ] {
        let answer = raw_http::request(site.addr, "GET", target, &[]).await;
        assert_eq!(answer.status, 404, "{target}");
        assert_eq!(answer.body, NOT_FOUND_PAGE.as_bytes(), "{target}");
    }
}

/// A HEAD once fetched the whole object from the bucket and threw it away.
#[tokio::test]
async fn a_head_asks_the_bucket_for_the_objects_metadata_only() {
    let site = BucketSite::start(false).await;
    let object = format!("/{}/{BUCKET_PREFIX}/app.css", site.s3.bucket);
    let before = site.s3.requests().len();

    let head = fetch(client().head(format!("http://{}/app.css", site.addr))).await;

    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(CSS.len().to_string().as_str())
    );
    assert_eq!(head.header("content-type"), Some("text/css"));
    assert_eq!(
        head.header("etag"),
        Some(site.object_etag("app.css").await.as_str())
    );
    let asked: Vec<String> = site.s3.requests()[before..]
        .iter()
        .filter(|request| request.ends_with(&object))
        .cloned()
        .collect();
    assert_eq!(asked.first(), Some(&format!("HEAD {object}")), "{asked:?}");
    assert!(
        !asked.contains(&format!("GET {object}")),
        "the object was fetched: {asked:?}"
    );
}
