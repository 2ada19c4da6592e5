//! A browser's profile directory (its `user-data-dir`), and the start-up sweep of those
//! that services which died left behind.
//!
//! Chromium keeps its state and caches there, many small files. A service deletes its
//! browser's directory with the browser, but one that is killed (`kill -9`, the
//! out-of-memory killer, a service manager that kills only the main process) cannot.
//! So each directory is locked (`flock` on the directory itself) for as long as its
//! service lives: the kernel drops the lock when the service dies, however it dies, and
//! a starting service deletes every directory of this name whose lock it can take.
//! A lock rather than a process id in the name, because the temp directory may be
//! shared with services in other PID namespaces (containers), where a live owner's id
//! names no process here, and a dead owner's id may be in use again.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// What every profile directory's name starts with, in the temp directory. Not the
/// `ogshot-chromium-` of the Lambda layer's unpacked browser, which must stay.
const PREFIX: &str = "ogshot-profile-";

/// A new directory is made and locked under this name, then renamed to its
/// [`PREFIX`] name, so that no sweep ever finds one of a live service unlocked.
const UNLOCKED_PREFIX: &str = "ogshot-new-profile-";

/// A browser's profile directory, locked while this value lives and deleted with it.
#[derive(Debug)]
pub(super) struct Profile {
    path: PathBuf,
    /// The open directory holding the lock; closed after the directory is deleted.
    _lock: File,
}

impl Profile {
    /// A new, empty, locked profile directory in the temp directory.
    pub(super) fn create() -> io::Result<Self> {
        let staged = tempfile::Builder::new()
            .prefix(UNLOCKED_PREFIX)
            // Long enough that the renamed directory never meets another's name.
            .rand_bytes(16)
            .tempdir()?;
        let lock = File::open(staged.path())?;
        lock.try_lock().map_err(io::Error::from)?;
        let suffix = staged
            .path()
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_prefix(UNLOCKED_PREFIX))
            .ok_or_else(|| io::Error::other("tempfile named the directory unexpectedly"))?;
        let path = staged.path().with_file_name(format!("{PREFIX}{suffix}"));
        std::fs::rename(staged.path(), &path)?;
        // Renamed: there is nothing left under the staged name to delete.
        let _ = staged.keep();
        Ok(Self { path, _lock: lock })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Profile {
    /// Deletes the directory (thousands of small files: drop it off the async threads).
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Deletes every profile directory in the temp directory whose lock nobody holds, the
/// leftovers of services that died, and answers how many it deleted. A directory is
/// deleted while it is locked, so that a service starting at the same time skips it.
pub(super) fn sweep_leftovers() -> usize {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with(PREFIX))
                // The entry itself, not what a symbolic link points at.
                && entry.file_type().is_ok_and(|kind| kind.is_dir())
        })
        .filter(|entry| delete_if_unlocked(&entry.path()))
        .count()
}

fn delete_if_unlocked(dir: &Path) -> bool {
    let Ok(lock) = File::open(dir) else {
        return false;
    };
    // Held by a live service (this one included: each open is a lock of its own).
    if lock.try_lock().is_err() {
        return false;
    }
    std::fs::remove_dir_all(dir).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unit-level half; the service binary's own sweep at start-up is tested in
    /// `image-service/tests/killed.rs`.
    #[test]
    fn a_profile_is_locked_while_it_lives_and_deleted_with_it() {
        let profile = Profile::create().expect("a profile directory");
        let path = profile.path().to_owned();
        assert!(path.is_dir());
        assert!(
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(PREFIX)),
            "{}",
            path.display()
        );
        assert!(
            File::open(&path).unwrap().try_lock().is_err(),
            "a live profile is locked"
        );
        assert!(!delete_if_unlocked(&path), "a sweep leaves it");
        assert!(path.is_dir());
        drop(profile);
        assert!(!path.exists());
    }
}
