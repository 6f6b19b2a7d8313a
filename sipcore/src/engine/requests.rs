//! Requests that are not a call's own business: routing what arrives outside a dialog (INVITE,
//! MESSAGE, OPTIONS, unsolicited NOTIFY), sorting what arrives inside one (to the call, its
//! transfer, or a subscription), and sending MESSAGE.

use std::time::Duration;

use rsipstack::dialog::dialog::{Dialog, DialogState};
use rsipstack::sip::{Header, HeadersExt, Method, Request, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::{Core, Msg, reply, reply_with, respond};
use crate::event::Event;
use crate::message::MessageError;

use crate::{message, party};

/// What a dialog's queue carries, done one after another.
pub(super) enum InDialog {
    /// A request the other side sent in the dialog.
    Request(Box<Transaction>),
    /// Our BYE, sent only once every request of theirs before it has its answer: a hang-up
    /// right after they put us on hold must not overtake our 200 to their re-INVITE or UPDATE
    /// (strict peers, sipp among them, abort the call on that).
    Bye(rsipstack::dialog::invite_dialog::InviteDialog),
}

/// How long a re-INVITE that overtook the ACK of our 200 waits for it. The 200 is resent
/// until its ACK comes (RFC 3261 §13.3.1.4), so a late ACK arrives well within this.
const ACK_AWAITED: Duration = Duration::from_secs(4);

/// A dialog's queue: each request is answered before the next is looked at.
async fn serve_dialog(mut dialog: Dialog, mut jobs: mpsc::UnboundedReceiver<InDialog>) {
    while let Some(job) = jobs.recv().await {
        match job {
            InDialog::Request(tx) if overtakes_ack(&dialog, &tx) => {
                await_ack_then_answer(&mut dialog, &mut jobs, tx).await
            }
            job => run(&mut dialog, job).await,
        }
    }
}

/// A re-INVITE while our 200 to the dialog's INVITE still waits for its ACK. A proxy with
/// several workers can pass on the caller's ACK and its next re-INVITE (a hold at once after
/// answering) in either order; the stack, still waiting for the ACK, would never answer it.
fn overtakes_ack(dialog: &Dialog, tx: &Transaction) -> bool {
    tx.original.method == Method::Invite && dialog.state().waiting_ack()
}

/// Holds the re-INVITE (with a 100 so no proxy gives up on it) while the queue goes on, the
/// ACK among what follows; answers it once the dialog is confirmed. With no ACK in time it is
/// refused as RFC 3261 §14.2 has a second INVITE refused while the first is unfinished: 500
/// with Retry-After, so the caller tries again.
async fn await_ack_then_answer(
    dialog: &mut Dialog,
    jobs: &mut mpsc::UnboundedReceiver<InDialog>,
    mut reinvite: Box<Transaction>,
) {
    debug!("re-INVITE before the ACK of our 200: held for the ACK");
    reinvite.send_trying().await.ok();
    let deadline = tokio::time::Instant::now() + ACK_AWAITED;
    // The ACK is handed on by the queue; the stack confirms the dialog a moment later.
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while dialog.state().waiting_ack() && tokio::time::Instant::now() < deadline {
        tokio::select! {
            job = jobs.recv() => match job {
                Some(InDialog::Request(tx)) if tx.original.method == Method::Invite => {
                    reply_with(*tx, StatusCode::ServerInternalError, vec![retry_after()])
                }
                Some(job) => run(dialog, job).await,
                None => break,
            },
            _ = tick.tick() => {}
        }
    }
    if dialog.state().waiting_ack() {
        debug!("no ACK for our 200: the re-INVITE is refused for now");
        reply_with(
            *reinvite,
            StatusCode::ServerInternalError,
            vec![retry_after()],
        );
    } else {
        run(dialog, InDialog::Request(reinvite)).await;
    }
}

fn retry_after() -> Header {
    Header::Other("Retry-After".into(), "1".into())
}

async fn run(dialog: &mut Dialog, job: InDialog) {
    match job {
        // Returns once our final answer to it has been sent.
        InDialog::Request(mut tx) => {
            if let Err(e) = dialog.handle(&mut tx).await {
                debug!("in-dialog request failed: {e}");
            }
        }
        InDialog::Bye(call) => {
            if let Err(e) = call.bye().await {
                warn!("BYE failed: {e}");
            }
        }
    }
}

impl Core {
    /// A request the stack did not match to a transaction of ours: in one of our dialogs it
    /// goes to that dialog's queue, otherwise it is routed here by method.
    pub(super) fn incoming(&mut self, tx: Transaction) {
        let method = tx.original.method;
        if let Some(dialog) = self.dialogs.match_dialog(&tx) {
            return self.queue_in_dialog(dialog, tx);
        }
        if let Some(refusal) = crate::uas_checks::check(&tx.original) {
            debug!(%method, why = %refusal.why, status = %refusal.status, "request refused");
            reply_with(tx, refusal.status, refusal.headers);
            return;
        }
        let has_to_tag = tx
            .original
            .to_header()
            .ok()
            .and_then(|t| t.tag().ok().flatten())
            .is_some();
        if method == Method::Notify
            && let Some(call_id) = tx
                .original
                .call_id_header()
                .ok()
                .map(|c| c.value().to_string())
            && self.subs.is_pending(&call_id)
        {
            // The first NOTIFY often overtakes the SUBSCRIBE's 2xx: it waits for the dialog.
            debug!(%call_id, "NOTIFY before the SUBSCRIBE's 2xx; held for its dialog");
            self.early_notifies.entry(call_id).or_default().push(tx);
            return;
        }
        match method {
            Method::Invite if !has_to_tag => self.incoming_invite(tx),
            Method::Ack => {}
            Method::Options => reply(tx, StatusCode::OK),
            Method::Message => {
                self.message_received(&tx.original);
                reply(tx, StatusCode::OK);
            }
            Method::Notify if has_to_tag => {
                // In a subscription we no longer have: 481 ends it at the notifier
                // (RFC 6665 §4.1.3).
                reply(tx, StatusCode::CallTransactionDoesNotExist)
            }
            Method::Notify => {
                // Outside a dialog: Asterisk sends message waiting unsolicited to registered
                // contacts (RFC 3842 §3). Other packages come with their subscriptions.
                let package = tx.original.header_value("Event").unwrap_or_default();
                if package.trim().eq_ignore_ascii_case("message-summary") {
                    match crate::bodies::message_summary::parse(&tx.original.body) {
                        Ok(m) => self.events.emit(Event::MessageWaiting {
                            new: m.new,
                            old: m.old,
                        }),
                        // A bad body never blanks the counts the user sees.
                        Err(e) => warn!("message-summary ignored: {e}"),
                    }
                }
                reply(tx, StatusCode::OK);
            }
            Method::Bye | Method::Cancel | Method::Info | Method::Update | Method::Refer => {
                reply(tx, StatusCode::CallTransactionDoesNotExist)
            }
            Method::Invite => reply(tx, StatusCode::CallTransactionDoesNotExist),
            _ => reply_with(
                tx,
                StatusCode::MethodNotAllowed,
                vec![Header::Other(
                    "Allow".into(),
                    crate::uas_checks::ALLOWED.into(),
                )],
            ),
        }
    }

    /// One queue per dialog, so the stack sees its requests in order.
    fn queue_in_dialog(&mut self, dialog: Dialog, tx: Transaction) {
        // Forget the queues of dialogs that have ended (their tasks then finish).
        let dialogs = &self.dialogs;
        self.in_dialog
            .retain(|id, q| !q.is_closed() && dialogs.get_dialog(id).is_some());
        let queue = self.in_dialog.entry(dialog.id()).or_insert_with(|| {
            let (q, jobs) = mpsc::unbounded_channel::<InDialog>();
            tokio::spawn(serve_dialog(dialog.clone(), jobs));
            q
        });
        if let Err(mpsc::error::SendError(InDialog::Request(tx))) =
            queue.send(InDialog::Request(Box::new(tx)))
        {
            // The queue's task is gone; answer on our own rather than drop the request.
            reply(*tx, StatusCode::CallTransactionDoesNotExist);
        }
    }

    /// Where a dialog's state change or in-dialog request goes: the call, its transfer, a
    /// subscription, or an answer here for what no call needs.
    pub(super) fn dialog_state(&mut self, state: DialogState) {
        match state {
            DialogState::Early(id, resp) => self.early(&id, &resp),
            DialogState::Terminated(id, reason) => self.terminated(&id, reason),
            DialogState::Updated(id, req, handle) => self.remote_offer(&id, req, handle),
            DialogState::Info(id, req, handle) => self.info(&id, &req, handle),
            DialogState::Notify(id, req, handle) if self.subs.owns(&id) => {
                self.subscription_notify(id, req, handle)
            }
            DialogState::Notify(id, req, handle) => self.transfer_notify(&id, &req, handle),
            DialogState::Message(_, req, handle) => {
                self.message_received(&req);
                respond(handle, StatusCode::OK);
            }
            DialogState::Refer(id, req, handle) => self.referred(id, req, handle),
            DialogState::Publish(_, _, handle) => respond(handle, StatusCode::NotImplemented),
            DialogState::Options(_, _, handle) => respond(handle, StatusCode::OK),
            DialogState::Confirmed(..)
            | DialogState::Calling(_)
            | DialogState::Trying(_)
            | DialogState::WaitAck(..) => {}
        }
    }

    /// A MESSAGE, in a dialog or outside one.
    fn message_received(&self, req: &Request) {
        let content_type = req
            .header_value("Content-Type")
            .unwrap_or_else(|| "text/plain".into());
        self.events.emit(Event::MessageReceived {
            from: party::from_request(req),
            content_type,
            body: String::from_utf8_lossy(&req.body).into_owned(),
        });
    }

    pub(super) fn send_message(
        &mut self,
        id: u64,
        target: &str,
        content_type: String,
        body: String,
    ) {
        let Some(account) = self.sign_in.account().cloned() else {
            self.events.emit(Event::MessageResult {
                id,
                result: Err(MessageError::NotSignedIn),
            });
            return;
        };
        let inbox = self.inbox.clone();
        let endpoint = self.endpoint.inner.clone();
        let uri = account.target_uri(target);
        let next_hop = self.sign_in.destination();
        tokio::spawn(async move {
            let result = message::send(
                endpoint,
                &account,
                &uri,
                next_hop,
                &content_type,
                body.into_bytes(),
            )
            .await;
            let _ = inbox.send(Msg::MessageDone { id, result });
        });
    }
}
