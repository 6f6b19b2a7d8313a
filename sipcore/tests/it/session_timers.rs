//! Session timers (RFC 4028) on real peers: Asterisk endpoints that require timers at pjsip's
//! shortest interval (90 s, the 3001+ pool), and sipp scenarios for the sides Asterisk cannot
//! be made to play. The long tests wait out real intervals: about a minute or a minute and a
//! half each.

use std::time::Duration;

use crate::support::*;
use sipcore::{CallId, CallState, Command, EndReason, EngineConfig, Event, SessionTimerConfig};

/// Past one 90 s interval, with time for Asterisk to act on a missing refresh.
const PAST_THE_INTERVAL: Duration = Duration::from_secs(120);

fn timers(send_refreshes: bool) -> EngineConfig {
    EngineConfig {
        session_timers: SessionTimerConfig {
            // Asterisk keeps the interval the caller asks for; ask for its minimum.
            expires: 90,
            send_refreshes,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn registered_with_timers(pbx: &harness::Pbx, config: EngineConfig) -> Ua {
    let lease = pbx.lease_with_session_timers().unwrap();
    let mut ua = Ua::start_with(config);
    ua.handle.send(Command::Register(account(&lease.user)));
    ua.wait("registered", |e| {
        matches!(
            e,
            Event::Registration(sipcore::RegistrationState::Registered { .. })
        )
    });
    ua.lease = Some(lease);
    ua
}

fn call_echo_test(ua: &mut Ua, id: CallId) {
    ua.handle.send(Command::Dial {
        call: id,
        target: "9196".into(),
    });
    ua.wait(
        "the echo test to answer",
        |e| matches!(e, Event::CallState { call, state: CallState::Active { .. } } if *call == id),
    );
}

/// Asterisk requires timers on this endpoint and names us the refresher: our refreshes (one
/// every 45 s) keep the call to the echo test up past the 90 s interval.
#[test]
fn our_refreshes_keep_a_call_up_past_the_interval() {
    let pbx = pbx();
    let mut ua = registered_with_timers(&pbx, timers(true));
    let id = CallId(1);
    call_echo_test(&mut ua, id);
    let mut refreshes = 0;
    ua.wait_up_to(PAST_THE_INTERVAL, "two refreshes of ours", |e| {
        if let Event::CallState {
            call,
            state: CallState::Ended(why),
        } = e
            && *call == id
        {
            panic!("the call ended after {refreshes} refreshes: {why}");
        }
        if matches!(e, Event::SessionRefreshed { call, by_us: true } if *call == id) {
            refreshes += 1;
        }
        refreshes == 2
    });
    ua.handle.send(Command::HangUp(id));
    ua.wait("hung up", |e| {
        matches!(e, Event::CallState { call, state: CallState::Ended(EndReason::HungUp { by_us: true }) } if *call == id)
    });
}

/// The same call with our refreshes held back: Asterisk gives up on the session and hangs up
/// (RFC 4028 §10), which is what makes the refreshes above matter.
#[test]
fn without_our_refreshes_asterisk_ends_the_call() {
    let pbx = pbx();
    let mut ua = registered_with_timers(&pbx, timers(false));
    let id = CallId(2);
    call_echo_test(&mut ua, id);
    let ended = ua.wait_up_to(PAST_THE_INTERVAL, "Asterisk to end the call", |e| {
        assert!(
            !matches!(e, Event::SessionRefreshed { .. }),
            "no refresh was to happen"
        );
        matches!(e, Event::CallState { call, state: CallState::Ended(_) } if *call == id)
    });
    assert_eq!(
        ended,
        Event::CallState {
            call: id,
            state: CallState::Ended(EndReason::HungUp { by_us: false })
        }
    );
}

/// A sipp peer answers as the refresher and then never refreshes: we send a BYE before the
/// session expires and end the call with a reason in words.
#[test]
fn when_their_refreshes_stop_we_hang_up_with_a_reason() {
    let pbx = pbx();
    let mut ua = Ua::registered(&pbx);
    let phone =
        harness::peers::SippServer::start(&harness::peers::sipp_scenario("session-timer-uas"))
            .unwrap();
    // Should sipp not listen yet, the INVITE's retransmissions reach it (RFC 3261 Timer A).
    let id = CallId(3);
    ua.handle.send(Command::Dial {
        call: id,
        target: format!("sip:timer@{}", phone.addr),
    });
    ua.wait(
        "sipp to answer",
        |e| matches!(e, Event::CallState { call, state: CallState::Active { .. } } if *call == id),
    );
    let ended = ua.wait_up_to(
        PAST_THE_INTERVAL,
        "the call to end",
        |e| matches!(e, Event::CallState { call, state: CallState::Ended(_) } if *call == id),
    );
    let Event::CallState {
        state: CallState::Ended(EndReason::Failed(why)),
        ..
    } = ended
    else {
        panic!("expected a failure in words, got {ended:?}");
    };
    assert!(
        why.contains("stopped confirming that it was still connected"),
        "{why}"
    );
    // sipp saw the BYE it expected.
    phone.finish(TIMEOUT).unwrap();
}

/// A sipp caller asks for 60 s and is refused with 422 and our Min-SE (90); it asks again for
/// 90 s with `Require: timer` and our answer names it the refresher; its body-less UPDATE is a
/// refresh we answer and report.
#[test]
fn an_incoming_call_negotiates_its_session_timer() {
    let mut ua = Ua::start();
    let caller = harness::peers::SippServer::calling(
        &harness::peers::sipp_scenario("session-timer-uac"),
        ua.handle.local_addr,
        "2001",
    )
    .unwrap();
    let (call, _) = ua.wait_incoming("the second INVITE");
    ua.handle.send(Command::Answer(call));
    ua.wait(
        "their refresh",
        |e| matches!(e, Event::SessionRefreshed { call: c, by_us: false } if *c == call),
    );
    ua.wait(
        "their BYE",
        |e| matches!(e, Event::CallState { call: c, state: CallState::Ended(_) } if *c == call),
    );
    caller.finish(TIMEOUT).unwrap();
}
