//! The image service's own binary killed with `kill -9`, as the out-of-memory killer or
//! a service manager that signals only the main process ends it: no Chromium process it
//! started outlives it (Debian's headless shell, and the Lambda layer's Chromium behind
//! its launcher script), and the next start deletes the profile directory it left.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image_service::browser::proc_stat;
use rustix::process::{Pid, Signal};
use test_kit::process::{Process, free_port};
use tokio::process::Command;

/// How long the kernel and Chromium get to end a killed service's browser: its
/// processes go within milliseconds here; this only bounds a failing run.
const GONE_WITHIN: Duration = Duration::from_secs(10);

/// A process as `/proc` shows it, with its start time, so that a process id used again
/// by a new process is not taken for the old one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Proc {
    pid: u32,
    started: u64,
    name: String,
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Every process descended from `root` (not `root` itself), by parent links.
fn descendants(root: u32) -> Vec<Proc> {
    let parents: Vec<(u32, u32, u64)> = all_pids()
        .into_iter()
        .filter_map(|pid| proc_stat(pid).map(|stat| (pid, stat.ppid, stat.started)))
        .collect();
    let mut found: Vec<Proc> = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, _, started) in parents.iter().filter(|(_, ppid, _)| *ppid == parent) {
            found.push(Proc {
                pid,
                started,
                name: name(pid),
            });
            frontier.push(pid);
        }
    }
    found
}

/// The command's name, and Chromium's `--type` of the process (zygote, renderer, ...).
fn name(pid: u32) -> String {
    let command = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let arguments = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let kind = arguments
        // Chromium's children rewrite their command line as one space-separated string.
        .split(|&byte| byte == 0 || byte == b' ')
        .find_map(|argument| argument.strip_prefix(b"--type="))
        .map_or("browser".into(), String::from_utf8_lossy);
    format!("{} ({kind})", command.trim())
}

/// Whether `process` still runs: a zombie holds no memory (and this container's PID 1,
/// which inherits a killed service's orphans, may never reap them).
fn running(process: &Proc) -> bool {
    proc_stat(process.pid)
        .is_some_and(|stat| stat.started == process.started && !matches!(stat.state, 'Z' | 'X'))
}

/// The processes' memory in MiB: resident (shared pages counted in each process) and
/// proportional (shared pages divided among the processes that map them).
fn memory_mib(processes: &[Proc]) -> (u64, u64) {
    let field = |pid: u32, name: &str| -> Option<u64> {
        let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
        rollup
            .lines()
            .find_map(|line| line.strip_prefix(name))?
            .trim()
            .trim_end_matches(" kB")
            .parse()
            .ok()
    };
    let sum = |name: &str| -> u64 {
        processes
            .iter()
            .filter_map(|process| field(process.pid, name))
            .sum::<u64>()
            / 1024
    };
    (sum("Rss:"), sum("Pss:"))
}

/// The image service's binary with `tmp` as its temp directory (where its browser's
/// profile goes) and its storage, answering on a free port once its browser is up.
struct Service {
    process: Process,
    pid: u32,
    port: u16,
}

impl Service {
    async fn start(tmp: &Path, chromium: &Path) -> Self {
        let port = free_port();
        let storage = tmp.join("images");
        let mut process = Process::spawn(
            "image-service",
            Command::new(env!("CARGO_BIN_EXE_image-service"))
                .arg("--storage-dir")
                .arg(&storage)
                .env("IMAGE_SERVICE_ADDR", format!("127.0.0.1:{port}"))
                .env("CHROMIUM_PATH", chromium)
                .env("TMPDIR", tmp)
                .env("RUST_LOG", "info")
                .env_remove("AWS_LAMBDA_RUNTIME_API"),
        );
        process
            .wait_for("image service listening on", Duration::from_secs(60))
            .await;
        // This test's own child, told apart from other tests' services by its storage.
        let pid = all_pids()
            .into_iter()
            .find(|&pid| {
                proc_stat(pid).is_some_and(|stat| stat.ppid == std::process::id())
                    && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                        cmdline
                            .split(|&byte| byte == 0)
                            .any(|arg| arg == storage.as_os_str().as_encoded_bytes())
                    })
            })
            .expect("the image service is a child of this test");
        Self { process, pid, port }
    }

    /// Gets a card, so that the browser has rendered (a renderer process is up).
    async fn render_a_card(&self) {
        let addr = ([127, 0, 0, 1], self.port).into();
        let reply =
            test_kit::raw_http::request(addr, "GET", &test_kit::card_path("12-34-10"), &[]).await;
        assert_eq!(reply.status, 200, "{:#?}", self.process.output());
    }

    /// Kills the service, and only it, with SIGKILL: nothing of its own runs after.
    fn kill_9(&self) {
        let pid = Pid::from_raw(self.pid as i32).expect("a process id");
        rustix::process::kill_process(pid, Signal::KILL).expect("kill -9 the service");
    }
}

