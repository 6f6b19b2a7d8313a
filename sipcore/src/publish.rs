//! Publishing our own presence (RFC 3903 PUBLISH of a PIDF document, RFC 3863, with the RPID
//! "away" activity, RFC 4480): online, away, or offline.
//!
//! One task per signed-in account owns the publication: it sends the first PUBLISH with a body,
//! keeps the server's `SIP-ETag`, refreshes before the publication expires with `SIP-If-Match`,
//! replaces the document on a change of state (§4.4), and removes it with `Expires: 0` when the
//! user goes offline, signs out or quits (§4.5); the server then tells watchers `closed`. A server that does not
//! take PUBLISH (489 Bad Event, 405, 501: Asterisk 16 is one) is reported once, and nothing more
//! is sent to it.
//!
//! A refresh carries the document again (a modification, §4.4, which also extends the
//! lifetime) rather than no body (§4.2): Kamailio 5.6 keeping publications in memory answers a
//! body-less refresh by notifying every watcher with an empty document ("Empty notify body
//! record" in its log), which a watcher reads as "nothing known" and may show as offline.

use std::time::Duration;

use rsipstack::dialog::registration::{backoff_interval, refresh_interval};
use rsipstack::sip::{Header, HeadersExt, Method, Response, StatusCodeKind};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transport::SipAddr;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::account::Account;
use crate::bodies::pidf::{self, Availability};
use crate::wire::digest::DigestSession;
use crate::wire::out_of_dialog::{self, OutOfDialog};

/// How publishing our presence went, for the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublishState {
    /// The server holds this state for us (for `Offline`: the publication was removed).
    Published(Availability),
    /// The server does not take PUBLISH; the state stays local. Said once per sign-in.
    NotSupported(String),
    /// This attempt failed; the next refresh or change tries again.
    Failed(String),
}

/// The app's side of one account's publication.
pub struct Publisher {
    tx: mpsc::UnboundedSender<Availability>,
    task: tokio::task::JoinHandle<()>,
}

impl Publisher {
    /// Starts publishing for `account`. Nothing is sent before the first [`Publisher::set`].
    pub fn start(
        endpoint: EndpointInnerRef,
        account: Account,
        next_hop: Option<SipAddr>,
        expires: Duration,
        report: impl Fn(PublishState) + Send + 'static,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let publication = Publication {
            endpoint,
            target: account.target_uri(&account.username),
            entity: account.aor(),
            account,
            next_hop,
            expires: expires.as_secs().clamp(1, u32::MAX as u64) as u32,
            digest: DigestSession::new(),
            etag: None,
            published: None,
            refused: false,
        };
        let task = tokio::spawn(publication.run(rx, report));
        Self { tx, task }
    }

    pub fn set(&self, availability: Availability) {
        let _ = self.tx.send(availability);
    }

    /// Removes the publication (if any) and ends, waiting at most `timeout`: for sign-out and
    /// quitting, where the runtime would otherwise drop the request.
    pub async fn finish(self, timeout: Duration) {
        drop(self.tx);
        let mut task = self.task;
        if tokio::time::timeout(timeout, &mut task).await.is_err() {
            task.abort();
        }
    }
}

struct Publication {
    endpoint: EndpointInnerRef,
    account: Account,
    /// The Request-URI: our own address of record, over the account's transport.
    target: String,
    /// The PIDF `entity`.
    entity: String,
    /// The outbound proxy, on the account's transport, when there is one.
    next_hop: Option<SipAddr>,
    /// Lifetime asked for, in seconds.
    expires: u32,
    digest: DigestSession,
    /// The server's name for our publication (RFC 3903 §4.1), once it accepted one.
    etag: Option<String>,
    /// What the server holds for us now.
    published: Option<Availability>,
    /// The server does not take PUBLISH: stop talking to it.
    refused: bool,
}

/// What one PUBLISH is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Our document: the first one, a change, or a refresh (we hold an ETag and send it in
    /// SIP-If-Match).
    Document(Availability),
    /// Take our publication away.
    Remove,
}

