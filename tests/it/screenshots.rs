//! The real window under Xvfb, signed in to the harness PBX, photographs its main screens into
//! `target/screenshots/` (sign-in, contacts, dial pad, a call in the fullscreen view, the
//! call-center tiles with Dennis Ritchie waiting in the support queue, settings).
//! Meanwhile a phone on 1003 (Alan Turing) talks to the echo test and one on 1008 (Barbara
//! Liskov) waits idle, so the contacts picture shows live statuses at the top of the list: Alan
//! on the phone, Barbara available, the unregistered colleagues offline.

use std::process::{Command, Stdio};

use crate::support::*;

#[test]
fn the_window_saves_pictures_of_its_main_screens() {
    let pbx = pbx();
    let me = pbx.lease("1001").unwrap();
    let alan = pbx.lease("1003").unwrap();
    let barbara = pbx.lease("1008").unwrap();
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);
    let (idle, idle_events) = sipcore::start(
        sipcore::EngineConfig::default(),
        std::sync::Arc::new(sipcore::RecordingMedia::default()),
        None,
    )
    .unwrap();
    idle.send(sipcore::Command::Register(sipcore::Account::new(
        &barbara.user.extension,
        &barbara.user.password,
        &server,
    )));
    harness::wait::next_matching(&idle_events, TIMEOUT, "Barbara to register", |e| {
        matches!(
            e,
            sipcore::Event::Registration(sipcore::RegistrationState::Registered { .. })
        )
        .then_some(())
    });
    let (peer, peer_events) = sipcore::start(
        sipcore::EngineConfig::default(),
        std::sync::Arc::new(sipcore::RecordingMedia::default()),
        None,
    )
    .unwrap();
    peer.send(sipcore::Command::Register(sipcore::Account::new(
        &alan.user.extension,
        &alan.user.password,
        &server,
    )));
    harness::wait::next_matching(&peer_events, TIMEOUT, "Alan to register", |e| {
        matches!(
            e,
            sipcore::Event::Registration(sipcore::RegistrationState::Registered { .. })
        )
        .then_some(())
    });
    peer.send(sipcore::Command::Dial {
        call: sipcore::CallId(1),
        target: "9196".into(),
    });
    harness::wait::next_matching(&peer_events, TIMEOUT, "Alan's call to 9196", |e| {
        matches!(
            e,
            sipcore::Event::CallState {
                state: sipcore::CallState::Active { .. },
                ..
            }
        )
        .then_some(())
    });
    // Dennis waits in the support queue (Alan, its member, is busy), for the call-center
    // picture.
    let mut dennis = crate::support::phone::Phone::register(pbx.lease("1009").unwrap());
    dennis.call("600");
    let display = harness::display::Xvfb::start((1280, 800)).unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = harness::paths::workspace_root().join("target/screenshots");
    let _ = std::fs::remove_dir_all(&out);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args([
        "--server",
        &format!("127.0.0.1:{}", harness::pbx::SIP_PORT),
        "--user",
        &me.user.extension,
    ])
    .args(["--headless-audio", "--screenshot-tour"])
    .arg(&out)
    .env("DISPLAY", &display.display)
    .env("SWITCHBOARD_PASSWORD", &me.user.password)
    .env("SWITCHBOARD_DATA_DIR", data.path())
    .env(
        "SWITCHBOARD_DIRECTORY",
        harness::pbx::directory_url("phonebook.xml"),
    )
    .env(
        "SWITCHBOARD_MANAGER",
        format!(
            "{}:{}@{}",
            harness::pbx::DESK_AMI_USER,
            harness::pbx::DESK_AMI_SECRET,
            harness::pbx::ami_addr()
        ),
    )
    .env("SWITCHBOARD_QUEUES", "support")
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let output = harness::process::run_with_timeout(&mut cmd, TIMEOUT * 3).unwrap();
    assert!(peer.shutdown_and_wait(TIMEOUT));
    assert!(idle.shutdown_and_wait(TIMEOUT));
    drop(dennis);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in [
        "login",
        "contacts",
        "dial-pad",
        "call",
        "call-center",
        "settings",
    ] {
        let path = out.join(format!("{name}.png"));
        let img = image::open(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .to_rgba8();
        assert!(
            img.width() >= 800 && img.height() >= 600,
            "{name}: {}x{}",
            img.width(),
            img.height()
        );
        // A real screen has many colours, not one blank fill.
        let mut colours: Vec<[u8; 4]> = img.pixels().step_by(97).map(|p| p.0).collect();
        colours.sort();
        colours.dedup();
        assert!(
            colours.len() > 20,
            "{name} looks blank ({} colours)",
            colours.len()
        );
    }
}
