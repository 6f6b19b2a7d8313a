//! Registration against the real Asterisk: digest auth, words for failures, unregister, and
//! recovering after Asterisk stops and starts.

use crate::support::*;
use sipcore::{Command, Event, RegistrationState};

#[test]
fn registers_with_digest_auth_and_asterisk_lists_the_contact_then_unregisters() {
    let pbx = pbx();
    let mut ua = Ua::registered(&pbx);
    let ext = ua.extension();
    let contacts = pbx.cli("pjsip show contacts").unwrap();
    assert!(
        contacts.contains(&format!("{ext}/sip:{ext}@127.0.0.1")),
        "{contacts}"
    );
    ua.handle.send(Command::Unregister);
    ua.wait("unregistered", |e| {
        matches!(e, Event::Registration(RegistrationState::Unregistered))
    });
    harness::wait_for("Asterisk to drop the contact", TIMEOUT, || {
        let out = pbx.cli("pjsip show contacts").ok()?;
        (!out.contains(&format!("{ext}/sip:"))).then_some(())
    })
    .unwrap();
}

#[test]
fn a_wrong_password_is_reported_in_words() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let mut user = lease.user.clone();
    user.password = "not-the-password".into();
    let mut ua = Ua::start();
    ua.handle.send(Command::Register(account(&user)));
    let e = ua.wait("a failure", |e| {
        matches!(e, Event::Registration(RegistrationState::Failed { .. }))
    });
    let Event::Registration(RegistrationState::Failed { reason, retrying }) = e else {
        unreachable!()
    };
    assert_eq!(
        reason.to_string(),
        format!("The server rejected the password for {}.", user.extension)
    );
    assert!(retrying);
}

#[test]
fn an_unreachable_server_is_reported_in_words() {
    // A port on loopback where nothing listens: the REGISTER transaction times out after
    // 64*T1 = 32 s (RFC 3261 §17.1.2.2), so this waits longer than the other tests.
    let port = harness::peers::free_udp_port().unwrap();
    let mut ua = Ua::start();
    ua.handle.send(Command::Register(sipcore::Account::new(
        "1001",
        "x",
        &format!("127.0.0.1:{port}"),
    )));
    let e = ua.wait_up_to(std::time::Duration::from_secs(60), "a failure", |e| {
        matches!(e, Event::Registration(RegistrationState::Failed { .. }))
    });
    let Event::Registration(RegistrationState::Failed { reason, .. }) = e else {
        unreachable!()
    };
    assert!(
        reason
            .to_string()
            .starts_with(&format!("The server 127.0.0.1:{port} is not reachable")),
        "{reason}"
    );
}

/// The server is unreachable when the user signs in (a relay in front of Asterisk drops
/// everything), then comes back: the engine reports the failure in words, keeps retrying with
/// backoff, and registers on its own once the server answers again.
#[test]
fn registration_retries_until_the_server_comes_back() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let relay = harness::relay::Relay::start(harness::pbx::sip_addr(), false).unwrap();
    let mut ua = Ua::start();
    let mut account = account(&lease.user);
    account.server = relay.addr.to_string();
    ua.handle.send(Command::Register(account));
    // A REGISTER transaction gives up after 64*T1 = 32 s of silence.
    let failed = ua.wait_up_to(std::time::Duration::from_secs(60), "a failure", |e| {
        matches!(e, Event::Registration(RegistrationState::Failed { .. }))
    });
    let Event::Registration(RegistrationState::Failed { reason, retrying }) = failed else {
        unreachable!()
    };
    assert!(reason.to_string().contains("not reachable"), "{reason}");
    assert!(retrying);
    assert!(relay.dropped() > 0);
    relay.set_up(true);
    ua.wait_up_to(
        std::time::Duration::from_secs(60),
        "registered after the server returned",
        |e| matches!(e, Event::Registration(RegistrationState::Registered { .. })),
    );
    let ext = lease.user.extension.clone();
    harness::wait_for("Asterisk to list the contact", TIMEOUT, || {
        let out = pbx.cli("pjsip show contacts").ok()?;
        out.contains(&format!("{ext}/sip:")).then_some(())
    })
    .unwrap();
    ua.handle.send(Command::Unregister);
    ua.wait("unregistered", |e| {
        matches!(e, Event::Registration(RegistrationState::Unregistered))
    });
}

