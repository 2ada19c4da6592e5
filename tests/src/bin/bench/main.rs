//! The ogshot benchmark: every figure measured in this run, on this machine, printed as
//! a Markdown table. `--quick` runs a short version (CI uses it so the harness keeps
//! working); `--only <section>[,<section>]` runs some of [`SECTIONS`]; nothing here
//! asserts a timing.
//!
//! Run: `cargo run --release -p e2e --bin bench` (full) or `... -- --quick`.

mod browser;
mod capture;
mod faults;
mod identity;
mod images;
mod inject;
mod load;
mod main_site;
mod measure;
mod memory;

use anyhow::{Context, Result, bail};

use measure::Table;

/// What `--only` can name: the image service's figures, its fault drills, the identity
/// of cards stored under load, the main site's injector in front of an existing site,
/// and the injector under load beside nginx.
const SECTIONS: [&str; 5] = ["images", "faults", "identity", "inject", "load"];

/// What this run measures, from the command line.
struct Run {
    quick: bool,
    sections: Vec<&'static str>,
    /// Another main-site binary the load section runs beside this build's, interleaved.
    baseline: Option<std::path::PathBuf>,
}

impl Run {
    fn from_args() -> Result<Self> {
        let mut run = Self {
            quick: false,
            sections: SECTIONS.to_vec(),
            baseline: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => run.quick = true,
                "--only" => {
                    let names = args.next().context("--only needs a section")?;
                    run.sections = names
                        .split(',')
                        .map(|name| {
                            SECTIONS
                                .into_iter()
                                .find(|known| *known == name.trim())
                                .with_context(|| {
                                    format!("no section {name:?}; sections: {SECTIONS:?}")
                                })
                        })
                        .collect::<Result<_>>()?;
                }
                "--baseline" => {
                    let binary = args.next().context("--baseline needs a main-site binary")?;
                    run.baseline = Some(binary.into());
                }
                other => bail!(
                    "unknown argument {other:?}; usage: bench [--quick] [--only {}] \
                     [--baseline <main-site binary>]",
                    SECTIONS.join(",")
                ),
            }
        }
        Ok(run)
    }

    fn has(&self, section: &str) -> bool {
        self.sections.contains(&section)
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let run = Run::from_args()?;
    if run.has("images") || run.has("faults") || run.has("identity") {
        test_kit::require_chromium(e2e::CHROMIUM, image_service::browser::INSTALL_HINT);
    }
    test_kit::init_logs();
    let client = e2e::http_client();
    let mut table = Table::default();
    println!(
        "ogshot benchmark ({}, {})",
        if run.quick { "quick" } else { "full" },
        run.sections.join(", ")
    );
    if run.has("images") {
        images::section(&mut table, &client, run.quick).await?;
    }
    if run.has("faults") {
        // Always the production configuration; --quick asks for fewer cards.
        let fault_requests = if run.quick { 8 } else { 40 };
        faults::section(&mut table, &client, fault_requests).await?;
    }
    if run.has("identity") {
        // Three runs of 200 cards, 24 of them needing a new face; --quick one short run.
        let (runs, cards, new_face) = if run.quick { (1, 16, 4) } else { (3, 200, 24) };
        identity::section(&mut table, &client, runs, cards, new_face).await?;
    }
    if run.has("inject") {
        inject::section(&mut table, &client, run.quick).await?;
    }
    if run.has("load") {
        load::section(&mut table, &client, run.quick, run.baseline.as_deref()).await?;
    }
    table.print();
    Ok(())
}
