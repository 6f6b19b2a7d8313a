//! Watching a colleague's presence on a real presence server (Kamailio): one engine watches
//! another's extension, and every state the other publishes (online, away, offline) reaches the
//! watcher as an `Event::Presence`. Kamailio serves presence but not the dialog package, so the
//! busy lamp is refused there while the presence subscription carries on.

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use crate::support::*;
use harness::kamailio::Kamailio;
use sipcore::{Account, Availability, Command, EngineConfig, Event, Handle, RegistrationState};

fn engine(k: &Kamailio, user: &harness::User) -> (Handle, Receiver<Event>) {
    let (handle, events) = sipcore::start(
        EngineConfig::default(),
        Arc::new(sipcore::RecordingMedia::default()),
        None,
    )
    .unwrap();
    handle.send(Command::Register(Account::new(
        &user.extension,
        &user.password,
        &k.domain(),
    )));
    harness::wait::next_matching(&events, TIMEOUT, "registered at Kamailio", |e| {
        matches!(e, Event::Registration(RegistrationState::Registered { .. })).then_some(())
    });
    (handle, events)
}

/// Waits until the watcher is told `extension` is `expected`. States in between are allowed
/// (the server may first say what it knew before the change), a phone status for a package the
/// server refused is not.
fn told(events: &Receiver<Event>, extension: &str, expected: Availability) {
    harness::wait::next_matching(
        events,
        TIMEOUT,
        &format!("{extension} to be {expected:?}"),
        |e| match e {
            Event::Presence {
                extension: x,
                availability,
                ..
            } if x == extension && *availability == expected => Some(()),
            Event::PhoneStatus { .. } => {
                panic!("a phone status from a server without dialog: {e:?}")
            }
            _ => None,
        },
    )
}

#[test]
fn a_colleague_going_online_away_and_offline_reaches_the_watcher() {
    crate::support::init_logging();
    let k = Kamailio::start().unwrap();
    let me = harness::users::get("2015").unwrap();
    let colleague = harness::users::get("2016").unwrap();

    let (watcher, watcher_events) = engine(&k, &me);
    watcher.send(Command::Watch {
        extensions: vec![colleague.extension.clone()],
    });
    // Nobody has published for the colleague yet: the server says closed (or nothing at all);
    // either way the watcher must not think them online.
    let (colleague_ua, colleague_events) = engine(&k, &colleague);

    colleague_ua.send(Command::SetPresence(Availability::Online));
    told(&watcher_events, &colleague.extension, Availability::Online);

    colleague_ua.send(Command::SetPresence(Availability::Away));
    told(&watcher_events, &colleague.extension, Availability::Away);

    colleague_ua.send(Command::SetPresence(Availability::Online));
    told(&watcher_events, &colleague.extension, Availability::Online);

    // Quitting removes the colleague's publication: the watcher sees them offline.
    assert!(colleague_ua.shutdown_and_wait(std::time::Duration::from_secs(10)));
    told(&watcher_events, &colleague.extension, Availability::Offline);
    drop(colleague_events);

    assert!(watcher.shutdown_and_wait(std::time::Duration::from_secs(10)));
}
