//! An exclusive `flock` on a file: how test processes share one PBX and its extensions.

use std::fs::{self, File};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use anyhow::Context;

/// An exclusive `flock` held for the guard's life; the kernel drops it if the process dies.
pub struct FileLock {
    _file: File,
}

impl FileLock {
    pub fn exclusive(path: &Path) -> anyhow::Result<Self> {
        let file = open_lock_file(path)?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("locking {}", path.display()));
        }
        Ok(Self { _file: file })
    }

    /// `Ok(None)` when someone else holds it.
    pub fn try_exclusive(path: &Path) -> anyhow::Result<Option<Self>> {
        let file = open_lock_file(path)?;
        // SAFETY: as above.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Ok(None);
        }
        Ok(Some(Self { _file: file }))
    }
}

fn open_lock_file(path: &Path) -> anyhow::Result<File> {
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening lock file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_excludes_a_second_holder_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = FileLock::exclusive(&path).unwrap();
        assert!(FileLock::try_exclusive(&path).unwrap().is_none());
        drop(first);
        assert!(FileLock::try_exclusive(&path).unwrap().is_some());
    }
}
