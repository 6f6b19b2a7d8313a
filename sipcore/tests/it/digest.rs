//! Digest authentication against a real Kamailio (each test starts its own): SHA-256 (RFC 8760)
//! and MD5 with qop=auth, refreshes that reuse the nonce with a rising nc, a stale nonce answered
//! again without the user hearing of it, and a wrong password still reported as one.

use std::time::Duration;

use crate::support::*;
use harness::kamailio::{Algorithm, AuthCheck, Kamailio, Options};
use sipcore::{Account, Command, Event, RegistrationState};

fn account_on(k: &Kamailio, user: &harness::User, expires: u32) -> Account {
    let mut a = Account::new(&user.extension, &user.password, &k.domain());
    a.expires = expires;
    a
}

fn registers(e: &Event) -> bool {
    matches!(e, Event::Registration(RegistrationState::Registered { .. }))
}

fn failures(ua: &Ua) -> Vec<&Event> {
    ua.seen
        .iter()
        .filter(|e| matches!(e, Event::Registration(RegistrationState::Failed { .. })))
        .collect()
}

fn registers_of<'a>(checks: &'a [AuthCheck], user: &str) -> Vec<&'a AuthCheck> {
    checks
        .iter()
        .filter(|c| c.method == "REGISTER" && c.user == user)
        .collect()
}

#[test]
fn registers_with_sha_256_and_refreshes_reuse_the_nonce_with_a_rising_count() {
    let k = Kamailio::start_with(Options {
        algorithm: Algorithm::Sha256,
        ..Options::default()
    })
    .unwrap();
    let user = harness::users::get("2001").unwrap();
    let mut ua = Ua::start();
    // 3 s: refreshed every 2.25 s (75 %), well inside the 300 s nonce lifetime.
    ua.handle.send(Command::Register(account_on(&k, &user, 3)));
    for n in 1..=3 {
        ua.wait(&format!("registration {n}"), registers);
    }
    let checks = k.auth_checks();
    let regs = registers_of(&checks, &user.extension);
    // The first REGISTER has no credentials and is challenged; every later one is accepted at
    // once on the same nonce, nc 1, 2, 3.
    assert_eq!(regs[0].rc, -5, "{regs:#?}");
    let accepted: Vec<_> = regs[1..].iter().take(3).collect();
    assert_eq!(accepted.len(), 3, "{regs:#?}");
    for (i, c) in accepted.iter().enumerate() {
        assert_eq!(c.rc, 1, "{regs:#?}");
        assert_eq!(c.algorithm.as_deref(), Some("SHA-256"));
        assert_eq!(c.nonce, regs[1].nonce, "{regs:#?}");
        assert_eq!(c.nc.as_deref(), Some(format!("{:08x}", i + 1).as_str()));
    }
    assert!(failures(&ua).is_empty(), "{:#?}", ua.seen);

    // The un-REGISTER goes out on the same nonce too.
    ua.handle.send(Command::Unregister);
    ua.wait("unregistered", |e| {
        matches!(e, Event::Registration(RegistrationState::Unregistered))
    });
    let checks = k.auth_checks();
    let regs = registers_of(&checks, &user.extension);
    let last = regs.last().unwrap();
    assert_eq!((last.rc, &last.nonce), (1, &regs[1].nonce), "{regs:#?}");
}

#[test]
fn registers_with_md5_against_kamailio() {
    let k = Kamailio::start().unwrap();
    let user = harness::users::get("2002").unwrap();
    let mut ua = Ua::start();
    ua.handle.send(Command::Register(account_on(&k, &user, 60)));
    ua.wait("registered", registers);
    let checks = k.auth_checks();
    let regs = registers_of(&checks, &user.extension);
    assert_eq!(regs.last().unwrap().rc, 1, "{regs:#?}");
    assert_eq!(regs.last().unwrap().algorithm.as_deref(), Some("MD5"));
}

