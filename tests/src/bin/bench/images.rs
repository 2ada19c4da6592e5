//! The benchmark's images section: the image service's cold starts (the binary, and the
//! Lambda layer's Chromium), misses against the article's flow and the capture floor,
//! hits, and memory over many renders. Printed, never asserted.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chromiumoxide::cdp::browser_protocol::network::{
    EventLoadingFailed, EventLoadingFinished, EventRequestWillBeSent,
};
use futures::StreamExt;
use image_service::browser::{capture_params, screenshot_bytes};
use image_service::storage::{LocalDirStorage, Storage};
use image_service::telemetry::Metrics;
use image_service::{Config as ImageConfig, ImageService};
use render_site::{RenderSiteConfig, RenderToken};

use crate::browser::{JPEG_QUALITY, authorize, launch};
use crate::capture;
use crate::measure::{Ids, Table, ms, percentile, percentiles};
use crate::memory::{PeakRss, mib, rss_now};

/// The image service: cold starts, misses against the article's flow and the capture
/// floor, hits, and memory over many renders.
pub(crate) async fn section(
    table: &mut Table,
    client: &reqwest::Client,
    quick: bool,
) -> Result<()> {
    let sizes = if quick { QUICK } else { FULL };
    // Cold start: a real process, from exec to the first card on the wire.
    let binary = image_service_binary()?;
    let mut colds = Vec::new();
    for _ in 0..sizes.cold_starts {
        colds.push(cold_start(&binary, client).await?);
    }
    let cold = percentile(&colds, 50.0);
    table.row(
        "cold start → first card served (median)",
        ms(cold),
        "≤ 600 ms",
        Some(cold <= Duration::from_millis(600)),
    );
    match layer_cold_starts(sizes.cold_starts).await? {
        Some(starts) => {
            let median = percentile(&starts, 50.0);
            table.row(
                "Lambda layer: its launcher from an empty TMPDIR → DevTools socket (median)",
                ms(median),
                "≤ 1.5 s",
                Some(median <= Duration::from_millis(1500)),
            );
        }
        None => table.row(
            "Lambda layer: its launcher from an empty TMPDIR → DevTools socket",
            "not built (infra/chromium-lambda/build.sh)".into(),
            "≤ 1.5 s",
            None,
        ),
    }

    // The service in-process on local storage, as `scripts/run` runs it.
    let storage_dir = tempfile::tempdir()?;
    let storage: Arc<dyn Storage> = Arc::new(LocalDirStorage::new(storage_dir.path())?);
    let service = ImageService::start_with_storage(
        ImageConfig::local_defaults(),
        storage,
        Arc::new(Metrics::new(false)),
    )
    .await?;
    let chromium_pid = Arc::new(AtomicU64::new(u64::from(
        service.chromium().pid().unwrap_or(0),
    )));
    let peaks = PeakRss::start(Arc::clone(&chromium_pid));
    let served = test_kit::serve(service.router()).await;
    let base = served.base();
    let mut ids = Ids(0);
    misses(client, &base, &mut ids, 4, 1).await?; // warm the page pool

    let (sequential, wall, sizes_seen) = misses(client, &base, &mut ids, sizes.miss_ids, 1).await?;
    let miss_p50 = percentile(&sequential, 50.0);
    table.row(
        "warm miss, sequential: p50 / p95 / p99",
        percentiles(&sequential, &[50.0, 95.0, 99.0]),
        "",
        None,
    );
    table.row(
        "warm miss, sequential: images/s",
        format!("{:.1}", sizes.miss_ids as f64 / wall.as_secs_f64()),
        "",
        None,
    );
    for concurrency in [2, 4] {
        let (latencies, wall, _) =
            misses(client, &base, &mut ids, sizes.miss_ids, concurrency).await?;
        table.row(
            &format!("warm miss, concurrency {concurrency}: p50 / p95 / p99"),
            percentiles(&latencies, &[50.0, 95.0, 99.0]),
            "",
            None,
        );
        let rate = sizes.miss_ids as f64 / wall.as_secs_f64();
        let (target, met) = if concurrency == 2 {
            ("≥ 20", Some(rate >= 20.0))
        } else {
            ("", None)
        };
        table.row(
            &format!("warm miss, concurrency {concurrency}: images/s"),
            format!("{rate:.1}"),
            target,
            met,
        );
    }
    let mean_jpeg = sizes_seen.iter().sum::<usize>() / sizes_seen.len().max(1);
    let max_jpeg = sizes_seen.iter().copied().max().unwrap_or(0);
    table.row(
        "JPEG size: mean / max",
        format!(
            "{:.0} KB / {:.0} KB",
            mean_jpeg as f64 / 1000.0,
            max_jpeg as f64 / 1000.0
        ),
        "≤ 300 KB",
        Some(max_jpeg <= 300_000),
    );

    // The article's flow and the floor, on the same card page, in the same run.
    let token = RenderToken::generate();
    let site_served = test_kit::serve(render_site::router(RenderSiteConfig::in_process(
        token.clone(),
    )))
    .await;
    let card_url = format!("{}/card/12-34-10", site_served.base());
    let mut article = Vec::new();
    for _ in 0..sizes.article_runs {
        article.push(article_flow(&card_url, &token).await?);
    }
    let article_p50 = percentile(&article, 50.0);
    let speedup = article_p50.as_secs_f64() / miss_p50.as_secs_f64();
    table.row(
        "article's flow (fresh Chromium, 500 ms network idle): median",
        ms(article_p50),
        "",
        None,
    );
    table.row(
        "article's median ÷ our warm miss p50",
        format!("{speedup:.1}×"),
        "≥ 25×",
        Some(speedup >= 25.0),
    );
    // The floor: the fastest capture of a card just swapped into a warm page, over
    // every capture method, each measured here and now.
    let site = card_url.trim_end_matches("/card/12-34-10");
    let mut floor_p50: Option<Duration> = None;
    for method in capture::Method::ALL {
        let metric = format!("{}: capture p50 / swap + capture p50", method.name());
        match capture::measure(method, site, &token, sizes.floor_shots).await {
            Ok(timings) => {
                let p50 = percentile(&timings.capture, 50.0);
                let with_swap = percentile(&timings.swap_and_capture, 50.0);
                table.row(
                    &metric,
                    format!("{} / {}", ms(p50), ms(with_swap)),
                    "",
                    None,
                );
                floor_p50 = Some(floor_p50.map_or(p50, |floor| floor.min(p50)));
            }
            Err(error) => table.row(&metric, format!("unavailable: {error:#}"), "", None),
        }
    }
    let floor_p50 = floor_p50.context("no capture method worked")?;
    let over_floor = miss_p50.as_secs_f64() / floor_p50.as_secs_f64();
    table.row(
        "floor (the fastest capture above): p50",
        ms(floor_p50),
        "",
        None,
    );
    table.row(
        "our warm miss p50 ÷ floor p50",
        format!("{over_floor:.2}×"),
        "≤ 1.15×",
        Some(over_floor <= 1.15),
    );

    // Hits over loopback at concurrency 32.
    let hit_url = format!("{base}{}", test_kit::card_path("00-00-01"));
    let (hit_latencies, rate) = hits(client, &hit_url, sizes.hit_seconds).await?;
    table.row(
        "cache hit, concurrency 32: p50 / p99",
        percentiles(&hit_latencies, &[50.0, 99.0]),
        "",
        None,
    );
    table.row(
        "cache hit, concurrency 32: requests/s",
        format!("{rate:.0}"),
        "≥ 20,000",
        Some(rate >= 20_000.0),
    );

    // Memory: does RSS grow with renders?
    let rendered_so_far = service.metrics().counts().renders as usize;
    let to_early = sizes.leak_early.saturating_sub(rendered_so_far);
    misses(client, &base, &mut ids, to_early, 2).await?;
    let early = rss_now(&service, &chromium_pid).await;
    misses(
        client,
        &base,
        &mut ids,
        sizes
            .leak_late
            .saturating_sub(sizes.leak_early.max(rendered_so_far)),
        2,
    )
    .await?;
    let late = rss_now(&service, &chromium_pid).await;
    let growth = late as f64 / early as f64 - 1.0;
    table.row(
        &format!(
            "RSS (service + Chromium) after {} vs {} renders",
            sizes.leak_late, sizes.leak_early
        ),
        format!("{} vs {} ({:+.1}%)", mib(late), mib(early), growth * 100.0),
        "within 10%",
        Some(growth.abs() <= 0.10),
    );
    peaks.stop.store(true, Ordering::Relaxed);
    table.row(
        "peak RSS: service process (bench in-process)",
        mib(peaks.service.load(Ordering::Relaxed)),
        "",
        None,
    );
    table.row(
        "peak RSS: Chromium processes, summed / their PSS (shared pages once)",
        format!(
            "{} / {}",
            mib(peaks.chromium.load(Ordering::Relaxed)),
            mib(peaks.chromium_pss.load(Ordering::Relaxed))
        ),
        "PSS ≤ 400 MiB",
        Some(peaks.chromium_pss.load(Ordering::Relaxed) <= 400 * 1024 * 1024),
    );
    table.row(
        "renders in this run / browser relaunches",
        format!(
            "{} / {}",
            service.metrics().counts().renders,
            service.metrics().counts().browser_relaunches
        ),
        "",
        None,
    );

    service.shutdown().await;
    Ok(())
}

