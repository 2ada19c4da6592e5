//! Where `og:url` leads, on a small docs site on 127.0.0.1:0 that answers as the
//! injector does: `og:image` is the card for a link with a valid `social`, the site's own
//! image otherwise. Its pages each name their `og:url` one way: their own (right), the
//! home page's (the injector before pages had their own), without the `social`, on the
//! public origin. The command itself is run where a person would run it, for its exit
//! code and its words.

use std::process::Output;

use axum::Router;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::get;
use share_check::{CheckArgs, Level, Report, run};
use url::Url;

use super::{CARD, jpeg, own_url, page_with};

const ID: &str = "12-34-10";
/// The site's public URL, as its `PUBLIC_URL` says, not where the test serves it.
const PUBLIC: &str = "https://www.example.com";

/// How a page names its `og:url`, from the URL it was asked for.
#[derive(Clone, Copy)]
enum Named {
    /// Its own URL: the link less tracking parameters, `social` last.
    Own,
    /// The home page's, with the link's `social`.
    Home,
    /// Its own, less `social`.
    WithoutSocial,
    /// [`PUBLIC`] and then what `Home` names.
    PublicHome,
    /// [`PUBLIC`] and then what `Own` names.
    PublicOwn,
    /// A page the site does not have.
    Gone,
}

impl Named {
    fn og_url(self, asked: &Url) -> String {
        let mut own = asked.clone();
        let kept: Vec<(String, String)> = asked
            .query_pairs()
            .filter(|(key, _)| key != "social" && !key.starts_with("utm_"))
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        own.query_pairs_mut().clear().extend_pairs(&kept);
        if !matches!(self, Self::WithoutSocial)
            && let Some(id) = share_check::same_page::social(asked)
        {
            own.query_pairs_mut().append_pair("social", &id);
        }
        if own.query() == Some("") {
            own.set_query(None);
        }
        let home = |origin: &str| {
            let social = share_check::same_page::social(asked).unwrap_or_default();
            format!("{origin}/?social={social}")
        };
        let origin = asked.origin().ascii_serialization();
        let path_and_query = &own[url::Position::BeforePath..];
        match self {
            Self::Own | Self::WithoutSocial => own.to_string(),
            Self::Home => home(&origin),
            Self::PublicHome => home(PUBLIC),
            Self::PublicOwn => format!("{PUBLIC}{path_and_query}"),
            Self::Gone => format!("{origin}/no-such-page/"),
        }
    }
}

/// A page of the site: titled `title`, its `og:url` named as `named` says, with
/// `canonical` as its `rel=canonical`; `og:image` is the card only when the link carries
/// a valid `social`, unless `card_always`.
fn docs_page(
    headers: &HeaderMap,
    uri: &Uri,
    title: &'static str,
    named: Named,
    canonical: Option<&'static str>,
    card_always: bool,
) -> Response {
    let asked = Url::parse(&own_url(headers, uri)).unwrap();
    let origin = asked.origin().ascii_serialization();
    let has_card = share_check::same_page::social(&asked)
        .is_some_and(|id| shared_ids::SocialId::parse(&id).is_ok());
    let image = if has_card || card_always {
        format!("{origin}/img/card.jpg")
    } else {
        format!("{origin}/img/site.jpg")
    };
    let og_url = named.og_url(&asked);
    page_with(&og_url, &image, move |head| {
        let canonical = canonical
            .map(|href| format!(r#"<link rel="canonical" href="{href}">"#))
            .unwrap_or_default();
        format!(
            "<title>{title}</title>{canonical}{}",
            head.replace("A card", title)
        )
    })
}

fn docs_site() -> Router {
    let page = |title, named, canonical, card_always| {
        move |headers: HeaderMap, uri: Uri| async move {
            docs_page(&headers, &uri, title, named, canonical, card_always)
        }
    };
    Router::new()
        .route("/", get(page("Home", Named::Own, None, false)))
        .route(
            "/guide/deep/",
            get(page("Deep guide", Named::Own, None, false)),
        )
        .route(
            "/home-og-url/guide/",
            get(page("Deep guide", Named::Home, None, false)),
        )
        .route(
            "/without-social/",
            get(page("Same image", Named::WithoutSocial, None, true)),
        )
        .route(
            "/without-social/card/",
            get(page("Card page", Named::WithoutSocial, None, false)),
        )
        .route(
            "/canonical-home/guide/",
            get(page("Deep guide", Named::Own, Some("/"), false)),
        )
        .route(
            "/canonical-query/guide/",
            get(page(
                "Deep guide",
                Named::Own,
                Some("https://www.example.com/canonical-query/guide/?lang=en"),
                false,
            )),
        )
        .route(
            "/public-home/guide/",
            get(page("Deep guide", Named::PublicHome, None, false)),
        )
        .route(
            "/public-own/guide/",
            get(page("Deep guide", Named::PublicOwn, None, false)),
        )
        .route("/gone-og-url/", get(page("Gone", Named::Gone, None, false)))
        .route("/img/{name}", get(|| async { jpeg(CARD.to_vec()) }))
}

/// The site, served until the returned task is aborted, and its base URL.
async fn serve_docs_site() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, docs_site()).await.unwrap();
    });
    (base, server)
}

