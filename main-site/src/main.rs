//! Starts the main site: on AWS Lambda when `AWS_LAMBDA_RUNTIME_API` is set (its function
//! URL streams, so an existing site's page goes out as it arrives), otherwise as a local
//! server with a runtime per core and graceful shutdown. In front of an upstream, the
//! injector's counters go out too: as EMF lines on Lambda, else on `METRICS_ADDR` when
//! set.

use clap::Parser;
use main_site::metrics::{self, MetricsServer};
use main_site::{Args, Config};

/// Under load, glibc's allocator spent a fifth of a share page's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let lambda = app_host::on_lambda();
    app_host::init_tracing(lambda);
    let config = Config::try_from(Args::parse())?;
    if lambda {
        tokio::runtime::Runtime::new()?.block_on(serve_on_lambda(config))
    } else {
        serve_locally(config)
    }
}

/// lambda_http's runtime client, on one multi-threaded runtime.
async fn serve_on_lambda(config: Config) -> anyhow::Result<()> {
    let (addr, listener) = (config.addr, config.listener);
    let (router, injector) = main_site::site(config);
    let site = app_host::serve_streamed_with(router, addr, "main site", listener);
    match injector {
        Some(injector) => {
            let emf = tokio::spawn(metrics::report_as_emf(injector));
            site.await?;
            // Both stop at the same signal: the last counts are printed before the exit.
            emf.await?;
        }
        None => site.await?,
    }
    Ok(())
}

/// The site on a runtime per core; the metrics address, when set, on this thread's.
fn serve_locally(config: Config) -> anyhow::Result<()> {
    let (addr, limits, metrics_addr) = (config.addr, config.listener, config.metrics_addr);
    let (routers, injector) = main_site::routers(config, app_host::cores());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Bound before the site listens, so a bad address stops start-up at once.
    let metrics = match (injector, metrics_addr) {
        (Some(injector), Some(metrics_addr)) => {
            Some(runtime.block_on(MetricsServer::bind(metrics_addr, injector))?)
        }
        _ => None,
    };
    let site = app_host::serve_per_core(routers, addr, "main site", limits)?;
    if let Some(metrics) = metrics {
        runtime.block_on(metrics.serve(limits))?;
    }
    site.join()?;
    Ok(())
}
