//! Starts the render site: on AWS Lambda when `AWS_LAMBDA_RUNTIME_API` is set, otherwise
//! as a local server with graceful shutdown.

use anyhow::Context;
use clap::Parser;
use render_site::{Args, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let on_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    init_tracing(on_lambda);
    let config = Config::try_from(Args::parse())?;
    let addr = config.addr;
    if config.generated_token {
        // Printed to the terminal, not logged: the token must never reach a log line.
        eprintln!(
            "\n  Dev mode: generated render token {token}\n  \
             Sign in at http://{addr}/preview with it, or send `Authorization: Bearer {token}`.\n",
            token = config.site.token.expose()
        );
    }
    let app = render_site::router(config.site);
    if on_lambda {
        return lambda_http::run(app).await.map_err(|e| anyhow::anyhow!(e));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!("render site listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

fn init_tracing(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    // CloudWatch indexes JSON fields; locally, people read the plain format.
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}
