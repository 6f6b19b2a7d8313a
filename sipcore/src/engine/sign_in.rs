//! Signing in: the account, the first hop its requests take, its registration, the keepalive
//! towards its server and our presence publication. They live in one [`SignIn`], so they start
//! together and end together: there is no account without its registration, and no
//! publication or registration left over from an account signed out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::{Core, Msg, with_default_port};
use crate::account::{Account, Transport};
use crate::error::RegistrationError;
use crate::event::{Event, RegistrationState};
use crate::publish::Publisher;
use crate::registration::{Registrar, RegistrarError};
use crate::tls::{TlsError, TlsSetup};
use crate::wire::digest::Credentials;
use crate::wire::next_hop::{NextHop, NextHopError};

/// Who we are signed in as, with everything that lasts exactly as long.
#[derive(Default)]
pub(super) enum SignIn {
    #[default]
    Out,
    In(Box<SignedIn>),
}

pub(super) struct SignedIn {
    pub account: Account,
    /// Where the account's requests go first, resolved at sign-in.
    pub next_hop: NextHop,
    /// Ends the registration, its keepalive and the address watch.
    registration: CancellationToken,
    /// Set to end the registration without an un-REGISTER (moving to a new address: the old
    /// one is gone, and its un-REGISTER could remove the new binding).
    quiet: Arc<AtomicBool>,
    /// Whether the last registration outcome was a success: subscriptions start afresh when it
    /// becomes one again.
    registered: bool,
    /// Our presence publication, once the app set a presence.
    publisher: Option<Publisher>,
}

impl SignIn {
    pub fn account(&self) -> Option<&Account> {
        match self {
            SignIn::In(s) => Some(&s.account),
            SignIn::Out => None,
        }
    }

    pub fn set_call_options(&mut self, srtp: crate::sdes::SrtpPolicy, stun_server: Option<String>) {
        if let SignIn::In(s) = self {
            s.account.srtp = srtp;
            s.account.stun_server = stun_server;
        }
    }

    /// Where requests go first: the outbound proxy, if the account has one.
    pub fn destination(&self) -> Option<rsipstack::transport::SipAddr> {
        match self {
            SignIn::In(s) => s.next_hop.destination(),
            SignIn::Out => None,
        }
    }

    /// Ends the registration (with an un-REGISTER unless it was made quiet) and removes the
    /// publication within `publication_grace`; returns the token, cancelled.
    fn end(self, publication_grace: Duration) -> Option<CancellationToken> {
        let SignIn::In(s) = self else {
            return None;
        };
        s.registration.cancel();
        if let Some(p) = s.publisher {
            tokio::spawn(p.finish(publication_grace));
        }
        Some(s.registration)
    }
}

impl Core {
    /// A sign-in that cannot be tried at all (a bad address, proxy or certificate setting):
    /// said once, and not retried until the user signs in again.
    fn sign_in_failed(&self, reason: RegistrationError) {
        self.events
            .emit(Event::Registration(RegistrationState::Failed {
                reason,
                retrying: false,
            }));
    }

