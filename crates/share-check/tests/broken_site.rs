//! share-check against a tiny site on 127.0.0.1:0 whose pages and images are each
//! broken in one way: each must produce exactly its ✗ or ⚠, and nothing else. A good
//! page shows a JPEG encoded here, so no other crate's image is needed. Where `og:url`
//! leads is `og_url`'s, on a site of its own.

// One test binary, so the site and the card are built and linked once.
#[path = "broken_site/og_url.rs"]
mod og_url;

use std::sync::LazyLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use share_check::{CheckArgs, Level, run};

/// The size platforms ask for (1.91:1), within every profile's limits.
const WIDTH: u32 = 1200;
const HEIGHT: u32 = 630;

/// A whole JPEG of [`WIDTH`]x[`HEIGHT`] from a real encoder. Its pixels vary, so its
/// entropy-coded data is long and any half of it is a cut-off image.
static CARD: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let rgb: Vec<u8> = (0..HEIGHT)
        .flat_map(|y| {
            (0..WIDTH).flat_map(move |x| [(x % 256) as u8, (y % 256) as u8, ((x ^ y) % 256) as u8])
        })
        .collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(
            &rgb,
            WIDTH as u16,
            HEIGHT as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .expect("the test card encodes");
    out
});

/// A finding as a test expects it: the crawler, the rule, how bad.
type Expected<'a> = (&'a str, &'a str, Level);

/// The URL a request was made to, as the page's own `og:url` names it.
fn own_url(headers: &HeaderMap, uri: &Uri) -> String {
    format!("http://{}{uri}", headers[header::HOST].to_str().unwrap())
}

