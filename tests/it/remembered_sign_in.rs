//! "Remember me" across restarts of the app, with the real store and PBX: signed in once with
//! it, the next start signs in by itself; quitting unregisters from the PBX; logging out
//! forgets the account, so the start after that shows the sign-in form.

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

fn contact_listed(pbx: &Pbx, ext: &str) -> bool {
    pbx.cli("pjsip show contacts")
        .map(|out| out.contains(&format!("{ext}/sip:")))
        .unwrap_or(false)
}

fn start(data_dir: &std::path::Path) -> (client::command::Commands, Receiver<Event>) {
    start_backend(test_config(data_dir))
}

#[test]
fn a_remembered_account_signs_in_at_start_until_the_user_logs_out() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let ext = lease.user.extension.clone();
    let data = tempfile::tempdir().unwrap();
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);

    // First run: sign in with "Remember me", then quit.
    let (commands, events) = start(data.path());
    commands.send(Command::SignIn(SignIn {
        identity: ext.clone(),
        password: lease.user.password.clone(),
        server: server.clone(),
        transport: Transport::Udp,
        trusted_ca: None,
        remember: true,
    }));
    wait(&events, "signed in", |e| {
        matches!(e, Event::SignedIn { .. })
    });
    assert!(contact_listed(&pbx, &ext));
    commands.send(Command::Quit);
    wait(&events, "stopped", |e| *e == Event::Stopped);
    harness::wait_for("the PBX to drop our contact on quit", TIMEOUT, || {
        (!contact_listed(&pbx, &ext)).then_some(())
    })
    .unwrap();

    // Second run: it signs in by itself.
    let (commands, events) = start(data.path());
    let first = wait(&events, "the automatic sign-in", |_| true);
    assert_eq!(
        first,
        Event::SigningIn {
            identity: ext.clone(),
            server: server.clone()
        }
    );
    wait(&events, "signed in again", |e| {
        matches!(e, Event::SignedIn { .. })
    });
    harness::wait_for("the PBX to list us again", TIMEOUT, || {
        contact_listed(&pbx, &ext).then_some(())
    })
    .unwrap();
    // Logging out forgets the account.
    commands.send(Command::SignOut);
    wait(&events, "signed out", |e| *e == Event::SignedOut);
    // It also unregisters, while the app still runs.
    harness::wait_for("the PBX to drop our contact on log-out", TIMEOUT, || {
        (!contact_listed(&pbx, &ext)).then_some(())
    })
    .unwrap();
    commands.send(Command::Quit);
    wait(&events, "stopped", |e| *e == Event::Stopped);

    // Third run: nothing to sign in with; the first thing it says is that it stopped.
    let (commands, events) = start(data.path());
    commands.send(Command::Quit);
    let first = wait(&events, "the first event", |_| true);
    assert_eq!(
        first,
        Event::Stopped,
        "no automatic sign-in after logging out"
    );
}
