//! Starts the main site: on AWS Lambda when `AWS_LAMBDA_RUNTIME_API` is set (its function
//! URL streams, so an existing site's page goes out as it arrives), otherwise as a local
//! server with graceful shutdown.

use clap::Parser;
use main_site::{Args, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    app_host::init_tracing(app_host::on_lambda());
    let config = Config::try_from(Args::parse())?;
    let (addr, listener) = (config.addr, config.listener);
    app_host::serve_streamed_with(main_site::router(config), addr, "main site", listener).await?;
    Ok(())
}