/// A share page whose tags are all right, `og:url` naming `own`, with `change` applied
/// to its head.
fn page_with(own: &str, image: &str, change: impl Fn(String) -> String) -> Response {
    let head = format!(
        r#"<meta property="og:title" content="A card">
<meta property="og:url" content="{own}">
<meta property="og:image" content="{image}">
<meta property="og:image:type" content="image/jpeg">
<meta property="og:image:width" content="{WIDTH}">
<meta property="og:image:height" content="{HEIGHT}">
<meta property="og:image:alt" content="A card">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:image" content="{image}">"#
    );
    let html = format!(
        "<!doctype html><html><head>{}</head><body></body></html>",
        change(head)
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

fn jpeg(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response()
}

/// [`CARD`] with comment segments added, so it is `over` bytes and still decodes.
fn padded_jpeg(over: usize) -> Vec<u8> {
    let mut bytes = CARD[..2].to_vec();
    while bytes.len() < over {
        bytes.extend_from_slice(&[0xFF, 0xFE, 0xFF, 0xFF]);
        bytes.extend(std::iter::repeat_n(b' ', 0xFFFF - 2));
    }
    bytes.extend_from_slice(&CARD[2..]);
    bytes
}

/// A server with one broken page or image per rule.
fn broken_site(base: String) -> Router {
    let image = format!("{base}/img/card.jpg");
    let page = move |change: fn(String) -> String| {
        let image = image.clone();
        move |headers: HeaderMap, uri: Uri| async move {
            page_with(&own_url(&headers, &uri), &image, change)
        }
    };
    let with_image = move |path: &'static str, base: String| {
        move |headers: HeaderMap, uri: Uri| {
            let image = format!("{base}{path}");
            async move { page_with(&own_url(&headers, &uri), &image, |h| h) }
        }
    };
    Router::new()
        .route("/ok", get(page(|h| h)))
        .route(
            "/redirect-once",
            get(|| async { (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/ok")]) }),
        )
        .route(
            "/redirect/{n}",
            get(|Path(n): Path<u32>| async move {
                let to = if n == 0 {
                    "/ok".to_owned()
                } else {
                    format!("/redirect/{}", n - 1)
                };
                (StatusCode::FOUND, [(header::LOCATION, to)])
            }),
        )
        .route("/not-found", get(|| async { StatusCode::NOT_FOUND }))
        .route(
            "/not-html",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{}") }),
        )
        .route(
            "/vary",
            get(page(|h| h)).layer(axum::middleware::map_response(
                |mut r: Response| async move {
                    r.headers_mut()
                        .insert(header::VARY, "User-Agent".parse().unwrap());
                    r
                },
            )),
        )
        .route(
            "/endless",
            get(|| async {
                let chunks =
                    futures::stream::repeat_with(|| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024]));
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    Body::from_stream(chunks),
                )
            }),
        )
        .route(
            "/slowloris",
            get(|| async {
                let drip = futures::stream::unfold((), |()| async {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    Some((Ok::<_, std::io::Error>(vec![b' ']), ()))
                });
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    Body::from_stream(drip),
                )
            }),
        )
        .route(
            "/no-image",
            get(page(|h| {
                h.replace(r#"<meta property="og:image" "#, r#"<meta property="og:x" "#)
            })),
        )
        .route(
            "/two-images",
            get(page(|h| {
                format!(
                    "{h}<meta property=\"og:image\" content=\"https://img.example.com/other.jpg\">"
                )
            })),
        )
        .route(
            "/relative-image",
            get(|headers: HeaderMap, uri: Uri| async move {
                page_with(&own_url(&headers, &uri), "/img/card.jpg", |h| h)
            }),
        )
        .route(
            "/wrong-size",
            get(page(|h| {
                h.replace(&format!(r#"content="{WIDTH}""#), r#"content="600""#)
            })),
        )
        .route(
            "/wrong-type",
            get(page(|h| {
                h.replace(r#"content="image/jpeg""#, r#"content="image/png""#)
            })),
        )
        .route(
            "/no-alt",
            get(page(|h| h.replace("og:image:alt", "og:image:x"))),
        )
        .route(
            "/small-card",
            get(page(|h| h.replace("summary_large_image", "summary"))),
        )
        .route("/svg", get(with_image("/img/card.svg", base.clone())))
        .route("/broken", get(with_image("/img/broken.jpg", base.clone())))
        .route(
            "/mislabelled",
            get(with_image("/img/mislabelled.jpg", base.clone())),
        )
        .route(
            "/image-redirect",
            get(with_image("/img/moved.jpg", base.clone())),
        )
        .route("/big", get(with_image("/img/big.jpg", base.clone())))
        .route(
            "/slow-image",
            get(with_image("/img/slow.jpg", base.clone())),
        )
        .route(
            "/private",
            get(with_image("/private/card.jpg", base.clone())),
        )
        .route(
            "/cloaked",
            get(|headers: HeaderMap, uri: Uri| async move {
                let own = own_url(&headers, &uri);
                let twitter = headers
                    .get(header::USER_AGENT)
                    .is_some_and(|ua| ua.to_str().unwrap_or_default().starts_with("Twitterbot"));
                let image = format!(
                    "http://{}/img/card.jpg",
                    headers[header::HOST].to_str().unwrap()
                );
                if twitter {
                    page_with(&own, &image, |h| h.replace("A card", "Another card"))
                } else {
                    page_with(&own, &image, |h| h)
                }
            }),
        )
        // Tags for crawlers only, as a prerendering service answers: people get the
        // page's own head, which names no card.
        .route(
            "/for-crawlers",
            get(|headers: HeaderMap, uri: Uri| async move {
                let browser = headers
                    .get(header::USER_AGENT)
                    .is_some_and(|ua| ua.to_str().unwrap_or_default().contains("Chrome/"));
                let image = format!(
                    "http://{}/img/card.jpg",
                    headers[header::HOST].to_str().unwrap()
                );
                if browser {
                    let html = "<!doctype html><html><head><title>App</title></head></html>";
                    ([(header::CONTENT_TYPE, "text/html")], html).into_response()
                } else {
                    page_with(&own_url(&headers, &uri), &image, |h| h)
                }
            }),
        )
        .route(
            "/malformed",
            get(page(|h| {
                h.replace(&format!(r#"content="{HEIGHT}""#), r#"content="tall""#)
            })),
        )
        .route(
            "/sitemap.xml",
            get(|headers: HeaderMap| async move {
                let host = headers[header::HOST].to_str().unwrap().to_owned();
                format!(
                    "<?xml version=\"1.0\"?><urlset><url><loc>http://{host}/ok</loc></url>\
                     <url><loc>http://{host}/vary?a=1&amp;b=2</loc></url></urlset>"
                )
            }),
        )
        .route("/img/card.jpg", get(|| async { jpeg(CARD.to_vec()) }))
        .route("/private/card.jpg", get(|| async { jpeg(CARD.to_vec()) }))
        .route(
            "/img/big.jpg",
            get(|headers: HeaderMap| async move {
                let bytes = padded_jpeg(600_000);
                // Honours `Range: bytes=0-N` as any server would.
                match headers
                    .get(header::RANGE)
                    .and_then(|r| r.to_str().ok())
                    .and_then(|r| r.strip_prefix("bytes=0-"))
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    Some(last) if last + 1 < bytes.len() => (
                        StatusCode::PARTIAL_CONTENT,
                        [
                            (header::CONTENT_TYPE, "image/jpeg".to_owned()),
                            (
                                header::CONTENT_RANGE,
                                format!("bytes 0-{last}/{}", bytes.len()),
                            ),
                        ],
                        bytes[..=last].to_vec(),
                    )
                        .into_response(),
                    _ => jpeg(bytes),
                }
            }),
        )
        .route(
            "/img/card.svg",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "image/svg+xml")],
                    r#"<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="630"/>"#,
                )
            }),
        )
        .route(
            "/img/broken.jpg",
            get(|| async { jpeg(CARD[..CARD.len() / 2].to_vec()) }),
        )
        .route(
            "/img/mislabelled.jpg",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "image/jpeg")],
                    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
                )
            }),
        )
        .route(
            "/img/moved.jpg",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/img/card.jpg")]) }),
        )
        .route(
            "/img/slow.jpg",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1_300)).await;
                jpeg(CARD.to_vec())
            }),
        )
        .route(
            "/robots.txt",
            get(|| async {
                "User-agent: Twitterbot\nDisallow: /private/\n\nUser-agent: *\nAllow: /\n"
            }),
        )
}