/// Over TCP: the registration and a call to the echo test travel on a TCP connection to
/// Asterisk, which lists the contact as reached over TCP; the call is answered and hung up.
#[test]
fn registers_and_calls_over_tcp() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let mut ua = Ua::start();
    let mut account = account(&lease.user);
    account.transport = sipcore::Transport::Tcp;
    ua.handle.send(Command::Register(account));
    ua.wait("registered over TCP", |e| {
        matches!(e, Event::Registration(RegistrationState::Registered { .. }))
    });
    let ext = lease.user.extension.clone();
    let contact = harness::wait_for("Asterisk's contact for us", TIMEOUT, || {
        let out = pbx.cli("pjsip show contacts").ok()?;
        out.lines()
            .find(|l| l.contains(&format!("{ext}/sip:")))
            .map(str::to_string)
    })
    .unwrap();
    assert!(
        contact.to_ascii_lowercase().contains("transport=tcp"),
        "{contact}"
    );
    let id = sipcore::CallId(1);
    ua.handle.send(Command::Dial {
        call: id,
        target: "9196".into(),
    });
    ua.wait("the echo test to answer", |e| {
        matches!(e, Event::CallState { call, state: sipcore::CallState::Active { .. } } if *call == id)
    });
    ua.handle.send(Command::HangUp(id));
    ua.wait("hung up", |e| {
        matches!(e, Event::CallState { call, state: sipcore::CallState::Ended(_) } if *call == id)
    });
}

/// While registered over UDP the engine sends CRLF keepalives to the server, so that a NAT on
/// the way keeps the mapping that incoming calls need.
#[test]
fn keepalives_flow_to_the_server_while_registered() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let relay = harness::relay::Relay::start(harness::pbx::sip_addr(), true).unwrap();
    let media = std::sync::Arc::new(sipcore::RecordingMedia::default());
    let config = sipcore::EngineConfig {
        keepalive: std::time::Duration::from_millis(200),
        ..Default::default()
    };
    let (handle, events) = sipcore::start(config, media, None).unwrap();
    let mut account = account(&lease.user);
    account.server = relay.addr.to_string();
    handle.send(Command::Register(account));
    let wait_for_event = |pred: fn(&Event) -> bool| {
        let deadline = std::time::Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match events.recv_timeout(left) {
                Ok(e) if pred(&e) => return,
                Ok(_) => {}
                Err(_) => panic!("timed out waiting for an event"),
            }
        }
    };
    wait_for_event(|e| matches!(e, Event::Registration(RegistrationState::Registered { .. })));
    harness::wait_for("three keepalives", TIMEOUT, || {
        (relay.keepalives() >= 3).then_some(())
    })
    .unwrap();
    handle.send(Command::Unregister);
    wait_for_event(|e| matches!(e, Event::Registration(RegistrationState::Unregistered)));
    // Signed out: the keepalives stop.
    let after = relay.keepalives();
    let _ = events.recv_timeout(std::time::Duration::from_millis(600));
    assert!(
        relay.keepalives() <= after + 1,
        "keepalives went on after sign-out"
    );
    handle.send(Command::Shutdown);
}

/// With an outbound proxy, registration and calls go through it even when the server's own
/// address would not answer: here the "server" is 127.0.0.2, where nothing listens, and the
/// proxy is a relay in front of Asterisk.
#[test]
fn keepalives_flow_over_tcp_too() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let relay = harness::tcp_relay::TcpRelay::start(harness::pbx::sip_addr()).unwrap();
    let media = std::sync::Arc::new(sipcore::RecordingMedia::default());
    let config = sipcore::EngineConfig {
        keepalive: std::time::Duration::from_millis(200),
        ..Default::default()
    };
    let (handle, events) = sipcore::start(config, media, None).unwrap();
    let mut account = account(&lease.user);
    account.transport = sipcore::Transport::Tcp;
    account.server = relay.addr.to_string();
    handle.send(Command::Register(account));
    harness::wait::next_matching(&events, TIMEOUT, "registered over TCP", |e| {
        matches!(e, Event::Registration(RegistrationState::Registered { .. })).then_some(())
    });
    harness::wait_for("three keepalives on the connection", TIMEOUT, || {
        (relay.keepalives() >= 3).then_some(())
    })
    .unwrap();
    handle.shutdown_and_wait(std::time::Duration::from_secs(3));
}

