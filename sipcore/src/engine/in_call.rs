//! What happens inside an established call: the other side's offers (re-INVITE, UPDATE), our
//! hold and resume re-INVITEs, DTMF, and the media stream that follows each answer.

use rsipstack::dialog::DialogId;
use rsipstack::dialog::dialog::TransactionHandle;
use rsipstack::sip::{Header, Method, Request, StatusCode, StatusCodeKind};
use tracing::warn;

use super::{Core, DialogFailure, Msg, respond};
use crate::call::{HoldAnswer, HoldStep, Phase, Role, UNCONFIRMED_RETRY_EVERY};
use crate::error::EngineError;
use crate::event::{CallId, Event};

use crate::media_control::{StreamParams, StreamUpdate};
use crate::sdp::{self, Direction};
use crate::{message, session_timer};

impl Core {
    /// A re-INVITE or UPDATE from the other side: answer it, follow its hold state.
    pub(super) fn remote_offer(
        &mut self,
        id: &rsipstack::dialog::DialogId,
        req: rsipstack::sip::Request,
        handle: rsipstack::dialog::dialog::TransactionHandle,
    ) {
        let Some(call) = self.call_for(id) else {
            respond(handle, StatusCode::CallTransactionDoesNotExist);
            return;
        };
        let Some(session) = self.judge_remote_refresh(&req, handle.clone()) else {
            return;
        };
        if req.method == Method::Update && req.body.is_empty() {
            return self.answer_bare_refresh(call, session, handle);
        }
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(local_rtp) = entry.audio.local_rtp() else {
            return;
        };
        // A hold of ours still in flight counts: we are holding from the moment we asked.
        let ours = entry.phase.our_direction();
        let offer = if req.body.is_empty() {
            None
        } else {
            // A re-offer we cannot take leaves the session as it was (RFC 3264 §8).
            match sdp::parse_offer(
                crate::bodies::multipart::offer_in(&req),
                entry.sdp.security.policy,
            ) {
                Ok(o) => Some(o),
                Err(e) => return refuse_offer(handle, &e),
            }
        };
        let (body, update) = match offer {
            Some(o) => match entry.sdp.answer(&o.audio, local_rtp, ours) {
                Ok(a) => {
                    let keys = sdp::keys_from_our_answer(&o.audio, &a);
                    if entry.srtp.is_some() && keys.is_none() {
                        // Taking this offer would send the call's audio in the clear.
                        let e = sdp::SdpError::Security(crate::sdes::Refusal::Unencrypted);
                        return refuse_offer(handle, &e);
                    }
                    entry.srtp = keys.or(entry.srtp.take());
                    entry.sdp.layout = o.layout;
                    (entry.sdp.render(&a), Some((o.audio, a)))
                }
                Err(_) => {
                    respond(handle, StatusCode::NotAcceptableHere);
                    return;
                }
            },
            // No offer: ours goes in the 200 and the answer comes in the ACK.
            None => {
                let ours = entry.sdp.offer(local_rtp, ours);
                (entry.sdp.render(&ours), None)
            }
        };
        let mut headers = vec![Header::ContentType("application/sdp".into())];
        headers.extend(
            session
                .map(session_timer::response_headers)
                .unwrap_or_default(),
        );
        tokio::spawn(async move {
            let _ = handle
                .respond(StatusCode::OK, Some(headers), Some(body.into_bytes()))
                .await;
        });
        if let Some((offer, answer)) = update {
            let held_by_them = matches!(offer.direction, Direction::SendOnly | Direction::Inactive);
            entry.phase.held_by_them(held_by_them);
            entry.remote_sdp = Some(offer.clone());
            self.follow_our_answer(call, &offer, &answer);
        }
        self.refreshed_by_them(call, session);
    }

