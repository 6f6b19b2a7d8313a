//! Signing in over TLS the way the window does, with the real store and PBX: without the
//! company CA the sign-in fails with words about the certificate; with it, the app signs in,
//! keeps the CA with the remembered account, and signs in by itself over TLS at the next start.

use std::sync::mpsc::Receiver;
use std::time::Instant;

use crate::support::*;
use client::command::{Command, SignIn, Transport};
use client::event::Event;

fn wait(events: &Receiver<Event>, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(e) if pred(&e) => return e,
            Ok(_) => {}
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

fn start(data_dir: &std::path::Path) -> (client::command::Commands, Receiver<Event>) {
    start_backend(test_config(data_dir))
}

#[test]
fn a_company_ca_lets_the_app_sign_in_over_tls_and_is_remembered() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let ext = lease.user.extension.clone();
    let data = tempfile::tempdir().unwrap();
    let form = |trusted_ca| SignIn {
        identity: ext.clone(),
        password: lease.user.password.clone(),
        server: harness::pbx::tls_addr().to_string(),
        transport: Transport::Tls,
        trusted_ca,
        remember: true,
    };

    let (commands, events) = start(data.path());
    commands.send(Command::SignIn(form(None)));
    let failed = wait(&events, "the sign-in to fail", |e| {
        matches!(e, Event::SignInFailed(_))
    });
    let Event::SignInFailed(why) = failed else {
        unreachable!()
    };
    assert!(why.to_string().contains("is not trusted"), "{why}");

    commands.send(Command::SignIn(form(Some(pbx.tls_ca().unwrap()))));
    wait(&events, "signed in over TLS", |e| {
        matches!(e, Event::SignedIn { .. })
    });
    commands.send(Command::Quit);
    wait(&events, "stopped", |e| *e == Event::Stopped);

    // The next start signs in by itself, over TLS, trusting the CA kept with the account.
    let (commands, events) = start(data.path());
    wait(&events, "signed in again over TLS", |e| {
        matches!(e, Event::SignedIn { .. })
    });
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
    commands.send(Command::SignOut);
    wait(&events, "signed out", |e| *e == Event::SignedOut);
    commands.send(Command::Quit);
    wait(&events, "stopped", |e| *e == Event::Stopped);
}
