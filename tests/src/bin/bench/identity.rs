//! The benchmark's identity section: is every card stored under load its own id's,
//! whole? Two CPU hogs load the machine and 8 crawlers ask the image service (production
//! defaults) for distinct cards at once, from a remote render site in `--dev` mode whose
//! content file gives some cards headlines in faces no Latin card loads (latin-ext,
//! Cyrillic, Greek), so their swaps must wait for a face. With the hogs stopped, each
//! stored card is compared, pixel for pixel, with the same id loaded fresh in a page of
//! its own and captured by screenshot. Printed, never asserted; the deterministic test
//! of the same wait is `tests/e2e/slow_fonts.rs`.

use std::time::Duration;

use anyhow::{Context, Result};
use e2e::{Options, System};
use futures::StreamExt;
use image_service::RenderTarget;
use image_service::browser::{capture_params, screenshot_bytes};
use render_site::{DesignSource, RenderSiteConfig, RenderToken, ShareSource};
use test_kit::process::Process;

use crate::browser::{JPEG_QUALITY, authorize, launch};
use crate::capture::evaluate;
use crate::measure::{Ids, Table};

/// Crawlers asking at once.
const CRAWLERS: usize = 8;

/// Busy processes beside the service, one per core of the project's machines.
const HOGS: usize = 2;

/// Headlines that each need a face of Inter beyond the Latin one; cards cycle through
/// them.
const NEW_FACE_HEADLINES: [&str; 6] = [
    "Ærøskøbing — Şişli — Čakovec",
    "Zażółć gęślą jaźń — Łódź",
    "Съешь же ещё этих мягких булок",
    "Широкая электрификация южных губерний",
    "Γαζέες καὶ μυρτιὲς δὲν θὰ βρῶ",
    "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία",
];

/// What one run found.
struct Found {
    stored: usize,
    own: usize,
    new_face_wrong: usize,
    /// Answers other than a rendered card, by the service's counters: the budget ran
    /// out, or the card's text was not drawable.
    over_budget: u64,
    text_not_drawn: u64,
}

/// Runs the check `runs` times on `cards` cards each (`new_face` of them with a
/// headline in a new face) and adds a row per run.
pub(crate) async fn section(
    table: &mut Table,
    client: &reqwest::Client,
    runs: usize,
    cards: usize,
    new_face: usize,
) -> Result<()> {
    let mut ids = Ids(700_000);
    for run in 1..=runs {
        let found = one_run(client, &mut ids, cards, new_face).await?;
        table.row(
            &format!(
                "identity under load, run {run}: stored cards that are their own id's \
                 ({CRAWLERS} crawlers, {HOGS} CPU hogs, {new_face} needing a new face)"
            ),
            format!(
                "{} of {} stored ({} new-face cards differ; of {cards} asked: {} over \
                 budget, {} text not drawn)",
                found.own,
                found.stored,
                found.new_face_wrong,
                found.over_budget,
                found.text_not_drawn
            ),
            "all",
            Some(found.own == found.stored),
        );
    }
    Ok(())
}

