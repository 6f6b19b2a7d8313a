//! Media through a real PBX: the harness Asterisk answers 9196 with Echo(). sipp does only the
//! signalling (sipcore is not ready yet), offering an RTP port whose socket this test's media
//! engine owns; the engine sends a 600 Hz tone and a DTMF key and must get both back.
//! When sipcore lands, the same check runs with sipcore placing the call.

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use harness::Pbx;
use harness::process::ChildGuard;
use harness::wait_for;
use media::ogg_opus::OggOpusReader;
use media::tone::goertzel_power;
use media::*;

fn wait_event<T>(
    events: &Receiver<MediaEvent>,
    timeout: Duration,
    what: &str,
    mut pick: impl FnMut(&MediaEvent) -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(MediaEvent::StreamFailed { reason, .. }) => panic!("stream failed: {reason}"),
            Ok(ev) => {
                if let Some(v) = pick(&ev) {
                    return v;
                }
            }
            Err(_) => panic!("timed out after {timeout:?} waiting for {what}"),
        }
    }
}

#[test]
fn the_pbx_echo_test_returns_our_tone_and_dtmf() {
    // Engineers sharing a machine share 127.0.0.1:25060: if the demo PBX already answers there
    // (started from another work tree), call through it rather than start a second one.
    let running = harness::sip_probe::options(harness::pbx::sip_addr(), Duration::from_secs(2))
        .ok()
        .and_then(|r| {
            r.header("Server")
                .or(r.header("User-Agent"))
                .map(|s| s.contains("Switchboard demo PBX"))
        })
        .unwrap_or(false);
    let pbx = if running {
        Pbx::new()
    } else {
        Pbx::ensure_up().expect("PBX up")
    };
    let lease = pbx.lease_any().expect("a test extension");
    let user = &lease.user;
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rtp_port = socket.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/echo-call.xml");
    let sip_port = harness::peers::free_udp_port().unwrap();
    let mut sipp = ChildGuard::spawn(
        "sipp",
        Command::new("sipp")
            .current_dir(dir.path())
            .arg(harness::pbx::sip_addr().to_string())
            .arg("-sf")
            .arg(&scenario)
            .args([
                "-m",
                "1",
                "-nostdin",
                "-trace_err",
                "-trace_logs",
                "-i",
                "127.0.0.1",
            ])
            .args(["-p", &sip_port.to_string(), "-s", "9196"])
            .args(["-au", &user.extension, "-ap", &user.password])
            .args([
                "-set",
                "user",
                &user.extension,
                "-set",
                "rtp_port",
                &rtp_port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .unwrap();
    let remote_port: u16 = wait_for(
        "sipp to log the answer's RTP port",
        Duration::from_secs(20),
        || {
            std::fs::read_dir(dir.path())
                .ok()?
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with("_logs.log"))
                .find_map(|e| {
                    let text = std::fs::read_to_string(e.path()).ok()?;
                    text.split("RTP_PORT=")
                        .nth(1)?
                        .split_whitespace()
                        .next()?
                        .parse()
                        .ok()
                })
        },
    )
    .unwrap_or_else(|e| {
        let errors: String = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect();
        panic!("{e}\n{errors}");
    });

    let (tx, events) = channel();
    let engine = Engine::start(EngineConfig::headless(), tx).unwrap();
    let recording = dir.path().join("echo.opus");
    let mut cfg = StreamConfig::new(
        socket,
        format!("127.0.0.1:{remote_port}").parse().unwrap(),
        Codec::pcmu(),
    );
    cfg.route = Route::Sine(600.0);
    cfg.record = Some(Recording {
        path: recording.clone(),
        what: RecordWhat::Received,
    });
    engine.start_stream(StreamId(1), cfg).unwrap();
    engine.send_dtmf(StreamId(1), '5');
    let digit = wait_event(
        &events,
        Duration::from_secs(5),
        "the echoed DTMF",
        |e| match e {
            MediaEvent::DtmfReceived { digit, .. } => Some(*digit),
            _ => None,
        },
    );
    assert_eq!(digit, '5');
    for _ in 0..3 {
        wait_event(&events, Duration::from_secs(5), "stats", |e| {
            matches!(e, MediaEvent::Stats { .. }).then_some(())
        });
    }
    engine.stop_stream(StreamId(1));
    wait_event(&events, Duration::from_secs(5), "stream stopped", |e| {
        matches!(e, MediaEvent::StreamStopped { .. }).then_some(())
    });
    let heard = OggOpusReader::read_all(&recording).unwrap();
    let tail = &heard[heard.len() / 2..];
    let on = goertzel_power(tail, 48_000, 600.0);
    assert!(
        on > 100.0 * goertzel_power(tail, 48_000, 1000.0),
        "no 600 Hz echo: {on}"
    );
    wait_for("sipp to hang up", Duration::from_secs(20), || {
        (!sipp.is_running()).then_some(())
    })
    .unwrap();
}