    /// Signs in as `account`, replacing whoever was signed in.
    pub(super) fn register(&mut self, account: Account) {
        std::mem::take(&mut self.sign_in).end(Duration::from_secs(3));
        let server = match rsipstack::sip::Uri::try_from(account.server_uri().as_str()) {
            Ok(u) => u,
            Err(e) => {
                return self.sign_in_failed(RegistrationError::BadServer {
                    server: account.server.clone(),
                    reason: e.to_string(),
                });
            }
        };
        let next_hop = match NextHop::for_account(&account) {
            Ok(hop) => hop,
            Err(NextHopError::ProxyNotFound(proxy)) => {
                return self.sign_in_failed(RegistrationError::ProxyNotFound(proxy));
            }
        };
        let tls = match self.tls_setup(&account, &next_hop) {
            Ok(t) => t,
            Err(e) => return self.sign_in_failed(RegistrationError::Tls(e)),
        };
        let registrar = match Registrar::new(
            self.endpoint.inner.clone(),
            &account,
            server.clone(),
            &next_hop,
        ) {
            Ok(r) => r,
            Err(RegistrarError::BadAddress { aor, reason }) => {
                return self.sign_in_failed(RegistrationError::BadAddress { aor, reason });
            }
        };
        let token = CancellationToken::new();
        let quiet = Arc::new(AtomicBool::new(false));
        self.events
            .emit(Event::Registration(RegistrationState::Registering));
        self.watch_address(&account, &next_hop, token.child_token());
        self.keep_alive(&account, next_hop.towards(&server), token.clone());
        // Subscriptions wait for this registration, then start afresh for the new account.
        self.subs.pause();
        let actions = self
            .subs
            .set_mailbox(Some(account.username.clone()), Instant::now());
        self.carry_out(actions);
        self.dialog_auth
            .set_credentials(Some(Credentials::of(&account)));
        self.sign_in = SignIn::In(Box::new(SignedIn {
            account,
            next_hop,
            registration: token.clone(),
            quiet: quiet.clone(),
            registered: false,
            publisher: None,
        }));
        self.restart_publisher();
        let inbox = self.inbox.clone();
        tokio::spawn(async move {
            let report = move |s: RegistrationState| {
                let _ = inbox.send(Msg::Registration(s));
            };
            if let Some(tls) = tls {
                let trusted = tls
                    .check_until_ok(&token, |e| {
                        report(RegistrationState::Failed {
                            reason: RegistrationError::Tls(e.clone()),
                            retrying: e.is_transient(),
                        })
                    })
                    .await;
                if !trusted {
                    if token.is_cancelled() && !quiet.load(Ordering::SeqCst) {
                        report(RegistrationState::Unregistered);
                    }
                    return;
                }
            }
            registrar.run(token, quiet, report).await;
        });
    }

    /// Over UDP and TCP, a CRLF keepalive towards the server every [`super::EngineConfig::keepalive`]
    /// until `token` is cancelled.
    fn keep_alive(
        &self,
        account: &Account,
        hop: Option<rsipstack::transport::SipAddr>,
        token: CancellationToken,
    ) {
        if !matches!(account.transport, Transport::Udp | Transport::Tcp) {
            return;
        }
        let udp = self.udp.clone();
        let endpoint = self.endpoint.inner.clone();
        let tcp = account.transport == Transport::Tcp;
        let every = self.config.keepalive;
        tokio::spawn(async move {
            let Some(target) = resolved(hop).await else {
                return;
            };
            loop {
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                // RFC 5626 §4.4.1: a double CRLF. Over TCP it also keeps the connection the
                // server sends our calls on from being closed as idle (by NATs, and by
                // rsipstack itself after 5 minutes without a byte).
                let sent = if tcp {
                    send_stream_keepalive(&endpoint.transport_layer, &target).await
                } else {
                    udp.send_raw(b"\r\n\r\n", &target)
                        .await
                        .map_err(|e| e.to_string())
                };
                if let Err(e) = sent {
                    debug!("keepalive not sent: {e}");
                }
            }
        });
    }

    /// For a TLS account: its trust, handed to the transport layer for the connections the
    /// stack makes; `None` for other transports.
    fn tls_setup(
        &self,
        account: &Account,
        next_hop: &NextHop,
    ) -> Result<Option<TlsSetup>, TlsError> {
        if account.transport != Transport::Tls {
            return Ok(None);
        }
        let setup = TlsSetup::new(
            &account.server,
            next_hop.proxy(),
            account.trusted_ca.as_deref(),
        )?;
        self.endpoint
            .inner
            .transport_layer
            .set_tls_config(setup.stack_config());
        Ok(Some(setup))
    }

    pub(super) fn unregister(&mut self) {
        std::mem::take(&mut self.sign_in).end(Duration::from_secs(3));
        self.subs.pause();
        let now = Instant::now();
        let mut actions = self.subs.watch(Vec::new(), now);
        actions.extend(self.subs.set_mailbox(None, now));
        self.carry_out(actions);
        self.dialog_auth.set_credentials(None);
    }

