//! The engine's side of session timers (RFC 4028): refreshing when we are the refresher,
//! ending the call when the other side's refreshes stop, and answering theirs. What the headers
//! mean and when a timer fires is decided in [`crate::session_timer`].

use rsipstack::dialog::dialog::TransactionHandle;
use rsipstack::sip::{Header, Request, Response, StatusCode, StatusCodeKind};
use tracing::{debug, info, warn};

use super::{Core, DialogFailure, Msg};
use crate::event::{CallId, EndReason, Event};
use crate::sdp;
use crate::session_timer::{self, Due, Fired, Refresher, Session, Verdict};

impl Core {
    pub(super) fn session_timer_due(&mut self, fired: Fired) {
        let Some(session) = self.session_timers.current(&fired) else {
            return;
        };
        let call = fired.call;
        match fired.due {
            Due::Refresh => self.refresh_session(call, session, true),
            Due::Expired => {
                warn!(%call, interval = session.interval, "no session refresh came; ending the call");
                self.hang_up_dialog(call);
                self.end_call(
                    call,
                    EndReason::Failed(
                        "The call was ended: the other side stopped confirming that it was still \
                         connected."
                            .into(),
                    ),
                );
            }
        }
    }

    /// Sends our refresh: an UPDATE without a body, which touches no media (RFC 4028 §7.4
    /// prefers it), or a re-INVITE offering the session as it is when UPDATE is refused.
    fn refresh_session(&mut self, call: CallId, session: Session, by_update: bool) {
        if !self.config.session_timers.send_refreshes {
            debug!(%call, "session refresh suppressed by the engine's configuration");
            return;
        }
        let headers = session_timer::request_headers(&self.config.session_timers, Some(session));
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let dialog = entry.dialog.clone();
        let inbox = self.inbox.clone();
        if by_update {
            tokio::spawn(async move {
                let result = dialog
                    .update(Some(headers), None)
                    .await
                    .map_err(DialogFailure::from);
                let _ = inbox.send(Msg::RefreshDone {
                    call,
                    by_update,
                    result,
                });
            });
            return;
        }
        let Some(local_rtp) = entry.audio.local_rtp() else {
            return;
        };
        let ours = entry.sdp.offer(local_rtp, entry.phase.our_direction());
        let body = entry.sdp.render(&ours);
        let mut all = vec![Header::ContentType("application/sdp".into())];
        all.extend(headers);
        tokio::spawn(async move {
            let result = dialog
                .reinvite(Some(all), Some(body.into_bytes()))
                .await
                .map_err(DialogFailure::from);
            let _ = inbox.send(Msg::RefreshDone {
                call,
                by_update,
                result,
            });
        });
    }

    pub(super) fn refresh_done(
        &mut self,
        call: CallId,
        by_update: bool,
        result: Result<Option<Response>, DialogFailure>,
    ) {
        if !self.calls.get(&call).is_some_and(|c| c.phase.is_active()) {
            return;
        }
        let resp = match result {
            Ok(Some(resp)) => resp,
            // The dialog was between states (a re-INVITE of ours in progress): that one
            // refreshes the session when it is answered.
            Ok(None) => return,
            Err(e) => {
                // §10: a refresh that times out means the session is gone.
                warn!(%call, "session refresh failed: {e}");
                return self.drop_after_failed_refresh(call);
            }
        };
        let code = resp.status_code.code();
        match resp.status_code.kind() {
            StatusCodeKind::Successful => {
                self.session_timers
                    .restart(call, session_timer::from_response(&resp));
                if !by_update
                    && let Ok(answer) = sdp::parse(&resp.body)
                    && let Some(c) = self.calls.get_mut(&call)
                {
                    c.remote_sdp = Some(answer);
                }
                self.events
                    .emit(Event::SessionRefreshed { call, by_us: true });
            }
            _ if code == 422 => {
                // §7.4: ask again with the interval the other side insists on.
                let Some(min_se) = session_timer::min_se_of(&resp) else {
                    return self.drop_after_failed_refresh(call);
                };
                let session = Session {
                    interval: min_se,
                    refresher: Refresher::Us,
                };
                self.session_timers.start(call, session);
                self.refresh_session(call, session, by_update);
            }
            _ if by_update && matches!(code, 405 | 501) => {
                if let Some(session) = self.session_timers.session(call) {
                    info!(%call, "UPDATE refused; refreshing with re-INVITE");
                    self.refresh_session(call, session, false);
                }
            }
            _ if matches!(code, 408 | 481) => self.drop_after_failed_refresh(call),
            _ => warn!(%call, status = %resp.status_code, "session refresh refused"),
        }
    }

    /// RFC 4028 §10: a refresh answered 408 or 481, or not at all, ends the session with a BYE.
    fn drop_after_failed_refresh(&mut self, call: CallId) {
        self.hang_up_dialog(call);
        self.end_call(
            call,
            EndReason::Failed("The call dropped: the other side stopped answering.".into()),
        );
    }

    /// The session-timer terms of a re-INVITE or UPDATE from the other side: `None` when it
    /// asked for an interval below our Min-SE and has been answered 422 here.
    pub(super) fn judge_remote_refresh(
        &self,
        req: &Request,
        handle: TransactionHandle,
    ) -> Option<Option<Session>> {
        match session_timer::for_request(req, &self.config.session_timers) {
            Verdict::Accept(session) => Some(session),
            Verdict::TooSmall { min_se } => {
                let headers = session_timer::too_small_headers(min_se);
                tokio::spawn(async move {
                    let _ = handle
                        .respond(StatusCode::SessionIntervalTooSmall, Some(headers), None)
                        .await;
                });
                None
            }
        }
    }

    /// An UPDATE with no body: a refresh and nothing else (RFC 3311 §5.2: no offer, so no
    /// answer either).
    pub(super) fn answer_bare_refresh(
        &mut self,
        call: CallId,
        session: Option<Session>,
        handle: TransactionHandle,
    ) {
        let headers = session.map(session_timer::response_headers);
        tokio::spawn(async move {
            let _ = handle.respond(StatusCode::OK, headers, None).await;
        });
        self.refreshed_by_them(call, session);
    }

    /// A re-INVITE or UPDATE of theirs was answered 2xx: it restarts the timer on its terms
    /// (or turns it off when it asked for none, §9).
    pub(super) fn refreshed_by_them(&mut self, call: CallId, session: Option<Session>) {
        self.session_timers.restart(call, session);
        if session.is_some() {
            self.events
                .emit(Event::SessionRefreshed { call, by_us: false });
        }
    }
}
