//! Calls through the real Asterisk: answered, busy, cancelled while ringing, hold and resume,
//! hang-up from either side, incoming calls between two engines, and MESSAGE.

use crate::support::*;
use sipcore::media_control::MediaRequest;
use sipcore::sdp::Direction;
use std::sync::Arc;

use sipcore::{CallId, CallState, Command, EndReason, EngineConfig, Event, Hold, RecordingMedia};

#[test]
fn the_echo_test_answers_holds_resumes_and_hangs_up() {
    let pbx = pbx();
    let mut ua = Ua::registered(&pbx);
    let id = CallId(1);
    ua.handle.send(Command::Dial {
        call: id,
        target: "9196".into(),
    });
    ua.wait("answered", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::None })
    });
    let start = ua
        .media
        .requests()
        .into_iter()
        .find(|r| matches!(r, MediaRequest::Start { .. }));
    let Some(MediaRequest::Start {
        remote,
        direction,
        codec,
        ..
    }) = start
    else {
        panic!("media was not started: {:?}", ua.media.requests())
    };
    assert_eq!(remote.ip().to_string(), "127.0.0.1");
    assert!(
        (31000..=31999).contains(&remote.port()),
        "Asterisk's RTP range: {remote}"
    );
    assert_eq!(direction, Direction::SendRecv);
    assert_eq!(
        codec.name,
        sipcore::sdp::CodecName::Opus,
        "Opus is offered first and Asterisk has it"
    );

    ua.handle.send(Command::Hold(id));
    ua.wait("held", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::Local })
    });
    assert!(ua.media.requests().iter().any(|r| matches!(r,
        MediaRequest::Update { call, update } if *call == id && update.direction == Direction::SendOnly)));
    ua.handle.send(Command::Resume(id));
    ua.wait("resumed", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::None })
    });

    ua.handle.send(Command::HangUp(id));
    ua.wait("ended", |e| {
        state_of(e, id) == Some(&CallState::Ended(EndReason::HungUp { by_us: true }))
    });
    assert!(ua.media.requests().contains(&MediaRequest::Stop(id)));
    let ext = ua.extension();
    harness::wait_for("Asterisk to drop the channel", TIMEOUT, || {
        let out = pbx.cli("core show channels concise").ok()?;
        (!out.contains(&format!("PJSIP/{ext}-"))).then_some(())
    })
    .unwrap();
}

#[test]
fn a_busy_number_ends_the_call_as_busy() {
    let pbx = pbx();
    let mut ua = Ua::registered(&pbx);
    let id = CallId(7);
    ua.handle.send(Command::Dial {
        call: id,
        target: "9486".into(),
    });
    ua.wait("busy", |e| {
        state_of(e, id) == Some(&CallState::Ended(EndReason::Busy))
    });
}

#[test]
fn an_unknown_number_is_not_found() {
    let pbx = pbx();
    let mut ua = Ua::registered(&pbx);
    let id = CallId(8);
    ua.handle.send(Command::Dial {
        call: id,
        target: "5550000".into(),
    });
    ua.wait("not found", |e| {
        state_of(e, id) == Some(&CallState::Ended(EndReason::NotFound))
    });
}

#[test]
fn hanging_up_while_it_rings_cancels_the_call() {
    let pbx = pbx();
    let mut ua = Ua::registered(&pbx);
    let id = CallId(9);
    ua.handle.send(Command::Dial {
        call: id,
        target: "9180".into(),
    });
    ua.wait("ringing", |e| {
        matches!(state_of(e, id), Some(CallState::Ringing { .. }))
    });
    ua.handle.send(Command::HangUp(id));
    ua.wait("cancelled", |e| {
        state_of(e, id) == Some(&CallState::Ended(EndReason::Cancelled))
    });
}