    /// Moving to a new address: the registration starts again from there, and the old one ends
    /// without an un-REGISTER.
    pub(super) fn register_again_quietly(&mut self) {
        let SignIn::In(s) = &self.sign_in else {
            return;
        };
        s.quiet.store(true, Ordering::SeqCst);
        let account = s.account.clone();
        self.register(account);
    }

    /// At shutdown: the publication removed and the un-REGISTER sent, waiting briefly for both.
    pub(super) async fn sign_out_before_exit(&mut self) {
        let SignIn::In(mut s) = std::mem::take(&mut self.sign_in) else {
            return;
        };
        if let Some(p) = s.publisher.take() {
            p.finish(Duration::from_secs(2)).await;
        }
        SignIn::In(s).end(Duration::ZERO);
        // Give the un-REGISTER a moment to leave.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    pub(super) fn set_presence(&mut self, availability: crate::Availability) {
        self.presence = Some(availability);
        if let SignIn::In(s) = &self.sign_in
            && let Some(p) = &s.publisher
        {
            return p.set(availability);
        }
        self.restart_publisher();
    }

    /// A publication belongs to one account: the old one is removed, and the presence the app
    /// asked for is published for the account now signed in.
    fn restart_publisher(&mut self) {
        let SignIn::In(s) = &mut self.sign_in else {
            return;
        };
        if let Some(old) = s.publisher.take() {
            tokio::spawn(old.finish(Duration::from_secs(3)));
        }
        let Some(presence) = self.presence else {
            return;
        };
        let events = self.events.clone();
        let publisher = Publisher::start(
            self.endpoint.inner.clone(),
            s.account.clone(),
            s.next_hop.destination(),
            self.config.publish_expires,
            move |state| events.emit(Event::OwnPresence(state)),
        );
        publisher.set(presence);
        s.publisher = Some(publisher);
    }

    /// Subscriptions follow the registration: paused while it is lost, started afresh when it
    /// is back (the server may have restarted and forgotten them).
    pub(super) fn registration_changed(&mut self, state: &RegistrationState) {
        let registered = match &mut self.sign_in {
            SignIn::In(s) => &mut s.registered,
            SignIn::Out => {
                self.subs.pause();
                return;
            }
        };
        match state {
            RegistrationState::Registered { .. } if !*registered => {
                *registered = true;
                let actions = self.subs.registered(Instant::now());
                self.carry_out(actions);
            }
            RegistrationState::Failed { .. } | RegistrationState::Unregistered => {
                *registered = false;
                self.subs.pause();
            }
            RegistrationState::Registered { .. } | RegistrationState::Registering => {}
        }
    }
}

/// `hop` with its host resolved (the server's name, 5060 when it gives no port), for the
/// keepalive's raw sends.
pub(super) async fn resolved(
    hop: Option<rsipstack::transport::SipAddr>,
) -> Option<rsipstack::transport::SipAddr> {
    let hop = hop?;
    let addr = match SocketAddr::try_from(hop.addr.clone()) {
        Ok(a) => a,
        Err(_) => tokio::net::lookup_host(with_default_port(&hop.addr.to_string()))
            .await
            .ok()?
            .next()?,
    };
    let mut target = rsipstack::transport::SipAddr::from(addr);
    target.r#type = hop.r#type;
    Some(target)
}

/// Sends a CRLF keepalive on the stream connection to `target` (opening it if it closed).
pub(super) async fn send_stream_keepalive(
    transports: &rsipstack::transport::TransportLayer,
    target: &rsipstack::transport::SipAddr,
) -> Result<(), String> {
    use rsipstack::transport::SipConnection;
    use rsipstack::transport::stream::StreamConnection;
    match transports.lookup(target, None).await {
        Ok((SipConnection::Tcp(c), _)) => c.send_raw(b"\r\n\r\n").await.map_err(|e| e.to_string()),
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}
