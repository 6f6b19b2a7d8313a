//! `cargo xtask demo` as the README promises it, from this build: the demo's cast from
//! `harness::demo` (bots on 1002–1004, a desk phone on 1001 and Ada's mobile on 4001) and the real app under Xvfb with
//! the demo's command line, signed in as 1001. The app's screenshot tour then calls the echo bot
//! on 1002 instead of the PBX's echo test; the bot answers, and the call view shows it talking.

use std::process::Stdio;

use crate::support::*;

#[test]
fn the_demo_signs_in_as_1001_and_calls_the_echo_bot() {
    let pbx = pbx();
    // The demo's extensions are fixed; leased, no other test registers them meanwhile.
    let _leases: Vec<Lease> = ["1001", "1002", "1003", "1004", "4001"]
        .iter()
        .map(|e| pbx.lease(e).unwrap())
        .collect();
    let bots = harness::demo::start_bots(&harness::paths::built_example("agent")).unwrap();

    let display = harness::display::Xvfb::start((1280, 800)).unwrap();
    let data = tempfile::tempdir().unwrap();
    let shots = tempfile::tempdir().unwrap();
    let mut cmd =
        harness::demo::app_command(std::path::Path::new(env!("CARGO_BIN_EXE_switchboard")))
            .unwrap();
    cmd.args(["--headless-audio", "--screenshot-tour"])
        .arg(shots.path())
        .args(["--dial", "1002"])
        .env("DISPLAY", &display.display)
        .env("SWITCHBOARD_DATA_DIR", data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = harness::process::run_with_timeout(&mut cmd, TIMEOUT * 3).unwrap();
    let log = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");

    // The echo bot took a call from 1001 and talked on it.
    let echo = bots.iter().find(|b| b.extension == "1002").unwrap();
    let lines: Vec<String> = echo.lines.try_iter().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(r#""event":"incoming_call""#) && l.contains(r#""from":"1001""#)),
        "the echo bot saw no call from 1001: {lines:#?}\napp log:\n{log}"
    );
    assert!(
        lines.iter().any(|l| l.contains(r#""state":"active""#)),
        "the echo bot never answered: {lines:#?}"
    );
    // The window was signed in and showed the call (the tour photographs it only once the call
    // is active with audio statistics).
    for name in ["contacts", "call"] {
        let path = shots.path().join(format!("{name}.png"));
        let img = image::open(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .to_rgba8();
        assert!(img.width() >= 800 && img.height() >= 600, "{name}");
    }
}
