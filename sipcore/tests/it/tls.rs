//! SIP over TLS against the real Asterisk (its TLS transport on 127.0.0.1:25061 presents a
//! certificate from the harness's own test CA): sign-in, calls and audio when that CA is
//! trusted; refusals in words, with nothing sent in clear, when it is not or the name is wrong.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;
use harness::audio::has_tone;
use sipcore::media_adapter::{AudioSource, MediaEngine};
use sipcore::{CallId, CallState, Command, EngineConfig, Event, RegistrationState, Transport};

fn tls_account(pbx: &harness::Pbx, user: &harness::User) -> sipcore::Account {
    let mut a = account(user);
    a.transport = Transport::Tls;
    a.server = harness::pbx::tls_addr().to_string();
    a.trusted_ca = Some(pbx.tls_ca().unwrap());
    a
}

fn failure(e: Event) -> (String, bool) {
    match e {
        Event::Registration(RegistrationState::Failed { reason, retrying }) => {
            (reason.to_string(), retrying)
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// Signs in over TLS with the test CA trusted, calls the echo test and hears our own tone come
/// back; Asterisk lists the contact as reached over TLS.
#[test]
fn registers_and_calls_the_echo_test_over_tls() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (tx, _media_events) = std::sync::mpsc::channel();
    let engine = media::Engine::start(media::EngineConfig::headless(), tx).unwrap();
    let media = Arc::new(MediaEngine {
        engine,
        source: AudioSource::Tone(697.0),
        record_dir: Some(dir.path().to_path_buf()),
    });
    let (handle, events) = sipcore::start(EngineConfig::default(), media.clone(), None).unwrap();
    let mut ua = Ua::from_parts(handle, events);
    ua.handle
        .send(Command::Register(tls_account(&pbx, &lease.user)));
    ua.wait("registered over TLS", |e| {
        matches!(e, Event::Registration(RegistrationState::Registered { .. }))
    });
    let ext = lease.user.extension.clone();
    let contact = harness::wait_for("Asterisk's contact for us", TIMEOUT, || {
        let out = pbx.cli("pjsip show contacts").ok()?;
        out.lines()
            .find(|l| l.contains(&format!("{ext}/sip")))
            .map(str::to_string)
    })
    .unwrap();
    assert!(
        contact.to_ascii_lowercase().contains("transport=tls"),
        "{contact}"
    );
    let id = CallId(1);
    ua.handle.send(Command::Dial {
        call: id,
        target: "9196".into(),
    });
    ua.wait(
        "the echo test to answer",
        |e| matches!(e, Event::CallState { call, state: CallState::Active { .. } } if *call == id),
    );
    // Two seconds of our tone, there and back.
    std::thread::sleep(Duration::from_secs(2));
    ua.handle.send(Command::HangUp(id));
    ua.wait(
        "hung up",
        |e| matches!(e, Event::CallState { call, state: CallState::Ended(_) } if *call == id),
    );
    let path = media.recording_path(id).unwrap();
    let pcm = harness::wait_for("the recording to be complete", TIMEOUT, || {
        media::ogg_opus::OggOpusReader::read_all(&path).ok()
    })
    .unwrap();
    assert!(
        has_tone(&pcm[pcm.len() / 2..], 48000, 697.0, &[1209.0, 440.0]),
        "the echo carries our 697 Hz back over a call set up on TLS"
    );
}

/// Asterisk reaches a TLS-registered phone over the same TLS connection: a call from another
/// engine (on UDP) rings it, and it answers.
#[test]
fn an_incoming_call_arrives_over_tls() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let mut callee = Ua::start();
    callee
        .handle
        .send(Command::Register(tls_account(&pbx, &lease.user)));
    callee.wait("registered over TLS", |e| {
        matches!(e, Event::Registration(RegistrationState::Registered { .. }))
    });
    let mut caller = Ua::registered(&pbx);
    let id = CallId(7);
    caller.handle.send(Command::Dial {
        call: id,
        target: lease.user.extension.clone(),
    });
    let (theirs, _) = callee.wait_incoming("the call over TLS");
    callee.handle.send(Command::Answer(theirs));
    caller.wait(
        "answered",
        |e| matches!(e, Event::CallState { call, state: CallState::Active { .. } } if *call == id),
    );
    caller.handle.send(Command::HangUp(id));
    callee.wait(
        "the caller hung up",
        |e| matches!(e, Event::CallState { call, state: CallState::Ended(_) } if *call == theirs),
    );
}

/// Without the test CA the PBX's certificate is not trusted: sign-in fails at once with words
/// that say so, and a recording relay in front of the TLS port sees only the start of a TLS
/// handshake, never a byte of SIP.
#[test]
fn an_untrusted_certificate_fails_sign_in_in_words_and_nothing_goes_in_clear() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let relay = RecordingRelay::start(harness::pbx::tls_addr());
    let mut ua = Ua::start();
    let mut account = tls_account(&pbx, &lease.user);
    account.server = relay.addr.to_string();
    account.trusted_ca = None;
    ua.handle.send(Command::Register(account));
    let (reason, retrying) = failure(ua.wait("a failure", |e| {
        matches!(e, Event::Registration(RegistrationState::Failed { .. }))
    }));
    assert!(reason.contains("is not trusted"), "{reason}");
    assert!(!retrying, "a certificate problem is not retried");
    let sent = relay.sent();
    assert!(!sent.is_empty(), "a handshake was attempted");
    assert_eq!(sent[0], 0x16, "the first byte opens a TLS handshake record");
    let text = String::from_utf8_lossy(&sent);
    assert!(
        !text.contains("REGISTER") && !text.contains("SIP/2.0"),
        "SIP went out in clear: {text}"
    );
}

/// The certificate names 127.0.0.1 and localhost; an account whose server is
/// `pbx.example.com` (reached through an outbound proxy at the PBX's address) is refused with
/// words that name the mismatch.
#[test]
fn a_certificate_for_another_name_fails_sign_in_in_words() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let mut ua = Ua::start();
    let mut account = tls_account(&pbx, &lease.user);
    account.server = "pbx.example.com".into();
    account.outbound_proxy = Some(harness::pbx::tls_addr().to_string());
    ua.handle.send(Command::Register(account));
    let (reason, retrying) = failure(ua.wait("a failure", |e| {
        matches!(e, Event::Registration(RegistrationState::Failed { .. }))
    }));
    assert!(reason.contains("is for another name"), "{reason}");
    assert!(reason.contains("pbx.example.com"), "{reason}");
    assert!(!retrying);
}

/// A TCP relay to `target` that keeps every byte the client sent.
struct RecordingRelay {
    addr: SocketAddr,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl RecordingRelay {
    fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = sent.clone();
        // Ends with the test process; it only ever serves this test's one engine.
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = c_in.read(&mut buf) {
                        if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        log.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    let _ = s_out.shutdown(std::net::Shutdown::Write);
                });
                let (mut s_in, mut c_out) = (server, client);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s_in, &mut c_out);
                    let _ = c_out.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Self { addr, sent }
    }

    fn sent(&self) -> Vec<u8> {
        self.sent.lock().unwrap().clone()
    }
}
