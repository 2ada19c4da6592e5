//! Starts the render site: on AWS Lambda when `AWS_LAMBDA_RUNTIME_API` is set, otherwise
//! as a local server with graceful shutdown.

use clap::Parser;
use render_site::{Args, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    app_host::init_tracing(app_host::on_lambda());
    let config = Config::try_from(Args::parse())?;
    // Before anything logs: no line may carry the token or its cookie.
    config.site.token.redact_from_logs();
    let addr = config.addr;
    if config.generated_token {
        // Printed to the terminal, not logged: the token must never reach a log line.
        eprintln!(
            "\n  Dev mode: generated render token {token}\n  \
             Sign in at http://{addr}/preview with it, or send `Authorization: Bearer {token}`.\n",
            token = config.site.token.expose()
        );
    }
    app_host::serve(render_site::router(config.site), addr, "render site").await?;
    Ok(())
}
