//! Real sound devices: a private PulseAudio null sink stands in for a sound card, reached by
//! cpal through ALSA's pulse plugin. Env vars are process-wide, so every test here shares one
//! server, set up before any cpal call.

use std::sync::OnceLock;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use harness::audio::{VirtualSoundCard, has_tone};
use harness::wait::next_matching as wait_event;
use media::devices::{Capture, FRAME, Playback, list_devices};
use media::*;

fn card() -> &'static VirtualSoundCard {
    static CARD: OnceLock<VirtualSoundCard> = OnceLock::new();
    CARD.get_or_init(|| {
        let card = VirtualSoundCard::start("sb_test")
            .expect("start PulseAudio (install pulseaudio, libasound2-plugins)");
        card.export_env();
        card
    })
}

/// Tests in this binary share one sink; a tone played by one would be heard by another.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn devices_are_listed_with_a_default_of_each_kind() {
    card();
    let list = list_devices().unwrap();
    assert!(
        list.iter()
            .any(|d| d.kind == DeviceKind::Input && d.is_default),
        "{list:#?}"
    );
    assert!(
        list.iter()
            .any(|d| d.kind == DeviceKind::Output && d.is_default),
        "{list:#?}"
    );
    assert!(list.iter().all(|d| !d.id.is_empty() && !d.name.is_empty()));
    // Ids are stable: listing again gives the same ones.
    let again: Vec<_> = list_devices().unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(list.into_iter().map(|d| d.id).collect::<Vec<_>>(), again);
}