/// How much of each measurement to run.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    cold_starts: usize,
    miss_ids: usize,
    article_runs: usize,
    floor_shots: usize,
    hit_seconds: f64,
    leak_early: usize,
    leak_late: usize,
}

const FULL: Sizes = Sizes {
    cold_starts: 3,
    miss_ids: 120,
    article_runs: 10,
    floor_shots: 100,
    hit_seconds: 5.0,
    leak_early: 100,
    leak_late: 2_000,
};

const QUICK: Sizes = Sizes {
    cold_starts: 1,
    miss_ids: 8,
    article_runs: 1,
    floor_shots: 8,
    hit_seconds: 0.5,
    leak_early: 40,
    leak_late: 50,
};

/// The Lambda layer's launcher as a new execution environment starts it: an empty
/// `TMPDIR`, so the binary is unpacked first, then Chromium up to its DevTools socket.
/// `None` when the layer is not built.
async fn layer_cold_starts(runs: usize) -> Result<Option<Vec<Duration>>> {
    let launcher = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../infra/chromium-lambda/build/layer-x86_64/chromium/chromium");
    if !launcher.is_file() {
        return Ok(None);
    }
    let mut starts = Vec::new();
    for _ in 0..runs {
        let tmp = tempfile::tempdir()?;
        let profile = tmp.path().join("profile");
        let started = Instant::now();
        let mut child = tokio::process::Command::new(&launcher)
            .args(image_service::browser::chromium_command_line(&profile, &[]))
            .env("TMPDIR", tmp.path())
            .process_group(0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stderr = child.stderr.take().context("stderr is piped")?;
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
        let listening = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if line.contains("DevTools listening on ws://") {
                    return Ok(true);
                }
            }
            Ok::<_, std::io::Error>(false)
        })
        .await;
        let took = started.elapsed();
        if let Some(pid) = child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
        let _ = child.wait().await;
        anyhow::ensure!(
            matches!(listening, Ok(Ok(true))),
            "the layer's Chromium opened no DevTools socket"
        );
        starts.push(took);
    }
    Ok(Some(starts))
}

