//! The account to sign in with when the app starts: the last one signed in with "Remember me".
//! A small JSON file in the data directory, beside the profiles; its password stays where
//! [`crate::secrets`] put it.

use std::path::{Path, PathBuf};

use crate::{Result, StorageError};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Remembered {
    pub user: String,
    pub server: String,
    /// "udp", "tcp" or "tls".
    pub transport: String,
}

fn file(data_dir: &Path) -> PathBuf {
    data_dir.join("remembered.json")
}

/// Remembers this account for the next start, in `data_dir`: written whole, then renamed into
/// place.
pub fn remember(data_dir: &Path, r: &Remembered) -> Result<()> {
    let path = file(data_dir);
    let io = |source| StorageError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    let body = serde_json::to_vec_pretty(r).expect("plain strings serialise");
    std::fs::write(&tmp, body).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)
}

/// The remembered account, if any. A damaged file is treated as none (and left for the next
/// `remember` to replace): the user then simply signs in again.
pub fn remembered(data_dir: &Path) -> Option<Remembered> {
    let bytes = std::fs::read(file(data_dir)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Forgets it (logging out).
pub fn forget(data_dir: &Path) -> Result<()> {
    let path = file(data_dir);
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

    #[test]
    fn remembers_forgets_and_survives_a_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(remembered(d), None);
        let r = Remembered {
            user: "1001".into(),
            server: "127.0.0.1:25060".into(),
            transport: "udp".into(),
        };
        remember(d, &r).unwrap();
        assert_eq!(remembered(d), Some(r));
        std::fs::write(file(d), b"{ not json").unwrap();
        assert_eq!(remembered(d), None);
        forget(d).unwrap();
        forget(d).unwrap();
        assert_eq!(remembered(d), None);
    }
}
