//! Staying registered: REGISTER at sign-in, refreshed at 75 % of the granted expiry, backing
//! off after failures, and un-REGISTER at sign-out, with our own digest handling
//! ([`crate::wire::digest`]).
//!
//! rsipstack's `Registration` still builds each REGISTER (Via, Call-ID, CSeq, the Contact's
//! public address from `received`/`rport`, outbound proxy, granted expiry), but it is given no
//! credential, so every 401/407 comes back to us: its own digest code cannot answer SHA-256 and
//! never reuses a nonce (see `digest.rs`). Without a credential it would leave the user out of
//! From, To and Contact, so we set those ourselves.
//!
//! Guarantees: a refresh reuses the last nonce with a higher nc, so a healthy registration costs
//! one round trip; a stale or forgotten nonce is answered again without the user hearing of it;
//! only a fresh challenge refused again reports "The server rejected the password".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rsipstack::dialog::registration::{Registration, backoff_interval, refresh_interval};
use rsipstack::sip::{Header, Response, StatusCode, StatusCodeKind};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transaction::make_tag;
use rsipstack::transport::SipAddr;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::account::Account;
use crate::error::RegistrationError;
use crate::event::RegistrationState;
use crate::wire::digest::{self, Credentials, DigestSession};
use crate::wire::next_hop::NextHop;

/// One account's registration with its server.
pub struct Registrar {
    reg: Registration,
    server: rsipstack::sip::Uri,
    /// The Request-URI as it goes on the wire: the digest `uri` must be exactly this.
    server_text: String,
    user: String,
    host: String,
    expires: u32,
    credentials: Credentials,
    digest: DigestSession,
    from: Header,
    to: Header,
    /// Where the REGISTER physically goes (the outbound proxy, else the server).
    next_hop: Option<SipAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrarError {
    #[error("“{aor}” is not an address ({reason}).")]
    BadAddress { aor: String, reason: String },
}

/// Why a REGISTER did not succeed.
#[derive(Debug)]
enum Failure {
    /// The server answered with a final non-2xx (after any digest retries).
    Refused(Response),
    /// The server's challenge is one we cannot answer.
    Digest(digest::DigestError),
    /// No answer or no route (transport, timeout).
    Stack(rsipstack::Error),
}

impl Registrar {
    pub fn new(
        endpoint: EndpointInnerRef,
        account: &Account,
        server: rsipstack::sip::Uri,
        next_hop: &NextHop,
    ) -> Result<Self, RegistrarError> {
        let aor = account.aor();
        rsipstack::sip::Uri::try_from(aor.as_str()).map_err(|e| RegistrarError::BadAddress {
            aor: aor.clone(),
            reason: e.to_string(),
        })?;
        let display = account
            .display_name
            .as_deref()
            .map(|n| format!("\"{}\" ", n.replace('"', "")))
            .unwrap_or_default();
        let mut reg = Registration::new(endpoint, None);
        // rsipstack sends to the proxy over the server URI's transport, the account's.
        reg.outbound_proxy = next_hop.proxy();
        let next_hop = next_hop.towards(&server);
        Ok(Self {
            reg,
            server_text: server.to_string(),
            server,
            user: account.username.clone(),
            host: account.server.clone(),
            expires: account.expires,
            credentials: Credentials::of(account),
            digest: DigestSession::new(),
            // One From tag for the registration's life, like its Call-ID (RFC 3261 §10.2).
            from: Header::From(format!("{display}<{aor}>;tag={}", make_tag()).into()),
            to: Header::To(format!("{display}<{aor}>").into()),
            next_hop,
        })
    }

