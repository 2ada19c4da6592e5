//! Sites no one here wrote (`tests/third_party/`: a `mkdocs build` of a docs site, and the Vite
//! React template's build with client-side routes), shared through the injector serving
//! their directory and behind the proxy in front of a plain origin of their files. Every
//! page shares itself: its own `og:url`, a title and a description from its own words,
//! alt text that says what the card shows, and every other byte as the site wrote it;
//! assets and missing pages are the site's. share-check then checks every share link as
//! each crawler sees it.

use std::path::{Path, PathBuf};

use e2e::{System, http_client};
use scraper::{Html, Selector};
use share_check::{CheckArgs, run};
use shared_ids::SocialId;
use test_kit::meta::meta_contents;

const ID: &str = "12-34-10";

/// One fixture: where its files are, and what a visitor asks of it.
struct RealSite {
    dir: PathBuf,
    /// Whether it is a single-page app, whose routes are all its `index.html`.
    spa: bool,
    /// Share links beyond one per HTML page: (path and query, the file it serves, the
    /// path and query `og:url` names, before `social`).
    links: Vec<(&'static str, &'static str, &'static str)>,
    /// A file that is not a page: it goes out as it is, shared or not.
    asset: &'static str,
    /// A path with no file: the site's own answer to it.
    missing: &'static str,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("third_party")
        .join(name)
}

fn mkdocs() -> RealSite {
    RealSite {
        dir: fixture("mkdocs/site"),
        spa: false,
        links: vec![
            (
                "/guide/deep/?utm_source=news&utm_medium=email&social=12-34-10",
                "guide/deep/index.html",
                "/guide/deep/",
            ),
            (
                "/about/?fbclid=IwAR0x&lang=en&social=12-34-10",
                "about/index.html",
                "/about/?lang=en",
            ),
        ],
        asset: "css/base.css",
        missing: "/guide/no-such-page/",
    }
}

fn vite() -> RealSite {
    RealSite {
        dir: fixture("vite-react/dist"),
        spa: true,
        links: vec![
            ("/about?social=12-34-10", "index.html", "/about"),
            (
                "/products/tide-clock?gclid=x&variant=brass&social=12-34-10",
                "index.html",
                "/products/tide-clock?variant=brass",
            ),
            (
                "/products/no-such-product?social=12-34-10",
                "index.html",
                "/products/no-such-product",
            ),
        ],
        asset: "favicon.svg",
        missing: "/assets/no-such-file.js",
    }
}

impl RealSite {
    /// Every HTML page but the 404 page, by the path a visitor asks for it, and any
    /// further links: (link, file, `og:url`'s path and query).
    fn share_links(&self) -> Vec<(String, PathBuf, String)> {
        let mut links = Vec::new();
        let mut dirs = vec![self.dir.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir)
                .expect("a fixture directory")
                .flatten()
            {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.file_name().is_some_and(|name| name == "index.html") {
                    let relative = path.parent().unwrap().strip_prefix(&self.dir).unwrap();
                    let mut page = format!("/{}", relative.to_str().expect("UTF-8"));
                    if !page.ends_with('/') {
                        page.push('/');
                    }
                    links.push((format!("{page}?social={ID}"), path, page));
                }
            }
        }
        for (link, file, page) in &self.links {
            links.push(((*link).to_owned(), self.dir.join(file), (*page).to_owned()));
        }
        links.sort();
        links
    }
}

/// What a browser reads as the page's title and description.
fn words(html: &str) -> (String, String) {
    let document = Html::parse_document(html);
    let first = |css: &str| {
        let selector = Selector::parse(css).unwrap();
        document.select(&selector).next().expect(css)
    };
    let title: String = first("head > title").text().collect();
    let description = first("head > meta[name=description]")
        .value()
        .attr("content");
    (
        title.split_ascii_whitespace().collect::<Vec<_>>().join(" "),
        description.expect("a description").to_owned(),
    )
}

/// `shared` is `page` with one run of `<meta>` tags inserted, and nothing else changed.
fn assert_only_tags_added(page: &[u8], shared: &[u8], link: &str) {
    let at = page.iter().zip(shared).take_while(|(a, b)| a == b).count();
    let added = shared.len() - page.len();
    assert!(
        shared[at + added..] == page[at..],
        "{link}: bytes after the block differ"
    );
    let block = std::str::from_utf8(&shared[at..at + added]).expect("a UTF-8 block");
    let tags = block.split_inclusive('>').collect::<Vec<_>>();
    assert!(
        tags.iter()
            .all(|tag| tag.starts_with("<meta ") && !tag[1..].contains('<')),
        "{link}: something else than meta tags was added: {block}"
    );
}

