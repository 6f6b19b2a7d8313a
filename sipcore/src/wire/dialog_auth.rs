//! Our digest answers for the requests rsipstack's dialogs send: the INVITE that starts a call,
//! re-INVITEs (hold, resume, session refresh), UPDATE, BYE, INFO, REFER, NOTIFY and the
//! refreshes of a subscription.
//!
//! rsipstack re-sends a challenged request itself, from deep inside its dialog code, and its own
//! digest answer cannot read SHA-256 (see [`super::digest`]). So we sit on its message path
//! (its `MessageInspector`) for the dialogs the engine [`tracks`](DialogAuth::track):
//! - a 401/407 coming in is read by our parser and its challenge kept; rsipstack is shown a
//!   stand-in challenge (`realm="switchboard"`, a nonce of ours, `stale` as the server said),
//!   which it can parse, so it still builds the retry (same Call-ID and tags, CSeq + 1,
//!   RFC 3261 §8.1.3.5);
//! - the retry going out carries rsipstack's answer to the stand-in: it is replaced with our
//!   answer to the real challenge, from a [`DigestSession`].
//!
//! Guarantees: rsipstack is never given the password and no answer it computes reaches the
//! wire; a retransmission carries the same credentials as the first send (by Via branch and
//! method); requests of untracked Call-IDs (REGISTER and requests outside a dialog, which
//! answer their own challenges) pass untouched.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use rsipstack::sip::prelude::ToTypedHeader;
use rsipstack::sip::{Header, HeadersExt, Request, Response, SipMessage, StatusCode};
use rsipstack::transaction::endpoint::MessageInspector;
use rsipstack::transport::SipAddr;
use tracing::{debug, warn};

use super::digest::{Challenge, ChallengeKind, Credentials, DigestSession};

/// The stand-in challenges' nonces start with this.
const STAND_IN: &str = "switchboard-stand-in-";
/// Bounds what a long-running engine keeps for dialogs it was never told had ended.
const MAX_KEPT: usize = 1024;

/// Shared between the engine (which says which dialogs are ours and who we are) and the stack's
/// message path.
#[derive(Clone, Default)]
pub struct DialogAuth {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    credentials: Option<Credentials>,
    call_ids: HashSet<String>,
    /// Stand-in nonce → the real challenge it stands for.
    challenges: HashMap<String, Pending>,
    /// (Via branch, method) → the credentials that request went out with.
    sent: HashMap<(String, String), (String, Header)>,
}

struct Pending {
    call_id: String,
    challenge: Challenge,
    session: DigestSession,
    answered: bool,
}

impl DialogAuth {
    pub fn new() -> Self {
        Self::default()
    }

    /// Who answers: the signed-in account, or nobody.
    pub fn set_credentials(&self, credentials: Option<Credentials>) {
        self.lock().credentials = credentials;
    }

    /// Answers the challenges of the dialog with this Call-ID, from now on.
    pub fn track(&self, call_id: &str) {
        self.lock().call_ids.insert(call_id.to_string());
    }

    /// The dialog has ended: forget it and its challenges.
    pub fn forget(&self, call_id: &str) {
        let mut state = self.lock();
        state.call_ids.remove(call_id);
        state.challenges.retain(|_, p| p.call_id != call_id);
        state.sent.retain(|_, (c, _)| c != call_id);
    }

