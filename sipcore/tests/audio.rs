//! Real audio through the real PBX: a call to the echo test carries our tone there and back,
//! and a call between two engines carries each side's tone to the other.

mod support;

use std::sync::Arc;
use std::time::Duration;

use harness::audio::has_tone;
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
    let engine = media::Engine::start(media::EngineConfig::headless(), tx).unwrap();
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

    /// Waits for the call's `n`th statistics report (about one a second) and returns its
    /// round-trip time, if RTCP has measured one by then.
    fn wait_stats(&self, call: CallId, n: usize) -> Option<f32> {
        let deadline = std::time::Instant::now() + TIMEOUT;
        let mut seen = 0;
        while std::time::Instant::now() < deadline {
            if let Ok(media::MediaEvent::Stats { stream, rtt_ms, .. }) =
                self.media_events.recv_timeout(Duration::from_millis(200))
                && stream == media::StreamId(call.0)
            {
                seen += 1;
                if seen >= n {
                    return rtt_ms;
                }
            }
        }
        panic!("call {call} had fewer than {n} statistics reports");
    }

    fn recorded(&self, call: CallId) -> Vec<f32> {
        let path = self.media.recording_path(call).unwrap();
        harness::wait_for("the recording to be complete", TIMEOUT, || {
            media::ogg_opus::OggOpusReader::read_all(&path).ok()
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
    p.wait_stats(id, 3);
    // Asterisk sends its RTCP report every 5 s; its report block on our SSRC gives the RTT.
    let mut rtt = None;
    for _ in 0..8 {
        rtt = p.wait_stats(id, 1);
        if rtt.is_some() {
            break;
        }
    }
    let rtt = rtt.expect("a round-trip time from Asterisk's RTCP reports");
    assert!((0.0..100.0).contains(&rtt), "loopback RTT {rtt} ms");
    p.handle.send(Command::HangUp(id));
    p.wait(|e| matches!(e, Event::CallState { call, state: CallState::Ended(_) } if *call == id));
    let pcm = p.recorded(id);
    let tail = &pcm[pcm.len() / 2..];
    assert!(
        has_tone(tail, 48000, 697.0, &[1209.0, 440.0]),
        "the echo carries our 697 Hz back"
    );
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
    alice.wait_stats(id, 3);
    bob.wait_stats(bob_id, 1);
    alice.handle.send(Command::HangUp(id));
    bob.wait(
        |e| matches!(e, Event::CallState { call, state: CallState::Ended(_) } if *call == bob_id),
    );
    let a = alice.recorded(id);
    let b = bob.recorded(bob_id);
    assert!(
        has_tone(&a[a.len() / 2..], 48000, 1000.0, &[600.0]),
        "Alice hears Bob's 1000 Hz and not herself"
    );
    assert!(
        has_tone(&b[b.len() / 2..], 48000, 600.0, &[1000.0]),
        "Bob hears Alice's 600 Hz and not himself"
    );
}
