//! wrk, Debian's HTTP load generator, run against one URL over keep-alive connections,
//! and its report read back: requests per second, the latency distribution's p50 and
//! p99, and every answer or socket error that was not a success. It judges nothing.

use std::time::Duration;

use anyhow::{Context, Result, bail};

/// What one wrk run measured.
pub(super) struct Load {
    pub(super) requests_per_s: f64,
    pub(super) p50: Duration,
    pub(super) p99: Duration,
    /// What was not a success, as wrk words it: answers of 4xx or 5xx and socket errors
    /// (connect, read, write, or an answer slower than [`TIMEOUT`]).
    pub(super) errors: Vec<String>,
}

/// How long an answer may take before wrk counts it a timeout, left out of its
/// percentiles: its default, 2 s, is shorter than a proxy's tail at 256 connections on a
/// 600 KB page, which the percentiles must show.
const TIMEOUT: &str = "10s";

/// One wrk thread keeping `connections` requests in flight for `duration`.
pub(super) async fn run(url: &str, connections: u32, duration: Duration) -> Result<Load> {
    let output = tokio::process::Command::new("wrk")
        .args([
            "-t1".to_owned(),
            format!("-c{connections}"),
            format!("-d{}s", duration.as_secs()),
            "--latency".to_owned(),
            "--timeout".to_owned(),
            TIMEOUT.to_owned(),
            url.to_owned(),
        ])
        .kill_on_drop(true)
        .output()
        .await
        .context(
            "running wrk: install it with `apt-get install wrk` \
             (scripts/lib.sh's ensure_test_packages does)",
        )?;
    let report = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk {url} failed ({}): {report}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse(&report).with_context(|| format!("reading wrk's report on {url}:\n{report}"))
}

/// wrk 4's report: `Requests/sec:  83000.00`, the `Latency Distribution` lines such as
/// `99%    1.15ms`, and, only when there were any, `Non-2xx or 3xx responses: 12` (wrk
/// counts 4xx and 5xx there) and `Socket errors: connect 0, read 3, write 0, timeout 0`.
fn parse(report: &str) -> Result<Load> {
    let field = |prefix: &str| {
        report
            .lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix))
            .map(str::trim)
    };
    let requests_per_s = field("Requests/sec:")
        .context("no Requests/sec")?
        .parse()
        .context("Requests/sec is not a number")?;
    let latency = |percent: &str| -> Result<Duration> {
        let value = field(percent).with_context(|| format!("no {percent} latency"))?;
        duration(value).with_context(|| format!("the {percent} latency {value:?}"))
    };
    let mut errors = Vec::new();
    if let Some(answers) = field("Non-2xx or 3xx responses:") {
        errors.push(format!("{answers} answers of 4xx or 5xx"));
    }
    if let Some(sockets) = field("Socket errors:") {
        errors.push(format!("socket errors: {sockets}"));
    }
    Ok(Load {
        requests_per_s,
        p50: latency("50%")?,
        p99: latency("99%")?,
        errors,
    })
}

/// A wrk duration: `370.00us`, `1.15ms`, `2.00s` or `1.00m`.
fn duration(value: &str) -> Result<Duration> {
    let split = value
        .find(|c: char| c.is_ascii_alphabetic())
        .context("no unit")?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse()?;
    let seconds = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        other => bail!("the unit {other:?}"),
    };
    Ok(Duration::from_secs_f64(seconds))
}
