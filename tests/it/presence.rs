//! The whole app's own presence, against Kamailio's presence server, seen by a colleague's
//! watcher: online once signed in, away after the idle time without input, online again on the
//! next input, and closed when the app quits.

use std::time::Duration;

use egui_kittest::kittest::Queryable;

use crate::support::window::*;
use crate::support::*;
use harness::kamailio::Kamailio;
use harness::presence_watcher::PresenceWatcher;
use sipcore::Availability;
use sipcore::bodies::pidf;
use sipcore::digest::{self, Challenge, ChallengeKind, Credentials};
use switchboard::window::Window;

#[test]
fn colleagues_see_us_online_then_away_when_idle_online_on_input_and_closed_on_quit() {
    let k = Kamailio::start().unwrap();
    let me = harness::users::get("2021").unwrap();
    let colleague = harness::users::get("2022").unwrap();
    let data = tempfile::tempdir().unwrap();

    let (commands, events) = start_backend(test_config(data.path()));
    let window = Window::new(commands, events, Some(k.domain()));
    let mut h = window_harness(window, egui::vec2(1100.0, 720.0));
    sign_in(&mut h, &me);

    // Kamailio's log has a line per PUBLISH it took from us.
    let publishes = || {
        k.log()
            .lines()
            .filter(|l| l.contains(&format!("<script>: publish user {} rc 1", me.extension)))
            .count()
    };
    wait_ui(&mut h, "the first PUBLISH", |_| publishes() >= 1);
    let mut watcher = watch(&k, &colleague, &me);
    // Waits for a NOTIFY saying `expected`; the server may repeat the state it sent last
    // (Kamailio does when our PUBLISH and the SUBSCRIBE cross), anything else fails.
    let mut last = None;
    let mut sees = |expected: Availability| loop {
        let body = watcher.next_body().unwrap();
        let now = pidf::parse(body.as_bytes())
            .unwrap_or_else(|e| panic!("{e}: {body:?}"))
            .availability;
        if now == expected {
            last = Some(now);
            return;
        }
        assert_eq!(Some(now), last, "waiting for {expected:?}: {body}");
    };
    sees(Availability::Online);

    // No input for the idle time (two seconds from now on, rather than ten minutes): the window
    // draws on its own and says away.
    h.state_mut().set_away_after(Duration::from_secs(2));
    wait_ui(&mut h, "away after the idle time", |_| publishes() >= 2);
    sees(Availability::Away);

    // The mouse moves: online again.
    h.event(egui::Event::PointerMoved(egui::pos2(300.0, 300.0)));
    wait_ui(&mut h, "online again on input", |_| publishes() >= 3);
    sees(Availability::Online);

    // Quitting takes our presence away: the colleague sees us closed.
    h.state_mut().quit();
    sees(Availability::Offline);
}

/// Do-not-disturb from the avatar menu: colleagues see the user busy, and still busy when the
/// window comes back from idle; turning it off shows them online again.
#[test]
fn do_not_disturb_shows_colleagues_busy() {
    let k = Kamailio::start().unwrap();
    let me = harness::users::get("2023").unwrap();
    let colleague = harness::users::get("2024").unwrap();
    let data = tempfile::tempdir().unwrap();

    let (commands, events) = start_backend(test_config(data.path()));
    let window = Window::new(commands, events, Some(k.domain()));
    let mut h = window_harness(window, egui::vec2(1100.0, 720.0));
    sign_in(&mut h, &me);
    let mut watcher = watch(&k, &colleague, &me);
    // Skips what the server repeats until `expected` arrives.
    let mut sees = |expected: Availability| {
        let deadline = std::time::Instant::now() + TIMEOUT;
        loop {
            let body = watcher
                .next_body()
                .unwrap_or_else(|e| panic!("waiting for {expected:?}: {e}"));
            if pidf::parse(body.as_bytes()).unwrap().availability == expected {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never saw {expected:?}"
            );
        }
    };
    sees(Availability::Online);

    // The avatar is labelled with the name and the phone status.
    wait_ui(&mut h, "the avatar", |h| {
        h.query_by_label_contains(", available").is_some()
    });
    h.get_by_label_contains(", available").click();
    h.run();
    h.get_by_label("Do not disturb").click();
    wait_ui(&mut h, "the avatar to say so", |h| {
        h.query_by_label_contains(", available, do not disturb")
            .is_some()
    });
    sees(Availability::Busy);

    // Back from idle is still busy.
    h.state_mut().set_away_after(Duration::from_secs(2));
    let idle_until = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < idle_until {
        h.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    sees(Availability::Away);
    h.event(egui::Event::PointerMoved(egui::pos2(300.0, 300.0)));
    h.run();
    sees(Availability::Busy);
    h.state_mut().set_away_after(Duration::from_secs(600));

    h.get_by_label_contains(", do not disturb").click();
    h.run();
    h.get_by_label("Do not disturb").click();
    h.run();
    sees(Availability::Online);
}

/// A colleague's subscription to `me`'s presence at Kamailio.
fn watch(k: &Kamailio, colleague: &harness::User, me: &harness::User) -> PresenceWatcher {
    PresenceWatcher::subscribe(
        k.addr(),
        &k.domain(),
        colleague,
        &me.extension,
        |challenge, uri| {
            let c = Challenge::parse(ChallengeKind::Proxy, challenge).unwrap();
            let creds = Credentials {
                username: colleague.extension.clone(),
                password: colleague.password.clone(),
            };
            digest::answer(&c, &creds, "SUBSCRIBE", uri, 1, "5ee1d0c5").value
        },
    )
    .unwrap()
}
