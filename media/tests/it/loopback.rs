//! Two headless engines exchange RTP over loopback UDP: A sends a 600 Hz sine, B sends 1000 Hz,
//! and each finds the other's tone in a recording of what it received — for every codec. Also
//! telephone-event both ways, the echo route (what the PBX echo test and the echo bot do), and
//! the per-second statistics.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use media::ogg_opus::OggOpusReader;
use media::tone::goertzel_power;
use media::*;

/// Waits for the first event that `pick` accepts, failing after `timeout`.
fn wait_event<T>(
    events: &Receiver<MediaEvent>,
    timeout: Duration,
    what: &str,
    mut pick: impl FnMut(&MediaEvent) -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(ev) => {
                if let MediaEvent::StreamFailed { reason, .. } = &ev {
                    panic!("stream failed while waiting for {what}: {reason}");
                }
                if let Some(v) = pick(&ev) {
                    return v;
                }
            }
            Err(_) => panic!("timed out after {timeout:?} waiting for {what}"),
        }
    }
}

struct Side {
    engine: Engine,
    events: Receiver<MediaEvent>,
    recording: PathBuf,
}

fn side(
    dir: &Path,
    name: &str,
    socket: UdpSocket,
    remote: std::net::SocketAddr,
    codec: Codec,
    route: Route,
    srtp: Option<srtp::Keys>,
) -> Side {
    let (tx, events) = channel();
    let engine = Engine::start(EngineConfig::headless(), tx).unwrap();
    let recording = dir.join(format!("{name}.opus"));
    let mut cfg = StreamConfig::new(socket, remote, codec);
    cfg.route = route;
    cfg.srtp = srtp;
    cfg.record = Some(Recording {
        path: recording.clone(),
        what: RecordWhat::Received,
    });
    engine.start_stream(StreamId(1), cfg).unwrap();
    Side {
        engine,
        events,
        recording,
    }
}

fn pair(codec: Codec, route_a: Route, route_b: Route) -> (Side, Side, tempfile::TempDir) {
    pair_keyed(codec, route_a, route_b, None, None)
}

fn pair_keyed(
    codec: Codec,
    route_a: Route,
    route_b: Route,
    keys_a: Option<srtp::Keys>,
    keys_b: Option<srtp::Keys>,
) -> (Side, Side, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let sa = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sb = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (aa, ab) = (sa.local_addr().unwrap(), sb.local_addr().unwrap());
    let a = side(dir.path(), "a", sa, ab, codec, route_a, keys_a);
    let b = side(dir.path(), "b", sb, aa, codec, route_b, keys_b);
    (a, b, dir)
}

/// Waits for two statistics reports (2 s of audio) and one that has a round-trip time (RTT
/// needs an SR from each side answered by the other's report, which may take one more second),
/// then stops the stream and returns the recording.
fn finish(s: &Side) -> (Vec<f32>, (f32, f32, Option<f32>, f32)) {
    let mut stats = None;
    let mut reports = 0;
    while reports < 2
        || stats.is_none_or(|(_, _, rtt, _): (f32, f32, Option<f32>, f32)| rtt.is_none())
    {
        assert!(
            reports < 6,
            "no report with a round-trip time after {reports} reports"
        );
        stats = Some(wait_event(
            &s.events,
            Duration::from_secs(5),
            "stats",
            |e| match e {
                MediaEvent::Stats {
                    loss_pct,
                    jitter_ms,
                    rtt_ms,
                    mos,
                    ..
                } => Some((*loss_pct, *jitter_ms, *rtt_ms, *mos)),
                _ => None,
            },
        ));
        reports += 1;
    }
    s.engine.stop_stream(StreamId(1));
    wait_event(&s.events, Duration::from_secs(5), "stream stopped", |e| {
        matches!(e, MediaEvent::StreamStopped { .. }).then_some(())
    });
    (
        OggOpusReader::read_all(&s.recording).unwrap(),
        stats.unwrap(),
    )
}

fn assert_tone(samples: &[f32], want: f32, other: f32, who: &str) {
    // Skip the first half second: jitter buffer fill and resampler delay.
    let tail = &samples[24_000.min(samples.len())..];
    assert!(
        tail.len() > 24_000,
        "{who}: only {} samples recorded",
        samples.len()
    );
    let on = goertzel_power(tail, 48_000, want);
    let off = goertzel_power(tail, 48_000, other);
    let noise = goertzel_power(tail, 48_000, 1700.0);
    assert!(
        on > 100.0 * off && on > 100.0 * noise,
        "{who}: {want} Hz power {on}, {other} Hz {off}, 1700 Hz {noise}"
    );
}

