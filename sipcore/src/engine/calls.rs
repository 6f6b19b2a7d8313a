//! A call's life from the first INVITE to its end: dialling and the INVITE's outcome, an
//! incoming INVITE, answering, rejecting, hanging up, and the one place a call ends
//! ([`Core::end_call`]). What a call may do in each phase is decided in [`crate::call`].

use rsipstack::dialog::DialogId;
use rsipstack::dialog::dialog::TerminatedReason;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::sip::{Header, Response, StatusCode, StatusCodeKind};
use rsipstack::transaction::transaction::Transaction;
use tracing::{debug, info, warn};

use super::{Core, DialogFailure, Msg, reply, reply_with, sdp_warning};
use crate::call::{Audio, Call, Phase, Role, SdpOrigin};
use crate::error::EngineError;
use crate::event::{CallId, CallState, EndReason, Event};

use crate::media_control::RtpSockets;
use crate::sdp::{self, Direction};
use crate::{party, session_timer};

impl Core {
    pub(super) fn emit_state(&mut self, call: CallId) {
        if let Some(c) = self.calls.get(&call) {
            self.events.emit(Event::CallState {
                call,
                state: c.state(),
            });
            self.report_to_transferor(call);
        }
    }

    pub(super) fn dial(&mut self, call: CallId, target: &str) {
        let Some(account) = self.sign_in.account().cloned() else {
            self.fail_new_call(call, target, "Sign in before placing a call.");
            return;
        };
        let socket = match RtpSockets::bind(self.config.bind_ip) {
            Ok(s) => s,
            Err(e) => {
                self.fail_new_call(call, target, &format!("No audio port is free ({e})."));
                return;
            }
        };
        let local_rtp = match socket.local_rtp() {
            Ok(a) => a,
            Err(e) => return self.fail_new_call(call, target, &e.to_string()),
        };
        match account.stun_server {
            Some(server) => {
                self.gathering.insert(call);
                let next = AfterGathering::Dial(target.to_string());
                self.gather(call, socket, local_rtp, server, next);
            }
            None => self.dial_on(call, target, socket, local_rtp, None),
        }
    }

    /// Asks the STUN server for the RTP socket's public address off the engine's loop; the
    /// call goes on in [`Core::gathered`].
    fn gather(
        &mut self,
        call: CallId,
        sockets: RtpSockets,
        local_rtp: std::net::SocketAddr,
        server: String,
        next: AfterGathering,
    ) {
        let inbox = self.inbox.clone();
        tokio::task::spawn_blocking(move || {
            let reflexive = sockets
                .rtp
                .try_clone()
                .ok()
                .and_then(|probe| crate::ice::gather(&probe, &server));
            let _ = inbox.send(Msg::Gathered {
                call,
                sockets,
                local_rtp,
                reflexive,
                next,
            });
        });
    }

    pub(super) fn gathered(
        &mut self,
        call: CallId,
        sockets: RtpSockets,
        local_rtp: std::net::SocketAddr,
        reflexive: Option<std::net::SocketAddr>,
        next: AfterGathering,
    ) {
        debug!(%call, ?reflexive, "gathered");
        let ice = Some(crate::ice::LocalIce::new(local_rtp, reflexive));
        match next {
            // Hung up while gathering: nothing was sent, nothing to end.
            AfterGathering::Dial(_) if !self.gathering.remove(&call) => {}
            AfterGathering::Dial(target) => self.dial_on(call, &target, sockets, local_rtp, ice),
            AfterGathering::Answer => self.answer_on(call, sockets, local_rtp, ice),
        }
    }

