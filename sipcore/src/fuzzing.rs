//! Entry points for the fuzz targets (`fuzz/`): what the engine does with bytes from the
//! network before any socket or dialog is involved, so that a fuzzer can run it millions of
//! times a minute. Each only has to return; a panic is the bug the fuzzer looks for.

use rsipstack::sip::{SipMessage, StatusCode};

use crate::sdes::SrtpPolicy;

/// A datagram as the socket receives it: judged by our pre-parse (whose own answers must
/// parse), parsed by the stack, then every check and parse
/// an incoming request meets before its handler (RFC 3261 checks, the caller's identity, the
/// session timer, the offer in a multipart or plain body, the event bodies by type). A
/// response goes through the parts a response meets (its SDP answer, sipfrag).
pub fn datagram(bytes: &[u8]) {
    let source = std::net::SocketAddr::from(([192, 0, 2, 1], 5060));
    let passed = match crate::wire::raw_guard::judge(bytes, source) {
        crate::wire::raw_guard::Verdict::Pass(b) => b.into_owned(),
        crate::wire::raw_guard::Verdict::Answer(reply, _) => {
            // Our own answer must be a response the other side can read.
            let text = String::from_utf8(reply).expect("our answer is text");
            assert!(
                matches!(
                    SipMessage::try_from(text.as_str()),
                    Ok(SipMessage::Response(_))
                ),
                "our answer does not parse: {text:?}"
            );
            return;
        }
        crate::wire::raw_guard::Verdict::Drop => return,
    };
    let _ = crate::wire::raw_guard::untag(&passed);
    let Ok(text) = std::str::from_utf8(&passed) else {
        return;
    };
    match SipMessage::try_from(text) {
        Ok(SipMessage::Request(mut req)) => {
            crate::wire::raw_guard::strip_rport_marker(&mut req);
            let _ = crate::uas_checks::check(&req);
            let _ = crate::party::from_request(&req);
            let _ = crate::session_timer::for_request(&req, &Default::default());
            let offer = crate::bodies::multipart::offer_in(&req);
            for policy in [SrtpPolicy::Off, SrtpPolicy::Optional, SrtpPolicy::Required] {
                let _ = crate::sdp::parse_offer(offer, policy);
            }
            bodies(&req.body);
        }
        Ok(SipMessage::Response(resp)) => {
            if resp.status_code == StatusCode::OK {
                let _ = crate::sdp::parse(&resp.body);
            }
            let _ = crate::bodies::sipfrag::status(&resp.body);
        }
        Err(_) => {}
    }
}

/// An SDP body as an offer under every policy, and as an answer to an offer of ours.
pub fn sdp(bytes: &[u8]) {
    for policy in [SrtpPolicy::Off, SrtpPolicy::Optional, SrtpPolicy::Required] {
        if let Ok(offer) = crate::sdp::parse_offer(bytes, policy) {
            let security = crate::sdp::Security::new(policy);
            if let Ok(answer) = crate::sdp::answer(
                &offer.audio,
                offer.audio.rtp,
                crate::sdp::Direction::SendRecv,
                &security,
            ) {
                let text = crate::sdp::render_in(&offer.layout, 1, 1, &answer);
                let _ = crate::sdp::keys_from_our_answer(&offer.audio, &answer);
                // What we write must read back.
                let back = crate::sdp::parse_offer(text.as_bytes(), policy);
                assert!(back.is_ok(), "our answer does not parse: {text:?} {back:?}");
            }
        }
    }
    if let Ok(answer) = crate::sdp::parse(bytes) {
        let _ = crate::sdp::chosen_from_answer(&answer);
        let _ =
            crate::sdp::keys_from_answer(&answer, &crate::sdp::Security::new(SrtpPolicy::Optional));
    }
}

/// The event bodies (PIDF, dialog-info, message-summary, sipfrag) and multipart.
pub fn bodies(bytes: &[u8]) {
    let _ = crate::bodies::pidf::parse(bytes);
    let _ = crate::bodies::dialog_info::parse(bytes);
    let _ = crate::bodies::message_summary::parse(bytes);
    let _ = crate::bodies::sipfrag::status(bytes);
    let _ = crate::bodies::multipart::sdp_part("multipart/mixed;boundary=unique-boundary-1", bytes);
}