fn tones_both_ways(codec: Codec) {
    let (a, b, _dir) = pair(codec, Route::Sine(600.0), Route::Sine(1000.0));
    let (heard_by_a, stats_a) = finish(&a);
    let (heard_by_b, _) = finish(&b);
    assert_tone(&heard_by_a, 1000.0, 600.0, "A");
    assert_tone(&heard_by_b, 600.0, 1000.0, "B");
    let (loss, jitter, rtt, mos) = stats_a;
    assert!(loss < 1.0, "loss {loss}");
    assert!(jitter < 20.0, "jitter {jitter}");
    assert!(rtt.is_some_and(|r| r < 50.0), "rtt {rtt:?}");
    assert!(mos > 4.0, "MOS {mos}");
}

#[test]
fn pcmu_carries_a_tone_each_way() {
    tones_both_ways(Codec::pcmu());
}

#[test]
fn srtp_carries_a_tone_each_way_with_rtcp_and_a_wrong_key_hears_nothing() {
    let (ka, kb) = ([1u8; 30], [2u8; 30]);
    for suite in [
        srtp::Suite::AesCm128HmacSha1_80,
        srtp::Suite::AesCm128HmacSha1_32,
    ] {
        let keys = |send, receive| {
            Some(srtp::Keys {
                suite,
                send,
                receive,
            })
        };
        let (a, b, _dir) = pair_keyed(
            Codec::pcmu(),
            Route::Sine(600.0),
            Route::Sine(1000.0),
            keys(ka, kb),
            keys(kb, ka),
        );
        let (heard_by_a, (_, _, rtt, _)) = finish(&a);
        let (heard_by_b, _) = finish(&b);
        assert_tone(&heard_by_a, 1000.0, 600.0, "A");
        assert_tone(&heard_by_b, 600.0, 1000.0, "B");
        assert!(rtt.is_some(), "SRTCP reports came through: {rtt:?}");
    }
    // B expects the wrong key for what A sends: every packet fails authentication.
    let (a, b, _dir) = pair_keyed(
        Codec::pcmu(),
        Route::Sine(600.0),
        Route::Sine(1000.0),
        Some(srtp::Keys {
            suite: srtp::Suite::AesCm128HmacSha1_80,
            send: ka,
            receive: kb,
        }),
        Some(srtp::Keys {
            suite: srtp::Suite::AesCm128HmacSha1_80,
            send: kb,
            receive: [9; 30],
        }),
    );
    for _ in 0..2 {
        wait_event(&b.events, Duration::from_secs(5), "stats", |e| {
            matches!(e, MediaEvent::Stats { .. }).then_some(())
        });
    }
    b.engine.stop_stream(StreamId(1));
    wait_event(&b.events, Duration::from_secs(5), "stream stopped", |e| {
        matches!(e, MediaEvent::StreamStopped { .. }).then_some(())
    });
    let heard_by_b = OggOpusReader::read_all(&b.recording).unwrap();
    assert!(
        level_db(&heard_by_b) < -60.0,
        "nothing decrypted with the wrong key: {} dB",
        level_db(&heard_by_b)
    );
    drop(a);
}

#[test]
fn pcma_carries_a_tone_each_way() {
    tones_both_ways(Codec::pcma());
}

#[test]
fn opus_carries_a_tone_each_way() {
    tones_both_ways(Codec::opus(111, 32_000));
}

#[test]
fn opus_with_10ms_packets_carries_a_tone_each_way() {
    let mut c = Codec::opus(111, 24_000);
    c.ptime_ms = 10;
    tones_both_ways(c);
}

#[test]
fn the_echo_route_sends_back_what_it_receives() {
    let (a, b, _dir) = pair(Codec::opus(111, 32_000), Route::Sine(600.0), Route::Echo);
    let (heard_by_a, _) = finish(&a);
    assert_tone(&heard_by_a, 600.0, 1000.0, "A (its own echo)");
    drop(b);
}