    fn dial_on(
        &mut self,
        call: CallId,
        target: &str,
        socket: RtpSockets,
        local_rtp: std::net::SocketAddr,
        ice: Option<crate::ice::LocalIce>,
    ) {
        let Some(account) = self.sign_in.account().cloned() else {
            self.fail_new_call(call, target, "Sign in before placing a call.");
            return;
        };
        let uri = account.target_uri(target);
        let (callee, caller) = match (
            rsipstack::sip::Uri::try_from(uri.as_str()),
            rsipstack::sip::Uri::try_from(account.aor().as_str()),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return self.fail_new_call(call, target, &format!("“{target}” cannot be called.")),
        };
        let mut origin = SdpOrigin::fresh(account.srtp);
        origin.ice = ice;
        let ours = origin.offer(local_rtp, Direction::SendRecv);
        let offer = origin.render(&ours);
        // Tracked before the INVITE leaves, so that its challenge is answered by us.
        let call_id = self.new_call_id();
        self.dialog_auth.track(&call_id);
        let option = InviteOption {
            call_id: Some(call_id.clone()),
            caller_display_name: account.display_name.clone(),
            caller,
            callee,
            content_type: Some("application/sdp".into()),
            offer: Some(offer.into_bytes()),
            contact: self.contact().unwrap_or_default(),
            credential: self.stack_credential(),
            headers: Some(session_timer::request_headers(
                &self.config.session_timers,
                None,
            )),
            destination: self.sign_in.destination(),
            ..Default::default()
        };
        let (dialog, handle) = match self.dialogs.do_invite_async(option, self.state_tx.clone()) {
            Ok(x) => x,
            Err(e) => {
                self.dialog_auth.forget(&call_id);
                return self.fail_new_call(call, target, &format!("The call could not start: {e}"));
            }
        };
        info!(%call, %call_id, target, "dialing");
        let entry = Call::outgoing(party::from_uri(&uri), dialog, (socket, local_rtp), origin);
        self.by_call_id.insert(call_id, call);
        self.calls.insert(call, entry);
        self.emit_state(call);
        let inbox = self.inbox.clone();
        tokio::spawn(async move {
            let result = match handle.await {
                Ok(Ok((_, resp))) => Ok(resp),
                Ok(Err(e)) => Err(e.into()),
                Err(e) => Err(e.into()),
            };
            let _ = inbox.send(Msg::InviteDone { call, result });
        });
    }

    /// A Call-ID in the endpoint's format, with our suffix.
    fn new_call_id(&self) -> String {
        let option = &self.endpoint.inner.option;
        rsipstack::transaction::make_call_id(option.callid_suffix.as_deref(), option.callid_format)
            .value()
            .to_string()
    }

    pub(super) fn fail_new_call(&mut self, call: CallId, target: &str, why: &str) {
        warn!(%call, target, why, "call not placed");
        self.events.emit(Event::CallState {
            call,
            state: CallState::Ended(EndReason::Failed(why.to_string())),
        });
    }