#[test]
fn early_media_starts_audio_before_the_answer() {
    let pbx = pbx();
    let mut ua = Ua::registered(&pbx);
    let id = CallId(10);
    ua.handle.send(Command::Dial {
        call: id,
        target: "9183".into(),
    });
    ua.wait("early media", |e| {
        state_of(e, id) == Some(&CallState::Ringing { early_media: true })
    });
    assert!(
        ua.media
            .requests()
            .iter()
            .any(|r| matches!(r, MediaRequest::Start { call, .. } if *call == id))
    );
    ua.handle.send(Command::HangUp(id));
    ua.wait("ended", |e| {
        matches!(state_of(e, id), Some(CallState::Ended(_)))
    });
}

#[test]
fn one_engine_calls_another_which_answers_and_the_caller_hangs_up() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let mut bob = Ua::registered(&pbx);
    let id = CallId(1);
    alice.handle.send(Command::Dial {
        call: id,
        target: bob.extension(),
    });
    let (bob_id, from) = bob.wait_incoming("an incoming call");
    assert_eq!(from.number, alice.extension(), "caller number from the PBX");
    assert_eq!(
        from.name.as_deref(),
        Some(format!("Test User {}", alice.extension()).as_str())
    );
    alice.wait("ringback", |e| {
        matches!(state_of(e, id), Some(CallState::Ringing { .. }))
    });
    bob.handle.send(Command::Answer(bob_id));
    bob.wait("bob talking", |e| {
        state_of(e, bob_id) == Some(&CallState::Active { hold: Hold::None })
    });
    alice.wait("alice talking", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::None })
    });

    // Bob holds. Asterisk (direct_media=no) keeps the hold to itself and plays Alice music, so
    // only Bob's side changes here; the peer-to-peer test shows the remote-hold view.
    bob.handle.send(Command::Hold(bob_id));
    bob.wait("bob holds", |e| {
        state_of(e, bob_id) == Some(&CallState::Active { hold: Hold::Local })
    });
    bob.handle.send(Command::Resume(bob_id));
    bob.wait("bob resumes", |e| {
        state_of(e, bob_id) == Some(&CallState::Active { hold: Hold::None })
    });

    alice.handle.send(Command::HangUp(id));
    bob.wait("bob's end", |e| {
        state_of(e, bob_id) == Some(&CallState::Ended(EndReason::HungUp { by_us: false }))
    });
}

#[test]
fn declining_an_incoming_call_tells_the_caller() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let mut bob = Ua::registered(&pbx);
    let id = CallId(2);
    alice.handle.send(Command::Dial {
        call: id,
        target: bob.extension(),
    });
    let (bob_id, _) = bob.wait_incoming("incoming");
    bob.handle.send(Command::Reject {
        call: bob_id,
        decline: false,
    });
    bob.wait("declined", |e| {
        state_of(e, bob_id) == Some(&CallState::Ended(EndReason::Declined))
    });
    // Asterisk maps our 486 to its dialplan's busy branch: voicemail answers. Either way the
    // caller is no longer ringing us.
    alice.handle.send(Command::HangUp(id));
    alice.wait("alice's end", |e| {
        matches!(state_of(e, id), Some(CallState::Ended(_)))
    });
}

#[test]
fn the_caller_giving_up_is_a_missed_call() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let mut bob = Ua::registered(&pbx);
    let id = CallId(3);
    alice.handle.send(Command::Dial {
        call: id,
        target: bob.extension(),
    });
    let (bob_id, _) = bob.wait_incoming("incoming");
    alice.wait("ringback", |e| {
        matches!(state_of(e, id), Some(CallState::Ringing { .. }))
    });
    alice.handle.send(Command::HangUp(id));
    bob.wait("missed", |e| {
        state_of(e, bob_id) == Some(&CallState::Ended(EndReason::Missed))
    });
}

