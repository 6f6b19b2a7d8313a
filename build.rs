//! Embeds the version and git revision into the app, and refuses to build without the assets the
//! app loads at run time (a missing ringtone would otherwise surface only when a call rings).

use std::path::Path;
use std::process::Command;

/// Every file under `assets/` that the app opens. `assets/README.md` says where each comes from.
const REQUIRED_ASSETS: &[&str] = &[
    "assets/ringtones/classic.opus",
    "assets/ringtones/chime.opus",
    "assets/ringtones/pulse.opus",
    "assets/sounds/hold-music.opus",
    "assets/icons/switchboard.svg",
    "assets/icons/switchboard-256.png",
    "assets/fonts/Inter-Regular.otf",
    "assets/fonts/Inter-SemiBold.otf",
    "assets/fonts/Phosphor.ttf",
    "assets/fonts/Phosphor-Fill.ttf",
];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let missing: Vec<&str> = REQUIRED_ASSETS
        .iter()
        .copied()
        .filter(|p| !root.join(p).is_file())
        .collect();
    if !missing.is_empty() {
        panic!(
            "missing assets: {}. Run `cargo xtask assets` to make them again.",
            missing.join(", ")
        );
    }
    for p in REQUIRED_ASSETS {
        println!("cargo:rerun-if-changed={p}");
    }

    let revision = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=SWITCHBOARD_GIT_REVISION={revision}");
    // Rebuild when HEAD moves, so the embedded revision is never stale.
    for p in [".git/HEAD", ".git/refs/heads"] {
        if root.join(p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
}
