//! The busy lamp and presence from the real PBX: an engine watches leased pool extensions
//! through `Event: dialog` (RFC 4235) and `Event: presence` (PIDF, RFC 3863) subscriptions to
//! Asterisk's hints, and sees a watched phone go on a call, ring, and go idle again; presence
//! open and closed; refreshes; and the subscriptions ended when unwatched or shut down.

use std::collections::HashSet;

use crate::support::*;
use sipcore::{Availability, CallId, CallState, Command, EngineConfig, Event, LineState};

fn peer_answered(peer: &mut Ua, call: CallId) {
    peer.wait("the peer's call to be answered", |e| {
        matches!(e, Event::CallState { call: c, state: CallState::Active { .. } } if *c == call)
    });
}

/// Waits until `ua` has heard each (extension, availability) pair, in any order: NOTIFYs for
/// different subscriptions race each other.
fn wait_presences(ua: &mut Ua, pairs: &[(&str, Availability)]) {
    let mut expected = pairs.to_vec();
    while !expected.is_empty() {
        ua.wait(&format!("presence {expected:?}"), |e| match e {
            Event::Presence {
                extension,
                availability,
                ..
            } => {
                let before = expected.len();
                expected.retain(|(x, a)| !(x == extension && a == availability));
                expected.len() < before
            }
            _ => false,
        });
    }
}

/// The Call-IDs of every subscription Asterisk serves now.
fn served_call_ids(pbx: &harness::Pbx) -> HashSet<String> {
    pbx.inbound_subscriptions()
        .unwrap()
        .into_iter()
        .map(|s| s.call_id)
        .collect()
}

/// The subscriptions Asterisk serves to `endpoint` that were not there `before`, as sorted
/// `resource/event`. (Engines of earlier tests on the same extension may have left some that
/// have not expired yet.)
fn served_since(pbx: &harness::Pbx, endpoint: &str, before: &HashSet<String>) -> Vec<String> {
    let mut list: Vec<String> = pbx
        .inbound_subscriptions()
        .unwrap()
        .into_iter()
        .filter(|s| s.endpoint == endpoint && !before.contains(&s.call_id))
        .map(|s| format!("{}/{}", s.resource, s.event))
        .collect();
    list.sort();
    list
}

#[test]
fn the_lamp_follows_a_watched_phone_on_a_call_ringing_and_idle() {
    let pbx = pbx();
    let before = served_call_ids(&pbx);
    let mut watcher = Ua::registered(&pbx);
    let mut peer = Ua::registered(&pbx);
    let ext = peer.extension();
    watcher.handle.send(Command::Watch {
        extensions: vec![ext.clone()],
    });
    wait_phone(&mut watcher, &ext, LineState::Idle);

    // The peer calls the echo test: on a call, then idle after hanging up.
    peer.handle.send(Command::Dial {
        call: CallId(1),
        target: "9196".into(),
    });
    wait_phone(&mut watcher, &ext, LineState::OnCall);
    peer_answered(&mut peer, CallId(1));
    peer.handle.send(Command::HangUp(CallId(1)));
    wait_phone(&mut watcher, &ext, LineState::Idle);

    // Someone calls the peer, who lets it ring: ringing, then idle when the caller gives up.
    let mut caller = Ua::registered(&pbx);
    caller.handle.send(Command::Dial {
        call: CallId(2),
        target: ext.clone(),
    });
    peer.wait_incoming("the call to ring at the peer");
    wait_phone(&mut watcher, &ext, LineState::Ringing);
    caller.handle.send(Command::HangUp(CallId(2)));
    caller.wait("the caller's call to end", |e| {
        matches!(
            e,
            Event::CallState {
                call: CallId(2),
                state: CallState::Ended(_)
            }
        )
    });
    wait_phone(&mut watcher, &ext, LineState::Idle);

    // Shutting down unsubscribes (Expires: 0): Asterisk stops serving the watcher.
    let me = watcher.extension();
    let mut expected = [
        format!("{ext}/dialog"),
        format!("{ext}/presence"),
        format!("{me}/message-summary"),
    ];
    expected.sort();
    assert_eq!(served_since(&pbx, &me, &before), expected);
    assert!(watcher.handle.shutdown_and_wait(TIMEOUT));
    harness::wait_for(
        "Asterisk to end the watcher's subscriptions",
        TIMEOUT,
        || served_since(&pbx, &me, &before).is_empty().then_some(()),
    )
    .unwrap();
}

#[test]
fn presence_comes_from_asterisk_as_pidf_open_for_a_registered_phone_closed_for_none() {
    let pbx = pbx();
    let before = served_call_ids(&pbx);
    let mut watcher = Ua::registered(&pbx);
    let present = Ua::registered(&pbx);
    // Registered and gone again, and leased so that nobody registers it meanwhile: registering
    // replaces any contact an earlier test's phone left there (one contact per user), and the
    // un-REGISTER at shutdown leaves none.
    let absent = Ua::registered(&pbx);
    assert!(absent.handle.shutdown_and_wait(TIMEOUT));
    let (here, away) = (present.extension(), absent.extension());
    watcher.handle.send(Command::Watch {
        extensions: vec![here.clone(), away.clone()],
    });
    wait_presences(
        &mut watcher,
        &[
            (&here, Availability::Online),
            (&away, Availability::Offline),
        ],
    );

    // Unwatching unsubscribes (Expires: 0) from both, and keeps the mailbox.
    let me = watcher.extension();
    watcher.handle.send(Command::Unwatch);
    harness::wait_for("Asterisk to end the contact subscriptions", TIMEOUT, || {
        (served_since(&pbx, &me, &before) == [format!("{me}/message-summary")]).then_some(())
    })
    .unwrap();
}

#[test]
fn a_subscription_is_refreshed_before_it_expires() {
    let pbx = pbx();
    // Ask for a short subscription, so that it must be refreshed within the test.
    let mut config = EngineConfig::default();
    config.subscriptions.expires = 10;
    let before = served_call_ids(&pbx);
    let mut watcher = Ua::start_with(config);
    watcher.register(&pbx);
    let mut peer = Ua::registered(&pbx);
    let ext = peer.extension();
    watcher.handle.send(Command::Watch {
        extensions: vec![ext.clone()],
    });
    wait_phone(&mut watcher, &ext, LineState::Idle);
    let me = watcher.extension();
    let dialog_expiry = || {
        pbx.inbound_subscriptions()
            .unwrap()
            .into_iter()
            .find(|s| s.endpoint == me && s.event == "dialog" && !before.contains(&s.call_id))
            .map(|s| s.expiry_secs)
    };
    // Asterisk counts the time left down; a refresh sets it back up. Two refreshes in a row
    // take the subscription past two of its lifetimes.
    let mut left = dialog_expiry().unwrap();
    assert!(left <= 10, "asked for 10 s, granted {left}");
    for n in 1..=2 {
        harness::wait_for(&format!("refresh {n}"), TIMEOUT, || {
            let now = dialog_expiry()?;
            let refreshed = now > left;
            left = now;
            refreshed.then_some(())
        })
        .unwrap();
    }
    peer.handle.send(Command::Dial {
        call: CallId(1),
        target: "9196".into(),
    });
    wait_phone(&mut watcher, &ext, LineState::OnCall);
    peer_answered(&mut peer, CallId(1));
    peer.handle.send(Command::HangUp(CallId(1)));
    wait_phone(&mut watcher, &ext, LineState::Idle);
}