    pub(super) fn invite_done(
        &mut self,
        call: CallId,
        result: Result<Option<rsipstack::sip::Response>, DialogFailure>,
    ) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        if entry.phase.is_ended() {
            return;
        }
        match result {
            Ok(Some(resp))
                if entry.phase.cancelled()
                    && resp.status_code.kind() == StatusCodeKind::Successful =>
            {
                // The answer crossed our CANCEL (RFC 3261 §9.1): the call is up, so it ends
                // with a BYE, as the user asked.
                debug!(%call, "answered after we cancelled; hanging up");
                self.hang_up_dialog(call);
                self.end_call(call, EndReason::Cancelled);
            }
            Ok(Some(resp)) if resp.status_code.kind() == StatusCodeKind::Successful => {
                let usable = sdp::parse(&resp.body).and_then(|a| {
                    let keys = sdp::keys_from_answer(&a, &entry.sdp.security)?;
                    Ok((sdp::chosen_from_answer(&a)?, keys, a))
                });
                match usable {
                    Ok((codec, keys, answer)) => {
                        entry.srtp = keys;
                        entry.remote_sdp = Some(answer.clone());
                        entry.phase = Phase::active();
                        self.session_timers
                            .restart(call, session_timer::from_response(&resp));
                        let direction = Direction::answer_to(answer.direction, Direction::SendRecv);
                        self.start_or_update_media(
                            call,
                            &answer,
                            codec,
                            answer.telephone_event,
                            direction,
                        );
                        self.emit_state(call);
                    }
                    Err(e) => {
                        warn!(%call, "unusable answer: {e}");
                        let why = match e {
                            sdp::SdpError::Security(_) => UNENCRYPTED.to_string(),
                            e => format!("The other side's audio could not be used ({e})."),
                        };
                        self.end_call(call, EndReason::Failed(why));
                        self.hang_up_dialog(call);
                    }
                }
            }
            Ok(Some(resp))
                if resp.status_code.code() == 488
                    && entry.sdp.security.policy == crate::sdes::SrtpPolicy::Required =>
            {
                self.end_call(call, EndReason::Failed(UNENCRYPTED.into()));
            }
            Ok(Some(resp)) => {
                let reason = end_reason_for(resp.status_code.code(), &resp.status_code.to_string());
                self.end_call(call, reason);
            }
            Ok(None) => self.end_call(call, EndReason::Failed("No answer from the server.".into())),
            Err(e) if entry.phase.cancelled() => {
                debug!(%call, "invite ended after cancel: {e}");
                self.end_call(call, EndReason::Cancelled);
            }
            Err(e) => {
                let reason = if e.is_timeout() {
                    EndReason::Failed("The phone system did not answer.".into())
                } else {
                    EndReason::Failed(format!("The call failed: {e}"))
                };
                self.end_call(call, reason);
            }
        }
    }

    pub(super) fn incoming_invite(&mut self, mut tx: Transaction) {
        let session = match session_timer::for_request(&tx.original, &self.config.session_timers) {
            session_timer::Verdict::TooSmall { min_se } => {
                let headers = session_timer::too_small_headers(min_se);
                reply_with(tx, StatusCode::SessionIntervalTooSmall, headers);
                return;
            }
            session_timer::Verdict::Accept(s) => s,
        };
        // An offerless INVITE is not supported yet: refused like an offer with no audio.
        let policy = self.sign_in.account().map(|a| a.srtp).unwrap_or_default();
        let offer = match sdp::parse_offer(crate::bodies::multipart::offer_in(&tx.original), policy)
        {
            Ok(o) => o,
            Err(e) => {
                debug!("refusing an offer: {e}");
                reply_with(tx, StatusCode::NotAcceptableHere, vec![sdp_warning(&e)]);
                return;
            }
        };
        let dialog = match self.dialogs.get_or_create_server_invite(
            &tx,
            self.state_tx.clone(),
            self.stack_credential(),
            self.contact(),
        ) {
            Ok(d) => d,
            Err(e) => {
                warn!("could not create a dialog for an incoming call: {e}");
                reply(tx, StatusCode::ServerInternalError);
                return;
            }
        };
        let call = CallId(self.next_incoming);
        self.next_incoming += 1;
        let from = party::from_request(&tx.original);
        let call_id = dialog.id().call_id.clone();
        self.dialog_auth.track(&call_id);
        info!(%call, %call_id, from = %from.number, "incoming call");
        let d = dialog.clone();
        let entry = Call::incoming(from.clone(), dialog, offer, policy);
        if let Some(s) = session {
            self.session_timers.negotiated(call, s);
        }
        self.by_call_id.insert(call_id, call);
        self.calls.insert(call, entry);
        let mut server = d.clone();
        tokio::spawn(async move {
            if let Err(e) = server.handle(&mut tx).await {
                debug!("incoming INVITE transaction ended: {e}");
            }
        });
        if let Err(e) = d.ringing(None, None) {
            warn!(%call, "could not send 180 Ringing: {e}");
        }
        self.events.emit(Event::IncomingCall { call, from });
        self.emit_state(call);
    }

    pub(super) fn answer(&mut self, call: CallId) {
        let stun = self.sign_in.account().and_then(|a| a.stun_server.clone());
        let Some(they_run_ice) = self
            .calls
            .get(&call)
            .filter(|c| c.phase == Phase::Incoming)
            .and_then(|c| c.remote_sdp.as_ref())
            .map(|offer| offer.ice.is_some())
        else {
            return;
        };
        let socket = match RtpSockets::bind(self.config.bind_ip) {
            Ok(s) => s,
            Err(e) => {
                self.events
                    .emit(Event::Error(EngineError::NoAudioPort(e.to_string())));
                return;
            }
        };
        let Ok(local_rtp) = socket.local_rtp() else {
            return;
        };
        match (they_run_ice, stun) {
            (true, Some(server)) => {
                self.gather(call, socket, local_rtp, server, AfterGathering::Answer)
            }
            // They run ICE and we know no STUN server: our host candidate is still one.
            (true, None) => {
                let ice = Some(crate::ice::LocalIce::new(local_rtp, None));
                self.answer_on(call, socket, local_rtp, ice)
            }
            (false, _) => self.answer_on(call, socket, local_rtp, None),
        }
    }

    fn answer_on(
        &mut self,
        call: CallId,
        socket: RtpSockets,
        local_rtp: std::net::SocketAddr,
        ice: Option<crate::ice::LocalIce>,
    ) {
        // Gathering took a moment: the caller may have given up, or it was answered twice.
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        if entry.phase != Phase::Incoming {
            return;
        }
        let Some(offer) = entry.remote_sdp.clone() else {
            return;
        };
        entry.sdp.ice = ice;
        let answer = match entry.sdp.answer(&offer, local_rtp, Direction::SendRecv) {
            Ok(a) => a,
            Err(e) => {
                self.events
                    .emit(Event::Error(EngineError::UnusableOffer(e.to_string())));
                return;
            }
        };
        let body = entry.sdp.render(&answer);
        let dialog = entry.dialog.clone();
        let mut headers = vec![Header::ContentType("application/sdp".into())];
        headers.extend(self.session_timers.answering(call));
        if let Err(e) = dialog.accept(Some(headers), Some(body.into_bytes())) {
            self.events
                .emit(Event::Error(EngineError::AnswerFailed(e.to_string())));
            return;
        }
        entry.audio = Audio::Bound {
            sockets: socket,
            local: local_rtp,
        };
        entry.srtp = sdp::keys_from_our_answer(&offer, &answer);
        entry.phase = Phase::active();
        self.follow_our_answer(call, &offer, &answer);
    }

    pub(super) fn reject(&mut self, call: CallId, decline: bool) {
        let Some(entry) = self.calls.get(&call) else {
            return;
        };
        if entry.phase != Phase::Incoming {
            return;
        }
        let code = if decline {
            StatusCode::Decline
        } else {
            StatusCode::BusyHere
        };
        if let Err(e) = entry.dialog.reject(Some(code), None) {
            warn!(%call, "reject failed: {e}");
        }
        self.end_call(call, EndReason::Declined);
    }

    /// Hanging up a merged call ends the whole conference, as on a desk phone; otherwise the
    /// one call.
    pub(super) fn hang_up(&mut self, call: CallId) {
        if self.gathering.remove(&call) {
            self.events.emit(Event::CallState {
                call,
                state: CallState::Ended(EndReason::Cancelled),
            });
            return;
        }
        match self.end_conference_of(call) {
            Some(members) => {
                for member in members {
                    self.hang_up_one(member);
                }
            }
            None => self.hang_up_one(call),
        }
    }

    pub(super) fn hang_up_one(&mut self, call: CallId) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        if entry.phase.cancel() {
            let d = entry.dialog.clone();
            tokio::spawn(async move {
                if let Err(e) = d.cancel().await {
                    warn!("CANCEL failed: {e}");
                }
            });
            return;
        }
        match entry.phase {
            Phase::Incoming => self.reject(call, true),
            Phase::Active { .. } => {
                self.hang_up_dialog(call);
                self.end_call(call, EndReason::HungUp { by_us: true });
            }
            Phase::Dialing { .. } | Phase::Ringing { .. } | Phase::Ended(_) => {}
        }
    }

    pub(super) fn hang_up_dialog(&mut self, call: CallId) {
        if let Some(d) = self.calls.get(&call).map(|c| c.dialog.clone()) {
            // Behind the requests of theirs still being answered, if any.
            if let Some(queue) = self.in_dialog.get(&d.id())
                && queue
                    .send(super::requests::InDialog::Bye(d.clone()))
                    .is_ok()
            {
                return;
            }
            tokio::spawn(async move {
                if let Err(e) = d.bye().await {
                    warn!("BYE failed: {e}");
                }
            });
        }
    }

    /// Moves a call to Ended once, stops its audio and forgets it.
    pub(super) fn end_call(&mut self, call: CallId, reason: EndReason) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        if entry.phase.is_ended() {
            return;
        }
        info!(%call, %reason, "call ended");
        entry.phase = Phase::Ended(reason);
        let streaming = entry.audio.streaming();
        self.leave_conference(call);
        self.session_timers.stop(call);
        if streaming {
            self.media.stop(call);
        }
        self.emit_state(call);
        if let Some(entry) = self.calls.remove(&call) {
            let d = &entry.dialog;
            self.by_call_id.remove(&d.id().call_id);
            self.dialog_auth.forget(&d.id().call_id);
            // Dropping the sender ends the dialog's request task once its queue is empty.
            self.in_dialog.remove(&d.id());
        }
    }

    /// A provisional answer to our INVITE: ringing, with early media when it carries SDP.
    pub(super) fn early(&mut self, id: &DialogId, resp: &Response) {
        let Some(call) = self.call_for(id) else {
            return;
        };
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        if entry.role != Role::Outgoing || !entry.phase.is_outgoing_setup() {
            return;
        }
        let early = if resp.body.is_empty() {
            None
        } else {
            sdp::parse(&resp.body).ok()
        };
        entry.phase.ringing(early.is_some());
        if let Some(desc) = early
            && let Ok(codec) = sdp::chosen_from_answer(&desc)
            && let Ok(keys) = sdp::keys_from_answer(&desc, &entry.sdp.security)
        {
            entry.srtp = keys;
            entry.remote_sdp = Some(desc.clone());
            let direction = Direction::answer_to(desc.direction, Direction::SendRecv);
            self.start_or_update_media(call, &desc, codec, desc.telephone_event, direction);
        }
        self.emit_state(call);
    }

    /// The stack ended a call's dialog: the end, in the words for the phase it was in.
    pub(super) fn terminated(&mut self, id: &DialogId, reason: TerminatedReason) {
        self.dialogs.remove_dialog(id);
        let Some(call) = self.call_for(id) else {
            return;
        };
        let Some(entry) = self.calls.get(&call) else {
            return;
        };
        let end = match (&entry.phase, reason) {
            (Phase::Incoming, _) => EndReason::Missed,
            (Phase::Dialing { .. } | Phase::Ringing { .. }, TerminatedReason::UacCancel) => {
                EndReason::Cancelled
            }
            (Phase::Dialing { .. } | Phase::Ringing { .. }, r) => {
                terminated_reason(r, entry.sdp.security.policy)
            }
            (Phase::Active { .. }, TerminatedReason::Timeout) => {
                EndReason::Failed("The call dropped: the other side stopped answering.".into())
            }
            (Phase::Active { .. }, _) => EndReason::HungUp { by_us: false },
            (Phase::Ended(_), _) => return,
        };
        self.end_call(call, end);
    }
}

