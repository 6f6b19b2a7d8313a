//! Encrypted calls (SDES-SRTP: keys in SDP over TLS, RFC 4568; media by libsrtp2, RFC 3711)
//! through the real Asterisk, whose SRTP pool (3101 and up) requires encryption and speaks
//! PCMU only: tones cross both ways, and a capture of every RTP packet to and from Asterisk
//! finds no audio in clear. An account that requires encryption will not call in the clear;
//! one that encrypts "when possible" still reaches a PBX that does not. Offers with bad keys are
//! refused as RFC 4568 says (sipp plays the caller).

use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use harness::audio::has_tone;
use media::tone::goertzel_power;
use sipcore::media_adapter::{AudioSource, MediaEngine};
use sipcore::{CallId, CallState, Command, EndReason, Event, RegistrationState, SrtpPolicy};

struct Phone {
    ua: Ua,
    media: Arc<MediaEngine>,
    _dir: tempfile::TempDir,
}

/// An engine signed in over TLS as `user`, sending a tone and recording what it hears.
fn phone(pbx: &harness::Pbx, user: &harness::User, policy: SrtpPolicy, tone: f32) -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _media_events) = std::sync::mpsc::channel();
    let engine = media::Engine::start(media::EngineConfig::headless(), tx).unwrap();
    let media = Arc::new(MediaEngine {
        engine,
        source: AudioSource::Tone(tone),
        record_dir: Some(dir.path().to_path_buf()),
    });
    let (handle, events) =
        sipcore::start(sipcore::EngineConfig::default(), media.clone(), None).unwrap();
    let mut ua = Ua::from_parts(handle, events);
    let mut a = account(user);
    a.transport = sipcore::Transport::Tls;
    a.server = harness::pbx::tls_addr().to_string();
    a.trusted_ca = Some(pbx.tls_ca().unwrap());
    a.srtp = policy;
    ua.handle.send(Command::Register(a));
    ua.wait("registered over TLS", |e| {
        matches!(e, Event::Registration(RegistrationState::Registered { .. }))
    });
    Phone {
        ua,
        media,
        _dir: dir,
    }
}

fn recording(p: &Phone, call: CallId) -> Vec<f32> {
    let path = p.media.recording_path(call).unwrap();
    harness::wait_for("the recording to be complete", TIMEOUT, || {
        media::ogg_opus::OggOpusReader::read_all(&path).ok()
    })
    .unwrap()
}

/// The frequency of a tone that a stream of µ-law bytes carries in clear, if any: its power
/// stands far above the spectrum's around it. Encrypted bytes are flat noise.
fn tone_in_clear(ulaw: &[u8]) -> Option<f32> {
    let samples: Vec<f32> = ulaw
        .iter()
        .map(|b| media::g711::ulaw_to_linear(*b) as f32 / 32768.0)
        .collect();
    let floor: f32 = [300.0, 450.0, 750.0, 1300.0, 1700.0, 2300.0, 2900.0]
        .iter()
        .map(|f| goertzel_power(&samples, 8000, *f))
        .sum::<f32>()
        / 7.0;
    [600.0, 1000.0]
        .into_iter()
        .find(|f| goertzel_power(&samples, 8000, *f) > 20.0 * floor.max(1e-9))
}

