//! Where the workspace and its git-ignored cache are.

use std::path::PathBuf;

/// The workspace root (the folder with the top `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// Git-ignored cache for the PBX chroot and run state. `SWITCHBOARD_CACHE_DIR` overrides it.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("SWITCHBOARD_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".cache"))
}
