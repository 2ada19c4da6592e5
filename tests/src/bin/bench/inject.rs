//! The benchmark's injector section: what putting the main site (`--upstream`) in front
//! of an existing site costs. A test origin (real HTTP, in-process, pages from memory)
//! serves share-inject's corpus of real pages; each is fetched directly and through the
//! main site's router, interleaved on one keep-alive client, so both see the same
//! machine at the same moment. Then a 1 MB page's throughput both ways, and the
//! main-site binary's RSS while a page far larger than its buffers streams through it,
//! injected and passed through. Printed, never asserted.

pub(crate) mod origin;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use share_inject::INJECT_HEADER;

use crate::main_site::MainSite;
use crate::measure::{Table, percentile};
use crate::memory::rss;
use origin::{Origin, Page, STREAMED_HEAD, corpus, median, padded};

/// How much of each measurement to run.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// Every corpus page, or only the smallest, the median and the largest.
    every_page: bool,
    warm_up: usize,
    iterations: usize,
    throughput_runs: usize,
    streamed_bytes: usize,
}

const FULL: Sizes = Sizes {
    every_page: true,
    warm_up: 5,
    iterations: 50,
    throughput_runs: 20,
    streamed_bytes: 50_000_000,
};

const QUICK: Sizes = Sizes {
    every_page: false,
    warm_up: 2,
    iterations: 10,
    throughput_runs: 3,
    streamed_bytes: 5_000_000,
};

/// The share every proxied request asks for.
pub(crate) const SHARE_QUERY: &str = "social=12-34-10";

const ADDED_GOAL: Duration = Duration::from_millis(2);

/// What a streamed page may add to the process: its buffers, not the page.
const GROWTH_GOAL: u64 = 16 * 1024 * 1024;

const PADDED_BYTES: usize = 1_000_000;

/// Often enough to catch a buffer that lives for a few chunks.
const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(10);

pub(crate) async fn section(
    table: &mut Table,
    client: &reqwest::Client,
    quick: bool,
) -> Result<()> {
    let sizes = if quick { QUICK } else { FULL };
    let corpus = corpus()?;
    let median = median(&corpus);
    let origin = Origin::start(median.bytes.clone()).await;
    let config = main_site::Config::try_from(main_site::Args {
        upstream: Some(origin.served.base()),
        public_url: Some("https://www.example.com".to_owned()),
        ..main_site::Args::defaults()
    })?;
    let proxy = test_kit::serve(main_site::router(config)).await;
    let urls = Urls {
        direct: format!("{}/?{SHARE_QUERY}", origin.served.base()),
        proxy: format!("{}/?{SHARE_QUERY}", proxy.base()),
    };
    latency(table, client, &origin, &urls, &corpus, sizes).await?;
    throughput(table, client, &origin, &urls, median, sizes).await?;
    memory(table, client, &origin, sizes).await
}

/// The share, on the origin and through the proxy.
struct Urls {
    direct: String,
    proxy: String,
}

/// Added latency per corpus page, and on the median one.
async fn latency(
    table: &mut Table,
    client: &reqwest::Client,
    origin: &Origin,
    urls: &Urls,
    corpus: &[Page],
    sizes: Sizes,
) -> Result<()> {
    let median = median(corpus);
    let pages: Vec<&Page> = if sizes.every_page {
        corpus.iter().collect()
    } else {
        vec![&corpus[0], median, &corpus[corpus.len() - 1]]
    };
    let mut all = Outcomes::default();
    let mut median_added = None;
    for page in pages {
        origin.set_page(page.bytes.clone());
        let pairs = interleaved(client, urls, sizes.warm_up, sizes.iterations).await?;
        let added: Vec<f64> = pairs
            .direct
            .iter()
            .zip(&pairs.proxy)
            .map(|(direct, proxy)| millis(*proxy) - millis(*direct))
            .collect();
        table.row(
            &format!(
                "injector, {} ({}): direct · proxy · added, p50 / p99",
                page.name,
                kb(page.bytes.len())
            ),
            format!(
                "{} / {} · {} / {} · {} / {} ({})",
                fine_ms(millis(percentile(&pairs.direct, 50.0))),
                fine_ms(millis(percentile(&pairs.direct, 99.0))),
                fine_ms(millis(percentile(&pairs.proxy, 50.0))),
                fine_ms(millis(percentile(&pairs.proxy, 99.0))),
                fine_ms(signed_percentile(&added, 50.0)),
                fine_ms(signed_percentile(&added, 99.0)),
                pairs.outcomes.shown()
            ),
            "",
            None,
        );
        if std::ptr::eq(page, median) {
            median_added = Some(signed_percentile(&added, 50.0));
        }
        all.add(&pairs.outcomes);
    }
    let median_added = median_added.context("the median page is always measured")?;
    table.row(
        &format!(
            "injector: added p50 on the corpus median page ({}, {})",
            median.name,
            kb(median.bytes.len())
        ),
        fine_ms(median_added),
        "≤ 2 ms",
        Some(median_added <= millis(ADDED_GOAL)),
    );
    table.row(
        &format!("injector: proxied answers with an {INJECT_HEADER} header"),
        all.shown(),
        "every answer",
        Some(all.without == 0),
    );
    Ok(())
}