async fn get(url: &str) -> reqwest::Response {
    http_client().get(url).send().await.expect("an answer")
}

/// Shares every page of `site` through `base` and checks what a crawler gets; returns the
/// share links.
async fn assert_every_page_shares_itself(site: &RealSite, base: &str) -> Vec<String> {
    let alt = card_wording::Content::embedded().image_alt(SocialId::parse(ID).unwrap());
    let mut checked = Vec::new();
    for (link, file, page) in site.share_links() {
        let url = format!("{base}{link}");
        let answer = get(&url).await;
        assert_eq!(answer.status(), 200, "{url}");
        assert_eq!(answer.headers()["x-ogshot-inject"], "injected", "{url}");
        let body = answer.bytes().await.unwrap();
        let html = std::str::from_utf8(&body).expect("UTF-8");
        let original = std::fs::read(&file).unwrap();
        let joint = if page.contains('?') { '&' } else { '?' };
        assert_eq!(
            meta_contents(html, "og:url"),
            [format!("{base}{page}{joint}social={ID}")],
            "{url}"
        );
        let (title, description) = words(std::str::from_utf8(&original).unwrap());
        assert_eq!(meta_contents(html, "og:title"), [title], "{url}");
        assert_eq!(
            meta_contents(html, "og:description"),
            [description],
            "{url}"
        );
        for key in ["og:image:alt", "twitter:image:alt"] {
            assert_eq!(
                meta_contents(html, key),
                std::slice::from_ref(&alt),
                "{url}"
            );
        }
        assert_only_tags_added(&original, &body, &url);
        checked.push(url);
    }
    let asset = get(&format!("{base}/{}?social={ID}", site.asset)).await;
    assert_eq!(asset.status(), 200);
    assert!(
        asset
            .headers()
            .get("x-ogshot-inject")
            .is_none_or(|v| v != "injected")
    );
    let asset_bytes = asset.bytes().await.unwrap();
    assert!(asset_bytes == std::fs::read(site.dir.join(site.asset)).unwrap());
    let missing = get(&format!("{base}{}?social={ID}", site.missing)).await;
    assert_eq!(missing.status(), 404, "{base}{}", site.missing);
    let own_404 = site.dir.join("404.html");
    if own_404.exists() {
        assert!(missing.bytes().await.unwrap() == std::fs::read(own_404).unwrap());
    }
    checked
}

/// share-check on every link: no crawler finds anything wrong. Only the image's timing
/// may be a warning: the card service here is a debug build answering every crawler of
/// every link at once on a shared machine, which says nothing about the share.
async fn assert_share_check_passes(links: Vec<String>) {
    let report = run(&CheckArgs::for_targets(links, &[])).await.unwrap();
    let problems: Vec<_> = (report.problems().into_iter())
        .filter(|(_, rule, _)| rule != "image.timing")
        .collect();
    assert_eq!(problems, [], "{}", report.table());
    assert!(report.passed(false), "{}", report.table());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_of_real_sites_shares_itself_from_their_directory_and_behind_the_proxy() {
    let mut system = System::start().await;
    let mut links = Vec::new();
    for site in [mkdocs(), vite()] {
        let dir = site.dir.to_str().expect("a UTF-8 path");
        let served = system.start_injector(dir, site.spa).await;
        links.extend(assert_every_page_shares_itself(&site, &served).await);
        let origin = system.start_plain_origin(&site.dir, site.spa).await;
        let proxied = system.start_injector(&origin, false).await;
        links.extend(assert_every_page_shares_itself(&site, &proxied).await);
    }
    assert_share_check_passes(links).await;
    assert_eq!(system.service.metrics().counts().renders, 1);
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_single_page_apps_routes_are_pages_only_with_the_switch() {
    let mut system = System::start().await;
    let site = vite();
    let dir = site.dir.to_str().expect("a UTF-8 path");
    let plain = system.start_injector(dir, false).await;
    let route = get(&format!("{plain}/about?social={ID}")).await;
    assert_eq!(route.status(), 404);
    let spa = system.start_injector(dir, true).await;
    assert_eq!(get(&format!("{spa}/about?social={ID}")).await.status(), 200);
    system.stop().await;
}
