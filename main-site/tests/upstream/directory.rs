//! main-site serving a site's build output from a directory (`--upstream <dir>`): share
//! links get the page they name injected, assets go out untouched.

use axum::http::StatusCode;
use test_kit::meta::meta_contents;

use crate::support::{
    DOCS_PAGE, ID, SHARED_PAGE, assert_share_links_get_their_pages, get_from, page, site,
};

/// A site's build output: a real page as the app's index, a docs page, an asset.
fn site_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("index.html"), page(SHARED_PAGE)).expect("index.html");
    std::fs::create_dir(dir.path().join("docs")).expect("docs/");
    std::fs::write(dir.path().join("docs/index.html"), page(DOCS_PAGE)).expect("docs/index.html");
    std::fs::write(dir.path().join("app.css"), "body { margin: 0 }").expect("app.css");
    dir
}

#[tokio::test]
async fn a_directory_sites_share_links_get_the_page_they_name_injected() {
    let dir = site_dir();
    let site = site(dir.path().to_str().expect("a UTF-8 path")).await;

    assert_share_links_get_their_pages(site.addr).await;
    let route = get_from(site.addr, "/some/route").await;
    assert_eq!(route.status, StatusCode::OK);
    assert!(
        route.body == page(SHARED_PAGE),
        "an app route without a share changed"
    );
}

#[tokio::test]
async fn a_directory_sites_assets_go_out_untouched_and_a_missing_one_is_a_404() {
    let dir = site_dir();
    let site = site(dir.path().to_str().expect("a UTF-8 path")).await;

    let css = get_from(site.addr, &format!("/app.css?social={ID}")).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.body, "body { margin: 0 }");
    assert!(
        css.header("content-type")
            .is_some_and(|t| t.starts_with("text/css"))
    );

    for target in ["/app.js".to_owned(), format!("/app.js?social={ID}")] {
        let missing = get_from(site.addr, &target).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{target}");
        assert_eq!(
            meta_contents(&missing.text(), "og:image"),
            Vec::<String>::new(),
            "{target}"
        );
    }
}
