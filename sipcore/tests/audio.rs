//! Real audio through the real PBX: a call to the echo test carries our tone there and back,
//! and a call between two engines carries each side's tone to the other.

mod support;

use std::sync::Arc;
use std::time::Duration;

use media::tone::goertzel_level;
use sipcore::media_adapter::{AudioSource, MediaEngine};
use sipcore::{CallId, CallState, Command, EngineConfig, Event, Hold};
use support::{TIMEOUT, account, pbx};

struct Phone {
    handle: sipcore::Handle,
    events: std::sync::mpsc::Receiver<Event>,
    media_events: std::sync::mpsc::Receiver<media::MediaEvent>,
    media: Arc<MediaEngine>,
    _lease: harness::Lease,
}

fn phone(pbx: &harness::Pbx, source: AudioSource, dir: &std::path::Path) -> Phone {
    let (tx, media_events) = std::sync::mpsc::channel();
    let engine = media::Engine::start(
        media::EngineConfig {
            devices: media::DeviceChoice::Headless,
            hold_music: None,
        },
        tx,
    )
    .unwrap();
    let media = Arc::new(MediaEngine {
        engine,
        source,
        record_dir: Some(dir.to_path_buf()),
    });
    let (handle, events) = sipcore::start(EngineConfig::default(), media.clone(), None).unwrap();
    let lease = pbx.lease_any().unwrap();
    handle.send(Command::Register(account(&lease.user)));
    let p = Phone {
        handle,
        events,
        media_events,
        media,
        _lease: lease,
    };
    p.wait(|e| {
        matches!(
            e,
            Event::Registration(sipcore::RegistrationState::Registered { .. })
        )
    });
    p
}

impl Phone {
    fn wait(&self, mut pred: impl FnMut(&Event) -> bool) -> Event {
        let deadline = std::time::Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let e = self.events.recv_timeout(left).expect("the expected event");
            if pred(&e) {
                return e;
            }
        }
    }

    /// Waits until the call's stream has received `n` packets (by its statistics).
    fn wait_packets(&self, call: CallId, n: u64) {
        let deadline = std::time::Instant::now() + TIMEOUT;
        while std::time::Instant::now() < deadline {
            if let Ok(media::MediaEvent::Stats { stream, stats }) =
                self.media_events.recv_timeout(Duration::from_millis(200))
                && stream == call.0
                && stats.packets_received >= n
            {
                return;
            }
        }
        panic!("call {call} received fewer than {n} packets");
    }

    fn recorded(&self, call: CallId) -> Vec<i16> {
        let path = self.media.recording_path(call).unwrap();
        harness::wait_for("the recording to be complete", TIMEOUT, || {
            media::ogg_opus::read(&path).ok()
        })
        .unwrap()
    }
}

#[test]
fn our_tone_comes_back_from_the_echo_test() {
    let pbx = pbx();
    let dir = tempfile::tempdir().unwrap();
    let p = phone(&pbx, AudioSource::Tone(697.0), dir.path());
    let id = CallId(1);
    p.handle.send(Command::Dial {
        call: id,
        target: "9196".into(),
    });
    p.wait(|e| matches!(e, Event::CallState { call, state: CallState::Active { hold: Hold::None } } if *call == id));
    p.wait_packets(id, 100);
    p.handle.send(Command::HangUp(id));
    p.wait(|e| matches!(e, Event::CallState { call, state: CallState::Ended(_) } if *call == id));
    let pcm = p.recorded(id);
    let tail = &pcm[pcm.len() / 2..];
    assert!(
        goertzel_level(tail, 697.0, 48000) > 0.1,
        "the echo carries our 697 Hz back"
    );
    assert!(goertzel_level(tail, 1209.0, 48000) < 0.02);
}

#[test]
fn two_engines_hear_each_others_tone_through_the_pbx() {
    let pbx = pbx();
    let dir = tempfile::tempdir().unwrap();
    let alice = phone(&pbx, AudioSource::Tone(600.0), dir.path());
    let bob_dir = tempfile::tempdir().unwrap();
    let bob = phone(&pbx, AudioSource::Tone(1000.0), bob_dir.path());
    let id = CallId(5);
    alice.handle.send(Command::Dial {
        call: id,
        target: bob._lease.user.extension.clone(),
    });
    let Event::IncomingCall { call: bob_id, .. } =
        bob.wait(|e| matches!(e, Event::IncomingCall { .. }))
    else {
        unreachable!()
    };
    bob.handle.send(Command::Answer(bob_id));
    alice.wait(
        |e| matches!(e, Event::CallState { call, state: CallState::Active { .. } } if *call == id),
    );
    alice.wait_packets(id, 100);
    bob.wait_packets(bob_id, 100);
    alice.handle.send(Command::HangUp(id));
    bob.wait(
        |e| matches!(e, Event::CallState { call, state: CallState::Ended(_) } if *call == bob_id),
    );
    let a = alice.recorded(id);
    let b = bob.recorded(bob_id);
    assert!(
        goertzel_level(&a[a.len() / 2..], 1000.0, 48000) > 0.1,
        "Alice hears Bob's 1000 Hz"
    );
    assert!(
        goertzel_level(&b[b.len() / 2..], 600.0, 48000) > 0.1,
        "Bob hears Alice's 600 Hz"
    );
}