    /// What the stack's endpoint is given (`EndpointBuilder::with_inspector`).
    pub fn inspector(&self) -> Box<dyn MessageInspector> {
        Box::new(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain maps behind: still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A challenge to a tracked request: kept, and replaced by a stand-in.
    fn received(&self, mut resp: Response) -> Response {
        if !matches!(
            resp.status_code,
            StatusCode::Unauthorized | StatusCode::ProxyAuthenticationRequired
        ) {
            return resp;
        }
        let Some(call_id) = resp.call_id_header().ok().map(|c| c.value().to_string()) else {
            return resp;
        };
        let mut state = self.lock();
        if !state.call_ids.contains(&call_id) {
            return resp;
        }
        let challenge = match Challenge::from_response(&resp) {
            Ok(c) => c,
            Err(e) => {
                // Left as it came: the stack refuses it too, and the request fails.
                warn!(%call_id, "cannot answer the challenge: {e}");
                return resp;
            }
        };
        let nonce = format!("{STAND_IN}{}", rsipstack::transaction::random_text(16));
        let stand_in = format!(
            "Digest realm=\"switchboard\", nonce=\"{nonce}\"{}",
            if challenge.stale { ", stale=true" } else { "" }
        );
        resp.headers.retain(|h| {
            !h.name().eq_ignore_ascii_case("WWW-Authenticate")
                && !h.name().eq_ignore_ascii_case("Proxy-Authenticate")
        });
        resp.headers.push(match challenge.kind {
            ChallengeKind::Www => Header::WwwAuthenticate(stand_in.into()),
            ChallengeKind::Proxy => Header::ProxyAuthenticate(stand_in.into()),
        });
        debug!(%call_id, status = %resp.status_code, "challenge kept; the retry gets our answer");
        if state.challenges.len() >= MAX_KEPT {
            state.challenges.clear();
        }
        state.challenges.insert(
            nonce,
            Pending {
                call_id,
                challenge,
                session: DigestSession::new(),
                answered: false,
            },
        );
        resp
    }

    /// A request answering a stand-in: its credentials become ours.
    fn sending(&self, mut req: Request) -> Request {
        let Some(position) = req.headers.iter().position(|h| {
            (h.name().eq_ignore_ascii_case("Authorization")
                || h.name().eq_ignore_ascii_case("Proxy-Authorization"))
                && h.value().contains(STAND_IN)
        }) else {
            return req;
        };
        let Some(nonce) = stand_in_nonce(Some(req.headers.0[position].value())) else {
            return req;
        };
        let branch = req
            .via_header()
            .ok()
            .and_then(|v| v.typed().ok())
            .and_then(|v| v.branch().map(|b| b.to_string()))
            .unwrap_or_default();
        let key = (branch, req.method.to_string());
        let mut state = self.lock();
        let header = match state.sent.get(&key) {
            Some((_, h)) => h.clone(),
            None => {
                let Some(header) = answer(&mut state, &nonce, &req) else {
                    return req;
                };
                if state.sent.len() >= MAX_KEPT {
                    state.sent.clear();
                }
                let call_id = state.challenges[&nonce].call_id.clone();
                state.sent.insert(key, (call_id, header.clone()));
                header
            }
        };
        req.headers.0[position] = header;
        req
    }
}

/// Our answer to the real challenge behind `nonce`, for `req`: a fresh answer the first time
/// (nc 1), the same nonce with a higher nc after (a CANCEL or ACK copying the INVITE's).
fn answer(state: &mut State, nonce: &str, req: &Request) -> Option<Header> {
    let credentials = state.credentials.clone()?;
    let pending = state.challenges.get_mut(nonce)?;
    let (method, uri) = (req.method.to_string(), req.uri.to_string());
    let auth = if pending.answered {
        pending.session.preemptive(&credentials, &method, &uri)?
    } else {
        pending.answered = true;
        pending
            .session
            .answer_challenge(pending.challenge.clone(), &credentials, &method, &uri)
    };
    debug!(%method, algorithm = pending.challenge.algorithm.name(), nc = auth.nc, "answering a dialog's challenge");
    Some(auth.header())
}

/// The stand-in nonce an `Authorization` value carries.
fn stand_in_nonce(value: Option<&str>) -> Option<String> {
    let value = value?;
    let start = value.find(STAND_IN)?;
    let rest = &value[start..];
    let end = rest.find(['"', ',', ' ']).unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

impl MessageInspector for DialogAuth {
    fn before_send(&self, msg: SipMessage, _dest: Option<&SipAddr>) -> SipMessage {
        match msg {
            SipMessage::Request(req) => SipMessage::Request(self.sending(req)),
            other => other,
        }
    }

    fn after_received(&self, msg: SipMessage, _from: Option<&SipAddr>) -> SipMessage {
        match msg {
            SipMessage::Response(resp) => SipMessage::Response(self.received(resp)),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALL_ID: &str = "c1@switchboard";

    fn response(challenge: &str) -> Response {
        let text = format!(
            "SIP/2.0 407 Proxy Authentication Required\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5555;branch=z9hG4bKa\r\n\
             From: <sip:2031@127.0.0.1>;tag=1\r\nTo: <sip:2032@127.0.0.1>;tag=2\r\n\
             Call-ID: {CALL_ID}\r\nCSeq: 1 INVITE\r\n\
             Proxy-Authenticate: {challenge}\r\nContent-Length: 0\r\n\r\n"
        );
        match SipMessage::try_from(text.as_str()).unwrap() {
            SipMessage::Response(r) => r,
            _ => unreachable!(),
        }
    }

    fn request(method: &str, branch: &str, auth: &str) -> Request {
        let text = format!(
            "{method} sip:2032@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5555;branch={branch}\r\n\
             From: <sip:2031@127.0.0.1>;tag=1\r\nTo: <sip:2032@127.0.0.1>\r\n\
             Call-ID: {CALL_ID}\r\nCSeq: 2 {method}\r\nMax-Forwards: 70\r\n\
             Proxy-Authorization: {auth}\r\nContent-Length: 0\r\n\r\n"
        );
        match SipMessage::try_from(text.as_str()).unwrap() {
            SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    fn proxy_authorization(req: &Request) -> String {
        req.header_value("Proxy-Authorization").unwrap_or_default()
    }

    fn tracked() -> DialogAuth {
        let auth = DialogAuth::new();
        auth.set_credentials(Some(Credentials {
            username: "2031".into(),
            password: "pw".into(),
        }));
        auth.track(CALL_ID);
        auth
    }

    /// The stand-in rsipstack sees, and the nonce it would answer with.
    fn stand_in(auth: &DialogAuth, challenge: &str) -> (String, String) {
        let shown = auth.received(response(challenge));
        let value = shown.header_value("Proxy-Authenticate").unwrap();
        let nonce = stand_in_nonce(Some(&value)).unwrap();
        (value, nonce)
    }

    #[test]
    fn a_sha_256_challenge_is_answered_by_us_and_retransmissions_match() {
        let auth = tracked();
        let real = r#"Digest realm="127.0.0.1", nonce="real", qop="auth", algorithm=SHA-256"#;
        let (shown, nonce) = stand_in(&auth, real);
        assert!(
            rsipstack::sip::typed::WwwAuthenticate::parse(&shown).is_ok(),
            "{shown}"
        );
        assert!(
            !shown.contains("\"real\"") && !shown.contains("stale"),
            "{shown}"
        );
        let theirs = format!(
            r#"Digest username="2031", realm="switchboard", nonce="{nonce}", uri="sip:2032@127.0.0.1", response="x""#
        );
        let sent = auth.sending(request("INVITE", "z9hG4bKb", &theirs));
        let ours = proxy_authorization(&sent);
        assert!(ours.contains(r#"nonce="real""#), "{ours}");
        assert!(
            ours.contains("algorithm=SHA-256") && ours.contains("nc=00000001"),
            "{ours}"
        );
        let again = auth.sending(request("INVITE", "z9hG4bKb", &theirs));
        assert_eq!(proxy_authorization(&again), ours);
        // The CANCEL copies the INVITE's credentials: answered for CANCEL, on the next nc.
        let cancel = auth.sending(request("CANCEL", "z9hG4bKb", &theirs));
        assert!(proxy_authorization(&cancel).contains("nc=00000002"));
    }

    #[test]
    fn stale_is_passed_on_and_untracked_dialogs_pass_untouched() {
        let auth = tracked();
        let (shown, _) = stand_in(&auth, r#"Digest realm="r", nonce="n", stale=true"#);
        assert!(shown.contains("stale=true"), "{shown}");
        auth.forget(CALL_ID);
        let untouched = auth.received(response(r#"Digest realm="r", nonce="n""#));
        assert_eq!(
            untouched.header_value("Proxy-Authenticate").as_deref(),
            Some(r#"Digest realm="r", nonce="n""#)
        );
        let ours = r#"Digest username="2031", realm="r", nonce="n", uri="sip:x", response="y""#;
        let req = auth.sending(request("MESSAGE", "z9hG4bKc", ours));
        assert_eq!(proxy_authorization(&req), ours);
    }
}
