//! Transfers (RFC 3515): REFER out, blind or attended (RFC 5589, with Replaces, RFC 3891), and
//! its NOTIFYs coming back; REFER in, with the new call's progress reported to the transferor as
//! `message/sipfrag` NOTIFYs.

use rsipstack::dialog::DialogId;
use rsipstack::dialog::dialog::TransactionHandle;
use rsipstack::sip::{Header, HeadersExt, Request, StatusCode, StatusCodeKind};
use tracing::{debug, info};

use super::{Core, respond};
use crate::call::{UNCONFIRMED_RETRIES, UNCONFIRMED_RETRY_EVERY, sipfrag_for};
use crate::error::EngineError;
use crate::event::{CallId, EndReason, Event};

use crate::party;

impl Core {
    /// RFC 3515 §2.4.5: a call placed on someone's REFER reports its progress to them in
    /// NOTIFYs of `message/sipfrag`, the last one ending the implicit subscription.
    pub(super) fn report_to_transferor(&mut self, call: CallId) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(old) = c.referred_by else {
            return;
        };
        let Some((frag, last)) = sipfrag_for(&c.phase) else {
            return;
        };
        if last {
            c.referred_by = None;
        }
        if let Some(dialog) = self.calls.get(&old).map(|o| o.dialog.clone()) {
            tokio::spawn(notify_refer(dialog, frag, last));
        }
    }

    pub(super) fn transfer(&mut self, call: CallId, target: &str) {
        let Some(account) = self.sign_in.account().cloned() else {
            return;
        };
        let uri = account.target_uri(target);
        if rsipstack::sip::Uri::try_from(uri.as_str()).is_err() {
            self.events
                .emit(Event::Error(EngineError::BadTransferTarget(
                    target.to_string(),
                )));
            return;
        }
        self.send_refer(call, format!("<{uri}>"), target.to_string());
    }

    /// Attended transfer (RFC 5589 §7): we talked to the target on `consult`; `call`'s far end
    /// is asked to call the target with Replaces, taking over our consult call.
    pub(super) fn attended_transfer(&mut self, call: CallId, consult: CallId) {
        let Some(c) = self.calls.get(&consult) else {
            return;
        };
        if !c.phase.is_active() {
            self.events
                .emit(Event::Error(EngineError::ConsultNotActive));
            return;
        }
        let id = c.dialog.id();
        // From our side: to-tag is the target's tag, from-tag ours (RFC 3891 §3).
        let replaces = format!(
            "{};to-tag={};from-tag={}",
            id.call_id, id.remote_tag, id.local_tag
        );
        let refer_to = format!(
            "<{}?Replaces={}>",
            c.remote.uri,
            uri_header_escape(&replaces)
        );
        let target = c.remote.number.clone();
        self.send_refer(call, refer_to, target);
    }

    /// REFER on `call` with this `Refer-To`; progress arrives as NOTIFYs (see `dialog_state`).
    pub(super) fn send_refer(&mut self, call: CallId, refer_to: String, target: String) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let dialog = entry.dialog.clone();
        entry.transfer_target = Some(target.clone());
        let events = self.events.clone();
        self.events.emit(Event::Transfer {
            call,
            target: target.clone(),
            state: crate::event::TransferState::Trying,
        });
        tokio::spawn(async move {
            // A transfer asked for just after we answered can come before the caller's ACK:
            // the stack sends nothing (`Ok(None)`) until the dialog is confirmed.
            let mut retries = 0;
            let sent = loop {
                let to = rsipstack::sip::ReferTo::new(refer_to.clone());
                match dialog.refer(to, None, None).await {
                    Ok(None) if retries < UNCONFIRMED_RETRIES => {
                        retries += 1;
                        tokio::time::sleep(UNCONFIRMED_RETRY_EVERY).await;
                    }
                    sent => break sent,
                }
            };
            match sent {
                Ok(Some(r)) if r.status_code.kind() == StatusCodeKind::Successful => {}
                Ok(r) => events.emit(Event::Transfer {
                    call,
                    target,
                    state: crate::event::TransferState::Failed(
                        r.map(|r| r.status_code.to_string())
                            .unwrap_or_else(|| "no answer".into()),
                    ),
                }),
                Err(e) => events.emit(Event::Transfer {
                    call,
                    target,
                    state: crate::event::TransferState::Failed(e.to_string()),
                }),
            }
        });
    }

    /// The far end asks us to call someone else (being transferred, RFC 3515). We accept, place
    /// the new call, and report its progress back; the far end then hangs up the old call.
    pub(super) fn referred(
        &mut self,
        id: rsipstack::dialog::DialogId,
        req: rsipstack::sip::Request,
        handle: rsipstack::dialog::dialog::TransactionHandle,
    ) {
        let answer = |status: StatusCode| {
            tokio::spawn(async move {
                let _ = handle.reply(status).await;
            });
        };
        let Some(call) = self.call_for(&id).filter(|c| self.calls.contains_key(c)) else {
            return answer(StatusCode::CallTransactionDoesNotExist);
        };
        let Some(target) = req.header_value("Refer-To").and_then(|v| refer_target(&v)) else {
            return answer(StatusCode::BadRequest);
        };
        if target.to_ascii_lowercase().contains("replaces=") {
            // Attended transfer from the other side needs INVITE with Replaces; not yet.
            return answer(StatusCode::NotImplemented);
        }
        answer(StatusCode::Accepted);
        let new_call = CallId(self.next_incoming);
        self.next_incoming += 1;
        info!(%call, %new_call, %target, "transferred by the far end");
        self.events.emit(Event::TransferredBy {
            call,
            new_call,
            target: party::from_uri(&target),
        });
        if let Some(dialog) = self.calls.get(&call).map(|c| c.dialog.clone()) {
            tokio::spawn(notify_refer(dialog, "SIP/2.0 100 Trying", false));
        }
        self.dial(new_call, &target);
        if let Some(c) = self.calls.get_mut(&new_call) {
            c.referred_by = Some(call);
            // The dial may already have failed (no audio port): report that too.
            self.report_to_transferor(new_call);
        }
    }

    /// A NOTIFY in a call's dialog: the progress of a transfer we asked for (RFC 3515 §2.4.4).
    /// Once the transferee reaches the target, our call with them ends.
    pub(super) fn transfer_notify(
        &mut self,
        id: &DialogId,
        req: &Request,
        handle: TransactionHandle,
    ) {
        let refer_event = req
            .header_value("Event")
            .is_some_and(|e| e.to_ascii_lowercase().starts_with("refer"));
        let status = if refer_event {
            crate::bodies::sipfrag::status(&req.body)
                .inspect_err(|e| debug!("NOTIFY for a transfer with a bad body: {e}"))
                .ok()
        } else {
            None
        };
        if let Some(code) = status
            && let Some(call) = self.call_for(id)
            && let Some(entry) = self.calls.get_mut(&call)
            && let Some(target) = entry.transfer_target.clone()
        {
            let state = match code {
                100..=199 => crate::event::TransferState::Trying,
                200..=299 => crate::event::TransferState::Done,
                _ => crate::event::TransferState::Failed(StatusCode::from(code).to_string()),
            };
            let done = code >= 200;
            self.events.emit(Event::Transfer {
                call,
                target,
                state: state.clone(),
            });
            if done {
                entry.transfer_target = None;
                if state == crate::event::TransferState::Done {
                    self.hang_up_dialog(call);
                    self.end_call(call, EndReason::HungUp { by_us: true });
                }
            }
        }
        respond(handle, StatusCode::OK);
    }
}

