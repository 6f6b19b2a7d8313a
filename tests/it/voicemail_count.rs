//! Message waiting in the whole app, against the real PBX: signed in with an empty mailbox, the
//! Voicemails tab has no count; a colleague calls, the user declines, the colleague leaves a
//! message on Asterisk's voicemail, and the tab shows one new message, with the new and old
//! counts inside it. The app subscribes to its own mailbox by itself after signing in.

use std::sync::Arc;
use std::time::Duration;

use crate::support::window::*;
use crate::support::*;
use egui_kittest::kittest::Queryable;
use sipcore::media_adapter::{AudioSource, MediaEngine};
use switchboard::window::Window;

#[test]
fn a_message_left_after_declining_a_call_counts_on_the_voicemails_tab() {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let caller = pbx.lease_any().unwrap();
    pbx.clear_voicemail(&me.user.extension).unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);

    let (commands, events) = start_backend(test_config(data.path()));
    let mut h = window_harness(
        Window::new(commands, events, Some(server.clone())),
        egui::vec2(1100.0, 720.0),
    );
    sign_in(&mut h, &me.user);
    pbx.wait_for_mailbox_subscription(&me.user.extension, TIMEOUT)
        .unwrap();
    h.get_by_label_contains("Voicemails").click();
    wait_ui(&mut h, "the empty mailbox's counts", |h| {
        has(h, "0 new, 0 old on the server")
    });
    assert!(h.query_by_label("Voicemails").is_some());

    // The caller sends a real tone, so that Asterisk records a message and not silence.
    let (media_tx, _media_rx) = std::sync::mpsc::channel();
    let engine = media::Engine::start(media::EngineConfig::headless(), media_tx).unwrap();
    let media = Arc::new(MediaEngine {
        engine,
        source: AudioSource::Tone(440.0),
        record_dir: None,
    });
    let (peer, peer_events) =
        sipcore::start(sipcore::EngineConfig::default(), media, None).unwrap();
    let mut account = sipcore::Account::new(&caller.user.extension, &caller.user.password, &server);
    account.display_name = Some(caller.user.name.clone());
    peer.send(sipcore::Command::Register(account));
    harness::wait::next_matching(&peer_events, TIMEOUT, "the caller registered", |e| {
        matches!(
            e,
            sipcore::Event::Registration(sipcore::RegistrationState::Registered { .. })
        )
        .then_some(())
    });
    let call = sipcore::CallId(1);
    peer.send(sipcore::Command::Dial {
        call,
        target: me.user.extension.clone(),
    });
    wait_ui(&mut h, "the incoming call popup", |h| {
        has(h, &format!("{} is calling", caller.user.name))
    });
    h.get_by_label("Decline").click();
    // The click takes effect on the next frame.
    wait_ui(&mut h, "the popup to close", |h| {
        !has(h, &format!("{} is calling", caller.user.name))
    });
    harness::wait::next_matching(&peer_events, TIMEOUT, "voicemail to answer", |e| {
        matches!(
            e,
            sipcore::Event::CallState { call: c, state: sipcore::CallState::Active { .. } }
                if *c == call
        )
        .then_some(())
    });
    pbx.wait_for_message_recording(&me.user.extension, TIMEOUT)
        .unwrap();
    peer.send(sipcore::Command::HangUp(call));

    wait_ui(&mut h, "the count on the tab", |h| has(h, "Voicemails (1)"));
    assert!(has(&h, "1 new, 0 old on the server"));
    peer.send(sipcore::Command::Shutdown);
    std::thread::sleep(Duration::from_millis(200));
    pbx.clear_voicemail(&me.user.extension).unwrap();
}