/// Final response codes in the words the call screen shows.
/// What a call waits for its candidates to do next.
#[derive(Debug)]
pub(super) enum AfterGathering {
    /// Send the INVITE to this target.
    Dial(String),
    /// Answer the ringing call.
    Answer,
}

/// Why a call that must be encrypted did not happen.
const UNENCRYPTED: &str =
    "The other side cannot encrypt the call, and your settings require encryption.";

pub fn end_reason_for(code: u16, text: &str) -> EndReason {
    match code {
        486 | 600 => EndReason::Busy,
        603 => EndReason::Declined,
        404 | 604 | 484 => EndReason::NotFound,
        408 | 480 => EndReason::NoAnswer,
        487 => EndReason::Cancelled,
        // Still challenged after our answer to the challenge.
        401 | 407 => {
            EndReason::Failed("The call was refused: the password was not accepted.".into())
        }
        _ => {
            // rsipstack's status text may already start with the code.
            let text = text
                .strip_prefix(code.to_string().as_str())
                .map(str::trim_start)
                .unwrap_or(text);
            EndReason::Failed(format!("The call failed ({code} {text})."))
        }
    }
}

/// Why a call we placed ended before it was answered; a 488 to an account that requires
/// encryption is said as such.
pub(super) fn terminated_reason(r: TerminatedReason, policy: crate::sdes::SrtpPolicy) -> EndReason {
    match r {
        TerminatedReason::UasOther(s) | TerminatedReason::UacOther(s)
            if s.code() == 488 && policy == crate::sdes::SrtpPolicy::Required =>
        {
            EndReason::Failed(UNENCRYPTED.into())
        }
        TerminatedReason::UasBusy | TerminatedReason::UacBusy => EndReason::Busy,
        TerminatedReason::UasDecline => EndReason::Declined,
        TerminatedReason::Timeout => EndReason::NoAnswer,
        TerminatedReason::UacCancel => EndReason::Cancelled,
        TerminatedReason::UasOther(s)
        | TerminatedReason::UacOther(s)
        | TerminatedReason::ProxyError(s) => end_reason_for(s.code(), &s.to_string()),
        TerminatedReason::ProxyAuthRequired => {
            EndReason::Failed("The server asked for a password it did not accept.".into())
        }
        TerminatedReason::UacBye | TerminatedReason::UasBye => EndReason::HungUp { by_us: false },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_codes_become_words() {
        assert_eq!(end_reason_for(486, "Busy Here"), EndReason::Busy);
        assert_eq!(end_reason_for(603, "Decline"), EndReason::Declined);
        assert_eq!(
            end_reason_for(500, "500 Server Internal Error").to_string(),
            "The call failed (500 Server Internal Error)."
        );
        assert!(
            end_reason_for(401, "Unauthorized")
                .to_string()
                .contains("password")
        );
        assert_eq!(end_reason_for(404, "Not Found"), EndReason::NotFound);
        assert_eq!(
            end_reason_for(480, "Temporarily Unavailable"),
            EndReason::NoAnswer
        );
        assert_eq!(
            end_reason_for(503, "Service Unavailable").to_string(),
            "The call failed (503 Service Unavailable)."
        );
    }
}