/// Kills `service` with SIGKILL and fails, naming them, if any process of its browser
/// is still running [`GONE_WITHIN`] later; survivors are killed before the failure.
async fn kill_9_leaves_no_browser(service: &Service, what: &str) {
    let browser = descendants(service.pid);
    assert!(
        browser.iter().any(|process| process.name.contains("chrom")),
        "{what}: the service's browser is running: {browser:?}"
    );
    eprintln!(
        "{what}: before kill -9, {} processes under the service, (RSS, PSS) {:?} MiB: {:?}",
        browser.len(),
        memory_mib(&browser),
        browser
            .iter()
            .map(|process| process.name.as_str())
            .collect::<Vec<_>>()
    );
    service.kill_9();
    let killed = Instant::now();
    let mut survivors = browser.clone();
    while !survivors.is_empty() && killed.elapsed() < GONE_WITHIN {
        tokio::time::sleep(Duration::from_millis(20)).await;
        survivors.retain(running);
    }
    eprintln!(
        "{what}: {} of them running {:?} after kill -9, (RSS, PSS) {:?} MiB",
        survivors.len(),
        killed.elapsed(),
        memory_mib(&survivors)
    );
    for survivor in &survivors {
        if let Some(pid) = Pid::from_raw(survivor.pid as i32) {
            let _ = rustix::process::kill_process(pid, Signal::KILL);
        }
    }
    assert!(
        survivors.is_empty(),
        "{what}: {} of the killed service's {} browser processes were still running {:?} \
         after kill -9 ((RSS, PSS) {:?} MiB): {survivors:?}",
        survivors.len(),
        browser.len(),
        GONE_WITHIN,
        memory_mib(&survivors),
    );
}

fn debian_chromium() -> PathBuf {
    let path = PathBuf::from(image_service::browser::HEADLESS_SHELL);
    test_kit::require_chromium(&path, image_service::browser::INSTALL_HINT);
    path
}

/// The launcher of the built Lambda layer, the function's `CHROMIUM_PATH` on Lambda.
fn lambda_launcher() -> PathBuf {
    let launcher = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../infra/chromium-lambda/build/layer-x86_64/chromium/chromium");
    assert!(
        launcher.is_file(),
        "the Lambda Chromium layer is not built at {}: run `scripts/test`, or `bash \
         infra/chromium-lambda/build.sh` before `cargo test`",
        launcher.display()
    );
    launcher
}

/// Regression: a killed service's Chromium was re-parented to PID 1 and kept running
/// (about 340 MB), for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_leaves_no_browser_running() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let service = Service::start(tmp.path(), &debian_chromium()).await;
    service.render_a_card().await;
    kill_9_leaves_no_browser(&service, "Debian's headless shell").await;
}

/// The same with the Chromium that ships to Lambda, which its launcher script `exec`s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_leaves_no_lambda_layer_browser_running() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let service = Service::start(tmp.path(), &lambda_launcher()).await;
    service.render_a_card().await;
    kill_9_leaves_no_browser(&service, "the Lambda layer's Chromium").await;
}

fn profiles(tmp: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(tmp)
        .expect("the temp directory")
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("ogshot-profile-"))
        })
        .collect();
    found.sort();
    found
}

/// Regression: a killed service's profile directory stayed in the temp directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_start_deletes_the_profile_a_killed_service_left() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let chromium = debian_chromium();
    let killed = Service::start(tmp.path(), &chromium).await;
    kill_9_leaves_no_browser(&killed, "the first service").await;
    let left = profiles(tmp.path());
    assert_eq!(
        left.len(),
        1,
        "the killed service's profile is left: {left:?}"
    );
    assert!(
        std::fs::read_dir(&left[0]).unwrap().next().is_some(),
        "Chromium wrote its profile"
    );

    // What the sweep must keep: a profile whose service is alive (this test holds its
    // lock, as a service does), and the Lambda layer's unpacked Chromium, which shares
    // the temp directory.
    let alive = tmp.path().join("ogshot-profile-of-a-live-service");
    std::fs::create_dir(&alive).unwrap();
    let lock = std::fs::File::open(&alive).unwrap();
    lock.try_lock().expect("the live service's lock");
    let layer = tmp.path().join("ogshot-chromium-153.0.0-53a15d6c3a3d27df");
    std::fs::create_dir(&layer).unwrap();
    std::fs::write(layer.join("chromium"), b"the unpacked browser").unwrap();

    let next = Service::start(tmp.path(), &chromium).await;
    assert!(
        !left[0].exists(),
        "the killed service's profile {} is still there after the next start: {:#?}",
        left[0].display(),
        next.process.output()
    );
    assert!(alive.is_dir(), "a live service's profile is kept");
    assert!(
        layer.join("chromium").is_file(),
        "the layer's files are kept"
    );
    let now = profiles(tmp.path());
    assert_eq!(
        now.len(),
        2,
        "the live one and the new service's own: {now:?}"
    );
    drop(lock);
}