#[test]
fn a_text_message_reaches_the_other_extension_with_a_delivery_result() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let mut bob = Ua::registered(&pbx);
    alice.handle.send(Command::SendMessage {
        id: 42,
        target: bob.extension(),
        content_type: "text/plain;charset=UTF-8".into(),
        body: "Hello Bob — ça va? ☎".into(),
    });
    alice.wait("delivered", |e| {
        matches!(
            e,
            Event::MessageResult {
                id: 42,
                result: Ok(())
            }
        )
    });
    let got = bob.wait("the text", |e| matches!(e, Event::MessageReceived { .. }));
    let Event::MessageReceived { from, body, .. } = got else {
        unreachable!()
    };
    assert_eq!(body, "Hello Bob — ça va? ☎");
    assert_eq!(from.number, alice.extension());
}

#[test]
fn calling_an_engine_directly_shows_when_the_other_side_holds() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let mut bob = Ua::start();
    let id = CallId(4);
    let target = format!("sip:bob@{}", bob.handle.local_addr);
    alice.handle.send(Command::Dial { call: id, target });
    let (bob_id, from) = bob.wait_incoming("incoming");
    assert_eq!(from.number, alice.extension());
    bob.handle.send(Command::Answer(bob_id));
    alice.wait("talking", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::None })
    });
    bob.wait("bob talking", |e| {
        state_of(e, bob_id) == Some(&CallState::Active { hold: Hold::None })
    });

    bob.handle.send(Command::Hold(bob_id));
    alice.wait("held by bob", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::Remote })
    });
    // Bob's engine counts its hold once the 200 OK to its re-INVITE is in; until then it would
    // answer Alice's hold offer as if it were not holding (recvonly, not inactive).
    bob.wait("bob's hold confirmed", |e| {
        state_of(e, bob_id) == Some(&CallState::Active { hold: Hold::Local })
    });
    assert!(alice.media.requests().iter().any(|r| matches!(r,
        MediaRequest::Update { call, update } if *call == id && update.direction == Direction::RecvOnly)));
    // Alice holds too: both directions are held, and each resume undoes only its own.
    alice.handle.send(Command::Hold(id));
    alice.wait("both held", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::Both })
    });
    assert_eq!(
        alice.media.requests().iter().rev().find_map(|r| match r {
            MediaRequest::Update { call, update } if *call == id => Some(update.direction),
            _ => None,
        }),
        Some(Direction::Inactive),
        "held both ways, the media neither sends nor receives"
    );
    bob.handle.send(Command::Resume(bob_id));
    alice.wait("only alice holds", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::Local })
    });
    alice.handle.send(Command::Resume(id));
    alice.wait("nobody holds", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::None })
    });

    bob.handle.send(Command::HangUp(bob_id));
    alice.wait("alice's end", |e| {
        state_of(e, id) == Some(&CallState::Ended(EndReason::HungUp { by_us: false }))
    });
}

#[test]
fn a_second_call_rings_while_on_one_and_is_answered_after_holding_the_first() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let mut bob = Ua::registered(&pbx);
    let echo = CallId(1);
    alice.handle.send(Command::Dial {
        call: echo,
        target: "9196".into(),
    });
    alice.wait("on the echo test", |e| {
        state_of(e, echo) == Some(&CallState::Active { hold: Hold::None })
    });
    // Call waiting: Bob calls Alice while she talks.
    bob.handle.send(Command::Dial {
        call: CallId(7),
        target: alice.extension(),
    });
    let (waiting, from) = alice.wait_incoming("the waiting call");
    assert_eq!(from.number, bob.extension());
    // Answering it holds the first call (as the window does), and both lines stay up.
    alice.handle.send(Command::Hold(echo));
    alice.wait("the first call held", |e| {
        state_of(e, echo) == Some(&CallState::Active { hold: Hold::Local })
    });
    alice.handle.send(Command::Answer(waiting));
    alice.wait("talking to Bob", |e| {
        state_of(e, waiting) == Some(&CallState::Active { hold: Hold::None })
    });
    bob.wait("Bob answered", |e| {
        state_of(e, CallId(7)) == Some(&CallState::Active { hold: Hold::None })
    });
    // Back to the first: Bob on hold, the echo test resumed.
    alice.handle.send(Command::Hold(waiting));
    alice.wait("Bob held", |e| {
        state_of(e, waiting) == Some(&CallState::Active { hold: Hold::Local })
    });
    alice.handle.send(Command::Resume(echo));
    alice.wait("the echo test resumed", |e| {
        state_of(e, echo) == Some(&CallState::Active { hold: Hold::None })
    });
    for id in [echo, waiting] {
        alice.handle.send(Command::HangUp(id));
        alice.wait("hung up", |e| {
            matches!(state_of(e, id), Some(CallState::Ended(_)))
        });
    }
    bob.wait("Bob's end", |e| {
        matches!(state_of(e, CallId(7)), Some(CallState::Ended(_)))
    });
}

