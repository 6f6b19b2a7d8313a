//! A call through NAT with ICE (RFC 8445): engine A sits behind a NAT (iptables masquerade)
//! in a network namespace of the test's own, engine B on the public side next to a STUN server
//! (coturn); both know the STUN server. A calls B directly. B cannot reach the private address
//! A's host candidate names, and symmetric RTP is not what carries the call: ICE nominates
//! the pair (A's public NAT address on B's side), both engines report it, and the tones cross
//! both ways.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use crate::support::*;
use harness::audio::has_tone;
use harness::nat_lab::{self, NatLab, Side};
use sipcore::media_adapter::{AudioSource, MediaEngine};
use sipcore::{CallId, CallState, Command, EngineConfig};

struct Phone {
    ua: Ua,
    media: Arc<MediaEngine>,
    media_events: Receiver<media::MediaEvent>,
}

/// An engine started from a thread inside `side`'s namespace (its threads stay there).
fn phone(
    lab: &Arc<NatLab>,
    side: Side,
    ip: std::net::IpAddr,
    tone: f32,
    dir: &std::path::Path,
) -> Phone {
    let (lab, dir) = (lab.clone(), dir.to_path_buf());
    std::thread::spawn(move || {
        lab.enter(side).unwrap();
        let (tx, media_events) = std::sync::mpsc::channel();
        let engine = media::Engine::start(media::EngineConfig::headless(), tx).unwrap();
        let media = Arc::new(MediaEngine {
            engine,
            source: AudioSource::Tone(tone),
            record_dir: Some(dir),
        });
        let config = EngineConfig {
            bind_ip: ip,
            sip_port: 5060,
            ..Default::default()
        };
        let (handle, events) = sipcore::start(config, media.clone(), None).unwrap();
        let mut account = sipcore::Account::new("ice", "", &format!("{}:5999", nat_lab::B_IP));
        account.stun_server = Some(nat_lab::STUN.to_string());
        handle.send(Command::Register(account));
        Phone {
            ua: Ua::from_parts(handle, events),
            media,
            media_events,
        }
    })
    .join()
    .unwrap()
}

fn nominated(p: &Phone) -> SocketAddr {
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match p.media_events.recv_timeout(left) {
            Ok(media::MediaEvent::IceNominated { remote, .. }) => return remote,
            Ok(_) => {}
            Err(e) => panic!("no ICE nomination: {e}"),
        }
    }
}

#[test]
fn a_call_through_nat_finds_its_path_with_ice_and_carries_audio_both_ways() {
    let lab = Arc::new(NatLab::start().expect("the NAT lab (root, ip, iptables, coturn)"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a")).unwrap();
    std::fs::create_dir_all(dir.path().join("b")).unwrap();
    let mut a = phone(&lab, Side::A, nat_lab::A_IP, 600.0, &dir.path().join("a"));
    let mut b = phone(&lab, Side::B, nat_lab::B_IP, 1000.0, &dir.path().join("b"));
    // Registration fails (no registrar in this network); the account is still there to call.
    std::thread::sleep(Duration::from_millis(300));
    let id = CallId(1);
    a.ua.handle.send(Command::Dial {
        call: id,
        target: format!("sip:ice@{}:5060", nat_lab::B_IP),
    });
    let (theirs, _) = b.ua.wait_incoming("the call through the NAT");
    b.ua.handle.send(Command::Answer(theirs));
    a.ua.wait("answered", |e| {
        matches!(state_of(e, id), Some(CallState::Active { .. }))
    });
    let on_a = nominated(&a);
    let on_b = nominated(&b);
    assert_eq!(on_a.ip(), nat_lab::B_IP, "A sends to B's address");
    assert_eq!(
        on_b.ip(),
        nat_lab::NAT_PUBLIC_IP,
        "B sends to A's public address on the NAT, learnt by STUN and checked by ICE"
    );
    std::thread::sleep(Duration::from_secs(3));
    a.ua.handle.send(Command::HangUp(id));
    b.ua.wait("hung up", |e| {
        matches!(state_of(e, theirs), Some(CallState::Ended(_)))
    });
    let read = |p: &Phone, call| {
        let path = p.media.recording_path(call).unwrap();
        harness::wait_for("the recording", TIMEOUT, || {
            media::ogg_opus::OggOpusReader::read_all(&path).ok()
        })
        .unwrap()
    };
    let heard_by_a = read(&a, id);
    let heard_by_b = read(&b, theirs);
    assert!(
        has_tone(&heard_by_a[heard_by_a.len() / 2..], 48000, 1000.0, &[600.0]),
        "A hears B"
    );
    assert!(
        has_tone(&heard_by_b[heard_by_b.len() / 2..], 48000, 600.0, &[1000.0]),
        "B hears A"
    );
    drop((a, b));
}
