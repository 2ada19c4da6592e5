//! The benchmark's faults section: the slowest answer while a dependency fails the way
//! it really does, each drill on a freshly started system with the production budget.
//! Printed, never asserted (the drills in `image-service/src/tests/drills.rs` assert).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use e2e::{Options, System};
use image_service::test_s3::S3Fault;
use image_service::{Config as ImageConfig, RenderTarget};

use super::{Ids, Table, ms};

/// What the answers to one drill were.
#[derive(Debug, Default)]
struct Answers {
    slowest: Duration,
    cards: usize,
    fallbacks: usize,
    other: Vec<String>,
}

impl Answers {
    fn shown(&self) -> String {
        let mut kinds = format!("{} card, {} fallback", self.cards, self.fallbacks);
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

    fn card_url(&self, ids: &mut Ids) -> String {
        let id = shared_ids::SocialId::parse(&ids.next()).expect("an id");
        format!(
            "{}{}",
            self.system.image_service,
            shared_ids::card_path(shared_ids::CURRENT_DESIGN, id)
        )
    }

    /// GETs `url` and records how long the answer took and what it was.
    async fn get(&mut self, url: &str) -> Result<()> {
        let started = Instant::now();
        let response = self.client.get(url).send().await?;
        let status = response.status();
        let kind = response
            .headers()
            .get("x-ogshot-cache")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        let _ = response.bytes().await?;
        self.answers.slowest = self.answers.slowest.max(started.elapsed());
        match (status.as_u16(), kind.as_str()) {
            (200, "miss" | "hit") => self.answers.cards += 1,
            (200, "fallback") => self.answers.fallbacks += 1,
            (status, kind) => self.answers.other.push(format!("{status}/{kind}")),
        }
        Ok(())
    }

    async fn finish(self, table: &mut Table, name: &str) {
        table.row(
            &format!("faults: {name}: slowest answer"),
            self.answers.shown(),
            "≤ budget",
            None,
        );
        self.system.stop().await;
    }
}

/// Sends `signal` to a whole process group.
fn signal_group(pgid: u32, signal: &str) -> Result<()> {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), "--".into(), format!("-{pgid}")])
        .status()?;
    anyhow::ensure!(status.success(), "kill -{signal} -{pgid}: {status}");
    Ok(())
}

async fn start(options: Options, budget: Duration) -> System {
    let mut limits = options
        .limits
        .unwrap_or_else(|| ImageConfig::local_defaults().limits);
    limits.response_budget = budget;
    limits.queue_timeout = limits.queue_timeout.min(budget / 2);
    System::start_with(Options {
        limits: Some(limits),
        ..options
    })
    .await
}

/// Runs every drill with `requests` answers each, under `budget`.
pub(crate) async fn section(
    table: &mut Table,
    client: &reqwest::Client,
    requests: usize,
    budget: Duration,
) -> Result<()> {
    table.row("faults: response budget", ms(budget), "", None);
    let mut ids = Ids(500_000);

    // Chromium hung: its process group stopped, not killed.
    let system = start(Options::default(), budget).await;
    let mut drill = Drill::new(client, system);
    let warm = drill.card_url(&mut ids);
    drill.get(&warm).await?;
    let pid = drill.system.service.chromium().pid().context("a browser")?;
    drill.answers = Answers::default();
    signal_group(pid, "STOP")?;
    for _ in 0..requests {
        let url = drill.card_url(&mut ids);
        drill.get(&url).await?;
    }
    drill.finish(table, "Chromium hung (SIGSTOP)").await;

    // Chromium crash loop: killed three times in a row.
    let system = start(Options::default(), budget).await;
    let mut drill = Drill::new(client, system);
    for _ in 0..3 {
        let pid = drill
            .system
            .service
            .chromium()
            .wait_until_up(Duration::from_secs(20))
            .await
            .context("a browser comes up")?;
        signal_group(pid, "KILL")?;
        let url = drill.card_url(&mut ids);
        drill.get(&url).await?;
    }
    drill
        .finish(table, "Chromium killed 3 times in a row")
        .await;

    // S3 failing: a hot card and new cards.
    for (fault, name) in [
        (S3Fault::Blackhole, "S3 blackholed"),
        (S3Fault::SlowDown, "S3 answering 503 SlowDown"),
    ] {
        let system = start(Options::default(), budget).await;
        let mut drill = Drill::new(client, system);
        let hot = drill.card_url(&mut ids);
        drill.get(&hot).await?;
        drill.system.service.cards().settled().await;
        drill.get(&hot).await?;
        drill.answers = Answers::default();
        drill.system.s3.set_fault(fault);
        let mut hot_answers = Answers::default();
        for _ in 0..requests {
            let url = drill.card_url(&mut ids);
            drill.get(&url).await?;
            std::mem::swap(&mut drill.answers, &mut hot_answers);
            drill.get(&hot).await?;
            std::mem::swap(&mut drill.answers, &mut hot_answers);
        }
        table.row(
            &format!("faults: {name}: slowest hit on a hot card"),
            hot_answers.shown(),
            "",
            None,
        );
        drill.finish(table, &format!("{name}, new cards")).await;
    }

    // The render site accepts connections and never answers.
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = shared_ids::BaseUrl::parse(&format!("http://{}", hanging.local_addr()?))?;
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = hanging.accept().await {
            sockets.push(socket);
        }
    });
    let options = Options {
        render_target: Some(RenderTarget::Remote {
            base,
            token: render_site::RenderToken::generate(),
        }),
        ..Options::default()
    };
    let mut drill = Drill::new(client, start(options, budget).await);
    for _ in 0..requests {
        let url = drill.card_url(&mut ids);
        drill.get(&url).await?;
    }
    drill.finish(table, "render site hanging").await;
    held.abort();
    Ok(())
}