/// Records from the default input until `freq` is found or `timeout` passes.
fn hear(
    capture: &mut Capture,
    freq: f32,
    reference: &[f32],
    timeout: Duration,
    mut each_tick: impl FnMut(),
) -> bool {
    let deadline = Instant::now() + timeout;
    let mut frame = vec![0.0; FRAME];
    let mut window = Vec::with_capacity(FRAME * 10);
    // The test plays the part of the media thread: one frame per 20 ms.
    let mut next = Instant::now();
    while Instant::now() < deadline {
        each_tick();
        if capture.read_frame(&mut frame).unwrap() {
            window.extend_from_slice(&frame);
            if window.len() >= FRAME * 10 {
                if has_tone(&window, 48_000, freq, reference) {
                    return true;
                }
                window.clear();
            }
        }
        next += Duration::from_millis(20);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    false
}

/// A greeting is recorded from the real microphone, outside any call: what the speaker plays
/// reaches it through the sink's monitor, and the file holds it once recording stops.
#[test]
fn the_microphone_is_recorded_to_a_file_outside_calls() {
    card();
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("greeting.ogg");
    let (tx, events) = channel();
    let engine = Engine::start(EngineConfig::default_devices(), tx).unwrap();
    engine.record_microphone(&path).unwrap();
    engine.play_tone(Tone::Sine(800.0));
    std::thread::sleep(Duration::from_secs(2));
    engine.stop_recording_microphone();
    engine.stop_tone();
    wait_event(
        &events,
        Duration::from_secs(5),
        "the recording closed",
        |e| matches!(e, MediaEvent::MicRecordingStopped).then_some(()),
    );
    let recorded = ogg_opus::OggOpusReader::read_all(&path).unwrap();
    let secs = recorded.len() as f32 / 48_000.0;
    assert!((1.5..3.0).contains(&secs), "{secs} s recorded");
    assert!(
        has_tone(&recorded, 48_000, 800.0, &[500.0, 1200.0]),
        "the speaker's 800 Hz is not in the recording"
    );
    // A folder that does not exist fails at once, in words.
    let Err(e) = engine.record_microphone(&dir.path().join("missing/greeting.ogg")) else {
        panic!("recorded into a missing folder")
    };
    assert!(!e.to_string().is_empty());
    engine.shutdown();
}

#[test]
fn a_tone_played_on_the_real_output_is_found_on_the_real_input() {
    card();
    let _g = serial();
    let mut capture = Capture::open(None).unwrap();
    let mut playback = Playback::open(None).unwrap();
    let mut phase = 0usize;
    let mut out = vec![0.0f32; FRAME];
    let found = hear(
        &mut capture,
        1000.0,
        &[600.0, 1500.0],
        Duration::from_secs(10),
        || {
            for s in out.iter_mut() {
                *s = 0.5 * (2.0 * std::f32::consts::PI * 1000.0 * phase as f32 / 48_000.0).sin();
                phase += 1;
            }
            playback.write_frame(&out).unwrap();
        },
    );
    assert!(found, "1 kHz never reached the monitor source");
}

#[test]
fn the_engine_plays_tones_on_the_speaker_and_meters_the_microphone() {
    card();
    let _g = serial();
    let (tx, events) = channel();
    let engine = Engine::start(EngineConfig::default_devices(), tx).unwrap();
    engine.set_mic_meter(true);
    // Silence first: the meter reads low.
    wait_event(
        &events,
        Duration::from_secs(5),
        "a quiet mic level",
        |e| match e {
            MediaEvent::MicLevel(l) if *l < -60.0 => Some(()),
            _ => None,
        },
    );
    // The speaker's sound reaches the microphone through the sink's monitor.
    engine.play_tone(Tone::Sine(800.0));
    wait_event(
        &events,
        Duration::from_secs(10),
        "a loud mic level",
        |e| match e {
            MediaEvent::MicLevel(l) if *l > -20.0 => Some(()),
            _ => None,
        },
    );
    engine.stop_tone();
    wait_event(
        &events,
        Duration::from_secs(10),
        "the level to fall after stop_tone",
        |e| match e {
            MediaEvent::MicLevel(l) if *l < -60.0 => Some(()),
            _ => None,
        },
    );
    engine.shutdown();
}

#[test]
fn a_ringtone_plays_on_the_ringing_device() {
    card();
    let _g = serial();
    let (tx, events) = channel();
    let engine = Engine::start(EngineConfig::default_devices(), tx).unwrap();
    engine.set_mic_meter(true);
    let ring =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/ringtones/classic.opus");
    engine.start_ringing(&ring, 1.0).unwrap();
    wait_event(
        &events,
        Duration::from_secs(10),
        "the ringtone on the monitor",
        |e| match e {
            MediaEvent::MicLevel(l) if *l > -30.0 => Some(()),
            _ => None,
        },
    );
    engine.stop_ringing();
    wait_event(
        &events,
        Duration::from_secs(10),
        "silence after stop_ringing",
        |e| match e {
            MediaEvent::MicLevel(l) if *l < -60.0 => Some(()),
            _ => None,
        },
    );
    engine.shutdown();
}

#[test]
fn a_missing_device_falls_back_to_the_default_with_an_event() {
    card();
    let _g = serial();
    let (tx, events) = channel();
    let cfg = EngineConfig {
        speaker: Some("alsa:no-such-device".into()),
        ..EngineConfig::default_devices()
    };
    let engine = Engine::start(cfg, tx).unwrap();
    // Devices open when something needs them; the level meter does.
    engine.set_mic_meter(true);
    let (what, from) = wait_event(
        &events,
        Duration::from_secs(10),
        "a fallback event",
        |e| match e {
            MediaEvent::DeviceFallback { what, from, .. } => Some((*what, from.clone())),
            _ => None,
        },
    );
    assert_eq!(what, DeviceRole::Speaker);
    assert_eq!(from, "alsa:no-such-device");
    // Switching devices mid-call keeps working: the speaker still reaches the monitor.
    engine.set_devices(EngineConfig::default_devices());
    engine.set_mic_meter(true);
    engine.play_tone(Tone::Sine(700.0));
    wait_event(
        &events,
        Duration::from_secs(10),
        "the tone after switching",
        |e| match e {
            MediaEvent::MicLevel(l) if *l > -20.0 => Some(()),
            _ => None,
        },
    );
    engine.shutdown();
}

#[test]
fn switching_devices_mid_call_keeps_the_call() {
    card();
    let _g = serial();
    let (tx, events) = channel();
    let engine = Engine::start(EngineConfig::default_devices(), tx).unwrap();
    // A call to a headless peer that sends 1000 Hz; we hear it on the speaker.
    let (ptx, peer_events) = channel();
    let peer = Engine::start(EngineConfig::headless(), ptx).unwrap();
    let ours = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let theirs = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (oa, ta) = (ours.local_addr().unwrap(), theirs.local_addr().unwrap());
    engine
        .start_stream(
            StreamId(1),
            StreamConfig::new(ours, ta, Codec::opus(111, 32_000)),
        )
        .unwrap();
    let mut cfg = StreamConfig::new(theirs, oa, Codec::opus(111, 32_000));
    cfg.route = Route::Sine(1000.0);
    peer.start_stream(StreamId(1), cfg).unwrap();
    engine.set_mic_meter(true);
    let loud = |e: &MediaEvent| matches!(e, MediaEvent::MicLevel(l) if *l > -25.0).then_some(());
    wait_event(
        &events,
        Duration::from_secs(10),
        "the call on the speaker",
        loud,
    );
    engine.set_devices(EngineConfig::default_devices());
    // The call goes on: the far end keeps getting reports about our stream, and we hear it again.
    wait_event(
        &events,
        Duration::from_secs(10),
        "the call after switching",
        loud,
    );
    wait_event(
        &peer_events,
        Duration::from_secs(5),
        "stats at the peer",
        |e| matches!(e, MediaEvent::Stats { .. }).then_some(()),
    );
    let loss = wait_event(&events, Duration::from_secs(5), "our stats", |e| match e {
        MediaEvent::Stats { loss_pct, .. } => Some(*loss_pct),
        _ => None,
    });
    assert!(loss < 5.0, "loss {loss}");
}

/// Recording streams the engine holds on the sound server right now.
fn recording_streams() -> usize {
    card()
        .pactl(&["list", "short", "source-outputs"])
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

#[test]
fn an_idle_engine_holds_no_device_and_opens_them_only_while_used() {
    card();
    let _g = serial();
    let (tx, events) = channel();
    let engine = Engine::start(EngineConfig::default_devices(), tx).unwrap();
    // Signed in and idle: no microphone open (the system's "in use" light stays off). An
    // absence can only be checked over a while; half a second is many media ticks.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(recording_streams(), 0, "the microphone is open while idle");
    engine.set_mic_meter(true);
    wait_event(&events, Duration::from_secs(10), "the meter", |e| {
        matches!(e, MediaEvent::MicLevel(_)).then_some(())
    });
    assert_eq!(recording_streams(), 1);
    engine.set_mic_meter(false);
    harness::wait_for(
        "the microphone to close after use",
        Duration::from_secs(15),
        || (recording_streams() == 0).then_some(()),
    )
    .unwrap();
    engine.shutdown();
}

fn playing_streams() -> usize {
    card()
        .pactl(&["list", "short", "sink-inputs"])
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// Two seconds of 700 Hz, as a voicemail file.
fn voicemail_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("vm.opus");
    let mut w = media::ogg_opus::OggOpusWriter::create(&path, 24_000).unwrap();
    let mut tone = media::tone::ToneGenerator::new(Tone::Sine(700.0), 48_000);
    for _ in 0..100 {
        let mut frame = vec![0.0; FRAME];
        tone.add_to(&mut frame);
        w.write_frame(&frame).unwrap();
    }
    w.finish().unwrap();
    path
}

#[test]
fn a_voicemail_plays_on_the_speaker_with_its_position_and_without_the_microphone() {
    card();
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let file = voicemail_file(dir.path());
    let (tx, events) = channel();
    let engine = Engine::start(EngineConfig::default_devices(), tx).unwrap();
    engine.play_file(&file, 0.0).unwrap();
    let first = wait_event(
        &events,
        Duration::from_secs(10),
        "a position",
        |e| match e {
            MediaEvent::FilePosition { secs } => Some(*secs),
            _ => None,
        },
    );
    assert!(first < 1.0, "started at {first} s");
    assert_eq!(playing_streams(), 1, "the speaker is not open");
    assert_eq!(
        recording_streams(),
        0,
        "playing a voicemail opened the microphone"
    );
    let mut last = first;
    wait_event(&events, Duration::from_secs(10), "the end", |e| match e {
        MediaEvent::FilePosition { secs } => {
            assert!(*secs >= last, "went back from {last} to {secs}");
            last = *secs;
            None
        }
        MediaEvent::FileFinished => Some(()),
        _ => None,
    });
    assert!((last - 2.0).abs() < 0.05, "ended at {last} s");

    // Seek: play again from 1.5 s; it starts there and stops at the end.
    engine.play_file(&file, 1.5).unwrap();
    let at = wait_event(
        &events,
        Duration::from_secs(10),
        "a position",
        |e| match e {
            MediaEvent::FilePosition { secs } => Some(*secs),
            _ => None,
        },
    );
    assert!((1.5..1.8).contains(&at), "resumed at {at} s");
    wait_event(&events, Duration::from_secs(5), "the end", |e| {
        matches!(e, MediaEvent::FileFinished).then_some(())
    });

    // Pause is a stop: no position after it.
    engine.play_file(&file, 0.0).unwrap();
    wait_event(&events, Duration::from_secs(10), "a position", |e| {
        matches!(e, MediaEvent::FilePosition { .. }).then_some(())
    });
    engine.stop_file();
    std::thread::sleep(Duration::from_millis(100));
    while events.try_recv().is_ok() {}
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !events.try_iter().any(|e| matches!(
            e,
            MediaEvent::FilePosition { .. } | MediaEvent::FileFinished
        )),
        "the file went on after it was stopped"
    );
    engine.shutdown();
}
