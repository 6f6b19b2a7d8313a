//! The whole app's own presence, against Kamailio's presence server, seen by a colleague's
//! watcher: online once signed in, away after the idle time without input, online again on the
//! next input, and closed when the app quits.

use std::time::Duration;

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
    let mut watcher = PresenceWatcher::subscribe(
        k.addr(),
        &k.domain(),
        &colleague,
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
    .unwrap();
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
