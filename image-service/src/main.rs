//! Starts the image service: on AWS Lambda when `AWS_LAMBDA_RUNTIME_API` is set,
//! otherwise as a local server with graceful shutdown; or runs `prerender` or `check`.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use image_service::telemetry::Metrics;
use image_service::{Cli, Command, Config, ImageService, prerender};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let on_lambda = app_host::on_lambda();
    app_host::init_tracing(on_lambda);
    let cli = Cli::parse();
    if let Some(Command::Check(args)) = &cli.command {
        // Needs no browser, storage or render site: only the network.
        let report = share_check::run(args).await?;
        std::process::exit(share_check::print(&report, args));
    }
    let config = Config::try_from(cli.service)?;
    let addr = config.addr;
    let concurrency = config.limits().concurrency;
    // On Lambda the browser is launched here, during init, not on the first request.
    let service = ImageService::start(config, Arc::new(Metrics::new(on_lambda))).await?;
    match cli.command {
        Some(Command::Prerender(args)) => {
            let ids = match (&args.range, &args.ids_file) {
                (Some(range), _) => image_service::config::id_range(range)?,
                (None, Some(path)) if path.as_os_str() != "-" => {
                    let file = std::fs::File::open(path)
                        .with_context(|| format!("cannot open {}", path.display()))?;
                    prerender::read_ids(std::io::BufReader::new(file))
                        .map_err(anyhow::Error::msg)?
                }
                _ => prerender::read_ids(std::io::stdin().lock()).map_err(anyhow::Error::msg)?,
            };
            let total = ids.len();
            let show_progress = std::io::stderr().is_terminal();
            let report =
                prerender::prerender(service.cards(), ids, concurrency, show_progress).await;
            service.shutdown().await;
            println!(
                "{total} ids: {} rendered and stored, {} already stored, {} failed to render, \
                 {} rendered but not stored",
                report.rendered,
                report.skipped,
                report.failed.len(),
                report.store_failed.len()
            );
            for (id, why) in &report.failed {
                println!("  failed {id}: {why}");
            }
            for (id, why) in &report.store_failed {
                println!("  not stored {id}: {why}");
            }
            anyhow::ensure!(
                report.complete(),
                "{} of {total} ids are not stored",
                report.failed.len() + report.store_failed.len()
            );
            Ok(())
        }
        Some(Command::Check(_)) => unreachable!("handled before the service starts"),
        None => {
            // On Lambda too serving ends on SIGTERM, sent before an environment ends
            // (when an extension asks for it): the browser is then killed and reaped,
            // not orphaned.
            let served = app_host::serve(service.router(), addr, "image service").await;
            service.shutdown().await;
            Ok(served?)
        }
    }
}