    /// Registers and keeps the registration fresh until `token` is cancelled, then
    /// un-registers, unless `quiet` is set by then (the engine registers again from another
    /// address and the binding must stay). Every outcome goes to `report`.
    pub async fn run(
        mut self,
        token: CancellationToken,
        quiet: Arc<AtomicBool>,
        mut report: impl FnMut(RegistrationState),
    ) {
        let mut failures: u32 = 0;
        loop {
            let wait = match self.register(self.expires).await {
                Ok((granted, other_devices)) => {
                    failures = 0;
                    report(RegistrationState::Registered {
                        expires_secs: granted,
                        other_devices,
                    });
                    refresh_interval(granted.max(1))
                }
                Err(f) => {
                    failures += 1;
                    report(self.failed(f));
                    backoff_interval(failures - 1)
                }
            };
            tokio::select! {
                _ = token.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        if quiet.load(Ordering::SeqCst) {
            return;
        }
        // Signed out: un-REGISTER, so the server stops sending calls to a phone that is gone.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), self.register(0)).await;
        report(RegistrationState::Unregistered);
    }

    /// One REGISTER (with `expires` 0 to remove the binding), answering challenges. Returns the
    /// expiry the server granted, and how many other devices are registered on the line.
    async fn register(&mut self, expires: u32) -> Result<(u32, usize), Failure> {
        let mut auth = self
            .digest
            .preemptive(&self.credentials, "REGISTER", &self.server_text);
        let mut retries = 0;
        loop {
            self.prepare(auth.as_ref()).await;
            let sent_nc = auth.as_ref().map(|a| a.nc);
            let resp = self
                .reg
                .register(self.server.clone(), Some(expires))
                .await
                .map_err(Failure::Stack)?;
            match resp.status_code {
                StatusCode::Unauthorized | StatusCode::ProxyAuthenticationRequired => {
                    let retry = self
                        .digest
                        .retry_after(
                            &resp,
                            &self.credentials,
                            ("REGISTER", &self.server_text),
                            sent_nc,
                            retries,
                        )
                        .map_err(Failure::Digest)?;
                    let Some(retry) = retry else {
                        return Err(Failure::Refused(resp));
                    };
                    retries += 1;
                    auth = Some(retry);
                }
                _ if resp.status_code.kind() == StatusCodeKind::Successful => {
                    if expires > 0 {
                        info!(nc = sent_nc, "registered");
                    }
                    let granted = self
                        .reg
                        .granted_expires
                        .filter(|g| *g > 0)
                        .unwrap_or(expires);
                    // The 200 lists every binding of the address of record, ours among them.
                    let bindings = crate::bindings::count(
                        resp.headers
                            .iter()
                            .filter(|h| {
                                h.name().eq_ignore_ascii_case("Contact")
                                    || h.name().eq_ignore_ascii_case("m")
                            })
                            .map(|h| h.value()),
                    );
                    return Ok((granted, bindings.saturating_sub(1)));
                }
                _ => return Err(Failure::Refused(resp)),
            }
        }
    }

    /// Sets the headers rsipstack cannot fill without a credential, and the credentials.
    async fn prepare(&mut self, auth: Option<&digest::Authorization>) {
        let mut extra = vec![self.from.clone(), self.to.clone()];
        if let Some(a) = auth {
            extra.push(a.header());
        }
        self.reg.extra_headers = extra;
        // The Contact rsipstack would build: the address the server saw us from (once a reply
        // told us), else the local address of the connection the REGISTER leaves on.
        let host = match self.reg.discovered_public_address() {
            Some(h) => Some(h),
            None => match &self.next_hop {
                Some(hop) => self
                    .reg
                    .endpoint
                    .transport_layer
                    .lookup(hop, None)
                    .await
                    .ok()
                    .map(|(conn, _)| conn.get_addr().clone().into()),
                None => None,
            },
        };
        self.reg.contact = host.map(|host_with_port| rsipstack::sip::typed::Contact {
            display_name: None,
            uri: rsipstack::sip::Uri {
                scheme: Some(rsipstack::sip::Scheme::Sip),
                auth: Some(rsipstack::sip::Auth {
                    user: self.user.clone(),
                    password: None,
                }),
                host_with_port,
                params: vec![],
                headers: vec![],
            },
            params: vec![],
        });
    }

    fn failed(&self, failure: Failure) -> RegistrationState {
        let (user, server) = (&self.user, &self.host);
        let (user, server) = (user.clone(), server.clone());
        let reason = match failure {
            Failure::Refused(resp) => match resp.status_code.code() {
                401 | 403 | 407 => RegistrationError::WrongPassword { user },
                404 => RegistrationError::UnknownUser { user },
                // rsipstack reports its own transaction timeout as a 408 (see NoAnswer).
                408 => RegistrationError::NoAnswer { server },
                503 => RegistrationError::Unavailable { server },
                _ => RegistrationError::Refused {
                    user,
                    status: resp.status_code.to_string(),
                },
            },
            Failure::Digest(e) => {
                warn!("cannot answer the registrar's challenge: {e}");
                RegistrationError::Challenge {
                    server,
                    reason: e.to_string(),
                }
            }
            Failure::Stack(e) => RegistrationError::Unreachable {
                server,
                reason: e.to_string(),
            },
        };
        RegistrationState::Failed {
            reason,
            retrying: true,
        }
    }
}
