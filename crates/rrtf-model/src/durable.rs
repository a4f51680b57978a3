//! Durable directory writes, shared by [`crate::Checkpoint::save`] and the trainer's
//! checkpoints (`rrtf_train::Trainer::save_checkpoint`): files are written into a staging
//! directory, fsynced, and only then take their final names, so a save killed midway never
//! leaves a half-written file under a real name. A killed save's staging directory is removed
//! by the next save ([`remove_staging`]).
//!
//! The functions return the path an I/O error happened at, for the caller's own error type.

use std::path::{Path, PathBuf};

/// An I/O error and the path it happened at.
pub type IoAt = (PathBuf, std::io::Error);

/// fsync a file; returns its size.
pub fn sync_file(path: &Path) -> Result<u64, IoAt> {
    let at = |e| (path.to_path_buf(), e);
    let f = std::fs::File::open(path).map_err(at)?;
    f.sync_all().map_err(at)?;
    Ok(f.metadata().map_err(at)?.len())
}

/// fsync a directory (its entries: a created or renamed file survives a crash).
pub fn sync_dir(path: &Path) -> Result<(), IoAt> {
    std::fs::File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|e| (path.to_path_buf(), e))
}

/// Remove the staging directories in `dir` (names `<prefix>...<suffix>`) that saves killed
/// midway left behind.
pub fn remove_staging(dir: &Path, prefix: &str, suffix: &str) -> Result<(), IoAt> {
    let entries = std::fs::read_dir(dir).map_err(|e| (dir.to_path_buf(), e))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) && name.ends_with(suffix) {
            std::fs::remove_dir_all(e.path()).map_err(|err| (e.path(), err))?;
        }
    }
    Ok(())
}

/// Create the staging directory `dir/<name>` (and `dir`), after removing stale ones
/// ([`remove_staging`] with `prefix` and `suffix`); returns its path.
pub fn staging_dir(dir: &Path, name: &str, prefix: &str, suffix: &str) -> Result<PathBuf, IoAt> {
    std::fs::create_dir_all(dir).map_err(|e| (dir.to_path_buf(), e))?;
    remove_staging(dir, prefix, suffix)?;
    let staging = dir.join(name);
    std::fs::create_dir_all(&staging).map_err(|e| (staging.clone(), e))?;
    Ok(staging)
}
