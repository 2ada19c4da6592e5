//! Starts the main site: on AWS Lambda when `AWS_LAMBDA_RUNTIME_API` is set (its function
//! URL streams, so an existing site's page goes out as it arrives), otherwise as a local
//! server with graceful shutdown. In front of an upstream, the injector's counters go out
//! too: as EMF lines on Lambda, else on `METRICS_ADDR` when set.

use clap::Parser;
use main_site::metrics::{self, MetricsServer};
use main_site::{Args, Config};

/// Every proxied chunk is allocated on one worker thread and often freed on another;
/// glibc's allocator spent a fifth of a share page's time there under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let lambda = app_host::on_lambda();
    app_host::init_tracing(lambda);
    let config = Config::try_from(Args::parse())?;
    let (addr, listener, metrics_addr) = (config.addr, config.listener, config.metrics_addr);
    let (router, injector) = main_site::site(config);
    let site = app_host::serve_streamed_with(router, addr, "main site", listener);
    match (injector, metrics_addr) {
        (Some(injector), _) if lambda => {
            let emf = tokio::spawn(metrics::report_as_emf(injector));
            site.await?;
            // Both stop at the same signal: the last counts are printed before the exit.
            emf.await?;
        }
        (Some(injector), Some(metrics_addr)) => {
            // Bound before the site listens, so a bad address stops start-up at once.
            let metrics = MetricsServer::bind(metrics_addr, injector).await?;
            let site = async { site.await.map_err(anyhow::Error::from) };
            let metrics = async { metrics.serve(listener).await.map_err(anyhow::Error::from) };
            tokio::try_join!(site, metrics)?;
        }
        _ => site.await?,
    }
    Ok(())
}