/// The `share-check` command run on `args`, as a person runs it.
async fn share_check(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_share-check"))
        .args(args)
        .env_remove("CHECK_SITE")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("share-check runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The library's report on `links`, checked by `profiles`, with `public` as the public URL.
async fn check(links: &[String], profiles: &[&str], public: Option<&str>) -> Report {
    let mut args = CheckArgs::for_targets(links.to_vec(), profiles);
    args.public_url = public.map(|p| Url::parse(p).unwrap()).into_iter().collect();
    run(&args).await.unwrap()
}

fn page_problem(rule: &str, level: Level) -> (String, String, Level) {
    (share_check::PAGE_COLUMN.to_owned(), rule.to_owned(), level)
}

const FACEBOOK: &str = "facebookexternalhit";

#[tokio::test(flavor = "multi_thread")]
async fn a_page_whose_og_url_names_the_home_page_fails_naming_the_home_page() {
    let (base, server) = serve_docs_site().await;
    let link = format!("{base}/home-og-url/guide/?social={ID}");
    let output = share_check(&[&link]).await;
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let home = format!("every share of this link will show {base}/?social={ID} (\"Home\")");
    assert!(text.contains(&home), "the home page is not named:\n{text}");
    assert_eq!(
        text.lines().filter(|l| l.contains("og:url.page")).count(),
        1,
        "said once, not once per crawler:\n{text}"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_whose_og_url_is_their_own_pass_for_every_crawler() {
    let (base, server) = serve_docs_site().await;
    let links = [
        format!("{base}/guide/deep/?social={ID}"),
        // og:url is not the link here, so it is followed, to the same page.
        format!("{base}/guide/deep/?utm_source=news&social={ID}"),
        format!("{base}/?social={ID}"),
        format!("{base}/"),
    ];
    let args: Vec<&str> = links.iter().map(String::as_str).collect();
    let output = share_check(&args).await;
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert_eq!(
        text.lines().count(),
        1 + links.len(),
        "a header and a row per link, no ⚠ or ✗:\n{text}"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_og_url_that_drops_the_social_parameter_warns() {
    let (base, server) = serve_docs_site().await;
    // The page shows the same image without `social`: only the card id is lost.
    let link = format!("{base}/without-social/?social={ID}");
    let report = check(std::slice::from_ref(&link), &[FACEBOOK], None).await;
    assert_eq!(
        report.problems(),
        [page_problem("og:url.social", Level::Warn)],
        "{}",
        report.table()
    );
    assert!(report.passed(false) && !report.passed(true));
    // A site whose image is the card only with `social`: Facebook lands on the page
    // without it and shows its own image.
    let link = format!("{base}/without-social/card/?social={ID}");
    let report = facebook_check(&link).await;
    assert_eq!(
        report.problems(),
        [
            page_problem("og:url.image", Level::Fail),
            page_problem("og:url.social", Level::Warn),
        ],
        "{}",
        report.table()
    );
    let image = report
        .page_findings
        .iter()
        .find(|f| f.rule == "og:url.image");
    let image = &image.unwrap().message;
    assert!(image.contains(&format!("{base}/img/site.jpg")), "{image}");
    server.abort();
}

async fn facebook_check(link: &str) -> Report {
    check(&[link.to_owned()], &[FACEBOOK], None).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rel_canonical_on_another_path_than_og_url_warns() {
    let (base, server) = serve_docs_site().await;
    let report = facebook_check(&format!("{base}/canonical-home/guide/?social={ID}")).await;
    assert_eq!(
        report.problems(),
        [page_problem("og:url.canonical", Level::Warn)],
        "{}",
        report.table()
    );
    // Another query (search engines want it without the share) on the public origin is
    // the same path.
    let report = check(
        &[format!("{base}/canonical-query/guide/?social={ID}")],
        &[FACEBOOK],
        Some(PUBLIC),
    )
    .await;
    assert_eq!(report.problems(), [], "{}", report.table());
    server.abort();
}

/// Checked on 127.0.0.1 while the page names its public URL: compared by path and
/// query; with `--public-url`, read on 127.0.0.1 and followed there.
#[tokio::test(flavor = "multi_thread")]
async fn an_og_url_on_the_public_origin_is_compared_by_path_and_followed_with_public_url() {
    let (base, server) = serve_docs_site().await;
    let own = format!("{base}/public-own/guide/?social={ID}");
    let home = format!("{base}/public-home/guide/?social={ID}");
    for public in [None, Some(PUBLIC)] {
        let report = check(std::slice::from_ref(&own), &[FACEBOOK], public).await;
        assert_eq!(report.problems(), [], "{public:?}: {}", report.table());
        // Read on this origin, og:url is the link itself: nothing more to fetch.
        let compared = report.page_findings[0].message.contains("not fetched");
        assert_eq!(compared, public.is_none(), "{:?}", report.page_findings);
    }
    let report = facebook_check(&home).await;
    assert_eq!(
        report.problems(),
        [page_problem("og:url.page", Level::Fail)],
        "{}",
        report.table()
    );
    let message = &report.page_findings[0].message;
    assert!(
        message.contains(&format!("will show {PUBLIC}/?social={ID} (not fetched")),
        "{message}"
    );
    let output = share_check(&["--public-url", PUBLIC, &home]).await;
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("will show {base}/?social={ID} (\"Home\")")),
        "followed here, it names this site's home page:\n{text}"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_finding_is_said_once_per_link_in_the_table_and_in_json() {
    let (base, server) = serve_docs_site().await;
    let wrong = format!("{base}/home-og-url/guide/?social={ID}");
    let right = format!("{base}/guide/deep/?social={ID}");
    let text = stdout(&share_check(&[&wrong, &right]).await);
    let said: Vec<&str> = text.lines().filter(|l| l.contains("og:url")).collect();
    assert_eq!(said.len(), 1, "{text}");
    assert!(
        said[0].starts_with(&format!("✗ {wrong} og:url.page: ")),
        "{text}"
    );

    let json = stdout(&share_check(&["--json", &wrong, &right]).await);
    let records: Vec<serde_json::Value> = json
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "one record per link:\n{json}");
    let rules = |findings: &serde_json::Value| -> Vec<String> {
        findings
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect()
    };
    for (record, link, level, page_rule) in [
        (&records[0], &wrong, "fail", "og:url.page"),
        (&records[1], &right, "pass", "og:url"),
    ] {
        assert_eq!(record["url"], link.as_str());
        assert_eq!(record["level"], level, "{record}");
        assert_eq!(rules(&record["findings"]), [page_rule], "{record}");
        let crawlers = record["crawlers"].as_array().unwrap();
        assert_eq!(crawlers.len(), 10, "{record}");
        for crawler in crawlers {
            assert_eq!(crawler["level"], "pass", "{crawler}");
            let crawler_rules = rules(&crawler["findings"]);
            assert!(
                !crawler_rules.iter().any(|r| r.starts_with("og:url")),
                "{crawler}"
            );
        }
    }
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_og_url_that_gives_no_page_fails() {
    let (base, server) = serve_docs_site().await;
    let report = facebook_check(&format!("{base}/gone-og-url/?social={ID}")).await;
    assert_eq!(
        report.problems(),
        [
            page_problem("og:url.follow", Level::Fail),
            page_problem("og:url.social", Level::Warn),
        ],
        "{}",
        report.table()
    );
    let follow = report
        .page_findings
        .iter()
        .find(|f| f.rule == "og:url.follow");
    let message = &follow.unwrap().message;
    assert!(message.contains("it answered 404"), "{message}");
    server.abort();
}
