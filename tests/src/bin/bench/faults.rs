//! The benchmark's faults section: what crawlers get while a dependency fails the way it
//! really does, each drill on a freshly started system at the production configuration
//! (budget, queue, render timeout and concurrency at their defaults) with 8 crawlers
//! asking at once. It reports the slowest answer, what the answers were, and how long
//! cards took to come back. Printed, never asserted (the drills in
//! `image-service/src/tests/drills.rs` assert).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use e2e::{Options, System};
use futures::StreamExt;
use image_service::RenderTarget;
use test_kit::s3::S3Fault;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::measure::{Ids, Table, ms};

/// Crawlers asking at once.
const CRAWLERS: usize = 8;

/// Longest a drill waits for cards to come back.
const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

/// What the answers to one drill were.
#[derive(Debug, Default)]
struct Answers {
    slowest: Duration,
    cards: usize,
    fallbacks: usize,
    unstored: usize,
    other: Vec<String>,
}

impl Answers {
    fn shown(&self) -> String {
        let mut kinds = format!("{} card, {} fallback", self.cards, self.fallbacks);
        if self.unstored > 0 {
            kinds.push_str(&format!(", {} unstored", self.unstored));
        }
        if !self.other.is_empty() {
            kinds.push_str(&format!(", other: {}", self.other.join(" ")));
        }
        format!("{} ({kinds})", ms(self.slowest))
    }
}

struct Drill<'a> {
    client: &'a reqwest::Client,
    system: System,
    answers: Answers,
}

impl<'a> Drill<'a> {
    fn new(client: &'a reqwest::Client, system: System) -> Self {
        Self {
            client,
            system,
            answers: Answers::default(),
        }
    }

    fn card_url(&self, id: &str) -> String {
        format!("{}{}", self.system.image_service, test_kit::card_path(id))
    }

    /// GETs each of `urls`, [`CRAWLERS`] at a time, recording every answer; returns
    /// how many were cards.
    async fn crawl(&mut self, urls: Vec<String>) -> Result<usize> {
        let client = self.client;
        let replies: Vec<Result<(Duration, u16, String)>> = futures::stream::iter(urls)
            .map(|url| async move {
                let started = Instant::now();
                let response = client.get(&url).send().await?;
                let status = response.status().as_u16();
                let kind = response
                    .headers()
                    .get("x-ogshot-cache")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none")
                    .to_owned();
                let _ = response.bytes().await?;
                Ok((started.elapsed(), status, kind))
            })
            .buffer_unordered(CRAWLERS)
            .collect()
            .await;
        let mut cards = 0;
        for reply in replies {
            let (took, status, kind) = reply?;
            self.answers.slowest = self.answers.slowest.max(took);
            match (status, kind.as_str()) {
                (200, "miss" | "hit") => {
                    self.answers.cards += 1;
                    cards += 1;
                }
                (200, "unstored") => self.answers.unstored += 1,
                (200, "fallback") => self.answers.fallbacks += 1,
                (status, kind) => self.answers.other.push(format!("{status}/{kind}")),
            }
        }
        Ok(cards)
    }

    /// Batches of [`CRAWLERS`] new cards until one holds a card; how long that took.
    async fn until_cards_come_back(&mut self, ids: &mut Ids) -> Result<Duration> {
        let started = Instant::now();
        loop {
            let urls = (0..CRAWLERS).map(|_| self.card_url(&ids.next())).collect();
            if self.crawl(urls).await? > 0 {
                return Ok(started.elapsed());
            }
            anyhow::ensure!(
                started.elapsed() < RECOVERY_LIMIT,
                "no card within {RECOVERY_LIMIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn finish(self, table: &mut Table, name: &str, recovery: Option<Duration>) {
        table.row(
            &format!("faults: {name}: slowest answer"),
            self.answers.shown(),
            "≤ budget + 0.5 s, no 5xx",
            None,
        );
        if let Some(recovery) = recovery {
            table.row(
                &format!("faults: {name}: cards back after"),
                ms(recovery),
                "a few seconds",
                None,
            );
        }
        self.system.stop().await;
    }
}

/// Sends `signal` to `target` (a pid, or `-pgid` for a whole group).
fn signal(target: &str, signal: &str) -> Result<()> {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), "--".into(), target.to_owned()])
        .status()?;
    anyhow::ensure!(status.success(), "kill -{signal} {target}: {status}");
    Ok(())
}