async fn one_run(
    client: &reqwest::Client,
    ids: &mut Ids,
    cards: usize,
    new_face: usize,
) -> Result<Found> {
    let batch: Vec<String> = (0..cards).map(|_| ids.next()).collect();
    // Every (cards / new_face)-th card needs a new face, spread through the batch.
    let step = (cards / new_face.max(1)).max(1);
    let special: Vec<&String> = batch.iter().step_by(step).take(new_face).collect();
    let dir = tempfile::tempdir()?;
    let content_file = dir.path().join("cards.toml");
    let mut content = card_wording::EMBEDDED_CONTENT.to_owned();
    for (n, id) in special.iter().enumerate() {
        let headline = NEW_FACE_HEADLINES[n % NEW_FACE_HEADLINES.len()];
        content.push_str(&format!("\n[ids.\"{id}\"]\nheadline = \"{headline}\"\n"));
    }
    std::fs::write(&content_file, content)?;
    let token = RenderToken::generate();
    let site = render_site::router(RenderSiteConfig {
        token: token.clone(),
        design: DesignSource::Reload {
            content_file,
            css_file: render_site::card::REPO_CARD_CSS_PATH.into(),
        },
        image_base: None,
        share_text: ShareSource::main_site_defaults(),
        secure_cookie: false,
    });
    let site = test_kit::serve(site).await;
    let site_base = site.base();
    let system = System::start_with(Options {
        render_target: Some(RenderTarget::Remote {
            base: shared_ids::BaseUrl::parse(&site_base)?,
            token: token.clone(),
        }),
        ..Options::default()
    })
    .await;

    let hogs: Vec<Process> = (0..HOGS)
        .map(|_| {
            Process::spawn(
                "cpu hog",
                tokio::process::Command::new("sh").args(["-c", "while :; do :; done"]),
            )
        })
        .collect();
    let base = &system.image_service;
    let answers: Vec<(String, String)> = futures::stream::iter(&batch)
        .map(|id| async move {
            let url = format!("{base}{}", test_kit::card_path(id));
            let cache = match client.get(&url).send().await {
                Ok(response) => {
                    let cache = response
                        .headers()
                        .get("x-ogshot-cache")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("none")
                        .to_owned();
                    let _ = response.bytes().await;
                    cache
                }
                Err(e) => format!("error: {e}"),
            };
            (id.clone(), cache)
        })
        .buffer_unordered(CRAWLERS)
        .collect()
        .await;
    drop(hogs);
    system.service.cards().settled().await;
    let not_missed: Vec<&(String, String)> = answers.iter().filter(|(_, c)| c != "miss").collect();
    if !not_missed.is_empty() {
        println!("  answers other than miss: {not_missed:?}");
    }

    // The references, on an idle machine: each id loaded fresh in a page of its own.
    let (browser, events, mut process) = launch().await?;
    let s3 = system.s3.client();
    let counts = system.service.metrics().counts();
    let mut found = Found {
        stored: 0,
        own: 0,
        new_face_wrong: 0,
        over_budget: counts.over_budget,
        text_not_drawn: counts.text_not_drawn,
    };
    for id in &batch {
        let key = &test_kit::card_path(id)[1..];
        let stored = match s3
            .get_object()
            .bucket(&system.s3.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object.body.collect().await?.into_bytes(),
            Err(_) => continue,
        };
        found.stored += 1;
        let page = browser.new_page("about:blank").await?;
        authorize(&page, &token).await?;
        page.goto(format!("{site_base}/card/{id}")).await?;
        page.evaluate(render_site::READY_EXPRESSION)
            .await
            .with_context(|| format!("{id}: the reference never became ready"))?;
        // Then the wait every capture makes, so the reference is whole too.
        let drawn = evaluate(
            &page,
            format!("({})(undefined)", render_site::DRAWN_FUNCTION),
        )
        .await?;
        anyhow::ensure!(
            drawn.is_null(),
            "{id}: the reference's text was not drawn: {drawn}"
        );
        let data = page
            .execute(capture_params(JPEG_QUALITY))
            .await?
            .result
            .data;
        let reference = screenshot_bytes(&data)?;
        page.close().await?;
        let decode = |jpeg: &[u8]| jpeg_decoder::Decoder::new(jpeg).decode();
        if decode(&stored)? == decode(&reference)? {
            found.own += 1;
        } else {
            if special.contains(&id) {
                found.new_face_wrong += 1;
            }
            let path = std::env::temp_dir().join(format!("ogshot-identity-{id}.jpg"));
            std::fs::write(&path, &stored)?;
            println!(
                "  {id}: stored card differs from its reference; kept at {}",
                path.display()
            );
        }
    }
    events.abort();
    process.kill_tree().await;
    system.stop().await;
    site.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(found)
}