impl Publication {
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Availability>,
        report: impl Fn(PublishState),
    ) {
        let mut next: Option<Instant> = None;
        let mut failures = 0;
        let mut wanted: Option<Availability> = None;
        loop {
            let kind = tokio::select! {
                msg = rx.recv() => match msg {
                    Some(a) => {
                        wanted = Some(a);
                        if a == Availability::Offline { Kind::Remove } else { Kind::Document(a) }
                    }
                    None => break,
                },
                // Time to refresh, or to retry a failed attempt, with the state the user wants.
                _ = sleep_until(next) => match wanted {
                    Some(a) if a != Availability::Offline => Kind::Document(a),
                    _ => { next = None; continue; }
                },
            };
            if self.refused {
                continue;
            }
            next = match self.publish(kind).await {
                Outcome::Done(state, lifetime) => {
                    failures = 0;
                    if let Some(s) = state {
                        report(s);
                    }
                    lifetime.map(|secs| Instant::now() + refresh_interval(secs.max(1)))
                }
                Outcome::Refused(why) => {
                    warn!(%why, "the server does not take PUBLISH; our presence stays local");
                    self.refused = true;
                    report(PublishState::NotSupported(why));
                    None
                }
                Outcome::Failed(why) => {
                    failures += 1;
                    warn!(%why, "PUBLISH failed");
                    report(PublishState::Failed(why));
                    Some(Instant::now() + backoff_interval(failures - 1))
                }
            };
        }
        // Signed out or quitting: nobody should see us online any more.
        if !self.refused && self.etag.is_some() {
            let _ = self.publish(Kind::Remove).await;
        }
    }

    async fn publish(&mut self, kind: Kind) -> Outcome {
        if kind == Kind::Remove && self.etag.is_none() {
            // Nothing published (or it already expired): offline is what watchers see.
            self.published = Some(Availability::Offline);
            return Outcome::Done(Some(PublishState::Published(Availability::Offline)), None);
        }
        let resp = match self.send(kind).await {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(format!("Your status could not be sent ({e}).")),
        };
        match (resp.status_code.code(), kind) {
            (200..=299, _) => {
                if kind == Kind::Remove {
                    self.etag = None;
                    self.published = Some(Availability::Offline);
                    info!("presence publication removed");
                    return Outcome::Done(
                        Some(PublishState::Published(Availability::Offline)),
                        None,
                    );
                }
                self.etag = resp.header_value("SIP-ETag");
                let granted = resp
                    .header_value("Expires")
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(self.expires);
                let state = match kind {
                    Kind::Document(a) if self.published != Some(a) => {
                        info!(?a, granted, "presence published");
                        self.published = Some(a);
                        Some(PublishState::Published(a))
                    }
                    _ => None,
                };
                Outcome::Done(state, Some(granted))
            }
            // §6: the server lost our publication (restart, expiry): publish it anew.
            (412, Kind::Document(a)) => {
                self.etag = None;
                self.published = None;
                Box::pin(self.publish(Kind::Document(a))).await
            }
            (412, Kind::Remove) => {
                self.etag = None;
                Outcome::Done(Some(PublishState::Published(Availability::Offline)), None)
            }
            // §6: our lifetime is too short for the server; ask for what it wants.
            (423, _) => match resp
                .header_value("Min-Expires")
                .and_then(|v| v.trim().parse::<u32>().ok())
            {
                Some(min) if min > self.expires => {
                    self.expires = min;
                    Box::pin(self.publish(kind)).await
                }
                _ => Outcome::Failed(format!(
                    "The server refused your status ({}).",
                    resp.status_code
                )),
            },
            (489 | 405 | 501, _) => Outcome::Refused(format!(
                "The server does not accept your status ({}).",
                resp.status_code
            )),
            (401 | 403 | 407, _) => {
                Outcome::Failed("The server rejected the password when sending your status.".into())
            }
            _ => Outcome::Failed(format!(
                "The server refused your status ({}).",
                resp.status_code
            )),
        }
    }

    async fn send(&mut self, kind: Kind) -> Result<Response, out_of_dialog::RequestError> {
        let expires = if kind == Kind::Remove {
            0
        } else {
            self.expires
        };
        let mut headers = vec![
            Header::Other("Event".into(), "presence".into()),
            Header::Expires(expires.into()),
        ];
        if let Some(etag) = &self.etag {
            headers.push(Header::Other("SIP-If-Match".into(), etag.clone()));
        }
        let body = match kind {
            Kind::Document(a) => {
                headers.push(Header::ContentType("application/pidf+xml".into()));
                pidf::render(&self.entity, a, None).into_bytes()
            }
            Kind::Remove => Vec::new(),
        };
        let request = OutOfDialog {
            method: Method::Publish,
            target: self.target.clone(),
            headers,
            body,
            call_id: None,
            contact: None,
        };
        let resp = out_of_dialog::send(
            &self.endpoint,
            &self.account,
            self.next_hop.clone(),
            &mut self.digest,
            &request,
        )
        .await?
        .response;
        if resp.status_code.kind() != StatusCodeKind::Successful {
            info!(status = %resp.status_code, ?kind, "PUBLISH answered");
        }
        Ok(resp)
    }
}

enum Outcome {
    /// Accepted; the state to report, and the lifetime granted (None: nothing to refresh).
    Done(Option<PublishState>, Option<u32>),
    Refused(String),
    Failed(String),
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