/// MB/s both ways for a real page grown to 1 MB with more of its own body.
async fn throughput(
    table: &mut Table,
    client: &reqwest::Client,
    origin: &Origin,
    urls: &Urls,
    page: &Page,
    sizes: Sizes,
) -> Result<()> {
    origin.set_page(padded(&page.bytes, PADDED_BYTES));
    let pairs = interleaved(client, urls, 1, sizes.throughput_runs).await?;
    table.row(
        &format!(
            "injector throughput, 1 MB page ({} padded): proxy · direct, at p50",
            page.name
        ),
        format!(
            "{} · {} ({})",
            mb_per_s(pairs.proxy_bytes, percentile(&pairs.proxy, 50.0)),
            mb_per_s(pairs.direct_bytes, percentile(&pairs.direct, 50.0)),
            pairs.outcomes.shown()
        ),
        "",
        None,
    );
    Ok(())
}

/// RSS of the real binary, so that it is the injector's and nobody else's, while a long
/// page streams through it.
async fn memory(
    table: &mut Table,
    client: &reqwest::Client,
    origin: &Origin,
    sizes: Sizes,
) -> Result<()> {
    for share in [true, false] {
        let streamed = streamed(origin.served.addr, client, sizes.streamed_bytes, share).await?;
        let growth = streamed.peak.saturating_sub(streamed.before);
        let (kind, target, met) = if share {
            ("as a share", "growth ≤ 16 MiB", Some(growth <= GROWTH_GOAL))
        } else {
            ("without social (passthrough)", "", None)
        };
        table.row(
            &format!(
                "main-site process, {} MB page {kind}: RSS before / peak / growth · MB/s",
                sizes.streamed_bytes / 1_000_000
            ),
            format!(
                "{} / {} / +{} · {} ({}; {} RSS samples)",
                fine_mib(streamed.before),
                fine_mib(streamed.peak),
                fine_mib(growth),
                mb_per_s(streamed.fetched.bytes, streamed.fetched.took),
                streamed.outcomes.shown(),
                streamed.samples
            ),
            target,
            met,
        );
    }
    Ok(())
}

/// One GET, its body read to the end and dropped as it arrives.
struct Fetched {
    took: Duration,
    bytes: usize,
    /// The `x-ogshot-inject` header, if any.
    inject: Option<String>,
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<Fetched> {
    let started = Instant::now();
    let mut response = client.get(url).send().await?;
    anyhow::ensure!(
        response.status() == 200,
        "{url} answered {}",
        response.status()
    );
    let inject = response
        .headers()
        .get(INJECT_HEADER)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let mut bytes = 0;
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len();
    }
    Ok(Fetched {
        took: started.elapsed(),
        bytes,
        inject,
    })
}

/// Fetch times of the same page directly and through the proxy.
struct Pairs {
    direct: Vec<Duration>,
    proxy: Vec<Duration>,
    direct_bytes: usize,
    proxy_bytes: usize,
    outcomes: Outcomes,
}

/// `iterations` direct fetches each followed by a proxied one, after `warm_up` pairs
/// that are not kept.
async fn interleaved(
    client: &reqwest::Client,
    urls: &Urls,
    warm_up: usize,
    iterations: usize,
) -> Result<Pairs> {
    let mut pairs = Pairs {
        direct: Vec::new(),
        proxy: Vec::new(),
        direct_bytes: 0,
        proxy_bytes: 0,
        outcomes: Outcomes::default(),
    };
    for i in 0..warm_up + iterations {
        let direct = fetch(client, &urls.direct).await?;
        let proxied = fetch(client, &urls.proxy).await?;
        if i < warm_up {
            continue;
        }
        pairs.direct.push(direct.took);
        pairs.proxy.push(proxied.took);
        pairs.direct_bytes = direct.bytes;
        pairs.proxy_bytes = proxied.bytes;
        pairs.outcomes.count(proxied.inject.as_deref());
    }
    Ok(pairs)
}

