//! The engine's side of subscriptions: it carries out what
//! [`crate::subscription::Subscriptions`] decides (sends the SUBSCRIBEs, makes the dialog a 2xx
//! establishes, removes dialogs that are over, sets the timer for the next deadline) and hands
//! it the answers and NOTIFYs. The rules themselves live in [`crate::subscription`].

use std::time::Instant;

use rsipstack::dialog::DialogId;
use rsipstack::dialog::dialog::{Dialog, TransactionHandle};
use rsipstack::sip::{HeadersExt, Method, Request, Response, StatusCode};
use tracing::{debug, warn};

use super::{Core, Msg, reply};
use crate::subscribe;
use crate::subscription::{self, Action, Answer, Package};

impl Core {
    /// Does what the subscription machine asks, then sets a timer for its next deadline.
    pub(super) fn carry_out(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Emit(event) => self.events.emit(event),
                Action::Forget(dialog) => {
                    self.dialog_auth.forget(&dialog.call_id);
                    self.dialogs.remove_dialog(&dialog);
                    self.in_dialog.remove(&dialog);
                }
                Action::Subscribe {
                    key,
                    call_id,
                    expires,
                } => self.send_subscribe(&key, call_id, expires),
                Action::Refresh {
                    dialog,
                    package,
                    expires,
                } => self.resubscribe(dialog, package, expires),
                Action::Unsubscribe { dialog, package } => self.resubscribe(dialog, package, 0),
            }
        }
        let Some(due) = self.subs.next_deadline() else {
            return;
        };
        if self.sub_timer.is_some_and(|armed| armed <= due) {
            return;
        }
        self.sub_timer = Some(due);
        let inbox = self.inbox.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(due.into()).await;
            let _ = inbox.send(Msg::SubscriptionTimer);
        });
    }

    fn send_subscribe(&mut self, key: &subscription::Key, call_id: String, expires: u32) {
        let inbox = self.inbox.clone();
        let Some(account) = self.sign_in.account().cloned() else {
            let _ = inbox.send(Msg::Subscribed {
                call_id,
                outcome: subscribe::Outcome::Failed("not signed in".into()),
            });
            return;
        };
        let first = subscribe::First {
            target: account.target_uri(&key.resource),
            call_id: call_id.clone(),
            package: key.package,
            expires,
            contact: self.contact(),
        };
        let next_hop = self.sign_in.destination();
        let endpoint = self.endpoint.inner.clone();
        debug!(package = key.package.event(), resource = %key.resource, %call_id, "SUBSCRIBE");
        tokio::spawn(async move {
            let outcome = subscribe::send(endpoint, &account, first, next_hop).await;
            let _ = inbox.send(Msg::Subscribed { call_id, outcome });
        });
    }

    /// A refresh, or an unsubscribe when `expires` is 0, in the subscription's dialog.
    fn resubscribe(&mut self, dialog: DialogId, package: Package, expires: u32) {
        let inbox = self.inbox.clone();
        let Some(Dialog::ClientSubscription(d)) = self.dialogs.get_dialog(&dialog) else {
            let _ = inbox.send(Msg::Resubscribed {
                dialog,
                answer: Answer::Unanswered("the dialog is gone".into()),
            });
            return;
        };
        tokio::spawn(async move {
            // Not `unsubscribe()`: it sends no Event header (RSIPSTACK-NOTES.md).
            let result = d
                .request(
                    Method::Subscribe,
                    Some(subscribe::headers(package, expires)),
                    None,
                )
                .await;
            let answer = subscribe::in_dialog_answer(dialog.clone(), result);
            let _ = inbox.send(Msg::Resubscribed { dialog, answer });
        });
    }

    /// A first SUBSCRIBE ended: on a 2xx its dialog is made, so that NOTIFYs match it, and the
    /// NOTIFYs that came early are handled now.
    pub(super) fn subscribed(&mut self, call_id: String, outcome: subscribe::Outcome) {
        let answer = match outcome {
            subscribe::Outcome::Accepted(done) => {
                let (request, response) = *done;
                match self.subscription_dialog(request, &response) {
                    Ok(dialog) => Answer::Accepted {
                        dialog,
                        expires: subscribe::granted(&response),
                    },
                    Err(e) => Answer::Unanswered(format!("the 2xx made no dialog: {e}")),
                }
            }
            subscribe::Outcome::Refused(resp) => subscribe::refusal(&resp),
            subscribe::Outcome::Failed(why) => Answer::Unanswered(why),
        };
        let accepted = matches!(answer, Answer::Accepted { .. });
        let actions = self.subs.answered(&call_id, answer, Instant::now());
        self.carry_out(actions);
        for tx in self.early_notifies.remove(&call_id).unwrap_or_default() {
            if accepted {
                self.incoming(tx);
            } else {
                reply(tx, StatusCode::CallTransactionDoesNotExist);
            }
        }
    }

    /// The client subscription dialog a SUBSCRIBE's 2xx establishes (RFC 6665 §4.1.2.1): the
    /// remote target is the 2xx's Contact.
    fn subscription_dialog(
        &mut self,
        request: Request,
        response: &Response,
    ) -> Result<DialogId, String> {
        let id = DialogId::try_from((
            response,
            rsipstack::transaction::key::TransactionRole::Client,
        ))
        .map_err(|e| e.to_string())?;
        // Its refreshes are sent by rsipstack: their challenges are answered by us.
        self.dialog_auth.track(&id.call_id);
        let dialog = self
            .dialogs
            .get_or_create_client_subscription(
                id.call_id.clone(),
                id.local_tag.clone(),
                id.remote_tag.clone(),
                request,
                self.state_tx.clone(),
                self.stack_credential(),
                self.contact(),
            )
            .map_err(|e| e.to_string())?;
        if let Ok(contacts) = response.typed_contact_headers()
            && let Some(c) = contacts.first()
        {
            Dialog::ClientSubscription(dialog)
                .set_remote_target(c.uri.clone(), response.contact_header().ok().cloned());
        }
        Ok(id)
    }

    /// A NOTIFY in one of our subscriptions: answered at once, then read.
    pub(super) fn subscription_notify(
        &mut self,
        id: DialogId,
        req: Request,
        handle: TransactionHandle,
    ) {
        let state = req
            .header_value("Subscription-State")
            .and_then(|v| subscription::SubscriptionState::parse(&v));
        let status = if state.is_some() {
            StatusCode::OK
        } else {
            // RFC 6665 §4.1.3: a NOTIFY without a valid Subscription-State is refused.
            StatusCode::BadRequest
        };
        tokio::spawn(async move {
            let _ = handle.reply(status).await;
        });
        let Some(state) = state else {
            warn!(dialog = %id, "NOTIFY without a valid Subscription-State refused");
            return;
        };
        let content_type = req.header_value("Content-Type");
        let actions = self.subs.notified(
            &id,
            &state,
            content_type.as_deref(),
            &req.body,
            Instant::now(),
        );
        self.carry_out(actions);
    }

    /// Unsubscribes everything at shutdown (RFC 6665 §4.1.2.3), a few at a time so that a long
    /// contact list does not reach the server as one burst; what has not left when the engine
    /// stops simply expires there.
    pub(super) fn unsubscribe_all(
        &mut self,
    ) -> Vec<tokio::task::JoinHandle<rsipstack::Result<()>>> {
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
        let mut sent = Vec::new();
        for action in self.subs.stop_all() {
            let Action::Unsubscribe { dialog, package } = action else {
                continue;
            };
            let Some(Dialog::ClientSubscription(d)) = self.dialogs.get_dialog(&dialog) else {
                continue;
            };
            let gate = gate.clone();
            sent.push(tokio::spawn(async move {
                let _permit = gate.acquire().await;
                d.request(
                    Method::Subscribe,
                    Some(subscribe::headers(package, 0)),
                    None,
                )
                .await
                .map(|_| ())
            }));
        }
        sent
    }
}
