//! The main-site binary beside the bench's own, run in front of an existing site
//! (`--upstream`) as a process of its own, so that its memory and its threads are the
//! injector's and nobody else's. Killed when dropped.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A running `main-site --upstream`.
pub(crate) struct MainSite {
    child: tokio::process::Child,
    pub(crate) pid: u32,
    /// e.g. `http://127.0.0.1:41234`, which is also its `PUBLIC_URL`.
    pub(crate) base: String,
}

impl MainSite {
    /// Starts the binary in front of `upstream` and returns once it answers (whatever
    /// the upstream has at `/`).
    pub(crate) async fn start(
        binary: &std::path::Path,
        upstream: &str,
        client: &reqwest::Client,
    ) -> Result<Self> {
        let addr = format!("127.0.0.1:{}", test_kit::process::free_port());
        let base = format!("http://{addr}");
        let child = tokio::process::Command::new(binary)
            .arg("--upstream")
            .arg(upstream)
            .env("MAIN_SITE_ADDR", &addr)
            .env("PUBLIC_URL", &base)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id().context("a started child has a pid")?;
        let mut site = Self { child, pid, base };
        let started = Instant::now();
        loop {
            if client.get(format!("{}/", site.base)).send().await.is_ok() {
                return Ok(site);
            }
            if !site.running()? {
                bail!("main-site exited before it served");
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("main-site served nothing within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub(crate) fn running(&mut self) -> Result<bool> {
        Ok(self.child.try_wait()?.is_none())
    }

    pub(crate) async fn stop(mut self) -> Result<()> {
        Ok(self.child.kill().await?)
    }
}

/// The main-site binary next to this one.
pub(crate) fn binary() -> Result<PathBuf> {
    let binary = std::env::current_exe()?.with_file_name("main-site");
    if !binary.is_file() {
        let release = binary.parent().is_some_and(|dir| dir.ends_with("release"));
        bail!(
            "{} is missing: build it first with `cargo build -p main-site{}`",
            binary.display(),
            if release { " --release" } else { "" }
        );
    }
    Ok(binary)
}
