//! Real audio through the real PBX: a call to the echo test carries our tone there and back,
//! and a call between two engines carries each side's tone to the other.

use std::sync::Arc;
use std::time::Duration;

use crate::support::{TIMEOUT, account, pbx};
use harness::audio::has_tone;
use sipcore::media_adapter::{AudioSource, MediaEngine};
use sipcore::{CallId, CallState, Command, EngineConfig, Event, Hold};

struct Phone {
    handle: sipcore::Handle,
    events: std::sync::mpsc::Receiver<Event>,
    media_events: std::sync::mpsc::Receiver<media::MediaEvent>,
    media: Arc<MediaEngine>,
    _lease: harness::Lease,
}

fn phone(pbx: &harness::Pbx, source: AudioSource, dir: &std::path::Path) -> Phone {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
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
    /// Waits for the next call to ring here and answers it.
    fn answer_next(&self) -> CallId {
        match self.wait(|e| matches!(e, Event::IncomingCall { .. })) {
            Event::IncomingCall { call, .. } => {
                self.handle.send(Command::Answer(call));
                call
            }
            _ => unreachable!("the wait matched an incoming call"),
        }
    }

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
    let bob_id = bob.answer_next();
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

#[test]
fn dtmf_keys_reach_the_other_engine_as_rfc4733_through_the_pbx() {
    let pbx = pbx();
    let dir = tempfile::tempdir().unwrap();
    let alice = phone(&pbx, AudioSource::Tone(600.0), dir.path());
    let bob = phone(&pbx, AudioSource::Tone(1000.0), dir.path());
    let id = CallId(3);
    alice.handle.send(Command::Dial {
        call: id,
        target: bob._lease.user.extension.clone(),
    });
    let bob_id = bob.answer_next();
    alice.wait(
        |e| matches!(e, Event::CallState { call, state: CallState::Active { .. } } if *call == id),
    );
    let mut heard = String::new();
    for digit in ['1', '#', '9'] {
        alice.handle.send(Command::SendDtmf { call: id, digit });
        let deadline = std::time::Instant::now() + TIMEOUT;
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "Bob never heard {digit}; so far {heard:?}"
            );
            if let Ok(media::MediaEvent::DtmfReceived { stream, digit: d }) =
                bob.media_events.recv_timeout(Duration::from_millis(200))
                && stream == media::StreamId(bob_id.0)
            {
                heard.push(d);
                if d == digit {
                    break;
                }
            }
        }
    }
    // Each key once: the three end packets of RFC 4733 are one press.
    assert_eq!(heard, "1#9");
    alice.handle.send(Command::HangUp(id));
    bob.wait(
        |e| matches!(e, Event::CallState { call, state: CallState::Ended(_) } if *call == bob_id),
    );
}

