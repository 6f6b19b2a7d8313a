//! Files the database points to (voicemail audio, attachments, fax documents). The rows hold
//! paths as text, relative to the profile folder when the file lives inside it, so a profile
//! folder that is moved or restored elsewhere keeps working.

use std::path::{Path, PathBuf};

use crate::{Result, StorageError};

/// The text stored for `path`: relative to `dir` when inside it.
pub(crate) fn to_text(dir: &Path, path: &Path) -> Result<String> {
    let stored = path.strip_prefix(dir).unwrap_or(path);
    stored
        .to_str()
        .map(str::to_owned)
        .ok_or_else(|| StorageError::UnnamablePath(path.to_path_buf()))
}

/// The path for stored `text`, absolute when the profile folder is.
pub(crate) fn from_text(dir: &Path, text: &str) -> PathBuf {
    dir.join(text)
}

/// Removes `path`; one already gone counts as removed, since that is what was wanted.
/// Returns whether it was still there.
pub(crate) fn remove(path: &Path) -> std::io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_profile_are_kept_relative_and_outside_ones_absolute() {
        let dir = Path::new("/home/u/.local/share/switchboard/profiles/1001@pbx");
        let inside = dir.join("voicemail/1.ogg");
        assert_eq!(to_text(dir, &inside).unwrap(), "voicemail/1.ogg");
        assert_eq!(from_text(dir, "voicemail/1.ogg"), inside);
        let outside = Path::new("/tmp/scan.pdf");
        assert_eq!(to_text(dir, outside).unwrap(), "/tmp/scan.pdf");
        assert_eq!(from_text(dir, "/tmp/scan.pdf"), outside);
    }
}