#[test]
fn keys_go_as_sip_info_to_a_phone_without_telephone_event() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let phone =
        harness::peers::SippServer::start(&harness::peers::sipp_scenario("uas-no-telephone-event"))
            .unwrap();
    let id = CallId(9);
    alice.handle.send(Command::Dial {
        call: id,
        target: format!("sip:desk@{}", phone.addr),
    });
    alice.wait("answered", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::None })
    });
    alice.handle.send(Command::SendDtmf {
        call: id,
        digit: '5',
    });
    // The INFO is answered; then hang up, and sipp checks it saw INFO with Signal=5.
    std::thread::sleep(std::time::Duration::from_millis(500));
    alice.handle.send(Command::HangUp(id));
    alice.wait("hung up", |e| {
        matches!(state_of(e, id), Some(CallState::Ended(_)))
    });
    phone.finish(TIMEOUT).unwrap();
    assert!(
        !alice
            .media
            .requests()
            .iter()
            .any(|r| matches!(r, MediaRequest::Dtmf(..))),
        "the key also went into the media, which has no telephone-event"
    );
}

#[test]
fn no_answer_and_a_failing_number_end_with_their_reasons() {
    let pbx = pbx();
    let mut ua = Ua::registered(&pbx);
    let unanswered = CallId(11);
    ua.handle.send(Command::Dial {
        call: unanswered,
        target: "9480".into(),
    });
    ua.wait("no answer", |e| {
        state_of(e, unanswered) == Some(&CallState::Ended(EndReason::NoAnswer))
    });
    let failing = CallId(12);
    ua.handle.send(Command::Dial {
        call: failing,
        target: "9503".into(),
    });
    let Event::CallState {
        state: CallState::Ended(EndReason::Failed(why)),
        ..
    } = ua.wait("the failure", |e| {
        matches!(state_of(e, failing), Some(CallState::Ended(_)))
    })
    else {
        panic!("9503 did not end as failed")
    };
    assert!(why.contains("503"), "{why}");
}

#[test]
fn an_update_from_the_other_side_holds_us() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let phone =
        harness::peers::SippServer::start(&harness::peers::sipp_scenario("uas-update-hold"))
            .unwrap();
    let id = CallId(10);
    alice.handle.send(Command::Dial {
        call: id,
        target: format!("sip:desk@{}", phone.addr),
    });
    alice.wait("answered", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::None })
    });
    alice.wait("held by the UPDATE", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::Remote })
    });
    alice.handle.send(Command::HangUp(id));
    alice.wait("hung up", |e| {
        matches!(state_of(e, id), Some(CallState::Ended(_)))
    });
    // sipp checks our answer to its UPDATE said recvonly.
    phone.finish(TIMEOUT).unwrap();
}

/// Answers the next incoming call on `ua` and waits until both sides talk.
fn answer_next(ua: &mut Ua) -> CallId {
    let (call, _) = ua.wait_incoming("an incoming call");
    ua.handle.send(Command::Answer(call));
    ua.wait("talking", |e| {
        state_of(e, call) == Some(&CallState::Active { hold: Hold::None })
    });
    call
}