/// One NOTIFY of a REFER subscription carrying `frag`, the status line of the new call.
pub(super) async fn notify_refer(
    dialog: rsipstack::dialog::invite_dialog::InviteDialog,
    frag: &'static str,
    last: bool,
) {
    let state = if last {
        "terminated;reason=noresource"
    } else {
        "active;expires=60"
    };
    let headers = vec![
        Header::Other("Event".into(), "refer".into()),
        Header::Other("Subscription-State".into(), state.into()),
        Header::ContentType("message/sipfrag;version=2.0".into()),
    ];
    if let Err(e) = dialog
        .notify(Some(headers), Some(format!("{frag}\r\n").into_bytes()))
        .await
    {
        debug!("NOTIFY to the transferor failed: {e}");
    }
}

/// Escapes a value for a URI header (`?Replaces=…`, RFC 3261 §25.1 `hvalue`): everything but
/// unreserved characters becomes %HH.
pub fn uri_header_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()[]/:+$".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The URI of a `Refer-To` value: `<sip:2003@pbx;user=phone>` or a bare URI.
pub fn refer_target(value: &str) -> Option<String> {
    let v = value.trim();
    let uri = match (v.find('<'), v.rfind('>')) {
        (Some(a), Some(b)) if a < b => &v[a + 1..b],
        _ => v.split(';').next().unwrap_or(v),
    };
    let uri = uri.trim();
    (uri.starts_with("sip:") || uri.starts_with("sips:") || uri.starts_with("tel:"))
        .then(|| uri.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_is_escaped_for_a_uri_header() {
        assert_eq!(
            uri_header_escape("abc@host;to-tag=1;from-tag=2"),
            "abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2"
        );
    }

    #[test]
    fn refer_to_gives_its_uri() {
        assert_eq!(
            refer_target("<sip:2003@127.0.0.1:25060>").as_deref(),
            Some("sip:2003@127.0.0.1:25060")
        );
        assert_eq!(
            refer_target(" \"Carol\" <sip:2003@pbx;user=phone>;x=1").as_deref(),
            Some("sip:2003@pbx;user=phone")
        );
        assert_eq!(
            refer_target("sip:2003@pbx").as_deref(),
            Some("sip:2003@pbx")
        );
        assert_eq!(refer_target("<http://example.com>"), None);
        assert_eq!(refer_target(""), None);
    }
}
