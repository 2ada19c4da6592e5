//! An app's own binary, or a tool, run by a test as a child process: in its own process
//! group so that everything it starts goes with it, with its output kept for the failure
//! message. Tests start binaries when the thing under test is the process itself (its
//! environment, its host), never to avoid calling a router in-process.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// A child process in its own process group, killed with its whole group when dropped,
/// with its output kept for the failure message.
#[derive(Debug)]
pub struct Process {
    name: &'static str,
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// Starts `command`, its stdout and stderr kept line by line.
    ///
    /// # Panics
    /// If it cannot start.
    pub fn spawn(name: &'static str, command: &mut Command) -> Self {
        let mut child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let output = Arc::new(Mutex::new(Vec::new()));
        keep_lines(child.stdout.take().expect("piped"), Arc::clone(&output));
        keep_lines(child.stderr.take().expect("piped"), Arc::clone(&output));
        Self {
            name,
            child,
            output,
        }
    }

    /// Every line it has printed so far, stdout and stderr interleaved as they came.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().expect("output lock").clone()
    }

    /// Waits until a line of output contains `marker`, and returns that line.
    ///
    /// # Panics
    /// If the process exits first, or `timeout` passes: with everything it printed.
    pub async fn wait_for(&mut self, marker: &str, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            if let Some(line) = self.output().into_iter().find(|line| line.contains(marker)) {
                return line;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}): {:#?}", self.name, self.output());
            }
            assert!(
                started.elapsed() < timeout,
                "{} printed no {marker:?} within {timeout:?}: {:#?}",
                self.name,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Process {
    /// SIGTERM to the group, then up to 5 s to exit: the image service kills and
    /// reaps its browser (a process group of its own) on SIGTERM, which a SIGKILL would
    /// leave behind.
    fn drop(&mut self) {
        let Some(pid) = self.child.id() else {
            return;
        };
        let _ = std::process::Command::new("kill")
            .args(["-TERM", "--", &format!("-{pid}")])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn keep_lines(stream: impl AsyncRead + Unpin + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            into.lock().expect("output lock").push(line);
        }
    });
}

/// A free loopback port, for a process that must be told its port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}