#[test]
fn add_call_holds_the_first_and_hanging_up_a_merged_call_ends_both() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let mut bob = Ua::registered(&pbx);
    let mut carol = Ua::registered(&pbx);
    let (to_bob, to_carol) = (CallId(21), CallId(22));
    alice.handle.send(Command::Dial {
        call: to_bob,
        target: bob.extension(),
    });
    let bob_id = answer_next(&mut bob);
    alice.wait("talking to Bob", |e| {
        state_of(e, to_bob) == Some(&CallState::Active { hold: Hold::None })
    });

    // Add call: Bob goes on hold by itself, then Carol rings.
    alice.handle.send(Command::AddCall {
        call: to_carol,
        target: carol.extension(),
    });
    alice.wait("Bob held for the added call", |e| {
        state_of(e, to_bob) == Some(&CallState::Active { hold: Hold::Local })
    });
    let carol_id = answer_next(&mut carol);
    alice.wait("talking to Carol", |e| {
        state_of(e, to_carol) == Some(&CallState::Active { hold: Hold::None })
    });

    alice.handle.send(Command::Resume(to_bob));
    alice.wait("Bob back", |e| {
        state_of(e, to_bob) == Some(&CallState::Active { hold: Hold::None })
    });
    alice.handle.send(Command::Merge(vec![to_bob, to_carol]));
    alice.handle.send(Command::HangUp(to_carol));
    for id in [to_bob, to_carol] {
        alice.wait("every merged call ended", |e| {
            state_of(e, id) == Some(&CallState::Ended(EndReason::HungUp { by_us: true }))
        });
    }
    bob.wait("Bob hung up on", |e| {
        state_of(e, bob_id) == Some(&CallState::Ended(EndReason::HungUp { by_us: false }))
    });
    carol.wait("Carol hung up on", |e| {
        state_of(e, carol_id) == Some(&CallState::Ended(EndReason::HungUp { by_us: false }))
    });
    let requests = alice.media.requests();
    let mixed = requests
        .iter()
        .position(|r| *r == MediaRequest::Conference(vec![to_bob, to_carol]));
    let unmixed = requests
        .iter()
        .rposition(|r| matches!(r, MediaRequest::Split(_)));
    assert!(
        matches!((mixed, unmixed), (Some(m), Some(u)) if m < u),
        "mixed, then unmixed at the hang-up: {requests:#?}"
    );
}

/// A phone behind its own proxy (sipp): our INVITE asks for rport and carries our display
/// name, is challenged with 407,
/// comes again with the account's digest, and is declined with 603, which ends the call as
/// declined (not busy, not failed).
#[test]
fn a_call_challenged_by_a_proxy_retries_with_credentials_and_is_declined() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let lease = alice.lease.as_ref().unwrap();
    let (user, name) = (lease.user.extension.clone(), lease.user.name.clone());
    let scenario = tempfile::tempdir().unwrap();
    let path = scenario.path().join("uas-challenge-decline.xml");
    let template =
        std::fs::read_to_string(harness::peers::sipp_scenario("uas-challenge-decline")).unwrap();
    let filled = template.replace("@USER@", &user).replace("@NAME@", &name);
    std::fs::write(&path, filled).unwrap();
    let phone = harness::peers::SippServer::start(&path).unwrap();
    let id = CallId(30);
    alice.handle.send(Command::Dial {
        call: id,
        target: format!("sip:desk@{}", phone.addr),
    });
    alice.wait("declined", |e| {
        state_of(e, id) == Some(&CallState::Ended(EndReason::Declined))
    });
    phone.finish(TIMEOUT).unwrap();
}

/// The caller shown is the one the P-Asserted-Identity names; declining with `decline: true`
/// answers 603 Decline, which a caller tells apart from busy.
#[test]
fn the_asserted_caller_is_shown_and_declining_answers_603() {
    let mut ua = Ua::start();
    let caller = harness::peers::SippServer::calling(
        &harness::peers::sipp_scenario("uac-expect-decline"),
        ua.handle.local_addr,
        "desk",
    )
    .unwrap();
    let (call, from) = ua.wait_incoming("the call");
    // The asserted identity, not the From.
    assert_eq!(from.name.as_deref(), Some("Grace Hopper"));
    assert_eq!(from.number, "1002");
    ua.handle.send(Command::Reject {
        call,
        decline: true,
    });
    ua.wait("declined", |e| {
        state_of(e, call) == Some(&CallState::Ended(EndReason::Declined))
    });
    // The caller got its 603.
    caller.finish(TIMEOUT).unwrap();
}

