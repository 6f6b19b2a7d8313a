//! Transfers through the real Asterisk.

use crate::support::*;
use sipcore::{CallId, CallState, Command, EndReason, Event, Hold, TransferState};

/// `caller` dials `target` (callee's extension, or its own address) with call id `id`, and
/// `callee` answers; returns the callee's id for the call once the caller hears it answered.
fn answered_call(caller: &mut Ua, callee: &mut Ua, id: CallId, target: String) -> CallId {
    caller.handle.send(Command::Dial { call: id, target });
    let (callee_id, _) = callee.wait_incoming("the call to ring");
    callee.handle.send(Command::Answer(callee_id));
    caller.wait("the call to be answered", |e| {
        state_of(e, id) == Some(&CallState::Active { hold: Hold::None })
    });
    callee_id
}

/// Waits until Asterisk has put a channel of extension `a` and one of `b` in the same bridge.
/// It refuses a transfer (sipfrag 400) until then, a moment after the 200 OK: a person never
/// transfers that fast, a test does. Other tests' calls run meanwhile, so any bridge will not do.
fn wait_for_bridge(pbx: &harness::Pbx, a: &str, b: &str) {
    harness::wait_for(&format!("Asterisk to bridge {a} and {b}"), TIMEOUT, || {
        // Concise fields: channel!context!exten!priority!state!app!data!caller!account!peer!
        // ama!duration!bridge id!unique id.
        let out = pbx.cli("core show channels concise").ok()?;
        let bridge_of = |ext: &str| -> Vec<String> {
            out.lines()
                .filter(|l| l.starts_with(&format!("PJSIP/{ext}-")))
                .filter_map(|l| l.split('!').nth(12))
                .filter(|id| !id.is_empty())
                .map(str::to_string)
                .collect()
        };
        let theirs = bridge_of(b);
        bridge_of(a)
            .iter()
            .any(|id| theirs.contains(id))
            .then_some(())
    })
    .unwrap();
}

/// Alice calls Bob, then hands Bob over to Carol with a blind transfer (REFER). Carol's phone
/// rings with Bob as the caller; when she answers, Alice sees the transfer progress (NOTIFY
/// sipfrag) end in "done" and her call end, and Bob and Carol talk.
#[test]
fn a_blind_transfer_hands_the_caller_to_a_third_extension() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let mut bob = Ua::registered(&pbx);
    let mut carol = Ua::registered(&pbx);
    let id = CallId(1);
    let target = bob.extension();
    let bob_id = answered_call(&mut alice, &mut bob, id, target);
    wait_for_bridge(&pbx, &alice.extension(), &bob.extension());

    alice.handle.send(Command::Transfer {
        call: id,
        target: carol.extension(),
    });
    alice.wait("the transfer under way", |e| {
        matches!(
            e,
            Event::Transfer {
                state: TransferState::Trying,
                ..
            }
        )
    });
    let (carol_id, from) = carol.wait_incoming("Carol's phone to ring");
    assert_eq!(from.number, bob.extension(), "Carol sees Bob calling");
    carol.handle.send(Command::Answer(carol_id));
    carol.wait("Carol talking", |e| {
        state_of(e, carol_id) == Some(&CallState::Active { hold: Hold::None })
    });
    // Asterisk reports the transfer done once the new call is answered.
    let done = alice.wait("the transfer's outcome", |e| {
        matches!(
            e,
            Event::Transfer {
                state: TransferState::Done | TransferState::Failed(_),
                ..
            }
        )
    });
    assert!(
        matches!(
            &done,
            Event::Transfer { call, target, state: TransferState::Done }
                if *call == id && *target == carol.extension()
        ),
        "{done:?}"
    );
    alice.wait("Alice's call to end", |e| {
        matches!(state_of(e, id), Some(CallState::Ended(_)))
    });

    // Bob's call went on throughout: it never ended.
    assert!(
        !bob.seen
            .iter()
            .any(|e| matches!(state_of(e, bob_id), Some(CallState::Ended(_)))),
        "{:#?}",
        bob.seen
    );
    carol.handle.send(Command::HangUp(carol_id));
    bob.wait("Bob's call to end when Carol hangs up", |e| {
        state_of(e, bob_id) == Some(&CallState::Ended(EndReason::HungUp { by_us: false }))
    });
}

