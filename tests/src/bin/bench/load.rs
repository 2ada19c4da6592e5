//! The benchmark's load section: the injector under many requests at once, beside what a
//! site owner would put in front of a site instead. Debian's nginx serves a page (the
//! origin), proxies it, and proxies it with `sub_filter` adding one og:image; the
//! main-site binary stands in front of the same origin; wrk loads each in turn, rows
//! interleaved and rounds in alternating order so that all see the same machine. Before
//! each row one answer is checked to be the one the row claims to measure. Printed,
//! never asserted.

mod wrk;

use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use e2e::nginx::Nginx;
use share_inject::INJECT_HEADER;
use shared_ids::{BaseUrl, SocialId};
use test_kit::process::free_port;

use crate::inject::origin::{corpus, median, padded};
use crate::inject::{SHARE_QUERY, fine_ms, millis};
use crate::main_site::MainSite;
use crate::measure::Table;
use crate::memory::{mib, peak_rss, reset_peak_rss};
use wrk::Load;

/// How much of the load to run.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// Each round runs every row once.
    rounds: usize,
    per_row: Duration,
    /// The median page padded to [`PADDED_BYTES`] as well as the median page itself.
    padded: bool,
    connections: &'static [u32],
}

const FULL: Sizes = Sizes {
    rounds: 2,
    per_row: Duration::from_secs(6),
    padded: true,
    connections: &[32, 256],
};

const QUICK: Sizes = Sizes {
    rounds: 1,
    per_row: Duration::from_secs(1),
    padded: false,
    connections: &[32],
};

const PADDED_BYTES: usize = 600_000;

/// What the "done when" asks of the injector beside nginx (issue 28).
const SHARE_REQUESTS_GOAL: f64 = 0.5;
const SHARE_P99_GOAL: f64 = 3.0;
const PROXY_REQUESTS_GOAL: f64 = 1.0;
const PROXY_P99_GOAL: f64 = 2.0;
const PEAK_RSS_GOAL: u64 = 64 * 1024 * 1024;
/// The connections at which [`PEAK_RSS_GOAL`] applies.
const PEAK_RSS_CONNECTIONS: u32 = 256;

/// Who answers a row's requests; in [`ROWS`]' order, which indexes a page's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    Origin,
    NginxProxy,
    SubFilter,
    Share,
    ProxyOnly,
    /// The same two rows through `--baseline`'s main-site, for an A/B in one run.
    BaselineShare,
    BaselineProxyOnly,
}

const ROWS: [Row; 7] = [
    Row::Origin,
    Row::NginxProxy,
    Row::SubFilter,
    Row::Share,
    Row::ProxyOnly,
    Row::BaselineShare,
    Row::BaselineProxyOnly,
];

impl Row {
    fn label(self) -> &'static str {
        match self {
            Self::Origin => "nginx serving the page (the origin)",
            Self::NginxProxy => "nginx proxying it",
            Self::SubFilter => "nginx `sub_filter` adding one og:image after `<head>`",
            Self::Share => "ogshot, share link (injected)",
            Self::ProxyOnly => "ogshot, same page without `social` (proxy only)",
            Self::BaselineShare => "baseline ogshot (--baseline), share link (injected)",
            Self::BaselineProxyOnly => "baseline ogshot (--baseline), proxy only",
        }
    }

    fn is_baseline(self) -> bool {
        matches!(self, Self::BaselineShare | Self::BaselineProxyOnly)
    }
}

/// A page the origin serves.
struct LoadPage {
    label: String,
    /// Its path on the origin, and so on every peer.
    path: String,
    bytes: Bytes,
}

/// Everything that answers, on loopback.
struct Servers {
    origin: u16,
    proxy: u16,
    sub_filter: u16,
    main_site: MainSite,
    baseline: Option<MainSite>,
    /// The tag `sub_filter` adds, as it adds it.
    og_image: String,
    _nginx: Nginx,
}

impl Servers {
    /// Where `row` is loaded; none for a baseline row without `--baseline`.
    fn url(&self, row: Row, page: &LoadPage) -> Option<String> {
        let nginx = |port: u16| Some(format!("http://127.0.0.1:{port}{}", page.path));
        match row {
            Row::Origin => nginx(self.origin),
            Row::NginxProxy => nginx(self.proxy),
            Row::SubFilter => nginx(self.sub_filter),
            Row::Share | Row::BaselineShare => Some(format!(
                "{}{}?{SHARE_QUERY}",
                self.ogshot(row)?.base,
                page.path
            )),
            Row::ProxyOnly | Row::BaselineProxyOnly => {
                Some(format!("{}{}", self.ogshot(row)?.base, page.path))
            }
        }
    }