/// The renderer processes of browser group `pgid`.
fn renderers(pgid: u32) -> Vec<u32> {
    image_service::browser::group_members(pgid)
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains("--type=renderer"))
        })
        .collect()
}

/// A render site on a real port that first accepts connections and never answers
/// them, then, once told, serves the real render site on new connections while the
/// hung ones stay open.
struct HangingSite {
    addr: SocketAddr,
    token: render_site::RenderToken,
    serving: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl HangingSite {
    async fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let token = render_site::RenderToken::generate();
        let serving = watch::channel(false).0;
        let site = render_site::router(render_site::RenderSiteConfig::in_process(token.clone()));
        let listener = Switched {
            listener,
            serving: serving.subscribe(),
            held: Vec::new(),
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, site).await;
        });
        Ok(Self {
            addr,
            token,
            serving,
            task,
        })
    }

    fn target(&self) -> Result<RenderTarget> {
        Ok(RenderTarget::Remote {
            base: shared_ids::BaseUrl::parse(&format!("http://{}", self.addr))?,
            token: self.token.clone(),
        })
    }

    fn back(&self) {
        self.serving.send_replace(true);
    }
}

impl Drop for HangingSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The listener behind [`HangingSite`]: holds every connection it accepts while not
/// serving, for as long as it lives.
struct Switched {
    listener: TcpListener,
    serving: watch::Receiver<bool>,
    held: Vec<TcpStream>,
}

