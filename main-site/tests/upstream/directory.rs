//! main-site serving a site's build output from a directory (`--upstream <dir>`) as a
//! static host serves it: share links get the page they name injected, assets go out
//! untouched, a missing page gets the site's `404.html` (the single-page app's
//! `index.html` only with `--spa`), and nothing outside the site's own files is served.

use std::time::Duration;

use axum::http::StatusCode;
use main_site::Args;
use test_kit::meta::meta_contents;
use test_kit::raw_http;

use crate::support::{
    DOCS_PAGE, ID, NOT_FOUND_PAGE, SECRET, SECURITY_TXT, SHARED_PAGE, args, assert_not_found_page,
    assert_plain_not_found_page, assert_share_links_get_their_pages, get_from, page, site,
    site_from,
};

const CSS: &str = "body { margin: 0 }";

/// A site's build output: a real page as the app's index, a docs page, an asset, its own
/// 404 page, dotfiles and a `.well-known` file; and beside it, outside the site, a
/// secret that symlinks in the site point at.
struct SiteDir {
    _tmp: tempfile::TempDir,
    root: String,
}

impl SiteDir {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let root = tmp.path().join("site");
        let outside = tmp.path().join("outside");
        for dir in [&root, &outside] {
            std::fs::create_dir(dir).expect("a directory");
        }
        std::fs::write(outside.join("secret.txt"), SECRET).expect("secret.txt");
        let files: [(&str, &[u8]); 8] = [
            ("index.html", &page(SHARED_PAGE)),
            ("docs/index.html", &page(DOCS_PAGE)),
            ("docs/.draft.html", SECRET.as_bytes()),
            ("app.css", CSS.as_bytes()),
            ("404.html", NOT_FOUND_PAGE.as_bytes()),
            (".env", SECRET.as_bytes()),
            (".git/config", SECRET.as_bytes()),
            (
                ".well-known/security.txt",
                b"Contact: mailto:security@example.com\n",
            ),
        ];
        for (name, body) in files {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("its directory");
            std::fs::write(&path, body).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for (link, target) in [
            (root.join("leak.txt"), outside.join("secret.txt")),
            (root.join("outside"), outside.clone()),
            (root.join("alias.css"), root.join("app.css")),
        ] {
            std::os::unix::fs::symlink(target, link).expect("a symlink");
        }
        let root = root.to_str().expect("a UTF-8 path").to_owned();
        Self { _tmp: tmp, root }
    }

    fn without_404_page(self) -> Self {
        std::fs::remove_file(format!("{}/404.html", self.root)).expect("404.html removed");
        self
    }
}

fn spa_args(root: &str) -> Args {
    Args {
        spa: true,
        ..args(root)
    }
}

#[tokio::test]
async fn a_directory_sites_share_links_get_the_page_they_name_injected() {
    let dir = SiteDir::new();
    let site = site_from(spa_args(&dir.root)).await;

    assert_share_links_get_their_pages(site.addr).await;
    let route = get_from(site.addr, "/some/route").await;
    assert_eq!(route.status, StatusCode::OK);
    assert!(
        route.body == page(SHARED_PAGE),
        "an app route without a share changed"
    );
}

#[tokio::test]
async fn a_directory_sites_assets_go_out_untouched_and_a_missing_one_gets_its_404_page() {
    let dir = SiteDir::new();
    let site = site_from(spa_args(&dir.root)).await;

    let css = get_from(site.addr, &format!("/app.css?social={ID}")).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.body, CSS);
    assert!(
        css.header("content-type")
            .is_some_and(|t| t.starts_with("text/css"))
    );

    for target in ["/app.js".to_owned(), format!("/app.js?social={ID}")] {
        let missing = get_from(site.addr, &target).await;
        assert_not_found_page(&missing, &target);
        assert_eq!(
            meta_contents(&missing.text(), "og:image"),
            Vec::<String>::new(),
            "{target}"
        );
    }
}

#[tokio::test]
async fn without_the_spa_switch_a_missing_page_is_the_sites_404_page_not_its_home_page() {
    let dir = SiteDir::new();
    let site = site(&dir.root).await;

    for target in [
        "/no-such-page".to_owned(),
        format!("/deep/route?social={ID}"),
        "/docs/missing/".to_owned(),
        "/app.js".to_owned(),
    ] {
        assert_not_found_page(&get_from(site.addr, &target).await, &target);
    }
    let docs = get_from(site.addr, "/docs/").await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.body == page(DOCS_PAGE), "the docs page changed");
}

#[tokio::test]
async fn a_site_without_a_404_page_gets_a_plain_one_never_an_empty_body() {
    let dir = SiteDir::new().without_404_page();
    let site = site(&dir.root).await;

    assert_plain_not_found_page(&get_from(site.addr, "/no-such-page").await);
}

#[tokio::test]
async fn dotfiles_are_never_served_but_well_known_is() {
    let dir = SiteDir::new();
    for site in [site(&dir.root).await, site_from(spa_args(&dir.root)).await] {
        for target in [
            "/.env",
            "/%2Eenv",
            "/.git/config",
            "/.git/",
            "/docs/.draft.html",
            "/docs/%2E%2E/.env",
        ] {
            assert_not_found_page(&get_from(site.addr, target).await, target);
        }
        let security = get_from(site.addr, "/.well-known/security.txt").await;
        assert_eq!(security.status, StatusCode::OK);
        assert_eq!(security.text(), SECURITY_TXT);
    }
}

#[tokio::test]
async fn a_symlink_out_of_the_directory_is_a_404_and_one_within_it_is_served() {
    let dir = SiteDir::new();
    let site = site(&dir.root).await;

    for target in ["/leak.txt", "/outside/secret.txt"] {
        let answer = get_from(site.addr, target).await;
        assert_not_found_page(&answer, target);
    }
    let alias = get_from(site.addr, "/alias.css").await;
    assert_eq!(alias.status, StatusCode::OK);
    assert_eq!(alias.text(), CSS);
}

#[tokio::test]
async fn a_directory_redirect_never_names_the_requests_host() {
    let dir = SiteDir::new();
    let site = site(&dir.root).await;

    for (target, location) in [
        (
            format!("http://evil.example/docs?social={ID}"),
            format!("/docs/?social={ID}"),
        ),
        ("//docs".to_owned(), "/docs/".to_owned()),
        ("/docs".to_owned(), "/docs/".to_owned()),
    ] {
        let answer = raw_http::request(site.addr, "GET", &target, &[]).await;
        assert_eq!(answer.status, 301, "{target}");
        assert_eq!(
            answer.header("location"),
            Some(location.as_str()),
            "{target}"
        );
    }
}

#[tokio::test]
async fn a_300_byte_path_segment_is_a_404_not_a_500() {
    let dir = SiteDir::new();
    let site = site(&dir.root).await;

    let long = "a".repeat(300);
    for target in [format!("/{long}"), format!("/docs/{long}.html")] {
        assert_not_found_page(&get_from(site.addr, &target).await, "a 300-byte segment");
    }
}

#[tokio::test]
async fn main_site_with_an_upstream_and_no_public_url_refuses_to_start_naming_it() {
    let dir = SiteDir::new();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_main-site"))
        .arg("--upstream")
        .arg(&dir.root)
        .env_clear()
        .env("MAIN_SITE_ADDR", "127.0.0.1:0")
        .kill_on_drop(true)
        .output();
    // Only turns a server that started after all into a failure rather than a hang.
    let run = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("main-site started and served instead of refusing")
        .expect("main-site ran");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(
        stderr.contains("PUBLIC_URL") && stderr.contains("--public-url"),
        "{stderr}"
    );
}