#[test]
fn dtmf_is_received_once_per_key_in_order() {
    let (a, b, _dir) = pair(Codec::pcmu(), Route::Sine(600.0), Route::Sine(1000.0));
    for k in ['1', '#', '9'] {
        a.engine.send_dtmf(StreamId(1), k);
    }
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(wait_event(
            &b.events,
            Duration::from_secs(5),
            "DTMF",
            |e| match e {
                MediaEvent::DtmfReceived { digit, .. } => Some(*digit),
                _ => None,
            },
        ));
    }
    assert_eq!(got, vec!['1', '#', '9']);
}

#[test]
fn a_bad_codec_setting_is_refused_at_once() {
    let (tx, _events) = channel();
    let engine = Engine::start(EngineConfig::headless(), tx).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut codec = Codec::pcmu();
    codec.ptime_ms = 30;
    let err = engine.start_stream(
        StreamId(1),
        StreamConfig::new(socket, "127.0.0.1:9".parse().unwrap(), codec),
    );
    assert!(matches!(err, Err(MediaError::Unsupported(_))));
}

#[test]
fn a_merged_call_hears_the_other_remote() {
    // Us with two remotes: R1 sends 600 Hz, R2 sends 1000 Hz. Merged, R1 must hear 1000 Hz.
    let dir = tempfile::tempdir().unwrap();
    let (tx, events) = channel();
    let hub = Engine::start(EngineConfig::headless(), tx).unwrap();
    let h1 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let h2 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let r1 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let r2 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (h1a, h2a, r1a, r2a) = (
        h1.local_addr().unwrap(),
        h2.local_addr().unwrap(),
        r1.local_addr().unwrap(),
        r2.local_addr().unwrap(),
    );
    hub.start_stream(StreamId(1), StreamConfig::new(h1, r1a, Codec::pcmu()))
        .unwrap();
    hub.start_stream(StreamId(2), StreamConfig::new(h2, r2a, Codec::pcmu()))
        .unwrap();
    hub.conference(&[StreamId(1), StreamId(2)]);
    let one = side(
        dir.path(),
        "r1",
        r1,
        h1a,
        Codec::pcmu(),
        Route::Sine(600.0),
        None,
    );
    let two = side(
        dir.path(),
        "r2",
        r2,
        h2a,
        Codec::pcmu(),
        Route::Sine(1000.0),
        None,
    );
    let (heard_by_1, _) = finish(&one);
    let (heard_by_2, _) = finish(&two);
    assert_tone(&heard_by_1, 1000.0, 600.0, "R1");
    assert_tone(&heard_by_2, 600.0, 1000.0, "R2");
    drop(events);
}

#[test]
fn g722_carries_a_tone_each_way() {
    tones_both_ways(Codec::g722());
}

fn level_db(samples: &[f32]) -> f32 {
    let ms = samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32;
    10.0 * ms.max(1e-10).log10()
}

#[test]
fn music_on_hold_replaces_the_silent_microphone() {
    // A's microphone is silent (headless); with hold music on, B hears music.
    let (a, b, _dir) = pair(Codec::opus(111, 32_000), Route::Local, Route::Sine(1000.0));
    a.engine.set_hold_music(StreamId(1), true).unwrap();
    let (heard_by_b, _) = finish(&b);
    let tail = &heard_by_b[24_000..];
    assert!(
        level_db(tail) > -40.0,
        "hold music level {} dBFS",
        level_db(tail)
    );
    drop(a);
}

#[test]
fn without_hold_music_the_silent_microphone_sends_silence() {
    let (a, b, _dir) = pair(Codec::opus(111, 32_000), Route::Local, Route::Sine(1000.0));
    let (heard_by_b, _) = finish(&b);
    assert!(level_db(&heard_by_b[24_000..]) < -60.0);
    drop(a);
}

#[test]
fn a_played_file_reaches_the_far_end_and_reports_its_end() {
    let chime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/ringtones/chime.opus");
    let (a, b, _dir) = pair(
        Codec::pcmu(),
        Route::Play {
            path: chime,
            looped: false,
        },
        Route::Sine(1000.0),
    );
    wait_event(
        &a.events,
        Duration::from_secs(60),
        "the end of the file",
        |e| matches!(e, MediaEvent::PlaybackFinished { .. }).then_some(()),
    );
    b.engine.stop_stream(StreamId(1));
    wait_event(&b.events, Duration::from_secs(5), "stream stopped", |e| {
        matches!(e, MediaEvent::StreamStopped { .. }).then_some(())
    });
    let heard = OggOpusReader::read_all(&b.recording).unwrap();
    assert!(
        level_db(&heard) > -45.0,
        "the chime arrived at {} dBFS",
        level_db(&heard)
    );
}

