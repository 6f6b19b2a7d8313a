//! A headset plugged in while the app runs, then pulled out in the middle of a call: its
//! speaker and its microphone both fall back to the defaults.
//!
//! The "headset" is a second PulseAudio null sink, made visible to ALSA (and so to cpal) by an
//! ALSA configuration file that the test rewrites, the way a new card's entry appears. Pulling
//! it out unloads the sink, which ends the stream playing to it exactly as unplugging a USB
//! headset does. Its own test binary, because it sets process-wide environment variables.

use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use harness::audio::VirtualSoundCard;
use harness::wait::next_matching as wait_event;
use media::*;

const HEADSET: &str = "sb_headset";

/// The loudest microphone level reported over `span`. The microphone is the default sink's
/// monitor, so this says whether our speaker output reaches the default sink.
fn loudest(events: &Receiver<MediaEvent>, span: Duration) -> f32 {
    let end = Instant::now() + span;
    let mut max = -100.0f32;
    while let Ok(e) = events.recv_timeout(end.saturating_duration_since(Instant::now())) {
        match e {
            MediaEvent::MicLevel(l) => max = max.max(l),
            MediaEvent::DeviceFallback { .. } | MediaEvent::StreamFailed { .. } => {
                panic!("while listening: {e:?}")
            }
            _ => {}
        }
    }
    max
}

#[test]
fn a_plugged_in_headset_is_listed_used_and_falls_back_when_pulled_out_mid_call() {
    let card = VirtualSoundCard::start("sb_main").expect("PulseAudio");
    card.export_env();
    let dir = tempfile::tempdir().unwrap();
    let alsa_conf = dir.path().join("hotplug.conf");
    std::fs::write(&alsa_conf, "# no headset yet\n").unwrap();
    // SAFETY: set before any thread of this test binary touches ALSA.
    unsafe {
        std::env::set_var(
            "ALSA_CONFIG_PATH",
            format!("/usr/share/alsa/alsa.conf:{}", alsa_conf.display()),
        )
    };

    let (tx, events) = channel();
    let engine = Engine::start(EngineConfig::default_devices(), tx).unwrap();
    // As on the settings page: the level meter opens the devices, and devices in use are what
    // the engine watches for changes.
    engine.set_mic_meter(true);
    wait_event(&events, Duration::from_secs(10), "the meter", |e| {
        matches!(e, MediaEvent::MicLevel(_)).then_some(())
    });
    let before = engine.list_devices().unwrap();
    assert!(
        !before.iter().any(|d| d.id.contains(HEADSET)),
        "{before:#?}"
    );

    // Plug it in: a sink for the card, and the entry the system lists it under.
    let module = card
        .pactl(&[
            "load-module",
            "module-null-sink",
            &format!("sink_name={HEADSET}_sink"),
            "rate=48000",
        ])
        .unwrap();
    std::fs::write(
        &alsa_conf,
        format!(
            "pcm.{HEADSET} {{\n  type pulse\n  device \"{HEADSET}_sink\"\n  \
             hint {{ show on description \"Test Headset\" }}\n}}\n\
             pcm.{HEADSET}_mic {{\n  type pulse\n  device \"{HEADSET}_sink.monitor\"\n  \
             hint {{ show on description \"Test Headset Microphone\" }}\n}}\n"
        ),
    )
    .unwrap();
    wait_event(
        &events,
        Duration::from_secs(10),
        "the device list to change",
        |e| matches!(e, MediaEvent::DevicesChanged).then_some(()),
    );
    let headset = engine
        .list_devices()
        .unwrap()
        .into_iter()
        .find(|d| d.id.contains(HEADSET) && d.kind == DeviceKind::Output)
        .expect("the headset in the list");
    assert_eq!(headset.name, "Test Headset");
    let headset_mic = format!("alsa:{HEADSET}_mic");

    // A call whose far end sends 1000 Hz, heard on the headset.
    let (ptx, _peer_events) = channel();
    let peer = Engine::start(EngineConfig::headless(), ptx).unwrap();
    let ours = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let theirs = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (oa, ta) = (ours.local_addr().unwrap(), theirs.local_addr().unwrap());
    engine
        .start_stream(StreamId(1), StreamConfig::new(ours, ta, Codec::pcmu()))
        .unwrap();
    let mut far = StreamConfig::new(theirs, oa, Codec::pcmu());
    far.route = Route::Sine(1000.0);
    peer.start_stream(StreamId(1), far).unwrap();
    engine.set_devices(EngineConfig {
        speaker: Some(headset.id.clone()),
        ..EngineConfig::default_devices()
    });
    // Wait for a stats report so the call is certainly flowing, then check the default sink
    // stays quiet: the call is on the headset.
    wait_event(&events, Duration::from_secs(5), "call stats", |e| {
        matches!(e, MediaEvent::Stats { .. }).then_some(())
    });
    let quiet = loudest(&events, Duration::from_secs(1));
    assert!(
        quiet < -50.0,
        "the default sink heard the call at {quiet} dBFS"
    );
    // The headset's microphone (its own sink's monitor here) hears the call on the headset.
    engine.set_devices(EngineConfig {
        speaker: Some(headset.id.clone()),
        microphone: Some(headset_mic.clone()),
        ..EngineConfig::default_devices()
    });
    wait_event(
        &events,
        Duration::from_secs(10),
        "the headset's microphone",
        |e| matches!(e, MediaEvent::MicLevel(l) if *l > -30.0).then_some(()),
    );

    // Pull it out.
    // Pull it out: the card's sink goes, and so does its entry in the device list.
    card.pactl(&["unload-module", &module]).unwrap();
    std::fs::write(&alsa_conf, "# the headset is gone\n").unwrap();
    // Both halves fall back, in whichever order the engine notices.
    let mut fell_back: Vec<(DeviceRole, String)> = Vec::new();
    let from_of = |list: &[(DeviceRole, String)], role| {
        list.iter()
            .find(|(r, _)| *r == role)
            .map(|(_, f)| f.clone())
    };
    while from_of(&fell_back, DeviceRole::Speaker).is_none()
        || from_of(&fell_back, DeviceRole::Microphone).is_none()
    {
        let (what, from, to) = wait_event(
            &events,
            Duration::from_secs(10),
            &format!("the headset's fallbacks (so far {fell_back:?})"),
            |e| match e {
                MediaEvent::DeviceFallback { what, from, to } => {
                    Some((*what, from.clone(), to.clone()))
                }
                MediaEvent::StreamFailed { reason, .. } => panic!("the call failed: {reason}"),
                _ => None,
            },
        );
        assert!(!to.is_empty() && to != from, "fell back to {to:?}");
        fell_back.push((what, from));
    }
    assert_eq!(from_of(&fell_back, DeviceRole::Speaker), Some(headset.id));
    assert_eq!(
        from_of(&fell_back, DeviceRole::Microphone),
        Some(headset_mic)
    );
    // The same call is now heard on the default device.
    wait_event(
        &events,
        Duration::from_secs(10),
        "the call on the default speaker",
        |e| matches!(e, MediaEvent::MicLevel(l) if *l > -30.0).then_some(()),
    );
    engine.shutdown();
    peer.shutdown();
}
