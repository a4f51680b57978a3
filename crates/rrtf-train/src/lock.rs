//! One writer per output directory. A training run owns its `output_dir` (checkpoints,
//! metrics, the model): a second `rrtf train` on the same directory (a round rerun while the
//! first trainer still runs, two shells) would interleave its steps and checkpoints with the
//! first's. [`DirLock::acquire`] refuses it, naming the holder.
//!
//! The lock is `flock(2)` on `<dir>/.rrtf.lock` (std's [`File::try_lock`]): the kernel drops it
//! when the holding process ends, however it ends (kill -9 included), so no stale lock outlives
//! its holder and none needs clearing by hand. The file's text (pid, host, command, start) only
//! names the holder in the refusal; an old text from a holder that is gone is overwritten.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Result, TrainError};

/// The lock file's name inside the locked directory.
pub const LOCK_FILE: &str = ".rrtf.lock";

/// An exclusive hold on a directory, released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Lock `dir` (created if missing) for `command` (e.g. "rrtf train"), or fail with
    /// [`TrainError::Locked`] naming the process that holds it.
    pub fn acquire(dir: &Path, command: &str) -> Result<DirLock> {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
        let path = dir.join(LOCK_FILE);
        let io = |e| TrainError::io(&path, e);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(TrainError::Locked {
                    dir: dir.to_owned(),
                    holder: if holder.is_empty() {
                        "a process that has not written its name yet".into()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let text = format!(
            "pid {} on {} (`{command}`), since unix time {since}\n",
            std::process::id(),
            hostname()
        );
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        Ok(DirLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "an unknown host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_naming_the_first_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("model");
        let first = DirLock::acquire(&out, "rrtf train").unwrap();
        assert!(first.path().is_file());
        // A second open file description conflicts even within one process (flock semantics),
        // as a second `rrtf train` would.
        let err = DirLock::acquire(&out, "rrtf train").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, TrainError::Locked { .. }), "{text}");
        assert!(
            text.contains(&format!("pid {} on ", std::process::id())),
            "{text}"
        );
        assert!(text.contains("`rrtf train`"), "{text}");
        assert!(text.contains(&out.display().to_string()), "{text}");
        assert!(rrtf_types::UserError::is_user_error(&err));
        drop(first);
        let again = DirLock::acquire(&out, "rrtf train").unwrap();
        drop(again);
    }

    /// The text left by a holder that died is not a lock: only the kernel's flock is.
    #[test]
    fn a_leftover_lock_file_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(LOCK_FILE),
            "pid 999999 on elsewhere (`rrtf train`), since unix time 1\n",
        )
        .unwrap();
        let lock = DirLock::acquire(dir.path(), "rrtf train").unwrap();
        let text = std::fs::read_to_string(lock.path()).unwrap();
        assert!(
            text.starts_with(&format!("pid {} on ", std::process::id())),
            "{text}"
        );
        assert!(!text.contains("999999"), "{text}");
    }
}