#[test]
fn an_outbound_proxy_carries_registration_and_calls() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let relay = harness::relay::Relay::start(harness::pbx::sip_addr(), true).unwrap();
    let mut ua = Ua::start();
    let mut account = account(&lease.user);
    account.server = format!("127.0.0.2:{}", harness::pbx::SIP_PORT);
    account.outbound_proxy = Some(relay.addr.to_string());
    ua.handle.send(Command::Register(account));
    ua.wait("registered through the proxy", |e| {
        matches!(e, Event::Registration(RegistrationState::Registered { .. }))
    });
    let id = sipcore::CallId(1);
    ua.handle.send(Command::Dial {
        call: id,
        target: "9196".into(),
    });
    ua.wait("the echo test to answer", |e| {
        matches!(e, Event::CallState { call, state: sipcore::CallState::Active { .. } } if *call == id)
    });
    ua.handle.send(Command::HangUp(id));
    ua.wait("hung up", |e| {
        matches!(e, Event::CallState { call, state: sipcore::CallState::Ended(_) } if *call == id)
    }); // A text goes the same way (the server's own address is unreachable): the PBX accepts it
    // after the digest retry, so the delivery result is a success.
    ua.handle.send(Command::SendMessage {
        id: 7,
        target: lease.user.extension.clone(),
        content_type: "text/plain;charset=UTF-8".into(),
        body: "through the proxy".into(),
    });
    ua.wait("the message's delivery result", |e| {
        matches!(
            e,
            Event::MessageResult {
                id: 7,
                result: Ok(())
            }
        )
    });
}

#[test]
fn registration_is_refreshed_before_it_expires() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let mut ua = Ua::start();
    let mut account = account(&lease.user);
    // The PBX's shortest: the refresh comes at three quarters of it.
    account.expires = 30;
    ua.handle.send(Command::Register(account));
    let registered =
        |e: &Event| matches!(e, Event::Registration(RegistrationState::Registered { .. }));
    ua.wait("registered", registered);
    let first = std::time::Instant::now();
    ua.wait_up_to(
        std::time::Duration::from_secs(40),
        "the refresh",
        registered,
    );
    let after = first.elapsed();
    assert!(
        after < std::time::Duration::from_secs(30),
        "refreshed only after {after:?}, when the registration had lapsed"
    );
    // And the PBX still has us.
    let ext = lease.user.extension.clone();
    harness::wait_for("Asterisk's contact for us", TIMEOUT, || {
        let out = pbx.cli("pjsip show contacts").ok()?;
        out.lines()
            .any(|l| l.contains(&format!("{ext}/sip:")))
            .then_some(())
    })
    .unwrap();
}

/// Asterisk itself stops and starts again: a private Asterisk from the harness's chroot, in a
/// network namespace of this test's own, so the shared PBX other tests use stays up. The
/// refresh after the stop fails as "not reachable" and is retried with backoff; once Asterisk
/// is back, the engine registers again by itself and Asterisk lists the contact.
#[test]
fn registration_recovers_when_asterisk_is_stopped_and_started() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    // The namespace belongs to one thread: the engine's threads and the processes it starts
    // inherit it from there.
    std::thread::spawn(move || {
        harness::private_pbx::enter_own_network_namespace();
        let mut asterisk = harness::private_pbx::PrivatePbx::start(&pbx).unwrap();

        let mut ua = Ua::start();
        let mut account = account(&lease.user);
        account.expires = 30; // Asterisk's minimum: the refresh comes after about 22 s.
        ua.handle.send(Command::Register(account));
        ua.wait("registered", |e| {
            matches!(e, Event::Registration(RegistrationState::Registered { .. }))
        });

        asterisk.stop();
        // The refresh gets no answer: a REGISTER transaction gives up after 64*T1 = 32 s.
        let failed = ua.wait_up_to(std::time::Duration::from_secs(90), "a failure", |e| {
            matches!(e, Event::Registration(RegistrationState::Failed { .. }))
        });
        let Event::Registration(RegistrationState::Failed { reason, retrying }) = failed else {
            unreachable!()
        };
        assert!(reason.to_string().contains("not reachable"), "{reason}");
        assert!(retrying, "the engine gave up");

        asterisk.boot().unwrap();
        ua.wait_up_to(
            std::time::Duration::from_secs(90),
            "registered after Asterisk came back",
            |e| matches!(e, Event::Registration(RegistrationState::Registered { .. })),
        );
        let ext = lease.user.extension.clone();
        harness::wait_for("the private Asterisk to list the contact", TIMEOUT, || {
            let out = asterisk.cli("pjsip show contacts").ok()?;
            out.contains(&format!("{ext}/sip:")).then_some(())
        })
        .unwrap();
        ua.handle.send(Command::Unregister);
        ua.wait("unregistered", |e| {
            matches!(e, Event::Registration(RegistrationState::Unregistered))
        });
    })
    .join()
    .unwrap();
}