/// Bob's and Carol's tones, and what each of them receives, while Alice adds a call, merges the
/// two into a 3-way call in her own mixer, then splits them again.
#[test]
fn add_call_merge_and_split_mix_the_two_other_parties_in_our_engine() {
    let pbx = pbx();
    let dir = tempfile::tempdir().unwrap();
    // Alice's microphone is a headless engine's silence: whatever Bob and Carol hear of each
    // other went through her mixer.
    let alice = phone(&pbx, AudioSource::Devices, dir.path());
    let bob_dir = tempfile::tempdir().unwrap();
    let bob = phone(&pbx, AudioSource::Tone(1000.0), bob_dir.path());
    let carol_dir = tempfile::tempdir().unwrap();
    let carol = phone(&pbx, AudioSource::Tone(1500.0), carol_dir.path());

    let active = |id: CallId| move |e: &Event| matches!(e, Event::CallState { call, state: CallState::Active { hold: Hold::None } } if *call == id);

    let (to_bob, to_carol) = (CallId(1), CallId(2));
    alice.handle.send(Command::Dial {
        call: to_bob,
        target: bob._lease.user.extension.clone(),
    });
    let bob_id = bob.answer_next();
    alice.wait(active(to_bob));
    let bob_answered = std::time::Instant::now();
    // Add call: the first goes on hold.
    alice.handle.send(Command::Hold(to_bob));
    // (Asterisk answers the hold itself and plays Bob its music; he sees no re-INVITE.)
    alice.wait(|e| matches!(e, Event::CallState { call, state: CallState::Active { hold: Hold::Local } } if *call == to_bob));
    alice.handle.send(Command::Dial {
        call: to_carol,
        target: carol._lease.user.extension.clone(),
    });
    let carol_id = carol.answer_next();
    alice.wait(active(to_carol));
    let carol_answered = std::time::Instant::now();

    // Merge: resume Bob, mix both.
    std::thread::sleep(Duration::from_secs(2));
    alice.handle.send(Command::Resume(to_bob));
    alice.wait(active(to_bob));
    alice.handle.send(Command::Merge(vec![to_bob, to_carol]));
    let merged_at = carol_answered.elapsed();
    let bob_merged_at = bob_answered.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    // Split: back to two lines, Bob on hold again.
    alice.handle.send(Command::Split { keep: to_carol });
    alice.handle.send(Command::Hold(to_bob));
    let split_at = carol_answered.elapsed();
    let bob_split_at = bob_answered.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    for id in [to_bob, to_carol] {
        alice.handle.send(Command::HangUp(id));
    }
    bob.wait(
        |e| matches!(e, Event::CallState { call, state: CallState::Ended(_) } if *call == bob_id),
    );
    carol.wait(
        |e| matches!(e, Event::CallState { call, state: CallState::Ended(_) } if *call == carol_id),
    );

    // Carol's recording starts when she answered: before the merge she hears only Alice's
    // silence, while merged she hears Bob, after the split nothing of him again.
    let heard = carol.recorded(carol_id);
    let window = |from: Duration, to: Duration| {
        let (a, b) = (from.as_secs_f32() * 48_000.0, to.as_secs_f32() * 48_000.0);
        &heard[(a as usize).min(heard.len())..(b as usize).min(heard.len())]
    };
    let ms = Duration::from_millis;
    let before = window(ms(300), merged_at.saturating_sub(ms(300)));
    let during = window(merged_at + ms(800), split_at.saturating_sub(ms(300)));
    let after = window(split_at + ms(800), split_at + ms(2500));
    assert!(
        during.len() > 24_000 && has_tone(during, 48000, 1000.0, &[1500.0]),
        "merged, Carol hears Bob's 1000 Hz (and not her own 1500 Hz)"
    );
    let bob_power = |s: &[f32]| harness::audio::goertzel_power(s, 48000, 1000.0);
    assert!(
        bob_power(before) * 100.0 < bob_power(during),
        "Carol heard Bob before the merge"
    );
    assert!(
        bob_power(after) * 100.0 < bob_power(during),
        "Carol still hears Bob after the split"
    );
    // And Bob, while merged, hears Carol through Alice's mixer.
    let bob_heard = bob.recorded(bob_id);
    let (a, b) = (
        (bob_merged_at + ms(800)).as_secs_f32() * 48_000.0,
        bob_split_at.saturating_sub(ms(300)).as_secs_f32() * 48_000.0,
    );
    let merged = &bob_heard[(a as usize).min(bob_heard.len())..(b as usize).min(bob_heard.len())];
    assert!(
        merged.len() > 24_000 && has_tone(merged, 48000, 1500.0, &[1000.0]),
        "merged, Bob hears Carol's 1500 Hz"
    );
}

/// Asterisk plays its own music to the held party and, on resume, switches back to our audio
/// with another sequence and clock: the held party must hear us again every time.
#[test]
fn the_far_end_hears_us_again_after_hold_and_resume() {
    let pbx = pbx();
    let dir = tempfile::tempdir().unwrap();
    let alice = phone(&pbx, AudioSource::Tone(600.0), dir.path());
    let bob_dir = tempfile::tempdir().unwrap();
    let bob = phone(&pbx, AudioSource::Tone(1000.0), bob_dir.path());
    let id = CallId(1);
    alice.handle.send(Command::Dial {
        call: id,
        target: bob._lease.user.extension.clone(),
    });
    let bob_id = bob.answer_next();
    let held = |h: Hold| move |e: &Event| matches!(e, Event::CallState { call, state: CallState::Active { hold } } if *call == id && *hold == h);
    alice.wait(held(Hold::None));
    // Twice: the first switch back from the PBX's music is not the only one that must work.
    let mut resumed = Vec::new();
    let answered = std::time::Instant::now();
    for _ in 0..2 {
        alice.handle.send(Command::Hold(id));
        alice.wait(held(Hold::Local));
        std::thread::sleep(Duration::from_millis(1500));
        alice.handle.send(Command::Resume(id));
        alice.wait(held(Hold::None));
        resumed.push(answered.elapsed());
        std::thread::sleep(Duration::from_millis(2500));
    }
    alice.handle.send(Command::HangUp(id));
    bob.wait(
        |e| matches!(e, Event::CallState { call, state: CallState::Ended(_) } if *call == bob_id),
    );
    let heard = bob.recorded(bob_id);
    for (n, at) in resumed.iter().enumerate() {
        let from = ((*at + Duration::from_millis(700)).as_secs_f32() * 48_000.0) as usize;
        let to = ((*at + Duration::from_millis(2300)).as_secs_f32() * 48_000.0) as usize;
        let w = &heard[from.min(heard.len())..to.min(heard.len())];
        assert!(
            w.len() > 24_000 && has_tone(w, 48000, 600.0, &[1000.0]),
            "after resume {}, Bob does not hear Alice's 600 Hz",
            n + 1
        );
    }
}
