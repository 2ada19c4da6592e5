//! The browser's process tree: started in a process group of its own, so that one
//! signal reaches the browser and every renderer, GPU and utility process it forked;
//! reaped when it ends, so that no zombie outlives it; and killed by the kernel when
//! the service dies, however it dies.
//!
//! chromiumoxide's own launcher can do none of that (its `Command` is private), so the
//! process is spawned here and chromiumoxide only connects to its DevTools socket.
//! Zombies matter because a container often has no reaping init (this one's PID 1 is
//! not): when the browser dies, its children are re-parented, and without a subreaper
//! they stay zombies for good. The service therefore makes itself the subreaper of its
//! descendants and reaps the browser's process group itself.
//!
//! A service that is killed (`kill -9`, the out-of-memory killer, a service manager
//! that kills only the main process) runs none of its own clean-up, so the browser gets
//! a parent-death signal: `SIGKILL` from the kernel when its parent goes. Chromium's
//! own children (zygotes, renderers, the GPU process) then exit as their browser's IPC
//! channel closes, and the profile directory is deleted by the next start's sweep
//! ([`super::profile`]). The signal is a thread's, not a process's: the kernel sends it
//! when the thread that forked exits, and tokio's blocking threads exit after 10 s
//! idle. So every browser is forked by one thread that lives as long as the process
//! ([`spawn_lasting`]). The same holds on Lambda: the signal survives the layer's
//! launcher script, which `exec`s Chromium in the same process.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Mutex, Once, mpsc};
use std::time::Duration;

use rustix::process::{Pid, Signal, WaitOptions};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::profile::Profile;
use crate::error::RenderError;

/// How long reaping a killed process tree may take before the stragglers are left.
const REAP_TIMEOUT: Duration = Duration::from_secs(2);

/// The browser's process tree and its profile directory, which goes with it.
#[derive(Debug)]
pub struct BrowserProcess {
    child: Child,
    pid: u32,
    stderr: JoinHandle<()>,
    profile: Option<Profile>,
}

impl BrowserProcess {
    /// Spawns `executable` with `args` in a process group of its own, to be killed if
    /// this process dies, its stdout discarded and its stderr handed back; `profile` is
    /// deleted when the tree is.
    pub(super) async fn spawn(
        executable: &Path,
        args: Vec<String>,
        profile: Profile,
    ) -> Result<(Self, ChildStderr), RenderError> {
        become_subreaper();
        let mut command = Command::new(executable);
        command
            .args(args)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        die_with_this_process(&mut command);
        let mut child = spawn_lasting(command).await.map_err(|e| {
            RenderError::Launch(format!("cannot start {}: {e}", executable.display()))
        })?;
        let pid = child.id().unwrap_or_default();
        let stderr = child.stderr.take().expect("stderr is piped");
        let process = Self {
            child,
            pid,
            stderr: tokio::spawn(async {}),
            profile: Some(profile),
        };
        Ok((process, stderr))
    }

    /// The task reading the browser's stderr, stopped with the tree.
    pub(super) fn reading_stderr(&mut self, reader: JoinHandle<()>) {
        self.stderr = reader;
    }

    /// The browser's process id, which is also its process group's id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Resolves when the browser process has exited (and is reaped).
    pub async fn exited(&mut self) {
        let _ = self.child.wait().await;
    }

    /// Kills the whole process group, even stopped processes (SIGKILL needs no
    /// cooperation), reaps the browser and every member re-parented to this process,
    /// and deletes the profile directory.
    pub async fn kill_tree(&mut self) {
        let mut members = group_members(self.pid);
        if let Some(group) = Pid::from_raw(self.pid as i32) {
            let _ = rustix::process::kill_process_group(group, Signal::KILL);
        }
        // A process forked just before the kill (a renderer for a new window) is in
        // the group now too, if only as a zombie.
        for member in group_members(self.pid) {
            if !members.contains(&member) {
                members.push(member);
            }
        }
        let _ = tokio::time::timeout(REAP_TIMEOUT, self.child.wait()).await;
        reap(self.pid, members).await;
        reap_leftovers();
        self.stderr.abort();
        if let Some(profile) = self.profile.take() {
            // A profile holds thousands of small files: delete it off the async threads.
            let _ = tokio::task::spawn_blocking(move || drop(profile)).await;
        }
    }
}

impl Drop for BrowserProcess {
    fn drop(&mut self) {
        // The normal path is `kill_tree`; this only keeps a dropped browser from
        // living on (its members are then reaped when this process exits).
        if self.profile.is_some()
            && let Some(group) = Pid::from_raw(self.pid as i32)
        {
            let _ = rustix::process::kill_process_group(group, Signal::KILL);
        }
    }
}

/// Has the kernel kill `command`'s process when the thread that forks it exits
/// (`PR_SET_PDEATHSIG`); [`spawn_lasting`] forks from a thread that exits only with this
/// process. The signal is kept across `exec` (not across a set-user-ID binary's, which
/// Chromium is not).
#[allow(unsafe_code)]
fn die_with_this_process(command: &mut Command) {
    let service = rustix::process::getpid();
    let hook = move || -> std::io::Result<()> {
        rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
        // The service died between the fork and the line above: its signal is gone, so
        // the browser must not start at all.
        if rustix::process::getppid() != Some(service) {
            return Err(rustix::io::Errno::SRCH.into());
        }
        Ok(())
    };
    // SAFETY: the hook runs in the forked child before `exec`, where only
    // async-signal-safe work is allowed: it makes two system calls through rustix,
    // which allocates nothing and takes no lock, and builds an `io::Error` from an
    // errno, which allocates nothing either. It touches no memory shared with another
    // thread of this process.
    unsafe {
        command.pre_exec(hook);
    }
}

