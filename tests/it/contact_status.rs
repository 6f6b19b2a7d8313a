//! Live contact status in the whole app, against the real PBX: signed in as 1001 with the
//! company directory, the contact list shows Grace Hopper (1002) offline while nobody is
//! registered on 1002, available once a phone registers there, on the phone while that phone
//! talks to the echo test, and available again after it hangs up. The app subscribes to her
//! hint's dialog state and presence by itself after signing in.

use std::collections::HashSet;
use std::sync::Arc;

use crate::support::window::*;
use crate::support::*;
use client::backend::BackendConfig;
use switchboard::window::Window;

fn peer_event(
    events: &std::sync::mpsc::Receiver<sipcore::Event>,
    what: &str,
    pick: impl FnMut(&sipcore::Event) -> Option<()>,
) {
    harness::wait::next_matching(events, TIMEOUT, what, pick)
}

#[test]
fn the_contact_list_shows_a_colleague_offline_available_on_the_phone_and_available_again() {
    let pbx = pbx();
    let me = pbx.lease("1001").unwrap();
    let grace = pbx.lease("1002").unwrap();
    let data = tempfile::tempdir().unwrap();

    let (commands, events) = start_backend(BackendConfig {
        directory_url: Some(harness::pbx::directory_url("phonebook.xml")),
        ..test_config(data.path())
    });
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);
    let mut h = window_harness(
        Window::new(commands, events, Some(server.clone())),
        egui::vec2(1100.0, 720.0),
    );
    sign_in(&mut h, &me.user);
    // Nobody is registered on 1002: Asterisk's hint says unavailable (PIDF closed).
    wait_ui(&mut h, "Grace offline", |h| has(h, "Grace Hopper, offline"));

    // A phone registers on 1002.
    let (peer, peer_events) = sipcore::start(
        sipcore::EngineConfig::default(),
        Arc::new(sipcore::RecordingMedia::default()),
        None,
    )
    .unwrap();
    peer.send(sipcore::Command::Register(sipcore::Account::new(
        &grace.user.extension,
        &grace.user.password,
        &server,
    )));
    peer_event(&peer_events, "the peer to register", |e| {
        matches!(
            e,
            sipcore::Event::Registration(sipcore::RegistrationState::Registered { .. })
        )
        .then_some(())
    });
    wait_ui(&mut h, "Grace available", |h| {
        has(h, "Grace Hopper, available")
    });

    // It calls the echo test, then hangs up.
    let call = sipcore::CallId(1);
    peer.send(sipcore::Command::Dial {
        call,
        target: "9196".into(),
    });
    wait_ui(&mut h, "Grace on the phone", |h| {
        has(h, "Grace Hopper, on the phone")
    });
    peer_event(&peer_events, "the peer's call to be answered", |e| {
        matches!(e, sipcore::Event::CallState { call: c, state: sipcore::CallState::Active { .. } } if *c == call)
            .then_some(())
    });
    peer.send(sipcore::Command::HangUp(call));
    wait_ui(&mut h, "Grace available again", |h| {
        has(h, "Grace Hopper, available")
    });
    assert!(peer.shutdown_and_wait(TIMEOUT));
    h.state_mut().quit();
}

/// What Asterisk serves to `me` for `resource` now, leaving out subscriptions that were there
/// `before` (an earlier test's engine on the same extension).
fn served_to(
    pbx: &harness::Pbx,
    me: &str,
    resource: &str,
    before: &HashSet<String>,
) -> Vec<String> {
    let mut events: Vec<String> = pbx
        .inbound_subscriptions()
        .unwrap()
        .into_iter()
        .filter(|s| s.endpoint == me && s.resource == resource && !before.contains(&s.call_id))
        .map(|s| s.event)
        .collect();
    events.sort();
    events
}

/// A directory too large to watch whole (a thousand people): the app watches the rows on
/// screen, so Asterisk serves subscriptions for the first row and none for the last; a search
/// brings the last one on screen, its status shows, and the first row is unsubscribed.
#[test]
fn a_large_directory_is_watched_where_it_is_on_screen() {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let first = pbx.lease_any().unwrap();
    let last = pbx.lease_any().unwrap();
    let (near, far) = (&first.user.extension, &last.user.extension);
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);
    let data = tempfile::tempdir().unwrap();
    let person = |name: String, extension: String| storage::Contact {
        id: 0,
        name,
        extension: Some(extension),
        numbers: Vec::new(),
        email: None,
        avatar: None,
        source: storage::ContactSource::Directory,
        favourite: false,
    };
    let mut people: Vec<storage::Contact> = (0..1000)
        .map(|n| person(format!("Person {n:04}"), format!("{}", 40_000 + n)))
        .collect();
    people.push(person("Aaron First".into(), near.clone()));
    people.push(person("Zoe Last".into(), far.clone()));
    let profile = storage::paths::profile_dir(data.path(), &me.user.extension, &server);
    storage::Store::open(&profile)
        .unwrap()
        .replace_contacts(storage::ContactSource::Directory, &people)
        .unwrap();
    let before: HashSet<String> = pbx
        .inbound_subscriptions()
        .unwrap()
        .into_iter()
        .map(|s| s.call_id)
        .collect();

    let (commands, events) = start_backend(test_config(data.path()));
    let mut h = window_harness(
        Window::new(commands, events, Some(server.clone())),
        egui::vec2(1100.0, 720.0),
    );
    sign_in(&mut h, &me.user);
    // Nobody is registered on either: Asterisk says offline.
    wait_ui(&mut h, "the first row's status", |h| {
        has(h, "Aaron First, offline")
    });
    let mine = &me.user.extension;
    wait_ui(&mut h, "both subscriptions for the first row", |_| {
        served_to(&pbx, mine, near, &before) == ["dialog", "presence"]
    });
    assert!(
        served_to(&pbx, mine, far, &before).is_empty(),
        "the last of a thousand rows is not on screen, so not watched"
    );

    type_into(&mut h, "Search contacts", "Zoe");
    wait_ui(&mut h, "the last row's status", |h| {
        has(h, "Zoe Last, offline")
    });
    wait_ui(&mut h, "the first row unsubscribed", |_| {
        served_to(&pbx, mine, far, &before) == ["dialog", "presence"]
            && served_to(&pbx, mine, near, &before).is_empty()
    });
    h.state_mut().quit();
}
