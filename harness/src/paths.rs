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

/// The example `name` of the build the running test binary belongs to (`target/<profile>/
/// examples/`): `cargo test --workspace` builds every package's examples, and
/// `cargo build -p sipcore --example agent` builds the agent alone.
pub fn built_example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let example = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples").join(name))
        .expect("the test binary sits in target/<profile>/deps");
    assert!(
        example.exists(),
        "{} is missing: build it with `cargo build --example {name}`",
        example.display()
    );
    example
}