    /// The main-site that answers `row`, if an ogshot row.
    fn ogshot(&self, row: Row) -> Option<&MainSite> {
        match row {
            Row::Share | Row::ProxyOnly => Some(&self.main_site),
            Row::BaselineShare | Row::BaselineProxyOnly => self.baseline.as_ref(),
            _ => None,
        }
    }
}

/// One row's runs over the rounds.
#[derive(Default)]
struct Measured {
    loads: Vec<Load>,
    /// main-site's peak RSS in each run of an ogshot row.
    peaks: Vec<u64>,
    /// What made a run not the row it claims to be, or not all successes.
    failures: Vec<String>,
}

impl Measured {
    fn requests_per_s(&self) -> f64 {
        middle(self.loads.iter().map(|load| load.requests_per_s))
    }

    fn p50_ms(&self) -> f64 {
        middle(self.loads.iter().map(|load| millis(load.p50)))
    }

    fn p99_ms(&self) -> f64 {
        middle(self.loads.iter().map(|load| millis(load.p99)))
    }

    fn peak(&self) -> Option<u64> {
        self.peaks.iter().copied().max()
    }

    /// The row's cell: medians over the rounds, each round's figures when there were
    /// several, the peak RSS where it applies and what failed.
    fn shown(&self) -> String {
        let mut cell = format!(
            "{} req/s · p50 {} · p99 {}",
            thousands(self.requests_per_s()),
            fine_ms(self.p50_ms()),
            fine_ms(self.p99_ms())
        );
        if self.loads.len() > 1 {
            let each = |figure: &dyn Fn(&Load) -> String| {
                self.loads
                    .iter()
                    .map(figure)
                    .collect::<Vec<_>>()
                    .join(" / ")
            };
            cell += &format!(
                " (rounds: {} req/s, p99 {})",
                each(&|load| thousands(load.requests_per_s)),
                each(&|load| fine_ms(millis(load.p99)))
            );
        }
        if let Some(peak) = self.peak() {
            cell += &format!(" · peak RSS {}", mib(peak));
        }
        if !self.failures.is_empty() {
            cell += &format!(" · FAILED: {}", self.failures.join("; "));
        }
        cell
    }
}

pub(crate) async fn section(
    table: &mut Table,
    client: &reqwest::Client,
    quick: bool,
    baseline: Option<&std::path::Path>,
) -> Result<()> {
    let sizes = if quick { QUICK } else { FULL };
    machine(table, sizes);
    let corpus = corpus()?;
    let median_page = median(&corpus);
    let kb = |bytes: &Bytes| format!("{:.0} KB", bytes.len() as f64 / 1000.0);
    let mut pages = vec![LoadPage {
        label: format!("{} ({})", median_page.name, kb(&median_page.bytes)),
        path: "/median.html".to_owned(),
        bytes: median_page.bytes.clone(),
    }];
    if sizes.padded {
        let bytes = padded(&median_page.bytes, PADDED_BYTES);
        pages.push(LoadPage {
            label: format!("{} padded to {}", median_page.name, kb(&bytes)),
            path: "/padded.html".to_owned(),
            bytes,
        });
    }
    let mut servers = start(client, &pages, baseline).await?;
    let rows: Vec<Row> = (ROWS.into_iter())
        .filter(|row| !row.is_baseline() || servers.baseline.is_some())
        .collect();
    for page in &pages {
        for &connections in sizes.connections {
            let mut measured: [Measured; ROWS.len()] = Default::default();
            for round in 0..sizes.rounds {
                let mut order = rows.clone();
                if round % 2 == 1 {
                    order.reverse();
                }
                for row in order {
                    let run = Run {
                        row,
                        page,
                        connections,
                        round,
                    };
                    run_row(
                        &mut servers,
                        client,
                        run,
                        sizes,
                        &mut measured[row as usize],
                    )
                    .await?;
                }
            }
            for row in &rows {
                let measured = &measured[*row as usize];
                let (target, met) = if measured.failures.is_empty() {
                    ("", None)
                } else {
                    ("every answer the row's, a 2xx", Some(false))
                };
                table.row(
                    &format!(
                        "load, {}, {connections} connections: {}",
                        page.label,
                        row.label()
                    ),
                    measured.shown(),
                    target,
                    met,
                );
            }
            ratios(table, page, connections, &measured);
        }
    }
    if let Some(baseline) = servers.baseline {
        baseline.stop().await?;
    }
    servers.main_site.stop().await
}

