//! `cargo xtask demo`: the demo PBX, five bots (Ada's mobile among them), and the app signed in as 1001.
//! - 1002 answers and echoes your audio back;
//! - 1003 answers and plays music;
//! - 1004 replies to any text;
//! - a desk phone on 1001 itself, so the app asks where calls should be handled.
//!
//! The bots are sipcore's `agent` example, as `harness::demo` lists them (the whole-app demo
//! test starts the same cast). They run until the app closes (or Ctrl-C).

use std::process::Command;
use std::time::Duration;

use anyhow::Context;

/// `app_args` go to the app after the demo's own (`--dial 1002`, `--screenshot-tour DIR`).
pub fn run(app_args: &[&str]) -> anyhow::Result<i32> {
    crate::test::ensure_packages()?;
    harness::paths::ensure_speech_model()?;
    let pbx = harness::Pbx::new();
    crate::pbx::up(&pbx)?;
    let root = harness::paths::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("building the bots and the app…");
    // Two builds: with `--example` in the same invocation, cargo builds only the named example
    // and skips the app's binary.
    for args in [
        &["-p", "sipcore", "--example", "agent"][..],
        &["-p", "switchboard", "--bin", "switchboard"][..],
    ] {
        let ok = Command::new(&cargo)
            .current_dir(&root)
            .args(["build", "--quiet", "--release"])
            .args(args)
            .status()?
            .success();
        if !ok {
            anyhow::bail!("the build failed");
        }
    }
    let bots = harness::demo::start_bots(&root.join("target/release/examples/agent"))?;
    for bot in &bots {
        println!("bot {} ({}) {}", bot.extension, bot.name, bot.what);
    }
    let me = harness::users::get(harness::demo::ME)?;
    println!(
        "starting Switchboard signed in as {} ({})…",
        me.extension, me.name
    );
    let status = harness::demo::app_command(&root.join("target/release/switchboard"))?
        .args(app_args)
        .status();
    match status {
        Ok(s) if s.success() => Ok(0),
        Ok(s) => {
            println!("Switchboard exited with {s}; the bots keep running until Ctrl-C.");
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        Err(e) => Err(e).context("starting the app"),
    }
}