/// The image-service binary next to this one; built if missing.
fn image_service_binary() -> Result<PathBuf> {
    let dir = std::env::current_exe()?
        .parent()
        .context("bench has a directory")?
        .to_owned();
    let binary = dir.join("image-service");
    if !binary.is_file() {
        let release = dir.ends_with("release");
        let mut build = std::process::Command::new(env!("CARGO"));
        build.args(["build", "-p", "image-service"]);
        if release {
            build.arg("--release");
        }
        anyhow::ensure!(build.status()?.success(), "building image-service failed");
    }
    Ok(binary)
}

/// Process start → first card served, with an empty storage directory.
async fn cold_start(binary: &Path, client: &reqwest::Client) -> Result<Duration> {
    let storage = tempfile::tempdir()?;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?.port()
    };
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env("IMAGE_SERVICE_ADDR", format!("127.0.0.1:{port}"))
        .env("STORAGE_DIR", storage.path())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let url = format!("http://127.0.0.1:{port}{}", test_kit::card_path("12-34-10"));
    let elapsed = loop {
        if let Ok(response) = client.get(&url).send().await
            && response.status() == 200
            && response
                .headers()
                .get("x-ogshot-cache")
                .is_some_and(|v| v == "miss")
        {
            let _ = response.bytes().await?;
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the image service served nothing within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // SIGTERM, so the service closes its browser instead of orphaning it.
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    Ok(elapsed)
}

/// Renders `count` new ids with `concurrency` clients; per-request latency and wall time.
async fn misses(
    client: &reqwest::Client,
    base: &str,
    ids: &mut Ids,
    count: usize,
    concurrency: usize,
) -> Result<(Vec<Duration>, Duration, Vec<usize>)> {
    let urls: Vec<String> = (0..count)
        .map(|_| format!("{base}{}", test_kit::card_path(&ids.next())))
        .collect();
    let started = Instant::now();
    let results: Vec<Result<(Duration, usize)>> = futures::stream::iter(urls)
        .map(|url| {
            let client = client.clone();
            async move {
                let t = Instant::now();
                let response = client.get(&url).send().await?;
                let status = response.headers().get("x-ogshot-cache").cloned();
                let body = response.bytes().await?;
                anyhow::ensure!(
                    status.as_ref().is_some_and(|s| s == "miss"),
                    "{url} was not rendered: {status:?}"
                );
                Ok((t.elapsed(), body.len()))
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = started.elapsed();
    let mut latencies = Vec::new();
    let mut sizes = Vec::new();
    for r in results {
        let (latency, size) = r?;
        latencies.push(latency);
        sizes.push(size);
    }
    Ok((latencies, wall, sizes))
}

/// Cache hits of one stored card from 32 concurrent clients for `seconds`.
async fn hits(client: &reqwest::Client, url: &str, seconds: f64) -> Result<(Vec<Duration>, f64)> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let client = client.clone();
            let url = url.to_owned();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let response = client.get(&url).send().await?;
                    anyhow::ensure!(
                        response.status() == 200,
                        "hit failed: {}",
                        response.status()
                    );
                    let _ = response.bytes().await?;
                    latencies.push(t.elapsed());
                }
                Ok::<_, anyhow::Error>(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await??);
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    Ok((all, rate))
}

/// The article's flow: a fresh Chromium per image, navigate, wait for 500 ms of network
/// quiet, screenshot, close.
async fn article_flow(card_url: &str, token: &RenderToken) -> Result<Duration> {
    let started = Instant::now();
    let (browser, events, mut process) = launch().await?;
    let page = browser.new_page("about:blank").await?;
    authorize(&page, token).await?;
    let mut sent = page.event_listener::<EventRequestWillBeSent>().await?;
    let mut finished = page.event_listener::<EventLoadingFinished>().await?;
    let mut failed = page.event_listener::<EventLoadingFailed>().await?;
    page.goto(card_url).await?;
    loop {
        tokio::select! {
            Some(_) = sent.next() => {}
            Some(_) = finished.next() => {}
            Some(_) = failed.next() => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => break,
        }
    }
    let data = page
        .execute(capture_params(JPEG_QUALITY))
        .await?
        .result
        .data;
    let jpeg = screenshot_bytes(&data)?;
    anyhow::ensure!(
        image_service::jpeg::validate_card(&jpeg).is_ok(),
        "the article flow made no card"
    );
    events.abort();
    process.kill_tree().await;
    Ok(started.elapsed())
}