/// The machine's state once, since every figure depends on it.
fn machine(table: &mut Table, sizes: Sizes) {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    table.row(
        "load: the machine, and each row's load",
        format!(
            "{cpus} CPUs (nproc), load average {load_average} at the start; wrk, 1 thread, \
             {} s a row, {} round{} in alternating order; nginx, 1 worker",
            sizes.per_row.as_secs(),
            sizes.rounds,
            if sizes.rounds == 1 { "" } else { "s" }
        ),
        "",
        None,
    );
}

/// nginx (the origin serving `pages`, its plain proxy and its `sub_filter` peer) and
/// main-site in front of that origin.
async fn start(
    client: &reqwest::Client,
    pages: &[LoadPage],
    baseline: Option<&std::path::Path>,
) -> Result<Servers> {
    let (origin, proxy, sub_filter) = (free_port(), free_port(), free_port());
    let image = BaseUrl::parse("https://img.example.com")?
        .card_url(SocialId::parse(SHARE_QUERY.trim_start_matches("social="))?);
    let og_image = format!("<meta property=\"og:image\" content=\"{image}\">");
    // A site owner's configuration: Debian's defaults for static files, a keep-alive
    // pool to the origin; `sub_filter` needs the origin's answers unencoded.
    let proxied = "proxy_pass http://origin;\n\
                   proxy_http_version 1.1;\n\
                   proxy_set_header Connection \"\";";
    let http = format!(
        "access_log off;\n\
         sendfile on;\n\
         tcp_nopush on;\n\
         types {{ text/html html; }}\n\
         default_type application/octet-stream;\n\
         upstream origin {{ server 127.0.0.1:{origin}; keepalive 32; }}\n\
         server {{ listen 127.0.0.1:{origin}; root site; charset utf-8; }}\n\
         server {{ listen 127.0.0.1:{proxy}; location / {{ {proxied} }} }}\n\
         server {{\n\
             listen 127.0.0.1:{sub_filter};\n\
             location / {{\n\
                 {proxied}\n\
                 proxy_set_header Accept-Encoding \"\";\n\
                 sub_filter '<head>' '<head>{og_image}';\n\
                 sub_filter_once on;\n\
             }}\n\
         }}"
    );
    let files = pages
        .iter()
        .map(|page| (format!("site{}", page.path), &page.bytes));
    let nginx = Nginx::start(&http, files).await;
    let upstream = format!("http://127.0.0.1:{origin}");
    let main_site = MainSite::start(&crate::main_site::binary()?, &upstream, client).await?;
    let baseline = match baseline {
        Some(binary) => Some(MainSite::start(binary, &upstream, client).await?),
        None => None,
    };
    Ok(Servers {
        origin,
        proxy,
        sub_filter,
        main_site,
        baseline,
        og_image,
        _nginx: nginx,
    })
}

/// Which run of a row.
#[derive(Clone, Copy)]
struct Run<'a> {
    row: Row,
    page: &'a LoadPage,
    connections: u32,
    round: usize,
}

/// One run of a row: its answer checked, then wrk's load, with main-site's peak RSS over
/// that load for an ogshot row.
async fn run_row(
    servers: &mut Servers,
    client: &reqwest::Client,
    Run {
        row,
        page,
        connections,
        round,
    }: Run<'_>,
    sizes: Sizes,
    into: &mut Measured,
) -> Result<()> {
    let url = servers.url(row, page).context("a row without its server")?;
    let mut failures = Vec::new();
    if let Some(wrong) = check(client, row, &url, page, &servers.og_image).await? {
        failures.push(wrong);
    }
    let pid = servers.ogshot(row).map(|site| site.pid);
    if let Some(pid) = pid {
        reset_peak_rss(pid).context("resetting main-site's peak RSS")?;
    }
    let load = wrk::run(&url, connections, sizes.per_row).await?;
    if let Some(pid) = pid {
        into.peaks.push(peak_rss(pid));
        let site = match row.is_baseline() {
            true => servers.baseline.as_mut(),
            false => Some(&mut servers.main_site),
        };
        if let Some(site) = site {
            anyhow::ensure!(site.running()?, "main-site exited under the load of {url}");
        }
    }
    failures.extend(load.errors.iter().cloned());
    into.failures.extend(
        failures
            .into_iter()
            .map(|failure| format!("round {}: {failure}", round + 1)),
    );
    into.loads.push(load);
    Ok(())
}

