//! Passwords. They never go into the database. The system keyring is not wired yet, so the
//! password goes to a file only the user can read (mode 0600) in the profile folder, and the
//! caller is told so, so the UI can show a visible warning.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::{Result, StorageError};

/// Where a password was kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretBackend {
    Keyring,
    /// A user-only file: weaker than a keyring, and the user should know.
    PrivateFile,
}

impl SecretBackend {
    pub fn warning(self) -> Option<&'static str> {
        match self {
            SecretBackend::Keyring => None,
            SecretBackend::PrivateFile => Some(
                "No system keyring is available: your password is kept in a file only you can read.",
            ),
        }
    }
}

fn file(dir: &Path) -> PathBuf {
    dir.join("password")
}

pub fn save_password(dir: &Path, password: &str) -> Result<SecretBackend> {
    let path = file(dir);
    let io = |e| StorageError::Io {
        path: path.clone(),
        source: e,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(io)?;
    f.write_all(password.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(SecretBackend::PrivateFile)
}

pub fn load_password(dir: &Path) -> Result<Option<(String, SecretBackend)>> {
    let path = file(dir);
    match std::fs::read_to_string(&path) {
        Ok(p) => Ok(Some((p, SecretBackend::PrivateFile))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::Io { path, source: e }),
    }
}

pub fn forget_password(dir: &Path) -> Result<()> {
    let path = file(dir);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(StorageError::Io { path, source: e })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_password_file_is_private_and_can_be_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let backend = save_password(dir.path(), "s3cret").unwrap();
        assert!(backend.warning().is_some());
        let mode = std::fs::metadata(dir.path().join("password"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_password(dir.path()).unwrap().unwrap().0, "s3cret");
        forget_password(dir.path()).unwrap();
        assert_eq!(load_password(dir.path()).unwrap(), None);
    }
}
