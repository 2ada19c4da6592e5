//! Starts the image service: on AWS Lambda when `AWS_LAMBDA_RUNTIME_API` is set,
//! otherwise as a local server with graceful shutdown; or runs `prerender`.

use std::io::IsTerminal;
use std::sync::Arc;

use clap::Parser;
use image_service::telemetry::Metrics;
use image_service::{Cli, Command, Config, ImageService, prerender};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let on_lambda = app_host::on_lambda();
    app_host::init_tracing(on_lambda);
    let cli = Cli::parse();
    // A prerender's id list is read, and refused if bad, before Chromium starts.
    let prerender_ids = match &cli.command {
        Some(Command::Prerender(args)) => Some(args.ids().map_err(anyhow::Error::msg)?),
        None => None,
    };
    let config = Config::try_from(cli.service)?;
    let addr = config.addr;
    let concurrency = config.limits().concurrency;
    // On Lambda the browser is launched here, during init, not on the first request.
    let service = ImageService::start(config, Arc::new(Metrics::new(on_lambda))).await?;
    match prerender_ids {
        Some(ids) => {
            let show_progress = std::io::stderr().is_terminal();
            let report =
                prerender::prerender(service.cards(), ids, concurrency, show_progress).await;
            service.shutdown().await;
            print!("{report}");
            anyhow::ensure!(
                report.complete(),
                "{} of {} ids are not stored",
                report.missing(),
                report.total()
            );
            Ok(())
        }
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
