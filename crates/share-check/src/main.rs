//! The `share-check` command: checks share links as each crawler of `crawlers.toml` sees
//! them, prints the findings and exits non-zero on any ✗ (with `--strict`, any ⚠). It
//! starts nothing and needs no ogshot service: only the network.

use clap::Parser;

/// Command line of share-check.
#[derive(Debug, Parser)]
#[command(
    name = "share-check",
    version,
    about = "See share links the way each platform's crawler sees them (crawlers.toml): \
             the page, its tags and the image, per crawler; exits non-zero on any ✗."
)]
struct Cli {
    #[command(flatten)]
    check: share_check::CheckArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let report = share_check::run(&cli.check).await?;
    std::process::exit(share_check::print(&report, &cli.check));
}