    /// Hold (true) or resume (false), if that is not already so or on its way.
    pub(super) fn set_hold(&mut self, call: CallId, hold: bool) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let step = entry.phase.ask_hold(hold);
        self.hold_step(call, step);
    }

    pub(super) fn hold_step(&mut self, call: CallId, step: HoldStep) {
        match step {
            HoldStep::Nothing => {}
            HoldStep::Send { hold } => self.send_hold(call, hold),
            HoldStep::Retry { hold } => {
                let inbox = self.inbox.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(UNCONFIRMED_RETRY_EVERY).await;
                    let _ = inbox.send(Msg::HoldRetry { call, hold });
                });
            }
        }
    }

    /// The re-INVITE for the hold change in flight.
    pub(super) fn send_hold(&mut self, call: CallId, hold: bool) {
        // A re-INVITE refreshes the session too; without the timer's headers it would turn
        // the timer off (RFC 4028 §7.4).
        let timer_headers = session_timer::request_headers(
            &self.config.session_timers,
            self.session_timers.session(call),
        );
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let in_flight = matches!(
            entry.phase,
            Phase::Active { hold_in_flight: Some(f), .. } if f.hold == hold
        );
        let Some(local_rtp) = entry.audio.local_rtp().filter(|_| in_flight) else {
            return;
        };
        let direction = if hold {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        let ours = entry.sdp.offer(local_rtp, direction);
        let body = entry.sdp.render(&ours);
        let dialog = entry.dialog.clone();
        let inbox = self.inbox.clone();
        let mut headers = vec![Header::ContentType("application/sdp".into())];
        headers.extend(timer_headers);
        tokio::spawn(async move {
            let result = dialog
                .reinvite(Some(headers), Some(body.into_bytes()))
                .await
                .map_err(DialogFailure::from);
            let _ = inbox.send(Msg::ReinviteDone { call, hold, result });
        });
    }

    pub(super) fn reinvite_done(
        &mut self,
        call: CallId,
        hold: bool,
        result: Result<Option<rsipstack::sip::Response>, DialogFailure>,
    ) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let answer = match &result {
            Ok(Some(resp)) if resp.status_code.kind() == StatusCodeKind::Successful => {
                HoldAnswer::Accepted
            }
            // The stack sends no re-INVITE until the dialog is confirmed (the ACK has not been
            // processed yet): the phase says whether to try again shortly.
            Ok(None) => HoldAnswer::NotSent,
            _ => HoldAnswer::Failed,
        };
        let outcome = entry.phase.hold_answered(answer);
        if outcome.changed
            && let Ok(Some(resp)) = &result
        {
            self.session_timers
                .restart(call, session_timer::from_response(resp));
            if let Ok(a) = sdp::parse(&resp.body)
                && let Ok(codec) = sdp::chosen_from_answer(&a)
            {
                match sdp::keys_from_answer(&a, &entry.sdp.security) {
                    Ok(Some(keys)) => entry.srtp = Some(keys),
                    Ok(None) => {}
                    // The call keeps its keys: the other side may not drop them in a re-answer.
                    Err(e) => warn!(%call, "re-INVITE answer without keys kept: {e}"),
                }
                let ours = if hold {
                    Direction::SendOnly
                } else {
                    Direction::SendRecv
                };
                let direction = Direction::answer_to(a.direction, ours);
                entry.remote_sdp = Some(a.clone());
                self.start_or_update_media(call, &a, codec, a.telephone_event, direction);
            }
            self.media.set_hold_music(call, hold);
            self.emit_state(call);
        }
        if outcome.failed {
            match result {
                Ok(other) => {
                    let why = other
                        .map(|r| r.status_code.to_string())
                        .unwrap_or_else(|| "no answer".into());
                    self.events
                        .emit(Event::Error(EngineError::HoldRefused { hold, why }));
                }
                Err(e) => self
                    .events
                    .emit(Event::Error(EngineError::HoldFailed(e.to_string()))),
            }
        }
        self.hold_step(call, outcome.next);
    }

    pub(super) fn send_dtmf(&mut self, call: CallId, digit: char) {
        // RFC 4733 in the media when the far end's SDP offered or accepted telephone-event.
        let in_media = self
            .calls
            .get(&call)
            .and_then(|c| c.remote_sdp.as_ref())
            .is_some_and(|sdp| sdp.telephone_event.is_some());
        if in_media && self.media.send_dtmf(call, digit) {
            return;
        }
        // No telephone-event negotiated: SIP INFO as the fallback.
        if let Some(d) = self.calls.get(&call).map(|c| c.dialog.clone()) {
            let body = message::dtmf_info_body(digit);
            tokio::spawn(async move {
                let headers = vec![Header::ContentType("application/dtmf-relay".into())];
                if let Err(e) = d.info(Some(headers), Some(body.into_bytes())).await {
                    warn!("INFO DTMF failed: {e}");
                }
            });
        }
    }

    /// We answered their offer: the audio follows our answer, and the app hears of it.
    pub(super) fn follow_our_answer(
        &mut self,
        call: CallId,
        offer: &sdp::MediaDescription,
        answer: &sdp::MediaDescription,
    ) {
        let codec = answer.codecs[0].clone();
        self.start_or_update_media(call, offer, codec, answer.telephone_event, answer.direction);
        self.emit_state(call);
    }

    pub(super) fn start_or_update_media(
        &mut self,
        call: CallId,
        remote_sdp: &sdp::MediaDescription,
        codec: sdp::Codec,
        telephone_event: Option<u8>,
        direction: Direction,
    ) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let remote = remote_sdp.rtp;
        let remote_rtcp = remote_sdp.rtcp_addr();
        // The encoder follows what the far end asked to receive (its fmtp for this payload
        // type), not what we asked for in our own answer.
        let codec = sdp::Codec {
            fmtp: remote_sdp
                .codecs
                .iter()
                .find(|c| c.payload_type == codec.payload_type)
                .and_then(|c| c.fmtp.clone())
                .or(codec.fmtp),
            ..codec
        };
        if entry.audio.streaming() {
            let update = StreamUpdate {
                remote,
                remote_rtcp,
                codec,
                telephone_event,
                direction,
                srtp: entry.srtp.clone(),
            };
            if let Err(e) = self.media.update(call, update) {
                self.events.emit(Event::Error(EngineError::AudioChange(e)));
            }
            return;
        }
        let Some(mut socket) = entry.audio.take_for_start() else {
            return;
        };
        let ice = match (&entry.sdp.ice, &remote_sdp.ice) {
            (Some(ours), Some(theirs)) => ours.config(theirs, entry.role == Role::Outgoing),
            _ => None,
        };
        if ice.is_some() {
            // One component: RTCP shares the RTP socket (rtcp-mux).
            socket.rtcp = None;
        }
        let params = StreamParams {
            sockets: socket,
            remote,
            remote_rtcp,
            codec,
            telephone_event,
            direction,
            ptime_ms: 20,
            srtp: entry.srtp.clone(),
            ice,
            plan: entry.plan.clone(),
        };
        if let Err(e) = self.media.start(call, params) {
            entry.audio.start_failed();
            self.events.emit(Event::Error(EngineError::AudioStart(e)));
        }
    }

    /// An INFO in a call: a key press when it carries one (the fallback to RFC 4733), always
    /// answered 200.
    pub(super) fn info(&mut self, id: &DialogId, req: &Request, handle: TransactionHandle) {
        if let Some(call) = self.call_for(id)
            && let Some(digit) = message::dtmf_from_info(req)
        {
            self.events.emit(Event::Dtmf { call, digit });
        }
        respond(handle, StatusCode::OK);
    }
}

/// 488 with the `Warning` that says why the offer cannot be taken.
fn refuse_offer(handle: TransactionHandle, e: &sdp::SdpError) {
    let warning = super::sdp_warning(e);
    tokio::spawn(async move {
        let _ = handle
            .respond(StatusCode::NotAcceptableHere, Some(vec![warning]), None)
            .await;
    });
}