/// A video phone calls with video, SRTP audio, plain audio and BFCP: the answer (checked by
/// sipp) has the four m-lines in their order, the three it does not take with port 0, and
/// the call talks on the plain audio.
#[test]
fn a_video_phone_s_offer_is_answered_line_for_line_on_its_plain_audio() {
    let mut ua = Ua::start();
    let caller = harness::peers::SippServer::calling(
        &harness::peers::sipp_scenario("uac-video-offer"),
        ua.handle.local_addr,
        "desk",
    )
    .unwrap();
    let (call, _) = ua.wait_incoming("the video call");
    ua.handle.send(Command::Answer(call));
    ua.wait("talking", |e| {
        state_of(e, call) == Some(&CallState::Active { hold: Hold::None })
    });
    ua.wait("hung up by the caller", |e| {
        matches!(state_of(e, call), Some(CallState::Ended(_)))
    });
    caller.finish(TIMEOUT).unwrap();
}

/// A PSTN gateway's INVITE carries its offer beside ISUP in a multipart/mixed body: the call
/// rings with the gateway's number and is answered on that offer (sipp checks the PCMA answer).
#[test]
fn a_gateway_s_multipart_offer_is_found_and_answered() {
    let mut ua = Ua::start();
    let caller = harness::peers::SippServer::calling(
        &harness::peers::sipp_scenario("uac-multipart-offer"),
        ua.handle.local_addr,
        "desk",
    )
    .unwrap();
    let (call, from) = ua.wait_incoming("the gateway's call");
    assert_eq!(from.number, "+15550123");
    ua.handle.send(Command::Answer(call));
    ua.wait("talking", |e| {
        state_of(e, call) == Some(&CallState::Active { hold: Hold::None })
    });
    ua.wait("hung up by the gateway", |e| {
        matches!(state_of(e, call), Some(CallState::Ended(_)))
    });
    caller.finish(TIMEOUT).unwrap();
}

/// A SUBSCRIBE to a package we do not serve is 489 Bad Event with Allow-Events (sipp checks).
#[test]
fn a_subscribe_to_an_unknown_package_is_489_bad_event() {
    let ua = Ua::start();
    let watcher = harness::peers::SippServer::calling(
        &harness::peers::sipp_scenario("uac-subscribe-unknown-event"),
        ua.handle.local_addr,
        "desk",
    )
    .unwrap();
    watcher.finish(TIMEOUT).unwrap();
    drop(ua);
}

/// A gateway writing tel: URIs (a local number with phone-context, a global one with visual
/// separators) and a non-SIP Contact: the call rings with the caller's number as digits, is
/// answered, and our hang-up reaches the gateway.
#[test]
fn a_call_addressed_with_tel_uris_rings_and_is_answered() {
    let mut ua = Ua::start();
    let caller = harness::peers::SippServer::calling(
        &harness::peers::sipp_scenario("uac-tel-uris"),
        ua.handle.local_addr,
        "desk",
    )
    .unwrap();
    let (call, from) = ua.wait_incoming("the gateway's call");
    assert_eq!(from.number, "+15550123");
    assert_eq!(from.name.as_deref(), Some("Gateway Caller"));
    ua.handle.send(Command::Answer(call));
    ua.wait("talking", |e| {
        state_of(e, call) == Some(&CallState::Active { hold: Hold::None })
    });
    ua.handle.send(Command::HangUp(call));
    ua.wait("hung up", |e| {
        matches!(state_of(e, call), Some(CallState::Ended(_)))
    });
    caller.finish(TIMEOUT).unwrap();
}

