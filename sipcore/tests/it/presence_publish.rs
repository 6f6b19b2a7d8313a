//! Publishing our own presence. Against Kamailio's presence server: the engine publishes
//! online, then away, refreshes the publication with SIP-If-Match, and removes it when it quits;
//! a watcher subscribed with a raw SUBSCRIBE sees open, away and closed in its NOTIFYs. Against
//! Asterisk, which refuses PUBLISH: the engine says so once and calls still work.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use crate::support::*;
use harness::kamailio::{Algorithm, Kamailio, Options};
use harness::presence_watcher::PresenceWatcher;
use sipcore::bodies::pidf;
use sipcore::digest::{self, Challenge, ChallengeKind, Credentials};
use sipcore::{
    Account, Availability, Command, EngineConfig, Event, PublishState, RegistrationState,
};

fn next<T>(rx: &Receiver<Event>, what: &str, pick: impl FnMut(&Event) -> Option<T>) -> T {
    harness::wait::next_matching(rx, TIMEOUT, what, pick)
}

fn published(rx: &Receiver<Event>, a: Availability) {
    next(rx, &format!("{a:?} published"), |e| match e {
        Event::OwnPresence(PublishState::Published(x)) if *x == a => Some(()),
        Event::OwnPresence(s @ (PublishState::Failed(_) | PublishState::NotSupported(_))) => {
            panic!("publishing {a:?}: {s:?}")
        }
        _ => None,
    })
}

#[test]
fn watchers_see_us_online_then_away_then_offline_when_we_quit() {
    let k = Kamailio::start_with(Options {
        algorithm: Algorithm::Sha256,
        ..Options::default()
    })
    .unwrap();
    let me = harness::users::get("2011").unwrap();
    let watcher_user = harness::users::get("2012").unwrap();

    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let config = EngineConfig {
        // Refreshed every 3 s, so the test sees a refresh.
        publish_expires: Duration::from_secs(4),
        ..Default::default()
    };
    let (handle, events) =
        sipcore::start(config, Arc::new(sipcore::RecordingMedia::default()), None).unwrap();
    let mut account = Account::new(&me.extension, &me.password, &k.domain());
    account.expires = 60;
    handle.send(Command::Register(account));
    next(&events, "registered", |e| {
        matches!(e, Event::Registration(RegistrationState::Registered { .. })).then_some(())
    });

    handle.send(Command::SetPresence(Availability::Online));
    published(&events, Availability::Online);

    let mut watcher = watch(&k, &watcher_user, &me.extension);
    watcher.sees(Availability::Online);

    handle.send(Command::SetPresence(Availability::Away));
    published(&events, Availability::Away);
    watcher.sees(Availability::Away);

    // Refreshes: our ETag in SIP-If-Match, accepted. Kamailio's PUBLISH log lines so far are
    // the first one, the change to away, then the refreshes; the watcher sees away throughout.
    let publishes = |k: &Kamailio| -> Vec<String> {
        k.log()
            .lines()
            .filter(|l| l.contains(&format!("<script>: publish user {} ", me.extension)))
            .map(str::to_string)
            .collect()
    };
    harness::wait_for("two PUBLISH refreshes", TIMEOUT, || {
        (publishes(&k).len() >= 4).then_some(())
    })
    .unwrap();
    for refresh in &publishes(&k)[2..4] {
        assert!(
            refresh.contains("rc 1 expires [4] if-match [a."),
            "{refresh}"
        );
    }
    assert!(publishes(&k)[0].contains("if-match [<null>]"));
    // Each refresh carries the document again, and Kamailio notifies it: still away, never an
    // empty or different document (`sees` fails on those).

    // Quitting removes the publication: the watcher is told we are closed.
    assert!(handle.shutdown_and_wait(Duration::from_secs(10)));
    watcher.sees(Availability::Offline);
    removed_once(&k, &me.extension);
}