/// Whether one answer of `url` is what `row` claims to measure: the page itself (nginx
/// and the proxy only), nginx's one tag added after `<head>`, or ogshot's injection.
async fn check(
    client: &reqwest::Client,
    row: Row,
    url: &str,
    page: &LoadPage,
    og_image: &str,
) -> Result<Option<String>> {
    let answer = client.get(url).send().await?;
    let status = answer.status();
    let inject = answer
        .headers()
        .get(INJECT_HEADER)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let body = answer.bytes().await?;
    if status != 200 {
        return Ok(Some(format!("{url} answered {status}")));
    }
    let wrong = match row {
        Row::Origin | Row::NginxProxy | Row::ProxyOnly | Row::BaselineProxyOnly
            if body != page.bytes =>
        {
            Some(format!("{url} is not the page, byte for byte"))
        }
        Row::SubFilter => {
            let tagged = String::from_utf8_lossy(&page.bytes).replacen(
                "<head>",
                &format!("<head>{og_image}"),
                1,
            );
            (body != tagged.as_bytes()).then(|| format!("{url} is not the page with one tag"))
        }
        Row::Share | Row::BaselineShare if inject.as_deref() != Some("injected") => Some(format!(
            "{url} was not injected ({INJECT_HEADER}: {inject:?})"
        )),
        Row::ProxyOnly | Row::BaselineProxyOnly if inject.as_deref() == Some("injected") => {
            Some(format!("{url} was injected without a share"))
        }
        _ => None,
    };
    Ok(wrong)
}

/// The figures issue 28's "done when" compares, for one page at one load.
fn ratios(table: &mut Table, page: &LoadPage, connections: u32, measured: &[Measured; ROWS.len()]) {
    let of = |row: Row| &measured[row as usize];
    let (proxy, sub_filter) = (of(Row::NginxProxy), of(Row::SubFilter));
    let (share, proxy_only) = (of(Row::Share), of(Row::ProxyOnly));
    let share_requests = share.requests_per_s() / sub_filter.requests_per_s();
    let share_p99 = share.p99_ms() / proxy.p99_ms();
    let proxy_requests = proxy_only.requests_per_s() / proxy.requests_per_s();
    let proxy_p99 = proxy_only.p99_ms() / proxy.p99_ms();
    let peak = share.peak().max(proxy_only.peak()).unwrap_or(0);
    let mut met = share_requests >= SHARE_REQUESTS_GOAL
        && share_p99 <= SHARE_P99_GOAL
        && proxy_requests >= PROXY_REQUESTS_GOAL
        && proxy_p99 <= PROXY_P99_GOAL;
    let mut target = format!(
        "≥ {SHARE_REQUESTS_GOAL}× · ≤ {SHARE_P99_GOAL}× · ≥ {PROXY_REQUESTS_GOAL:.1}× · \
         ≤ {PROXY_P99_GOAL}×"
    );
    if connections == PEAK_RSS_CONNECTIONS {
        met &= peak <= PEAK_RSS_GOAL;
        target += &format!(" · ≤ {}", mib(PEAK_RSS_GOAL));
    }
    table.row(
        &format!(
            "load, {}, {connections} connections: share ÷ sub_filter req/s · share p99 ÷ \
             nginx proxy p99 · proxy-only ÷ nginx proxy req/s · proxy-only p99 ÷ nginx \
             proxy p99 · main-site peak RSS",
            page.label
        ),
        format!(
            "{share_requests:.2}× · {share_p99:.1}× · {proxy_requests:.2}× · {proxy_p99:.1}× \
             · {}",
            mib(peak)
        ),
        &target,
        Some(met),
    );
}

/// The median of a few figures (the mean of the middle two of an even count).
fn middle(figures: impl Iterator<Item = f64>) -> f64 {
    let mut sorted: Vec<f64> = figures.collect();
    sorted.sort_unstable_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Requests per second, whole, in groups of three: `83,012`.
fn thousands(figure: f64) -> String {
    let digits = format!("{figure:.0}");
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}