/// A hold whose re-INVITE overtakes the ACK of our 200 (as a proxy with several workers can
/// reorder them) is answered once the ACK is in: recvonly (sipp checks), and we show it.
#[test]
fn a_hold_that_overtakes_the_ack_is_answered() {
    let mut ua = Ua::start();
    let caller = harness::peers::SippServer::calling(
        &harness::peers::sipp_scenario("uac-reinvite-before-ack"),
        ua.handle.local_addr,
        "desk",
    )
    .unwrap();
    let (call, _) = ua.wait_incoming("the hasty phone's call");
    ua.handle.send(Command::Answer(call));
    ua.wait("held by the caller", |e| {
        state_of(e, call) == Some(&CallState::Active { hold: Hold::Remote })
    });
    ua.wait("hung up by the caller", |e| {
        matches!(state_of(e, call), Some(CallState::Ended(_)))
    });
    caller.finish(TIMEOUT).unwrap();
}

/// Audio offered only over SRTP is refused with 488 and Warning 302, before any ringing.
#[test]
fn audio_offered_only_over_srtp_is_refused_with_a_warning() {
    let ua = Ua::start();
    let caller = harness::peers::SippServer::calling(
        &harness::peers::sipp_scenario("uac-srtp-only-offer"),
        ua.handle.local_addr,
        "desk",
    )
    .unwrap();
    caller.finish(TIMEOUT).unwrap();
    drop(ua);
}

/// A text the server refuses comes back as a failed delivery, with the server's reason.
#[test]
fn a_refused_text_reports_the_failure() {
    let pbx = pbx();
    let mut ua = Ua::registered(&pbx);
    let server =
        harness::peers::SippServer::start(&harness::peers::sipp_scenario("uas-message-refused"))
            .unwrap();
    ua.handle.send(Command::SendMessage {
        id: 7,
        target: format!("sip:nobody@{}", server.addr),
        content_type: "text/plain;charset=UTF-8".into(),
        body: "Anyone there?".into(),
    });
    let result = ua.wait("the delivery result", |e| {
        matches!(e, Event::MessageResult { id: 7, .. })
    });
    let Event::MessageResult {
        result: Err(reason),
        ..
    } = result
    else {
        panic!("a refused text was reported delivered: {result:?}")
    };
    // The 404 in words.
    assert_eq!(reason.to_string(), "That address does not exist.");
    server.finish(TIMEOUT).unwrap();
}

/// A phone that holds us with a re-INVITE (sendonly) and resumes with another: we answer
/// recvonly, then sendrecv (sipp checks both), and show the remote hold and its end.
#[test]
fn a_reinvite_from_the_other_side_holds_and_resumes_us() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let phone =
        harness::peers::SippServer::start(&harness::peers::sipp_scenario("uas-reinvite-hold"))
            .unwrap();
    let id = CallId(11);
    alice.handle.send(Command::Dial {
        call: id,
        target: format!("sip:desk@{}", phone.addr),
    });
    alice.wait("answered", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::None })
    });
    alice.wait("held by the re-INVITE", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::Remote })
    });
    alice.wait("resumed by the next one", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::None })
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    alice.handle.send(Command::HangUp(id));
    alice.wait("hung up", |e| {
        matches!(state_of(e, id), Some(CallState::Ended(_)))
    });
    phone.finish(TIMEOUT).unwrap();
}