/// What the forking thread is asked: a command, the runtime its child is to be driven
/// by, and where the child goes.
type SpawnRequest = (
    Command,
    tokio::runtime::Handle,
    oneshot::Sender<std::io::Result<Child>>,
);

/// Spawns `command` from the one thread that forks every browser, started on first use
/// and never ended, so that a browser's parent-death signal fires only when this
/// process dies (see the module doc). The thread enters the caller's runtime for the
/// spawn, so the child is driven (and reaped) by it as if spawned there.
async fn spawn_lasting(command: Command) -> std::io::Result<Child> {
    static FORKER: Mutex<Option<mpsc::Sender<SpawnRequest>>> = Mutex::new(None);
    let forker = {
        let mut forker = FORKER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match forker.as_ref() {
            Some(sender) => sender.clone(),
            None => {
                let (sender, requests) = mpsc::channel::<SpawnRequest>();
                std::thread::Builder::new()
                    .name("browser-forker".to_owned())
                    .spawn(move || {
                        for (mut command, runtime, reply) in requests {
                            let _entered = runtime.enter();
                            // A caller that gave up drops the child, which kills it.
                            let _ = reply.send(command.spawn());
                        }
                    })?;
                forker.insert(sender).clone()
            }
        }
    };
    let (reply, child) = oneshot::channel();
    forker
        .send((command, tokio::runtime::Handle::current(), reply))
        .map_err(|_| std::io::Error::other("the browser forker thread is gone"))?;
    child
        .await
        .map_err(|_| std::io::Error::other("the browser forker thread is gone"))?
}

/// Makes this process the reaper of its orphaned descendants, once, so that a killed
/// browser's children become ours to reap rather than PID 1's to forget.
fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Err(error) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
            tracing::warn!(%error, "cannot become the subreaper of Chromium's processes");
        }
    });
}

/// The processes of process group `pgid`, from `/proc`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| proc_stat(pid).is_some_and(|stat| stat.pgrp == pgid))
        .collect()
}

/// What `/proc/<pid>/stat` says of a process that matters here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// `R`, `S`, `T` (stopped), `Z` (zombie), ...
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    /// When it started, in clock ticks after boot: with the id, names one process even
    /// after the id is used again.
    pub started: u64,
}

/// Reads `/proc/<pid>/stat`; `None` once the process is gone.
pub fn proc_stat(pid: u32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself hold spaces or parentheses.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    // Field 22 of the line; the iterator is at field 6.
    let started = fields.nth(16)?.parse().ok()?;
    Some(ProcStat {
        state,
        ppid,
        pgrp,
        started,
    })
}

/// Members of killed browsers' groups still there after [`REAP_TIMEOUT`] (a process
/// stuck in the kernel dies late), with their group: reaped by [`reap_leftovers`].
static STRAGGLERS: Mutex<Vec<(u32, u32)>> = Mutex::new(Vec::new());

/// Reaps what killed browsers left behind, once it is dead: the stragglers of their
/// process groups, and full Chromium's crash handlers (`chrome_crashpad_handler`), which
/// detach into process groups of their own, out of reach of the group kill, and exit
/// by themselves once their browser is gone; as the subreaper, this process is then
/// their parent. Only dead processes that are this process's children are reaped, and
/// a straggler only while it is still in its old group, so no other child's exit
/// status is ever taken. (Disabling crashpad with `--disable-crashpad-for-testing`
/// makes Chromium 156's network service crash on start.) Called after every kill and
/// on every idle probe.
pub(super) fn reap_leftovers() {
    let us = std::process::id();
    let dead_child = |pid: u32| proc_stat(pid).filter(|stat| stat.state == 'Z' && stat.ppid == us);
    let waitpid = |pid: u32| {
        if let Some(raw) = Pid::from_raw(pid as i32) {
            let _ = rustix::process::waitpid(Some(raw), WaitOptions::NOHANG);
        }
    };
    STRAGGLERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .retain(|&(pid, pgid)| match proc_stat(pid) {
            Some(stat) if stat.pgrp != pgid => false,
            Some(_) => match dead_child(pid) {
                Some(_) => {
                    waitpid(pid);
                    false
                }
                None => true,
            },
            None => false,
        });
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for pid in entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
        let dead_handler = dead_child(pid).is_some()
            && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.starts_with("chrome_crashpad"));
        if dead_handler {
            waitpid(pid);
        }
    }
}

/// Waits for each of `pids`, members of group `pgid`, to be reaped: by this process
/// once it was re-parented here (a member's parent dies at the same moment, so
/// re-parenting can lag the kill), or by whoever else is its parent. Those still there
/// after [`REAP_TIMEOUT`] are left to [`reap_leftovers`].
async fn reap(pgid: u32, mut pids: Vec<u32>) {
    let deadline = tokio::time::Instant::now() + REAP_TIMEOUT;
    while !pids.is_empty() && tokio::time::Instant::now() < deadline {
        pids.retain(|&pid| {
            let Some(raw) = Pid::from_raw(pid as i32) else {
                return false;
            };
            match rustix::process::waitpid(Some(raw), WaitOptions::NOHANG) {
                Ok(Some(_)) => false,
                // Not ours (yet): pending while it still exists.
                Ok(None) | Err(_) => Path::new(&format!("/proc/{pid}")).exists(),
            }
        });
        if !pids.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    if !pids.is_empty() {
        tracing::warn!(
            pgid,
            left = pids.len(),
            "browser processes outlived the reap; reaped later"
        );
        STRAGGLERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(pids.into_iter().map(|pid| (pid, pgid)));
    }
}
