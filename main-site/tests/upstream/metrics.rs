//! The injector's counters as an operator's Prometheus reads them: the binary in front of
//! an origin with `METRICS_ADDR`, a share injected and one passed through, then a scrape
//! of its metrics address, read by a Prometheus text parser.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use prometheus_parse::{Scrape, Value};
use share_inject::INJECT_HEADER;

use crate::support::{
    ID, IMAGE_BASE, Origin, PUBLIC_URL, SHARED_PAGE, assert_shared, get_from, html, page,
    spawn_site,
};

const OUTCOMES: &str = "ogshot_inject_outcomes_total";

fn main_site() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_main-site"));
    command
        .env_clear()
        .env("PUBLIC_URL", PUBLIC_URL)
        .env("IMAGE_BASE_URL", IMAGE_BASE);
    command
}

/// The counter of `labels` in `scrape`, or `None` if no sample has exactly those.
fn counted(scrape: &Scrape, labels: &[(&str, &str)]) -> Option<f64> {
    let sample = scrape.samples.iter().find(|sample| {
        sample.metric == OUTCOMES
            && sample.labels.len() == labels.len()
            && (labels.iter()).all(|(name, value)| sample.labels.get(name) == Some(*value))
    })?;
    match sample.value {
        Value::Counter(count) => Some(count),
        ref other => panic!("{OUTCOMES} {labels:?} is no counter: {other:?}"),
    }
}

/// The binary `command` starts, with `METRICS_ADDR` on a free port: the process, the
/// site's address and the metrics address.
async fn with_metrics(
    command: &mut tokio::process::Command,
) -> (test_kit::process::Process, SocketAddr, SocketAddr) {
    let (mut process, addr) = spawn_site(
        "main-site (metrics)",
        command.env("METRICS_ADDR", "127.0.0.1:0"),
    )
    .await;
    let line = (process.wait_for("injector metrics at http://", Duration::from_secs(30))).await;
    let metrics_addr: SocketAddr = (line.split("http://").nth(1))
        .and_then(|rest| rest.split('/').next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (process, addr, metrics_addr)
}

/// The metrics listener is held to the site's listener limits: a connection that never
/// finishes its request line is closed at `HEADER_TIMEOUT_MS`.
#[tokio::test]
async fn the_metrics_listener_closes_a_half_open_connection_at_its_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let origin = Origin::start(Router::new()).await;
    let (_process, _, metrics_addr) = with_metrics(
        main_site()
            .env("UPSTREAM", origin.url())
            .env("HEADER_TIMEOUT_MS", "500"),
    )
    .await;
    let mut socket = tokio::net::TcpStream::connect(metrics_addr).await.unwrap();
    socket.write_all(b"GET /met").await.unwrap();
    let mut rest = Vec::new();
    // Far past the timeout, far below the 20 s default.
    let closed = tokio::time::timeout(Duration::from_secs(8), socket.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the connection was still open after 8 s");
}

#[tokio::test]
async fn the_metrics_address_counts_each_share_by_what_became_of_it() {
    let origin = Origin::start(
        Router::new()
            .route("/post", get(|| async { html(page(SHARED_PAGE)) }))
            .route(
                "/feed.json",
                get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{}") }),
            ),
    )
    .await;
    let (_process, addr, metrics_addr) =
        with_metrics(main_site().env("UPSTREAM", origin.url())).await;

    assert_shared(&get_from(addr, &format!("/post?social={ID}")).await, ID);
    let passed = get_from(addr, &format!("/feed.json?social={ID}")).await;
    assert_eq!(
        passed.header(INJECT_HEADER),
        Some("passthrough; reason=not-html")
    );

    let scraped = get_from(metrics_addr, "/metrics").await;
    assert_eq!(scraped.status, StatusCode::OK);
    assert!(
        (scraped.header("content-type").unwrap_or_default())
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        scraped.headers
    );
    let text = scraped.text();
    let scrape = Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("parses");
    let passthrough = |reason| counted(&scrape, &[("outcome", "passthrough"), ("reason", reason)]);
    assert_eq!(
        counted(&scrape, &[("outcome", "injected")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(passthrough("not-html"), Some(1.0), "{text}");
    for reason in ["status", "upstream-timeout", "upstream-error"] {
        assert_eq!(passthrough(reason), Some(0.0), "{reason}: {text}");
    }

    let public = get_from(addr, "/metrics").await;
    assert!(
        !public.text().contains(OUTCOMES),
        "the public address serves the counters"
    );
}

#[tokio::test]
async fn a_metrics_address_that_cannot_be_listened_on_stops_start_up_naming_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = listener.local_addr().unwrap().to_string();
    let origin = Origin::start(Router::new()).await;
    let run = main_site()
        .env("MAIN_SITE_ADDR", "127.0.0.1:0")
        .env("UPSTREAM", origin.url())
        .env("METRICS_ADDR", &taken)
        .kill_on_drop(true)
        .output();
    // Only turns a site that serves anyway into a failure rather than a hang.
    let output = (tokio::time::timeout(Duration::from_secs(30), run))
        .await
        .expect("main-site stops")
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("METRICS_ADDR") && stderr.contains(&taken),
        "{stderr}"
    );
}
