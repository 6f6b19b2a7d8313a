//! Message waiting from the real PBX: the engine subscribes to its own mailbox
//! (`Event: message-summary`, RFC 3842), a caller leaves a voicemail for it, and Asterisk's
//! NOTIFY in that subscription reaches the engine with the new count. (The PBX sets
//! `mwi_subscribe_replaces_unsolicited`, so with the subscription there are no unsolicited ones.)
//! Unsolicited NOTIFYs, as other mailbox servers send them, come from a sipp scenario.

use std::sync::Arc;

use crate::support::*;
use sipcore::media_adapter::{AudioSource, MediaEngine};
use sipcore::{CallId, CallState, Command, EngineConfig, Event};

#[test]
fn a_voicemail_left_for_us_updates_the_waiting_count() {
    let pbx = pbx();
    let mut owner = Ua::registered(&pbx);
    let ext = owner.extension();
    pbx.clear_voicemail(&ext).unwrap();
    pbx.wait_for_mailbox_subscription(&ext, TIMEOUT).unwrap();

    // The caller sends a real tone, so Asterisk records a message and not silence.
    let (media_tx, _media_rx) = std::sync::mpsc::channel();
    let engine = media::Engine::start(media::EngineConfig::headless(), media_tx).unwrap();
    let media = Arc::new(MediaEngine {
        engine,
        source: AudioSource::Tone(440.0),
        record_dir: None,
    });
    let (handle, events) = sipcore::start(EngineConfig::default(), media, None).unwrap();
    let caller_lease = pbx.lease_any().unwrap();
    handle.send(Command::Register(account(&caller_lease.user)));
    let wait = |what: &str, pred: &dyn Fn(&Event) -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match events.recv_timeout(left) {
                Ok(e) if pred(&e) => return,
                Ok(_) => {}
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    };
    wait("the caller registered", &|e| {
        matches!(
            e,
            Event::Registration(sipcore::RegistrationState::Registered { .. })
        )
    });
    let id = CallId(1);
    handle.send(Command::Dial {
        call: id,
        target: ext.clone(),
    });
    // Nobody answers: after 20 s of ringing, voicemail picks up.
    wait(
        "voicemail to answer",
        &|e| matches!(e, Event::CallState { call, state: CallState::Active { .. } } if *call == id),
    );
    // After the greeting and the beep, Asterisk writes the message into the box's tmp folder.
    pbx.wait_for_message_recording(&ext, TIMEOUT).unwrap();
    // Forget what the owner heard so far (the NOTIFY at registration may carry an old count).
    while owner.events.try_recv().is_ok() {}
    handle.send(Command::HangUp(id));

    let e = owner.wait(
        "the message-waiting NOTIFY",
        |e| matches!(e, Event::MessageWaiting { new, .. } if *new >= 1),
    );
    assert_eq!(e, Event::MessageWaiting { new: 1, old: 0 });
    handle.send(Command::Shutdown);
    pbx.clear_voicemail(&ext).unwrap();
}

/// A mailbox server that NOTIFYs without a subscription (RFC 3842 §3): each good body becomes
/// the counts, and a malformed one in between is answered but changes nothing, so the counts the
/// user sees are never blanked.
#[test]
fn unsolicited_notifies_set_the_counts_and_a_malformed_one_is_ignored() {
    let mut ua = Ua::start();
    let mailbox = harness::peers::SippServer::calling(
        &harness::peers::sipp_scenario("unsolicited-mwi"),
        ua.handle.local_addr,
        "2001",
    )
    .unwrap();
    let first = ua.wait("the first count", |e| {
        matches!(e, Event::MessageWaiting { .. })
    });
    assert_eq!(first, Event::MessageWaiting { new: 2, old: 5 });
    // The very next count is the third NOTIFY's: the malformed second one gave none.
    let next = ua.wait("the next count", |e| {
        matches!(e, Event::MessageWaiting { .. })
    });
    assert_eq!(next, Event::MessageWaiting { new: 3, old: 5 });
    // Every NOTIFY was to be answered 200.
    mailbox.finish(TIMEOUT).unwrap();
    ua.handle.send(Command::Shutdown);
}