#[test]
fn the_clear_audio_check_finds_a_plain_tone_and_not_noise() {
    let mut g = media::tone::ToneGenerator::new(media::tone::Tone::Sine(600.0), 8000);
    let mut pcm = vec![0.0f32; 8000];
    g.add_to(&mut pcm);
    let plain: Vec<u8> = pcm
        .iter()
        .map(|s| media::g711::linear_to_ulaw((s * 16000.0) as i16))
        .collect();
    assert_eq!(tone_in_clear(&plain), Some(600.0));
    let noise: Vec<u8> = (0..8000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert_eq!(tone_in_clear(&noise), None);
}

/// Two phones of the SRTP pool, over TLS: 600 Hz one way, 1000 Hz the other, each heard; on
/// the wire every RTP packet (both legs, both directions) is SRTP, with no tone in clear.
#[test]
fn an_encrypted_call_through_asterisk_carries_tones_both_ways_and_no_audio_in_clear() {
    let pbx = pbx();
    let (la, lb) = (
        pbx.lease_with_srtp().unwrap(),
        pbx.lease_with_srtp().unwrap(),
    );
    let mut a = phone(&pbx, &la.user, SrtpPolicy::Required, 600.0);
    let mut b = phone(&pbx, &lb.user, SrtpPolicy::Optional, 1000.0);
    let capture = harness::capture::Capture::start("udp portrange 31000-31999").unwrap();
    let id = CallId(1);
    a.ua.handle.send(Command::Dial {
        call: id,
        target: lb.user.extension.clone(),
    });
    let (theirs, _) = b.ua.wait_incoming("the encrypted call");
    b.ua.handle.send(Command::Answer(theirs));
    a.ua.wait("answered", |e| {
        matches!(state_of(e, id), Some(CallState::Active { .. }))
    });
    std::thread::sleep(Duration::from_secs(3));
    a.ua.handle.send(Command::HangUp(id));
    b.ua.wait("the caller hung up", |e| {
        matches!(state_of(e, theirs), Some(CallState::Ended(_)))
    });
    let wire = capture.finish().unwrap();

    let heard_by_a = recording(&a, id);
    let heard_by_b = recording(&b, theirs);
    assert!(
        has_tone(&heard_by_a[heard_by_a.len() / 2..], 48000, 1000.0, &[600.0]),
        "A hears B's 1000 Hz"
    );
    assert!(
        has_tone(&heard_by_b[heard_by_b.len() / 2..], 48000, 600.0, &[1000.0]),
        "B hears A's 600 Hz"
    );

    // Each flow (source, destination) of RTP: its payloads with the 10-byte tag cut off.
    let mut flows: std::collections::BTreeMap<_, Vec<u8>> = Default::default();
    let mut packets = 0;
    for d in &wire {
        let p = &d.payload;
        let rtcp = p.len() >= 2 && (192..=223).contains(&p[1]);
        if p.len() < 12 + 10 || p[0] >> 6 != 2 || rtcp {
            continue;
        }
        packets += 1;
        flows
            .entry((d.from, d.to))
            .or_default()
            .extend_from_slice(&p[12..p.len() - 10]);
    }
    assert!(
        flows.len() >= 4 && packets >= 400,
        "both legs, both ways, captured: {} flows, {packets} packets",
        flows.len()
    );
    for ((from, to), bytes) in &flows {
        assert_eq!(
            tone_in_clear(bytes),
            None,
            "audio in clear from {from} to {to}"
        );
    }
    drop((la, lb));
}

/// An account that requires encryption, calling a PBX user that has none: refused, in words.
/// The same call "when possible" goes through in clear, and the echo carries our tone back.
#[test]
fn a_required_account_will_not_call_in_the_clear_and_an_optional_one_does() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let mut p = phone(&pbx, &lease.user, SrtpPolicy::Required, 697.0);
    let id = CallId(1);
    p.ua.handle.send(Command::Dial {
        call: id,
        target: "9196".into(),
    });
    let ended = p.ua.wait("the refusal", |e| {
        matches!(state_of(e, id), Some(CallState::Ended(_)))
    });
    let Some(CallState::Ended(EndReason::Failed(why))) = state_of(&ended, id) else {
        panic!("not refused: {ended:?}");
    };
    assert_eq!(
        why,
        "The other side cannot encrypt the call, and your settings require encryption."
    );

    p.ua.handle.send(Command::SetCallOptions {
        srtp: SrtpPolicy::Optional,
        stun_server: None,
    });
    let id = CallId(2);
    p.ua.handle.send(Command::Dial {
        call: id,
        target: "9196".into(),
    });
    p.ua.wait("the echo test to answer", |e| {
        matches!(state_of(e, id), Some(CallState::Active { .. }))
    });
    std::thread::sleep(Duration::from_secs(2));
    p.ua.handle.send(Command::HangUp(id));
    p.ua.wait("hung up", |e| {
        matches!(state_of(e, id), Some(CallState::Ended(_)))
    });
    let pcm = recording(&p, id);
    assert!(
        has_tone(&pcm[pcm.len() / 2..], 48000, 697.0, &[1209.0, 440.0]),
        "the echo carries our tone back in a call the PBX would not encrypt"
    );
}

/// Offers whose keys cannot be used — none, too long, too short, not base64, an unknown suite,
/// a tag given twice — are each refused with 488 and a Warning, never answered in clear; a good
/// one under `RTP/SAVP` is answered `RTP/SAVP` with our own key under its tag (sipp checks).
#[test]
fn offers_with_unusable_keys_are_refused_and_a_good_one_is_answered_with_ours() {
    let pbx = pbx();
    let mut ua = Ua::start();
    let lease = pbx.lease_any().unwrap();
    let mut a = account(&lease.user);
    a.srtp = SrtpPolicy::Optional;
    ua.handle.send(Command::Register(a));
    ua.wait("registered", |e| {
        matches!(e, Event::Registration(RegistrationState::Registered { .. }))
    });
    let refused = harness::peers::SippServer::calling_with(
        &harness::peers::sipp_scenario("uac-srtp-bad-keys"),
        ua.handle.local_addr,
        "desk",
        &[
            "-inf",
            &harness::peers::sipp_data("srtp-bad-keys.csv").to_string_lossy(),
            "-m",
            "6",
        ],
    )
    .unwrap();
    refused.finish(TIMEOUT).unwrap();
    let good = harness::peers::SippServer::calling(
        &harness::peers::sipp_scenario("uac-srtp-good-key"),
        ua.handle.local_addr,
        "desk",
    )
    .unwrap();
    let (call, _) = ua.wait_incoming("the secure offer");
    ua.handle.send(Command::Answer(call));
    ua.wait("talking", |e| {
        matches!(state_of(e, call), Some(CallState::Active { .. }))
    });
    good.finish(TIMEOUT).unwrap();
    drop(lease);
}