/// The engine owns the lines: answering a second call holds the first, resuming the first holds
/// the second, merging resumes a held member, splitting holds all but the call kept, and the
/// conference is reported each time it changes. A Hold for a call already held does nothing.
/// Alice's events come through `start_with`'s callback rather than a channel of the engine's.
#[test]
fn the_engine_holds_the_other_lines_and_reports_its_conference() {
    let pbx = pbx();
    let mut alice = {
        let media = Arc::new(RecordingMedia::default());
        let (tx, events) = std::sync::mpsc::channel();
        let handle = sipcore::start_with(EngineConfig::default(), media.clone(), move |e| {
            let _ = tx.send(e);
        })
        .expect("engine starts");
        Ua {
            handle,
            events,
            media,
            seen: Vec::new(),
            lease: None,
        }
    };
    alice.register(&pbx);
    let mut bob = Ua::registered(&pbx);
    let mut carol = Ua::registered(&pbx);
    let to_bob = CallId(31);
    alice.handle.send(Command::Dial {
        call: to_bob,
        target: bob.extension(),
    });
    let bob_id = answer_next(&mut bob);
    alice.wait("talking to Bob", |e| {
        state_of(e, to_bob) == Some(&CallState::Active { hold: Hold::None })
    });

    // Carol calls; answering her puts Bob on hold without a Hold from us.
    carol.handle.send(Command::Dial {
        call: CallId(1),
        target: alice.extension(),
    });
    let (from_carol, _) = alice.wait_incoming("Carol's call");
    alice.handle.send(Command::Answer(from_carol));
    alice.wait("talking to Carol", |e| {
        state_of(e, from_carol) == Some(&CallState::Active { hold: Hold::None })
    });
    alice.wait("Bob held for Carol", |e| {
        state_of(e, to_bob) == Some(&CallState::Active { hold: Hold::Local })
    });

    // Back to Bob: Carol goes on hold.
    alice.handle.send(Command::Resume(to_bob));
    let (mut bob_back, mut carol_held) = (false, false);
    alice.wait("Bob back and Carol held", |e| {
        bob_back |= state_of(e, to_bob) == Some(&CallState::Active { hold: Hold::None });
        carol_held |= state_of(e, from_carol) == Some(&CallState::Active { hold: Hold::Local });
        bob_back && carol_held
    });

    // Merge with Carol on hold: the engine resumes her itself.
    alice.handle.send(Command::Merge(vec![to_bob, from_carol]));
    alice.wait("the conference", |e| {
        *e == Event::Conference {
            members: vec![to_bob, from_carol],
        }
    });
    alice.wait("Carol resumed for the conference", |e| {
        state_of(e, from_carol) == Some(&CallState::Active { hold: Hold::None })
    });

    // Split keeping Carol: the conference is over and Bob goes on hold.
    alice.handle.send(Command::Split { keep: from_carol });
    alice.wait("no conference", |e| {
        *e == Event::Conference {
            members: Vec::new(),
        }
    });
    // A caller that still holds the other line itself does no harm.
    alice.handle.send(Command::Hold(to_bob));
    alice.wait("Bob held after the split", |e| {
        state_of(e, to_bob) == Some(&CallState::Active { hold: Hold::Local })
    });
    alice.handle.send(Command::Hold(to_bob));

    for id in [to_bob, from_carol] {
        alice.handle.send(Command::HangUp(id));
        alice.wait("hung up", |e| {
            state_of(e, id) == Some(&CallState::Ended(EndReason::HungUp { by_us: true }))
        });
    }
    bob.wait("Bob hung up on", |e| {
        state_of(e, bob_id) == Some(&CallState::Ended(EndReason::HungUp { by_us: false }))
    });
    carol.wait("Carol hung up on", |e| {
        state_of(e, CallId(1)) == Some(&CallState::Ended(EndReason::HungUp { by_us: false }))
    });
    let requests = alice.media.requests();
    let holds_of_bob = requests
        .iter()
        .filter(|r| **r == MediaRequest::HoldMusic(to_bob, true))
        .count();
    assert_eq!(
        holds_of_bob, 2,
        "Bob held once per line change: {requests:#?}"
    );
    let mixed = requests
        .iter()
        .position(|r| *r == MediaRequest::Conference(vec![to_bob, from_carol]));
    let unmixed = requests
        .iter()
        .position(|r| *r == MediaRequest::Split(vec![to_bob, from_carol]));
    assert!(
        matches!((mixed, unmixed), (Some(m), Some(u)) if m < u),
        "mixed, then unmixed at the split: {requests:#?}"
    );
}
