//! A machine with no sound device at all (or its sound server down): the engine still runs
//! calls, and says which devices are missing (when something first needs them) instead of
//! failing silently. Its own test binary,
//! because it points ALSA at an empty configuration for the whole process.

use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use media::*;

#[test]
fn without_any_device_the_engine_says_so_and_still_carries_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.conf");
    std::fs::write(&empty, "# no cards, no plugins\n").unwrap();
    // SAFETY: set before any thread of this test binary touches ALSA.
    unsafe {
        std::env::set_var("ALSA_CONFIG_PATH", &empty);
        std::env::set_var("PULSE_SERVER", "unix:/nonexistent/socket");
    }
    let (tx, events) = channel();
    let engine = Engine::start(EngineConfig::default_devices(), tx).unwrap();
    let missing = |what: &str, n: usize| {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while seen.len() < n && Instant::now() < deadline {
            if let Ok(MediaEvent::DeviceMissing { what, reason }) =
                events.recv_timeout(Duration::from_millis(100))
            {
                assert!(!reason.is_empty());
                seen.push(what);
            }
        }
        assert_eq!(seen.len(), n, "{what}: {seen:?}");
        seen
    };

    // A call needs the microphone and speaker; both are missing, and the call still runs on
    // the media clock: the far end's packets arrive and are reported.
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
    let mut voice = missing("the call's devices", 2);
    voice.sort_by_key(|w| format!("{w:?}"));
    assert_eq!(voice, vec![DeviceRole::Microphone, DeviceRole::Speaker]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stats = None;
    while stats.is_none() && Instant::now() < deadline {
        if let Ok(MediaEvent::Stats { loss_pct, .. }) =
            events.recv_timeout(Duration::from_millis(100))
        {
            stats = Some(loss_pct);
        }
    }
    let loss = stats.expect("call statistics without devices");
    assert!(loss < 5.0, "loss {loss} %");

    // A ringtone needs the ringing device, which is missing too.
    let ringtone =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/ringtones/classic.opus");
    engine.start_ringing(&ringtone, 0.5).unwrap();
    assert_eq!(missing("the ringer", 1), vec![DeviceRole::Ringer]);
    engine.shutdown();
    peer.shutdown();
}

/// With no microphone (a headless engine), a greeting still records on the media clock: silence
/// as long as the recording ran.
#[test]
fn a_greeting_recorded_without_a_microphone_is_silence_of_its_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("greeting.ogg");
    let (tx, events) = channel();
    let engine = Engine::start(EngineConfig::headless(), tx).unwrap();
    engine.record_microphone(&path).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    engine.stop_recording_microphone();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !matches!(
        events.recv_timeout(Duration::from_millis(100)),
        Ok(MediaEvent::MicRecordingStopped)
    ) {
        assert!(Instant::now() < deadline, "the recording never closed");
    }
    let recorded = ogg_opus::OggOpusReader::read_all(&path).unwrap();
    let secs = recorded.len() as f32 / 48_000.0;
    assert!((1.2..2.0).contains(&secs), "{secs} s recorded");
    assert!(recorded.iter().all(|s| s.abs() < 1e-3), "not silence");
}
