//! The file discipline both state stores share (the engine's state.json,
//! the gate's per-stream files): a lock file held with flock(2) while a
//! store is open, and a file replaced so that a crash leaves the old or the
//! new contents, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why a lock file could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process, or another store in this one, holds it.
    Held,
    Io(io::Error),
}

/// Opens (creating it, mode 0600) and locks `path` for as long as the
/// returned file lives. flock(2): released by the kernel when the process
/// dies, so a crash never leaves a stale lock behind.
pub fn lock(path: &Path) -> Result<File, LockError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(LockError::Io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(LockError::Held),
        Err(fs::TryLockError::Error(e)) => Err(LockError::Io(e)),
    }
}

/// Replaces `path` (in directory `dir`) with `bytes`: a temporary file
/// beside it (`<path>.tmp`, mode 0600) written and fsynced, renamed over
/// it, then the directory fsynced so that the rename itself is durable.
pub fn replace(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_refused_while_held_and_free_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let held = lock(&path).unwrap();
        assert!(matches!(lock(&path), Err(LockError::Held)));
        drop(held);
        lock(&path).unwrap();
    }

    #[test]
    fn replace_leaves_the_new_contents_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        replace(dir.path(), &path, b"old").unwrap();
        replace(dir.path(), &path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(replace(&dir.path().join("absent"), &dir.path().join("absent/x"), b"x").is_err());
    }
}