impl axum::serve::Listener for Switched {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((socket, addr)) = self.listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            if *self.serving.borrow() {
                return (socket, addr);
            }
            self.held.push(socket);
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// Runs every drill with `requests` answers during each fault.
pub(crate) async fn section(
    table: &mut Table,
    client: &reqwest::Client,
    requests: usize,
) -> Result<()> {
    table.row(
        "faults: response budget (production)",
        ms(image_service::render::DEFAULT_RESPONSE_BUDGET),
        "",
        None,
    );
    let mut ids = Ids(500_000);
    let production = || System::start_with(Options::default());

    // Chromium hung: its process group stopped, not killed; then only its renderer.
    for renderer_only in [false, true] {
        let mut drill = Drill::new(client, production().await);
        let warm = drill.card_url(&ids.next());
        drill.crawl(vec![warm]).await?;
        let pid = drill.system.service.chromium().pid().context("a browser")?;
        drill.answers = Answers::default();
        let stopped_at = Instant::now();
        if renderer_only {
            for renderer in renderers(pid) {
                signal(&renderer.to_string(), "STOP")?;
            }
        } else {
            signal(&format!("-{pid}"), "STOP")?;
        }
        let urls = (0..requests).map(|_| drill.card_url(&ids.next())).collect();
        drill.crawl(urls).await?;
        drill.until_cards_come_back(&mut ids).await?;
        let name = if renderer_only {
            "renderer only hung (SIGSTOP)"
        } else {
            "Chromium hung (SIGSTOP)"
        };
        drill.finish(table, name, Some(stopped_at.elapsed())).await;
    }

    // Chromium crash loop: killed three times in a row.
    let mut drill = Drill::new(client, production().await);
    for _ in 0..3 {
        let pid = drill
            .system
            .service
            .chromium()
            .wait_until_up(Duration::from_secs(20))
            .await
            .context("a browser comes up")?;
        signal(&format!("-{pid}"), "KILL")?;
        let urls = (0..CRAWLERS).map(|_| drill.card_url(&ids.next())).collect();
        drill.crawl(urls).await?;
    }
    let recovery = drill.until_cards_come_back(&mut ids).await?;
    drill
        .finish(table, "Chromium killed 3 times in a row", Some(recovery))
        .await;

    // S3 failing: a hot card and new cards.
    for (fault, name) in [
        (S3Fault::Blackhole, "S3 blackholed"),
        (S3Fault::SlowDown, "S3 answering 503 SlowDown"),
    ] {
        let mut drill = Drill::new(client, production().await);
        let hot = drill.card_url(&ids.next());
        drill.crawl(vec![hot.clone()]).await?;
        drill.system.service.cards().settled().await;
        drill.answers = Answers::default();
        drill.system.s3.set_fault(fault);
        let mut hot_answers = Answers::default();
        for _ in 0..requests.div_ceil(CRAWLERS) {
            let urls = (0..CRAWLERS).map(|_| drill.card_url(&ids.next())).collect();
            drill.crawl(urls).await?;
            std::mem::swap(&mut drill.answers, &mut hot_answers);
            drill.crawl(vec![hot.clone(); CRAWLERS]).await?;
            std::mem::swap(&mut drill.answers, &mut hot_answers);
        }
        table.row(
            &format!("faults: {name}: slowest hit on a hot card"),
            hot_answers.shown(),
            "",
            None,
        );
        drill
            .finish(table, &format!("{name}, new cards"), None)
            .await;
    }

    // S3 that reads fine and refuses every write: one popular card asked for again
    // and again is rendered once.
    let mut drill = Drill::new(client, production().await);
    drill.system.s3.set_fault(S3Fault::RefuseWrites);
    let urls = (0..CRAWLERS).map(|_| drill.card_url(&ids.next())).collect();
    drill.crawl(urls).await?;
    let popular = drill.card_url(&ids.next());
    let renders = drill.system.service.metrics().counts().renders;
    drill.crawl(vec![popular; requests.max(20)]).await?;
    drill.system.service.cards().settled().await;
    let renders = drill.system.service.metrics().counts().renders - renders;
    table.row(
        &format!(
            "faults: S3 refusing writes: renders of a card asked for {} times",
            requests.max(20)
        ),
        renders.to_string(),
        "1",
        Some(renders == 1),
    );
    drill.system.s3.set_fault(S3Fault::None);
    let written_back = Instant::now();
    let mut written = Duration::ZERO;
    while drill.system.service.cards().storage_write_circuit_open() {
        anyhow::ensure!(
            written_back.elapsed() < RECOVERY_LIMIT,
            "writes never resumed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        written = written_back.elapsed();
    }
    table.row(
        "faults: S3 refusing writes: writes resume after",
        ms(written),
        "",
        None,
    );
    drill.finish(table, "S3 refusing writes", None).await;

    // The render site accepts connections and never answers them, 8 crawlers asking
    // for new cards; then it serves again while the hung connections stay open.
    let site = HangingSite::start().await?;
    let system = System::start_with(Options {
        render_target: Some(site.target()?),
        ..Options::default()
    })
    .await;
    let mut drill = Drill::new(client, system);
    let urls = (0..requests).map(|_| drill.card_url(&ids.next())).collect();
    drill.crawl(urls).await?;
    // Cut-off renders close their windows off the request's path: give that a moment.
    let chromium = drill.system.service.chromium();
    let settled = Instant::now() + Duration::from_secs(5);
    let mut pages = chromium.page_count(Duration::from_secs(2)).await;
    while pages.is_none_or(|n| n > 2) && Instant::now() < settled {
        tokio::time::sleep(Duration::from_millis(100)).await;
        pages = chromium.page_count(Duration::from_secs(2)).await;
    }
    table.row(
        "faults: render site hung: Chromium's windows afterwards",
        pages.map_or_else(|| "no answer".to_owned(), |n| n.to_string()),
        "≤ 2 (the pool)",
        pages.map(|n| n <= 2),
    );
    site.back();
    let recovery = drill.until_cards_come_back(&mut ids).await?;
    drill
        .finish(
            table,
            "render site hung, then back with hung connections open",
            Some(recovery),
        )
        .await;
    Ok(())
}