/// Bob, in a direct call with Alice, transfers her to Carol's extension. Alice's engine accepts
/// the REFER, places the call to Carol through the PBX and reports its progress to Bob, whose
/// transfer then reads "done" and whose call ends; Alice and Carol talk.
#[test]
fn being_transferred_places_the_new_call_and_reports_back() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let mut bob = Ua::registered(&pbx);
    let mut carol = Ua::registered(&pbx);
    let id = CallId(1);
    let direct = format!("sip:{}@{}", bob.extension(), bob.handle.local_addr);
    let bob_id = answered_call(&mut alice, &mut bob, id, direct);
    bob.wait("Bob talking to Alice", |e| {
        state_of(e, bob_id) == Some(&CallState::Active { hold: Hold::None })
    });

    bob.handle.send(Command::Transfer {
        call: bob_id,
        target: carol.extension(),
    });
    let Event::TransferredBy {
        call,
        new_call,
        target,
    } = alice.wait("the transfer request", |e| {
        matches!(e, Event::TransferredBy { .. })
    })
    else {
        unreachable!()
    };
    assert_eq!(call, id);
    assert_eq!(target.number, carol.extension());
    let (carol_id, from) = carol.wait_incoming("Carol's phone to ring");
    assert_eq!(from.number, alice.extension(), "Carol sees Alice calling");
    bob.wait("Bob hears it rings", |e| {
        matches!(
            e,
            Event::Transfer {
                state: TransferState::Trying,
                ..
            }
        )
    });
    carol.handle.send(Command::Answer(carol_id));
    alice.wait("Alice talking to Carol", |e| {
        state_of(e, new_call) == Some(&CallState::Active { hold: Hold::None })
    });
    bob.wait("the transfer done", |e| {
        matches!(e, Event::Transfer { state: TransferState::Done, call, .. } if *call == bob_id)
    });
    alice.wait("the call with Bob to end", |e| {
        matches!(state_of(e, id), Some(CallState::Ended(_)))
    });
    carol.handle.send(Command::HangUp(carol_id));
    alice.wait("the call with Carol to end", |e| {
        matches!(state_of(e, new_call), Some(CallState::Ended(_)))
    });
}

/// Alice talks to Bob, puts him on hold, calls Carol to announce him, then completes an
/// attended transfer (REFER with Replaces): Bob and Carol are connected and both of Alice's
/// calls end.
#[test]
fn an_attended_transfer_connects_the_held_caller_with_the_consulted_party() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let mut bob = Ua::registered(&pbx);
    let mut carol = Ua::registered(&pbx);
    let to_bob = CallId(1);
    let target = bob.extension();
    let bob_id = answered_call(&mut alice, &mut bob, to_bob, target);
    wait_for_bridge(&pbx, &alice.extension(), &bob.extension());
    alice.handle.send(Command::Hold(to_bob));
    alice.wait("Bob on hold", |e| {
        state_of(e, to_bob) == Some(&CallState::Active { hold: Hold::Local })
    });

    let to_carol = CallId(2);
    let target = carol.extension();
    let carol_id = answered_call(&mut alice, &mut carol, to_carol, target);
    wait_for_bridge(&pbx, &alice.extension(), &carol.extension());

    alice.handle.send(Command::AttendedTransfer {
        call: to_bob,
        consult: to_carol,
    });
    let done = alice.wait("the transfer's outcome", |e| {
        matches!(
            e,
            Event::Transfer {
                state: TransferState::Done | TransferState::Failed(_),
                ..
            }
        )
    });
    assert!(
        matches!(&done, Event::Transfer { call, state: TransferState::Done, .. } if *call == to_bob),
        "{done:?}"
    );
    for id in [to_bob, to_carol] {
        let ended = |e: &Event| matches!(state_of(e, id), Some(CallState::Ended(_)));
        // The two ends may come in either order; the first wait may already have seen both.
        if !alice.seen.iter().any(ended) {
            alice.wait("each of Alice's calls to end", ended);
        }
    }
    // Bob and Carol stay connected: neither call ended, until Carol hangs up.
    for (ua, id) in [(&bob, bob_id), (&carol, carol_id)] {
        assert!(
            !ua.seen
                .iter()
                .any(|e| matches!(state_of(e, id), Some(CallState::Ended(_)))),
            "{:#?}",
            ua.seen
        );
    }
    carol.handle.send(Command::HangUp(carol_id));
    bob.wait("Bob's call to end with Carol's", |e| {
        state_of(e, bob_id) == Some(&CallState::Ended(EndReason::HungUp { by_us: false }))
    });
}

/// A blind transfer to a number that does not exist fails with Asterisk's reason, and the call
/// it was to hand over is still up: the user can try another number or keep talking.
#[test]
fn a_blind_transfer_to_a_missing_number_fails_and_the_call_stays_up() {
    let pbx = pbx();
    let mut alice = Ua::registered(&pbx);
    let mut bob = Ua::registered(&pbx);
    let id = CallId(5);
    let target = bob.extension();
    let bob_id = answered_call(&mut alice, &mut bob, id, target);
    wait_for_bridge(&pbx, &alice.extension(), &bob.extension());

    alice.handle.send(Command::Transfer {
        call: id,
        target: "5550000".into(),
    });
    let failed = alice.wait("the transfer to fail", |e| {
        matches!(
            e,
            Event::Transfer {
                state: TransferState::Failed(_),
                ..
            }
        )
    });
    let Event::Transfer {
        state: TransferState::Failed(reason),
        ..
    } = failed
    else {
        unreachable!()
    };
    assert!(reason.contains("Not Found"), "{reason}");
    assert!(
        !alice
            .seen
            .iter()
            .any(|e| matches!(state_of(e, id), Some(CallState::Ended(_)))),
        "the failed transfer ended the call"
    );
    alice.handle.send(Command::HangUp(id));
    alice.wait("Alice hangs up herself", |e| {
        state_of(e, id) == Some(&CallState::Ended(EndReason::HungUp { by_us: true }))
    });
    bob.wait("Bob's end", |e| {
        matches!(state_of(e, bob_id), Some(CallState::Ended(_)))
    });
}
