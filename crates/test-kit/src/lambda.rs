//! AWS Lambda off AWS, for a suite that runs an app's own binary as Lambda runs it:
//! cargo lambda's Runtime API emulator (`cargo lambda watch --only-lambda-apis`) stands
//! in for the Lambda service, the binary polls it for invocations as on AWS, and a test
//! invokes it with a Function URL event (payload format 2.0) through the emulator's
//! Invoke API. (The emulator's own `/lambda-url/` route answered about one request in
//! four with no invocation behind it, then left the next unanswered for good.)
//!
//! Needs cargo-lambda, which `scripts/test` installs; missing, the test fails and says
//! how to install it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

use crate::process::{Process, free_port};
use crate::raw_http::{Reply, send_raw};

/// The name a function polling the emulator registers under when the emulator starts
/// no function itself.
pub const FUNCTION: &str = "_";

const INSTALL_HINT: &str = "cargo-lambda is missing: `scripts/test` installs it into \
     ~/.cache/ogshot/venv-lambda (pip install cargo-lambda==1.9.2 ziglang==0.17.1), or set \
     CARGO_LAMBDA to its path";

/// cargo-lambda: `CARGO_LAMBDA`, the venv `scripts/test` makes, or `PATH`.
pub fn cargo_lambda() -> PathBuf {
    if let Some(path) = std::env::var_os("CARGO_LAMBDA") {
        return path.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")));
    let venv = cache.map(|cache| cache.join("ogshot/venv-lambda/bin/cargo-lambda"));
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("cargo-lambda"))
            .find(|candidate| candidate.is_file())
    });
    venv.filter(|venv| venv.is_file())
        .or(on_path)
        .unwrap_or_else(|| panic!("{INSTALL_HINT}"))
}

/// The emulator for the package of `manifest` (its `Cargo.toml`), and the
/// `AWS_LAMBDA_*` variables it says the function needs.
pub async fn start_emulator(manifest: &Path) -> (Process, SocketAddr, Vec<(String, String)>) {
    let port = free_port();
    let mut emulator = Process::spawn(
        "cargo lambda watch",
        Command::new(cargo_lambda())
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1"])
            .args(["-P", &port.to_string()])
            .arg("--manifest-path")
            .arg(manifest)
            .env("NO_COLOR", "1"),
    );
    emulator
        .wait_for("starting Runtime server", Duration::from_secs(60))
        .await;
    let variables = emulator
        .output()
        .iter()
        .filter_map(|line| {
            let (name, value) = line.trim().split_once(' ')?.1.trim().split_once('=')?;
            name.starts_with("AWS_LAMBDA_")
                .then(|| (name.to_owned(), value.to_owned()))
        })
        .collect::<Vec<_>>();
    assert!(
        variables
            .iter()
            .any(|(name, _)| name == "AWS_LAMBDA_RUNTIME_API"),
        "the emulator named no runtime API: {:#?}",
        emulator.output()
    );
    (
        emulator,
        SocketAddr::from(([127, 0, 0, 1], port)),
        variables,
    )
}

/// Invokes the function with a Function URL `event` (JSON) through the emulator's
/// Invoke API. A buffered function's answer is the Function URL response as JSON in the
/// reply's body; a streaming one's is the reply itself.
pub async fn invoke(emulator: SocketAddr, event: &str) -> Result<Reply, String> {
    let head = format!(
        "POST /2015-03-31/functions/{FUNCTION}/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        event.len()
    );
    send_raw(
        emulator,
        [head.as_bytes(), event.as_bytes()].concat().as_slice(),
    )
    .await
}