#[test]
fn an_inactive_stream_sends_nothing_until_updated_to_sendrecv() {
    let (a, b, _dir) = pair(Codec::pcmu(), Route::Sine(600.0), Route::Sine(1000.0));
    a.engine.update_stream(
        StreamId(1),
        StreamUpdate {
            direction: Some(Direction::Inactive),
            ..Default::default()
        },
    );
    for _ in 0..2 {
        wait_event(&b.events, Duration::from_secs(5), "stats", |e| {
            matches!(e, MediaEvent::Stats { .. }).then_some(())
        });
    }
    a.engine.update_stream(
        StreamId(1),
        StreamUpdate {
            direction: Some(Direction::SendRecv),
            ..Default::default()
        },
    );
    let (heard_by_b, _) = finish(&b);
    // 0.5 s to 1.5 s: A was inactive. The last second: A sends again.
    assert!(
        level_db(&heard_by_b[24_000..72_000]) < -50.0,
        "heard {} dBFS while inactive",
        level_db(&heard_by_b[24_000..72_000])
    );
    let tail = &heard_by_b[heard_by_b.len() - 24_000..];
    assert!(
        tail.len() == 24_000 && level_db(tail) > -20.0,
        "tone did not resume"
    );
    drop(a);
}

#[test]
fn dropping_the_last_handle_stops_the_engine_and_frees_its_sockets() {
    let (tx, _events) = channel();
    let engine = Engine::start(EngineConfig::headless(), tx).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    engine
        .start_stream(
            StreamId(1),
            StreamConfig::new(socket, "127.0.0.1:9".parse().unwrap(), Codec::pcmu()),
        )
        .unwrap();
    let clone = engine.clone();
    drop(engine);
    // A clone keeps it alive: the port is still taken.
    assert!(UdpSocket::bind(addr).is_err());
    drop(clone);
    harness::wait_for(
        "the RTP port to be released",
        Duration::from_secs(5),
        || UdpSocket::bind(addr).ok(),
    )
    .unwrap();
}

/// ICE between two streams on loopback: each side only knows the other's host candidate and
/// credentials, and the SDP address each starts with is wrong (a closed port). The controlling
/// side nominates a pair, both report it, and the tones cross on it.
#[test]
fn ice_finds_the_pair_and_the_audio_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let sa = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sb = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (aa, ab) = (sa.local_addr().unwrap(), sb.local_addr().unwrap());
    let nowhere = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (ca, cb) = (ice::IceCreds::new(), ice::IceCreds::new());
    let host = |a| ice::Candidate::host(a, "udp").unwrap();
    let start = |name: &str,
                 socket,
                 tone,
                 controlling,
                 local: &ice::IceCreds,
                 remote: &ice::IceCreds,
                 mine,
                 theirs| {
        let (tx, events) = channel();
        let engine = Engine::start(EngineConfig::headless(), tx).unwrap();
        let recording = dir.path().join(format!("{name}.opus"));
        let mut cfg = StreamConfig::new(socket, nowhere, Codec::pcmu());
        cfg.route = Route::Sine(tone);
        cfg.record = Some(Recording {
            path: recording.clone(),
            what: RecordWhat::Received,
        });
        cfg.ice = Some(ice::IceConfig {
            controlling,
            local: local.clone(),
            remote: remote.clone(),
            local_candidates: vec![host(mine)],
            remote_candidates: vec![host(theirs)],
        });
        engine.start_stream(StreamId(1), cfg).unwrap();
        Side {
            engine,
            events,
            recording,
        }
    };
    let a = start("a", sa, 600.0, true, &ca, &cb, aa, ab);
    let b = start("b", sb, 1000.0, false, &cb, &ca, ab, aa);
    let nominated = |s: &Side| {
        wait_event(
            &s.events,
            Duration::from_secs(5),
            "a nominated pair",
            |e| match e {
                MediaEvent::IceNominated { remote, .. } => Some(*remote),
                _ => None,
            },
        )
    };
    assert_eq!(nominated(&a), ab);
    assert_eq!(nominated(&b), aa);
    let (heard_by_a, _) = finish(&a);
    let (heard_by_b, _) = finish(&b);
    assert_tone(&heard_by_a, 1000.0, 600.0, "A");
    assert_tone(&heard_by_b, 600.0, 1000.0, "B");
}
