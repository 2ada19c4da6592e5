//! Memory of processes as Linux reports it (`/proc`): one process's RSS and the peak
//! the kernel kept (which it can reset), a process tree's RSS and PSS, and a background
//! sampler that keeps the peaks. It only reads `/proc`, and writes a peak's reset there;
//! it never starts, signals or stops a process.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use image_service::ImageService;

/// A `<field>:  <n> kB` line of a `/proc/<pid>/` file, in bytes.
fn proc_kb(pid: u32, file: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Resident set size of a process, in bytes.
pub(crate) fn rss(pid: u32) -> u64 {
    proc_kb(pid, "status", "VmRSS:")
}

/// The highest RSS of a process since it started or since [`reset_peak_rss`]: the
/// kernel's own peak, which no sampling can miss.
pub(crate) fn peak_rss(pid: u32) -> u64 {
    proc_kb(pid, "status", "VmHWM:")
}

/// Starts a process's [`peak_rss`] over from its RSS now (`clear_refs`, Linux 4.0).
pub(crate) fn reset_peak_rss(pid: u32) -> std::io::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
}

/// Proportional set size: resident memory with each shared page divided among the
/// processes that map it, so a process tree's PSS adds up to what it really holds.
fn pss(pid: u32) -> u64 {
    proc_kb(pid, "smaps_rollup", "Pss:")
}

/// `root` and all its descendants (Chromium is a tree of processes).
fn process_tree(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // The command name may contain spaces; fields resume after the last ')'.
            let Some(after) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
                continue;
            };
            if let Some(ppid) = after
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok())
            {
                parents.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree
}

/// A process tree's memory, summed over its processes, as (RSS, PSS). Pages shared
/// between the processes (libraries, fonts, shared memory) count once per process in
/// the RSS sum, which so overstates what the tree holds; the PSS sum does not.
fn tree_memory(root: u32) -> (u64, u64) {
    process_tree(root)
        .into_iter()
        .map(|pid| (rss(pid), pss(pid)))
        .fold((0, 0), |(r, p), (rss, pss)| (r + rss, p + pss))
}

pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Samples the service's and Chromium's RSS (and Chromium's PSS) in the background and
/// keeps the peaks.
pub(crate) struct PeakRss {
    pub(crate) service: Arc<AtomicU64>,
    pub(crate) chromium: Arc<AtomicU64>,
    pub(crate) chromium_pss: Arc<AtomicU64>,
    pub(crate) stop: Arc<AtomicBool>,
}

impl PeakRss {
    pub(crate) fn start(chromium_pid: Arc<AtomicU64>) -> Self {
        let peaks = Self {
            service: Arc::default(),
            chromium: Arc::default(),
            chromium_pss: Arc::default(),
            stop: Arc::default(),
        };
        let (service, chromium, chromium_pss, stop) = (
            peaks.service.clone(),
            peaks.chromium.clone(),
            peaks.chromium_pss.clone(),
            peaks.stop.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                service.fetch_max(rss(std::process::id()), Ordering::Relaxed);
                let pid = chromium_pid.load(Ordering::Relaxed) as u32;
                if pid != 0 {
                    let (rss, pss) = tree_memory(pid);
                    chromium.fetch_max(rss, Ordering::Relaxed);
                    chromium_pss.fetch_max(pss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        peaks
    }
}

/// RSS of this process (the service runs in it) plus Chromium's tree, now. Points the
/// peak sampler at the current browser first: a relaunch changes its pid.
pub(crate) async fn rss_now(service: &ImageService, chromium_pid: &AtomicU64) -> u64 {
    let pid = service.chromium().pid().unwrap_or(0);
    chromium_pid.store(u64::from(pid), Ordering::Relaxed);
    rss(std::process::id()) + tree_memory(pid).0
}
