//! The whole app, driven through its window by label as a user would, against the real PBX:
//! sign in as 1001, dial the echo test from the dial pad, hold, resume, open the call view,
//! hang up, find the call in My Calls, then answer a call from a peer on 1002, and call it back
//! from My Calls, named after its contact.

use std::sync::Arc;
use std::time::Duration;

use crate::support::window::*;
use crate::support::*;
use client::backend::BackendConfig;
use egui_kittest::kittest::Queryable;
use switchboard::window::Window;

#[test]
fn sign_in_dial_the_echo_test_hold_resume_hang_up_and_answer_a_call() {
    let pbx = pbx();
    let me = pbx.lease("1001").unwrap();
    let peer_lease = pbx.lease("1002").unwrap();
    let data = tempfile::tempdir().unwrap();

    let (commands, events) = start_backend(BackendConfig {
        directory_url: Some(harness::pbx::directory_url("phonebook.xml")),
        ..test_config(data.path())
    });
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);
    let mut h = window_harness(
        Window::new(commands, events, Some(server)),
        egui::vec2(1100.0, 720.0),
    );

    // Sign in.
    sign_in(&mut h, &me.user);
    wait_ui(&mut h, "the directory's contacts", |h| {
        has(h, "Grace Hopper, ")
    });

    // Dial 9196 on the keys.
    for d in ["9", "1", "9", "6"] {
        h.get_by_label(d).click();
        h.step();
    }
    h.get_by_label("Call").click();
    wait_ui(&mut h, "the call bar", |h| has(h, "Talking 0:0"));
    wait_ui(&mut h, "the timer to run", |h| {
        has(h, "Talking 0:01") || has(h, "Talking 0:02")
    });

    h.get_by_label("Hold").click();
    wait_ui(&mut h, "on hold", |h| has(h, "On hold"));
    h.get_by_label("Resume").click();
    wait_ui(&mut h, "talking again", |h| has(h, "Talking"));

    h.get_by_label("Open the call view").click();
    wait_ui(&mut h, "the fullscreen view", |h| has(h, "Merge calls"));
    // The frame of the click still drew the call bar; the next one has only the call view.
    h.step();
    h.get_by_label("Hang up").click();
    wait_ui(&mut h, "the call to end", |h| has(h, "No calls."));
    h.get_by_label("Back").click();
    wait_ui(&mut h, "the main screen", |h| has(h, "My Calls"));

    // The call is in My Calls.
    h.get_by_label("My Calls").click();
    wait_ui(&mut h, "the call in My Calls", |h| {
        has(h, "Call back 9196, outgoing call")
    });

    // A peer on 1002 calls; the popup offers Answer.
    let (peer, peer_events) = sipcore::start(
        sipcore::EngineConfig::default(),
        Arc::new(sipcore::RecordingMedia::default()),
        None,
    )
    .unwrap();
    let mut account = sipcore::Account::new(
        &peer_lease.user.extension,
        &peer_lease.user.password,
        &format!("127.0.0.1:{}", harness::pbx::SIP_PORT),
    );
    account.display_name = Some(peer_lease.user.name.clone());
    peer.send(sipcore::Command::Register(account));
    harness::wait_for("the peer to register", TIMEOUT, || {
        match peer_events.recv_timeout(Duration::from_millis(100)) {
            Ok(sipcore::Event::Registration(sipcore::RegistrationState::Registered { .. })) => {
                Some(())
            }
            _ => None,
        }
    })
    .unwrap();
    peer.send(sipcore::Command::Dial {
        call: sipcore::CallId(1),
        target: me.user.extension.clone(),
    });
    wait_ui(&mut h, "the incoming call popup", |h| {
        has(h, "Grace Hopper is calling")
    });
    h.get_by_label("Answer").click();
    wait_ui(&mut h, "the answered call", |h| has(h, "Talking 0:0"));
    peer.send(sipcore::Command::HangUp(sipcore::CallId(1)));
    wait_ui(&mut h, "the peer's hang-up", |h| !has(h, "Talking"));
    wait_ui(&mut h, "the incoming call in My Calls", |h| {
        has(h, "Call back Grace Hopper, incoming call")
    });

    // Calling back: the dialled number is named after its contact in the call bar (shown
    // over Settings, where no other label names Grace).
    h.get_by_label_contains("Call back Grace Hopper, incoming call")
        .click();
    wait_ui(&mut h, "the call bar", |h| {
        h.query_by_label("Hang up").is_some()
    });
    h.get_by_label("Settings").click();
    wait_ui(&mut h, "the call bar naming Grace", |h| {
        h.query_by_label("Grace Hopper").is_some()
    });
    harness::wait::next_matching(&peer_events, TIMEOUT, "the call back to ring", |e| {
        matches!(e, sipcore::Event::IncomingCall { .. }).then_some(())
    });
    h.get_by_label("Hang up").click();
    wait_ui(&mut h, "the call back to end", |h| {
        h.query_by_label("Hang up").is_none()
    });
    peer.send(sipcore::Command::Shutdown);
}