#[tokio::test(flavor = "multi_thread")]
async fn each_broken_page_or_image_gets_exactly_its_finding() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(axum::serve(listener, broken_site(base.clone())).into_future());
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };

    let x = "Twitterbot";
    let fail = Level::Fail;
    let warn = Level::Warn;
    let cases: Vec<(String, Vec<&str>, Vec<Expected>)> = vec![
        (format!("{base}/ok"), vec![x], vec![]),
        (
            format!("{base}/redirect-once"),
            vec![x],
            vec![(x, "page.redirects", warn)],
        ),
        (
            format!("{base}/redirect/3"),
            vec![x, "browser"],
            vec![
                (x, "page.redirects", fail),
                ("browser", "page.redirects", warn),
            ],
        ),
        (
            format!("{base}/not-found"),
            vec![x],
            vec![(x, "page.status", fail)],
        ),
        (
            format!("{base}/not-html"),
            vec![x],
            vec![(x, "page.html", fail)],
        ),
        (
            format!("{base}/vary"),
            vec![x],
            vec![(x, "page.vary", warn)],
        ),
        (
            format!("{base}/endless"),
            vec![x],
            vec![(x, "page.size", fail)],
        ),
        (
            format!("{base}/slowloris"),
            vec![x],
            vec![(x, "page.fetch", fail)],
        ),
        (
            format!("http://{closed}/"),
            vec![x],
            vec![(x, "page.fetch", fail)],
        ),
        (
            format!("https://{}/ok", &base["http://".len()..]),
            vec![x],
            vec![(x, "page.fetch", fail)],
        ),
        // The browser is the reference: a crawler-only tag never fails it.
        (
            format!("{base}/no-image"),
            vec![x, "browser"],
            vec![(x, "tags.og:image", fail)],
        ),
        (
            format!("{base}/two-images"),
            vec![x],
            vec![(x, "tags.og:image", fail)],
        ),
        (
            format!("{base}/relative-image"),
            vec![x],
            vec![(x, "tags.og:image", fail), (x, "tags.twitter:image", fail)],
        ),
        (
            format!("{base}/wrong-size"),
            vec![x],
            vec![(x, "tags.og:image:width", fail)],
        ),
        (
            format!("{base}/wrong-type"),
            vec![x],
            vec![(x, "tags.og:image:type", fail)],
        ),
        (
            format!("{base}/no-alt"),
            vec![x],
            vec![(x, "tags.og:image:alt", warn)],
        ),
        (
            format!("{base}/small-card"),
            vec![x, "browser"],
            vec![(x, "tags.twitter:card", fail)],
        ),
        (
            format!("{base}/for-crawlers"),
            vec![x, "browser", "LinkedInBot"],
            vec![],
        ),
        (
            format!("{base}/malformed"),
            vec![x],
            vec![(x, "tags.og:image:height", fail)],
        ),
        (
            format!("{base}/svg"),
            vec![x, "browser"],
            vec![(x, "image.type", fail)],
        ),
        (
            format!("{base}/broken"),
            vec![x],
            vec![(x, "image.decodes", fail)],
        ),
        (
            format!("{base}/mislabelled"),
            vec![x],
            vec![(x, "image.type", fail), (x, "image.decodes", fail)],
        ),
        (
            format!("{base}/image-redirect"),
            vec![x],
            vec![(x, "image.redirect", fail)],
        ),
        (
            format!("{base}/big"),
            vec!["facebookexternalhit", "WhatsApp", x],
            vec![
                ("WhatsApp", "image.size", warn),
                ("facebookexternalhit", "image.decodes", fail),
            ],
        ),
        (
            format!("{base}/slow-image"),
            vec![x],
            vec![(x, "image.timing", warn)],
        ),
        (
            format!("{base}/private"),
            vec![x, "LinkedInBot"],
            vec![(x, "image.robots", fail)],
        ),
        (
            format!("{base}/cloaked"),
            vec!["LinkedInBot", x],
            vec![(x, "page.cloaking", fail)],
        ),
    ];
    for (link, profiles, expected) in cases {
        let report = run(&CheckArgs::for_targets(vec![link.clone()], &profiles))
            .await
            .unwrap();
        let mut expected: Vec<(String, String, Level)> = expected
            .into_iter()
            .map(|(p, r, l)| (p.to_owned(), r.to_owned(), l))
            .collect();
        expected.sort();
        assert_eq!(report.problems(), expected, "{link}:\n{}", report.table());
        for finding in report.findings.iter().filter(|f| f.level != Level::Pass) {
            assert!(
                finding.message.len() > 10,
                "{link}: a terse message: {finding:?}"
            );
        }
        let failed = expected.iter().any(|(_, _, l)| *l == Level::Fail);
        assert_eq!(report.passed(false), !failed, "{link}");
        assert_eq!(report.passed(true), expected.is_empty(), "{link} --strict");
    }

    // A sitemap: every <loc> is checked, entities decoded.
    let mut from_sitemap = CheckArgs::for_targets(Vec::new(), &[x]);
    from_sitemap.sitemap = Some(format!("{base}/sitemap.xml"));
    let report = run(&from_sitemap).await.unwrap();
    assert_eq!(
        report.links,
        [format!("{base}/ok"), format!("{base}/vary?a=1&b=2")]
    );
    assert_eq!(
        report.problems(),
        [(x.to_owned(), "page.vary".to_owned(), warn)]
    );
    server.abort();
}
