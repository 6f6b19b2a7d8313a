//! `cargo xtask demo`: the demo PBX, four bots, and the app signed in as 1001.
//! - 1002 answers and echoes your audio back;
//! - 1003 answers and plays music;
//! - 1004 replies to any text;
//! - a desk phone on 1001 itself, so the app asks where calls should be handled.
//!
//! The bots are sipcore's `agent` example. They run until the app closes (or Ctrl-C).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use harness::process::ChildGuard;

pub fn run() -> anyhow::Result<i32> {
    crate::test::ensure_packages()?;
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
    let agent = root.join("target/release/examples/agent");
    let music = root.join("assets/sounds/hold-music.opus");
    let bots: [(&str, Vec<String>, &str); 4] = [
        (
            "1002",
            vec!["--auto-answer".into(), "--echo".into()],
            "answers and echoes your audio",
        ),
        (
            "1003",
            vec![
                "--auto-answer".into(),
                "--play".into(),
                music.display().to_string(),
            ],
            "answers and plays music",
        ),
        (
            "1004",
            vec![
                "--reply-texts".into(),
                "Hi, this is the demo bot on 1004: your message arrived.".into(),
            ],
            "replies to texts",
        ),
        // Ada's desk phone: it rings and nobody picks it up. The app, seeing a second device on
        // 1001, asks whether calls should be handled there or on the computer.
        ("1001", vec![], "is Ada's desk phone (rings, never answers)"),
    ];
    let mut running: Vec<ChildGuard> = Vec::new();
    for (ext, args, what) in bots {
        let user = harness::users::get(ext)?;
        let mut cmd = Command::new(&agent);
        cmd.args([
            "--server",
            &format!("127.0.0.1:{}", harness::pbx::SIP_PORT),
            "--user",
            ext,
        ])
        .args(["--display-name", &user.name])
        .env("AGENT_PASSWORD", &user.password)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        let mut child = ChildGuard::spawn(&format!("bot {ext}"), &mut cmd)?;
        let stdout = child.take_stdout().context("bot output")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let registered = harness::wait_for(
            &format!("bot {ext} to register"),
            Duration::from_secs(20),
            || {
                rx.try_iter()
                    .find(|l| l.contains(r#""state":"registered""#))
            },
        );
        registered.with_context(|| format!("bot {ext} did not register"))?;
        println!("bot {ext} ({}) {what}", user.name);
        running.push(child);
    }
    let me = harness::users::get("1001")?;
    println!("starting Switchboard signed in as 1001 ({})…", me.name);
    let status = Command::new(root.join("target/release/switchboard"))
        .args([
            "--server",
            &format!("127.0.0.1:{}", harness::pbx::SIP_PORT),
            "--user",
            "1001",
        ])
        .env("SWITCHBOARD_PASSWORD", &me.password)
        .env(
            "SWITCHBOARD_DIRECTORY",
            harness::pbx::directory_url("phonebook.xml"),
        )
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
