//! main-site serving a site from an S3 bucket (`--upstream s3://bucket/prefix`), in
//! test-kit's S3 server: the main-site binary itself runs, since the AWS SDK takes its
//! endpoint and keys from the environment and only a child process can be given its own.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use share_inject::INJECT_HEADER;

use crate::support::{
    DOCS_PAGE, ID, IMAGE_BASE, PUBLIC_URL, SHARED_PAGE, assert_share_links_get_their_pages,
    get_from, page,
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
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let s3 = test_kit::s3::start(dir.path().join("s3")).await;
        for (key, body, content_type) in [
            ("index.html", page(SHARED_PAGE), "text/html; charset=utf-8"),
            (
                "docs/index.html",
                page(DOCS_PAGE),
                "text/html; charset=utf-8",
            ),
            ("app.css", Bytes::from_static(CSS), "text/css"),
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
        let mut site = test_kit::process::Process::spawn(
            "main-site (S3 upstream)",
            tokio::process::Command::new(env!("CARGO_BIN_EXE_main-site"))
                .env_clear()
                .env("MAIN_SITE_ADDR", "127.0.0.1:0")
                .env("UPSTREAM", format!("s3://{}/{BUCKET_PREFIX}", s3.bucket))
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
                .env("NO_COLOR", "1")
                .env("RUST_LOG", "info"),
        );
        let line = site
            .wait_for("listening on http://", Duration::from_secs(30))
            .await;
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| {
                let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'));
                rest[..end.unwrap_or(rest.len())].parse().ok()
            })
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Self {
            addr,
            s3,
            _site: site,
            _dir: dir,
        }
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
    let site = BucketSite::start().await;

    assert_share_links_get_their_pages(site.addr).await;
}

#[tokio::test]
async fn a_bucket_sites_objects_keep_their_headers_and_a_missing_asset_is_a_404() {
    let site = BucketSite::start().await;

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
        let missing = get_from(site.addr, &target).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{target}");
    }
}