/// What the proxied answers' `x-ogshot-inject` headers said.
#[derive(Debug, Default)]
struct Outcomes {
    injected: usize,
    /// (reason, answers)
    passthrough: Vec<(String, usize)>,
    without: usize,
}

impl Outcomes {
    fn count(&mut self, header: Option<&str>) {
        match header {
            Some("injected") => self.injected += 1,
            Some(value) if value.starts_with("passthrough") => {
                let reason = value
                    .split_once("reason=")
                    .map_or("none given", |(_, reason)| reason.trim());
                self.passthrough_by(reason, 1);
            }
            _ => self.without += 1,
        }
    }

    fn passthrough_by(&mut self, reason: &str, answers: usize) {
        match self
            .passthrough
            .iter_mut()
            .find(|(known, _)| known == reason)
        {
            Some((_, n)) => *n += answers,
            None => self.passthrough.push((reason.to_owned(), answers)),
        }
    }

    fn add(&mut self, other: &Self) {
        self.injected += other.injected;
        self.without += other.without;
        for (reason, answers) in &other.passthrough {
            self.passthrough_by(reason, *answers);
        }
    }

    fn shown(&self) -> String {
        let mut kinds = Vec::new();
        if self.injected > 0 {
            kinds.push(format!("{} injected", self.injected));
        }
        for (reason, answers) in &self.passthrough {
            kinds.push(format!("{answers} passthrough: {reason}"));
        }
        if self.without > 0 {
            kinds.push(format!("{} without {INJECT_HEADER}", self.without));
        }
        kinds.join(", ")
    }
}

/// One page streamed through a main-site process, and its RSS meanwhile.
struct Streamed {
    before: u64,
    peak: u64,
    samples: u64,
    fetched: Fetched,
    outcomes: Outcomes,
}

/// Starts main-site in front of `origin`, warms it up, then streams a page of `bytes`
/// through it (a share if `share`) while sampling its RSS.
async fn streamed(
    origin: SocketAddr,
    client: &reqwest::Client,
    bytes: usize,
    share: bool,
) -> Result<Streamed> {
    let binary = crate::main_site::binary()?;
    let mut site = MainSite::start(&binary, &format!("http://{origin}"), client).await?;
    let (pid, addr) = (site.pid, site.base.clone());
    let query = if share {
        format!("?{SHARE_QUERY}")
    } else {
        String::new()
    };
    // The streaming path warmed too, so its first allocations are in `before`.
    fetch(client, &format!("{addr}/stream/{PADDED_BYTES}{query}")).await?;
    let before = rss(pid);

    let peak = Arc::new(AtomicU64::new(before));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (Arc::clone(&peak), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut samples = 0;
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss(pid), Ordering::Relaxed);
                samples += 1;
                std::thread::sleep(RSS_SAMPLE_EVERY);
            }
            samples
        })
    };
    let fetched = fetch(client, &format!("{addr}/stream/{bytes}{query}")).await;
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap_or(0);
    let still_running = site.running()?;
    site.stop().await?;
    let fetched = fetched?;
    anyhow::ensure!(still_running, "main-site exited during the transfer");
    // Only the head may change, and shrink if the engine puts shorter tags in its place.
    anyhow::ensure!(
        fetched.bytes + STREAMED_HEAD.len() >= bytes,
        "main-site sent {} of the page's {bytes} bytes",
        fetched.bytes
    );
    let mut outcomes = Outcomes::default();
    outcomes.count(fetched.inject.as_deref());
    Ok(Streamed {
        before,
        peak: peak.load(Ordering::Relaxed),
        samples,
        fetched,
        outcomes,
    })
}

pub(crate) fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `p`th percentile of signed samples, ranked as [`percentile`] ranks.
fn signed_percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Milliseconds to the hundredth: a small page's fetch is well under one.
pub(crate) fn fine_ms(ms: f64) -> String {
    format!("{ms:.2} ms")
}

fn fine_mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn kb(bytes: usize) -> String {
    format!("{:.0} KB", bytes as f64 / 1000.0)
}

fn mb_per_s(bytes: usize, took: Duration) -> String {
    format!("{:.0} MB/s", bytes as f64 / 1e6 / took.as_secs_f64())
}