#[test]
fn a_stale_nonce_is_answered_again_without_the_user_seeing_a_failure() {
    // Nonces last 2 s; the registration is refreshed after 3 s, so every refresh offers an
    // expired nonce and Kamailio answers 401 stale=true.
    let k = Kamailio::start_with(Options {
        algorithm: Algorithm::Sha256,
        nonce_expire: Duration::from_secs(2),
        ..Options::default()
    })
    .unwrap();
    let user = harness::users::get("2003").unwrap();
    let mut ua = Ua::start();
    ua.handle.send(Command::Register(account_on(&k, &user, 4)));
    for n in 1..=3 {
        ua.wait(&format!("registration {n}"), registers);
    }
    assert!(failures(&ua).is_empty(), "{:#?}", ua.seen);
    let checks = k.auth_checks();
    let regs = registers_of(&checks, &user.extension);
    // Each refresh: the old nonce refused as expired (-4), then accepted on a new one with nc 1.
    let stale: Vec<usize> = (0..regs.len()).filter(|&i| regs[i].rc == -4).collect();
    assert!(stale.len() >= 2, "{regs:#?}");
    for i in stale {
        let next = regs.get(i + 1).expect("a retry after the stale nonce");
        assert_eq!(next.rc, 1, "{regs:#?}");
        assert_ne!(next.nonce, regs[i].nonce, "{regs:#?}");
        assert_eq!(next.nc.as_deref(), Some("00000001"));
    }
}

#[test]
fn a_wrong_password_is_still_reported_as_rejected() {
    let k = Kamailio::start_with(Options {
        algorithm: Algorithm::Sha256,
        ..Options::default()
    })
    .unwrap();
    let mut user = harness::users::get("2004").unwrap();
    user.password = "not-the-password".into();
    let mut ua = Ua::start();
    ua.handle.send(Command::Register(account_on(&k, &user, 60)));
    let e = ua.wait("a failure", |e| {
        matches!(e, Event::Registration(RegistrationState::Failed { .. }))
    });
    let wrong = sipcore::RegistrationError::WrongPassword {
        user: user.extension.clone(),
    };
    assert_eq!(
        wrong.to_string(),
        format!("The server rejected the password for {}.", user.extension)
    );
    assert_eq!(
        e,
        Event::Registration(RegistrationState::Failed {
            reason: wrong,
            retrying: true,
        })
    );
    let checks = k.auth_checks();
    let regs = registers_of(&checks, &user.extension);
    assert_eq!(
        regs.iter().map(|c| c.rc).take(2).collect::<Vec<_>>(),
        vec![-5, -2],
        "{regs:#?}"
    );
}

/// A MESSAGE through Kamailio to another registered user: Kamailio challenges it with 407 and
/// SHA-256 (Proxy-Authenticate), the engine answers, and the text arrives.
#[test]
fn a_message_through_kamailio_answers_a_sha_256_proxy_challenge() {
    let k = Kamailio::start_with(Options {
        algorithm: Algorithm::Sha256,
        ..Options::default()
    })
    .unwrap();
    let (alice_user, bob_user) = (
        harness::users::get("2005").unwrap(),
        harness::users::get("2006").unwrap(),
    );
    let mut alice = Ua::start();
    let mut bob = Ua::start();
    alice
        .handle
        .send(Command::Register(account_on(&k, &alice_user, 60)));
    bob.handle
        .send(Command::Register(account_on(&k, &bob_user, 60)));
    alice.wait("alice registered", registers);
    bob.wait("bob registered", registers);
    alice.handle.send(Command::SendMessage {
        id: 7,
        target: bob_user.extension.clone(),
        content_type: "text/plain".into(),
        body: "over SHA-256".into(),
    });
    alice.wait("delivered", |e| {
        matches!(
            e,
            Event::MessageResult {
                id: 7,
                result: Ok(())
            }
        )
    });
    let got = bob.wait("the text", |e| matches!(e, Event::MessageReceived { .. }));
    assert!(matches!(got, Event::MessageReceived { body, .. } if body == "over SHA-256"));
    let checks = k.auth_checks();
    let messages: Vec<_> = checks.iter().filter(|c| c.method == "MESSAGE").collect();
    assert_eq!(
        messages.iter().map(|c| c.rc).collect::<Vec<_>>(),
        vec![-5, 1],
        "{messages:#?}"
    );
    assert_eq!(messages[1].algorithm.as_deref(), Some("SHA-256"));
}
