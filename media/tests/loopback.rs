//! Two real engines exchange RTP over loopback UDP: each hears the other's tone, with every
//! codec; DTMF events arrive once per press; the echo route sends back what it hears.

use std::net::UdpSocket;
use std::path::Path;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use media::tone::goertzel_level;
use media::{
    Codec, CodecKind, DeviceChoice, Direction, Engine, EngineConfig, MediaEvent, Route,
    StreamConfig,
};

fn engine() -> (Engine, Receiver<MediaEvent>) {
    let (tx, rx) = channel();
    let e = Engine::start(
        EngineConfig {
            devices: DeviceChoice::Headless,
            hold_music: None,
        },
        tx,
    )
    .unwrap();
    (e, rx)
}

fn codec(kind: CodecKind) -> Codec {
    let pt = match kind {
        CodecKind::Pcmu => 0,
        CodecKind::Pcma => 8,
        CodecKind::G722 => 9,
        CodecKind::Opus => 111,
    };
    Codec {
        kind,
        payload_type: pt,
        fmtp: None,
    }
}

/// Waits until a stream has received `packets` packets, by its statistics events.
fn wait_received(events: &Receiver<MediaEvent>, stream: u64, packets: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(MediaEvent::Stats { stream: s, stats }) =
            events.recv_timeout(Duration::from_millis(200))
            && s == stream
            && stats.packets_received >= packets
        {
            return;
        }
    }
    panic!("stream {stream} did not receive {packets} packets");
}

fn pair(
    kind: CodecKind,
    route_a: Route,
    route_b: Route,
    rec_a: &Path,
    rec_b: &Path,
) -> (
    (Engine, Receiver<MediaEvent>),
    (Engine, Receiver<MediaEvent>),
) {
    let sa = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sb = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (aa, ab) = (sa.local_addr().unwrap(), sb.local_addr().unwrap());
    let a = engine();
    let b = engine();
    a.0.start_stream(
        1,
        StreamConfig {
            socket: sa,
            remote: ab,
            codec: codec(kind),
            telephone_event: Some(101),
            direction: Direction::SendRecv,
            route: route_a,
            record: Some(rec_a.to_path_buf()),
        },
    )
    .unwrap();
    b.0.start_stream(
        2,
        StreamConfig {
            socket: sb,
            remote: aa,
            codec: codec(kind),
            telephone_event: Some(101),
            direction: Direction::SendRecv,
            route: route_b,
            record: Some(rec_b.to_path_buf()),
        },
    )
    .unwrap();
    (a, b)
}

fn recorded_level(path: &Path, freq: f32) -> f32 {
    let pcm = media::ogg_opus::read(path).unwrap();
    assert!(
        pcm.len() > 48000,
        "{} holds {} samples",
        path.display(),
        pcm.len()
    );
    goertzel_level(&pcm[pcm.len() / 2..], freq, 48000)
}

#[test]
fn each_side_hears_the_others_tone_with_every_codec() {
    for kind in [
        CodecKind::Pcmu,
        CodecKind::Pcma,
        CodecKind::G722,
        CodecKind::Opus,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (ra, rb) = (dir.path().join("a.opus"), dir.path().join("b.opus"));
        let ((a, ea), (b, eb)) = pair(kind, Route::Sine(600.0), Route::Sine(1000.0), &ra, &rb);
        wait_received(&ea, 1, 75);
        wait_received(&eb, 2, 75);
        a.stop_stream(1);
        b.stop_stream(2);
        a.shutdown();
        b.shutdown();
        // Stopping finishes the recordings; wait for the files to be complete.
        harness::wait_for("recordings to close", Duration::from_secs(5), || {
            (media::ogg_opus::read(&ra).is_ok() && media::ogg_opus::read(&rb).is_ok()).then_some(())
        })
        .unwrap();
        let a_hears_1000 = recorded_level(&ra, 1000.0);
        let b_hears_600 = recorded_level(&rb, 600.0);
        assert!(
            a_hears_1000 > 0.1,
            "{kind:?}: A hears B's 1000 Hz at {a_hears_1000}"
        );
        assert!(
            b_hears_600 > 0.1,
            "{kind:?}: B hears A's 600 Hz at {b_hears_600}"
        );
        assert!(
            recorded_level(&ra, 600.0) < 0.02,
            "{kind:?}: A does not hear itself"
        );
    }
}

#[test]
fn the_echo_route_sends_back_what_it_receives() {
    let dir = tempfile::tempdir().unwrap();
    let (ra, rb) = (dir.path().join("a.opus"), dir.path().join("b.opus"));
    let ((a, ea), (b, _eb)) = pair(CodecKind::Opus, Route::Sine(700.0), Route::Echo, &ra, &rb);
    wait_received(&ea, 1, 100);
    a.stop_stream(1);
    b.stop_stream(2);
    a.shutdown();
    harness::wait_for("the recording to close", Duration::from_secs(5), || {
        media::ogg_opus::read(&ra).ok()
    })
    .unwrap();
    assert!(recorded_level(&ra, 700.0) > 0.1);
}

#[test]
fn a_key_press_arrives_once_as_an_rfc_4733_event() {
    let dir = tempfile::tempdir().unwrap();
    let (ra, rb) = (dir.path().join("a.opus"), dir.path().join("b.opus"));
    let ((a, _ea), (_b, eb)) = pair(CodecKind::Pcmu, Route::Silence, Route::Silence, &ra, &rb);
    a.send_dtmf(1, '7');
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut digits = Vec::new();
    while Instant::now() < deadline && digits.is_empty() {
        if let Ok(MediaEvent::Dtmf { digit, .. }) = eb.recv_timeout(Duration::from_millis(100)) {
            digits.push(digit);
        }
    }
    // Keep listening a little: the end packets must not report the key again.
    let settle = Instant::now() + Duration::from_millis(500);
    while Instant::now() < settle {
        if let Ok(MediaEvent::Dtmf { digit, .. }) = eb.recv_timeout(Duration::from_millis(50)) {
            digits.push(digit);
        }
    }
    assert_eq!(digits, vec!['7']);
}