#[test]
fn going_offline_while_signed_in_removes_the_publication_and_online_brings_it_back() {
    let k = Kamailio::start().unwrap();
    let me = harness::users::get("2013").unwrap();
    let watcher_user = harness::users::get("2014").unwrap();
    let (handle, events) = sipcore::start(
        EngineConfig::default(),
        Arc::new(sipcore::RecordingMedia::default()),
        None,
    )
    .unwrap();
    handle.send(Command::Register(Account::new(
        &me.extension,
        &me.password,
        &k.domain(),
    )));
    handle.send(Command::SetPresence(Availability::Online));
    published(&events, Availability::Online);
    let mut watcher = watch(&k, &watcher_user, &me.extension);
    watcher.sees(Availability::Online);
    handle.send(Command::SetPresence(Availability::Offline));
    published(&events, Availability::Offline);
    watcher.sees(Availability::Offline);
    removed_once(&k, &me.extension);
    handle.send(Command::SetPresence(Availability::Online));
    published(&events, Availability::Online);
    watcher.sees(Availability::Online);
    handle.send(Command::Shutdown);
}

/// Asterisk 16 takes no PUBLISH for presence: the engine reports that once, sends nothing more
/// on later changes, and its calls are unaffected.
#[test]
fn a_server_that_refuses_publish_is_reported_once_and_calls_still_work() {
    let pbx = pbx();
    let mut ua = Ua::registered(&pbx);
    ua.handle.send(Command::SetPresence(Availability::Online));
    let refused = ua.wait("PUBLISH refused", |e| matches!(e, Event::OwnPresence(_)));
    let Event::OwnPresence(PublishState::NotSupported(why)) = refused else {
        panic!("expected NotSupported, got {refused:?}");
    };
    assert!(
        why.starts_with("The server does not accept your status ("),
        "{why}"
    );
    ua.handle.send(Command::SetPresence(Availability::Away));

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
    let presence_events = ua
        .seen
        .iter()
        .filter(|e| matches!(e, Event::OwnPresence(_)))
        .count();
    assert_eq!(presence_events, 1, "{:#?}", ua.seen);
}

/// A watcher of `presentity` on Kamailio, subscribed as `user`.
fn watch(k: &Kamailio, user: &harness::User, presentity: &str) -> Watcher {
    let inner = PresenceWatcher::subscribe(k.addr(), &k.domain(), user, presentity, |h, uri| {
        let c = Challenge::parse(ChallengeKind::Proxy, h).unwrap();
        let creds = Credentials {
            username: user.extension.clone(),
            password: user.password.clone(),
        };
        digest::answer(&c, &creds, "SUBSCRIBE", uri, 1, "0a4f113b").value
    })
    .unwrap();
    Watcher { inner, last: None }
}

struct Watcher {
    inner: PresenceWatcher,
    last: Option<Availability>,
}

impl Watcher {
    /// Waits for a NOTIFY saying `expected`. The server may repeat the state it sent last
    /// (Kamailio does when our PUBLISH and the SUBSCRIBE cross, and on each refresh); any other
    /// state, or a body that is not PIDF, fails the test.
    fn sees(&mut self, expected: Availability) {
        loop {
            let body = self.inner.next_body().unwrap();
            let now = pidf::parse(body.as_bytes())
                .unwrap_or_else(|e| panic!("{e}: {body:?}"))
                .availability;
            if now == expected {
                self.last = Some(now);
                return;
            }
            assert_eq!(Some(now), self.last, "waiting for {expected:?}: {body}");
        }
    }
}

/// Kamailio logged exactly one accepted `Expires: 0` PUBLISH from `user` (it logs just after
/// replying, so wait for the line).
fn removed_once(k: &Kamailio, user: &str) {
    let line = format!("publish user {user} rc 1 expires [0]");
    let count = || k.log().lines().filter(|l| l.contains(&line)).count();
    harness::wait_for("Kamailio to log the removal", TIMEOUT, || {
        (count() > 0).then_some(())
    })
    .unwrap();
    assert_eq!(count(), 1, "{}", k.log());
}
