//! The SIP engine: one tokio runtime on its own thread, owning the rsipstack endpoint and every
//! piece of SIP state. The app talks to it only through [`Handle::send`] and the event channel;
//! nothing here ever blocks the caller.
//!
//! Inside, one actor ([`Core`]) owns the state and handles messages one at a time: commands
//! from the app, dialog state changes from rsipstack, incoming requests, and the results of
//! the slow operations (INVITE, re-INVITE, REGISTER, SUBSCRIBE) that it runs as separate tasks.
//! Subscriptions (busy lamp, presence, message waiting) are decided by
//! [`crate::subscription::Subscriptions`]; this actor only carries out what it says.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Instant;

use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{DialogState, DialogStateSender, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::sip::{Header, HeadersExt, Method, StatusCode, StatusCodeKind};
use rsipstack::transaction::endpoint::EndpointOption;
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::TransportLayer;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::{EndpointBuilder, transaction::endpoint::Endpoint};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::account::Account;
use crate::call::{Call, Role};
use crate::command::Command;
use crate::event::{CallId, CallState, EndReason, Event, Hold, RegistrationState};
use crate::media_control::{MediaControl, RtpSockets, StreamParams, StreamUpdate};
use crate::message;
use crate::party;
use crate::publish::Publisher;
use crate::registration::Registrar;
use crate::sdp::{self, Direction};
use crate::subscribe;
use crate::subscription::{Answer, Pacing, Subscriptions};
use crate::wire::dialog_auth::DialogAuth;
use crate::wire::digest::Credentials;
use crate::wire::next_hop::{NextHop, with_default_port};

mod subscriptions;
use crate::session_timer::{self, Timers};

mod rebind;
mod session_refresh;

/// Called after every event is queued, so a window can wake up and repaint.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The local address for SIP and RTP. Use [`local_ip_towards`] to pick the interface that
    /// reaches the server.
    pub bind_ip: IpAddr,
    /// 0 picks a free port.
    pub sip_port: u16,
    pub user_agent: String,
    /// How often to send a CRLF keepalive to the server over UDP while registered, so that a
    /// NAT in between keeps our mapping open (RFC 5626 §4.4.1 uses CRLF on streams; over UDP
    /// it is what phones commonly send). Typical NATs forget UDP after 30 s or more.
    pub keepalive: std::time::Duration,
    /// How fast subscriptions go out and how long each is asked to last.
    pub subscriptions: Pacing,
    /// Session timers (RFC 4028) we ask for and accept.
    pub session_timers: session_timer::SessionTimerConfig,
    /// How often to check, while registered, that `bind_ip` still reaches the server; when it
    /// does not, the engine moves to the address that does and registers again from there
    /// ([`crate::network_watch`]). Zero turns the check off.
    pub address_check: std::time::Duration,
    /// Lifetime asked for our presence publication; it is refreshed at 75 % of what the server
    /// grants.
    pub publish_expires: std::time::Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            bind_ip: IpAddr::from([127, 0, 0, 1]),
            sip_port: 0,
            user_agent: format!("Switchboard/{}", env!("CARGO_PKG_VERSION")),
            keepalive: std::time::Duration::from_secs(25),
            subscriptions: Pacing::default(),
            session_timers: session_timer::SessionTimerConfig::default(),
            address_check: std::time::Duration::from_secs(5),
            publish_expires: std::time::Duration::from_secs(600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not start the SIP engine's runtime: {0}")]
    Runtime(std::io::Error),
    #[error("could not open a SIP port on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
}

/// The local address whose route reaches `server` (`host:port`); no packet is sent.
pub fn local_ip_towards(server: SocketAddr) -> std::io::Result<IpAddr> {
    let probe = UdpSocket::bind(SocketAddr::new(
        if server.is_ipv4() {
            IpAddr::from([0, 0, 0, 0])
        } else {
            IpAddr::from([0u16; 8])
        },
        0,
    ))?;
    probe.connect(server)?;
    Ok(probe.local_addr()?.ip())
}

/// The app's side of a running engine.
#[derive(Clone)]
pub struct Handle {
    inbox: mpsc::UnboundedSender<Msg>,
    /// The SIP address the engine listens on.
    pub local_addr: SocketAddr,
    /// Signalled when the engine thread has finished (calls hung up, un-REGISTER sent).
    done: Arc<std::sync::Mutex<std_mpsc::Receiver<()>>>,
}

impl Handle {
    /// Shuts the engine down and waits up to `timeout` for it to finish: calls are hung up
    /// and the registration removed, so the PBX stops ringing a phone that is gone. For quitting
    /// the app, where the process would otherwise end before those leave.
    pub fn shutdown_and_wait(&self, timeout: std::time::Duration) -> bool {
        if !self.send(Command::Shutdown) {
            return true;
        }
        match self.done.lock() {
            Ok(done) => !matches!(
                done.recv_timeout(timeout),
                Err(std_mpsc::RecvTimeoutError::Timeout)
            ),
            Err(_) => false,
        }
    }

    /// Queues a command; returns false when the engine has stopped.
    pub fn send(&self, command: Command) -> bool {
        self.inbox.send(Msg::Command(command)).is_ok()
    }
}

/// Starts the engine. Events arrive on the returned receiver; `waker` runs after each one.
pub fn start(
    config: EngineConfig,
    media: Arc<dyn MediaControl>,
    waker: Option<Waker>,
) -> Result<(Handle, std_mpsc::Receiver<Event>), StartError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sipcore")
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    let (events_tx, events_rx) = std_mpsc::channel();
    let sink = EventSink {
        tx: events_tx,
        waker,
    };
    let (inbox_tx, inbox_rx) = mpsc::unbounded_channel();
    let bind = SocketAddr::new(config.bind_ip, config.sip_port);
    let (ready_tx, ready_rx) = std_mpsc::channel();
    let (done_tx, done_rx) = std_mpsc::channel();
    let inbox_for_core = inbox_tx.clone();
    std::thread::Builder::new()
        .name("sipcore".into())
        .spawn(move || {
            // Dropped last, when this thread ends: tells `shutdown_and_wait` it is over.
            let _done = done_tx;
            runtime.block_on(async move {
                let setup = Core::new(config, media, sink, inbox_for_core).await;
                match setup {
                    Ok((core, local)) => {
                        let _ = ready_tx.send(Ok(local));
                        core.run(inbox_rx).await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
            // Dropping the runtime here ends every task the engine spawned.
        })
        .map_err(StartError::Runtime)?;
    let local_addr = ready_rx.recv().map_err(|_| StartError::Bind {
        addr: bind,
        reason: "the engine thread stopped".into(),
    })??;
    Ok((
        Handle {
            inbox: inbox_tx,
            local_addr,
            done: Arc::new(std::sync::Mutex::new(done_rx)),
        },
        events_rx,
    ))
}

/// Starts the engine with `on_event` called for every event, in order.
pub fn start_with(
    config: EngineConfig,
    media: Arc<dyn MediaControl>,
    on_event: impl Fn(Event) + Send + Sync + 'static,
) -> Result<Handle, StartError> {
    let (handle, events) = start(config, media, None)?;
    std::thread::spawn(move || events.into_iter().for_each(on_event));
    Ok(handle)
}

#[derive(Clone)]
struct EventSink {
    tx: std_mpsc::Sender<Event>,
    waker: Option<Waker>,
}

impl EventSink {
    fn emit(&self, event: Event) {
        debug!(?event, "event");
        if self.tx.send(event).is_ok()
            && let Some(w) = &self.waker
        {
            w();
        }
    }
}

/// Everything the core actor reacts to.
enum Msg {
    Command(Command),
    Dialog(DialogState),
    Incoming(Box<Transaction>),
    /// The outgoing INVITE's final outcome.
    InviteDone {
        call: CallId,
        result: Result<Option<rsipstack::sip::Response>, String>,
    },
    /// A re-INVITE we sent (hold/resume) was answered.
    ReinviteDone {
        call: CallId,
        hold: bool,
        result: Result<Option<rsipstack::sip::Response>, String>,
    },
    Registration(RegistrationState),
    MessageDone {
        id: u64,
        result: Result<(), String>,
    },
    /// A first SUBSCRIBE ended.
    Subscribed {
        call_id: String,
        outcome: subscribe::Outcome,
    },
    /// A refresh or unsubscribe in a subscription's dialog was answered.
    Resubscribed {
        dialog: rsipstack::dialog::DialogId,
        answer: Answer,
    },
    /// A subscription deadline (refresh, retry, pacing) has come.
    SubscriptionTimer,
    SessionTimer(session_timer::Fired),
    /// The local address no longer reaches the server; this one does.
    AddressChanged(IpAddr),
    /// A SIP socket on the new address is open (with the token that closes it).
    Rebound(Result<(UdpConnection, CancellationToken), String>),
    /// A session refresh we sent was answered (`by_update`: an UPDATE, else a re-INVITE).
    RefreshDone {
        call: CallId,
        by_update: bool,
        result: Result<Option<rsipstack::sip::Response>, String>,
    },
}

struct Core {
    config: EngineConfig,
    media: Arc<dyn MediaControl>,
    events: EventSink,
    inbox: mpsc::UnboundedSender<Msg>,
    endpoint: Endpoint,
    dialogs: Arc<DialogLayer>,
    state_tx: DialogStateSender,
    account: Option<Account>,
    registration: Option<CancellationToken>,
    /// Set to end the current registration without an un-REGISTER (moving to a new address:
    /// the old one is gone, and its un-REGISTER could remove the new binding).
    registration_quiet: Arc<std::sync::atomic::AtomicBool>,
    calls: HashMap<CallId, Call>,
    /// The calls mixed together in our 3-way conference (the media engine mixes one group).
    merged: Vec<CallId>,
    /// Call-ID header value → our call, for dialog events whose tags change on the way.
    by_call_id: HashMap<String, CallId>,
    next_incoming: u64,
    /// One queue per dialog for the requests the far end sends in it. rsipstack answers 500 to
    /// a request whose CSeq is below the last one it saw, so two NOTIFYs sent back to back must
    /// reach it in order, not raced on separate tasks.
    in_dialog: HashMap<rsipstack::dialog::DialogId, mpsc::UnboundedSender<Transaction>>,
    /// Our UDP socket, for keepalives outside any transaction.
    udp: UdpConnection,
    /// Closes `udp` when the engine moves to another address.
    udp_token: CancellationToken,
    /// Where the account's requests go first, resolved at sign-in.
    next_hop: NextHop,
    /// Answers the challenges to requests rsipstack's dialogs send, for the dialogs tracked.
    dialog_auth: DialogAuth,
    /// Whether the last registration outcome was a success: subscriptions start afresh when it
    /// becomes one again.
    registered: bool,
    subs: Subscriptions,
    /// NOTIFYs that came before their SUBSCRIBE's 2xx made the dialog, by Call-ID.
    early_notifies: HashMap<String, Vec<Transaction>>,
    /// The subscription deadline a timer task is already sleeping towards.
    sub_timer: Option<Instant>,
    session_timers: Timers,
    shutting_down: bool,
    /// Our presence publication, while signed in and once the app set a presence.
    publisher: Option<Publisher>,
    /// The presence the app last asked for, republished after a change of account.
    presence: Option<crate::Availability>,
}

impl Core {
    async fn new(
        config: EngineConfig,
        media: Arc<dyn MediaControl>,
        events: EventSink,
        inbox: mpsc::UnboundedSender<Msg>,
    ) -> Result<(Self, SocketAddr), StartError> {
        let bind = SocketAddr::new(config.bind_ip, config.sip_port);
        crate::tls::install_crypto_provider();
        let token = CancellationToken::new();
        let transport = TransportLayer::new(token.clone());
        let udp_token = token.child_token();
        let udp = UdpConnection::create_connection(bind, None, Some(udp_token.clone()))
            .await
            .map_err(|e| StartError::Bind {
                addr: bind,
                reason: e.to_string(),
            })?;
        transport.add_transport(udp.clone().into());
        let dialog_auth = DialogAuth::new();
        let endpoint = EndpointBuilder::new()
            .with_user_agent(&config.user_agent)
            .with_inspector(dialog_auth.inspector())
            .with_transport_layer(transport)
            .with_cancel_token(token)
            .with_option(EndpointOption {
                // The default suffix names the library's vendor (RSIPSTACK-NOTES.md).
                callid_suffix: Some("switchboard".into()),
                ..EndpointOption::default()
            })
            .build();
        let local = endpoint
            .get_addrs()
            .first()
            .and_then(|a| SocketAddr::try_from(a.addr.clone()).ok())
            .ok_or_else(|| StartError::Bind {
                addr: bind,
                reason: "no local address".into(),
            })?;
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let (state_tx, mut state_rx) = dialogs.new_dialog_state_channel();

        let serve = endpoint.inner.clone();
        tokio::spawn(async move {
            if let Err(e) = serve.serve().await {
                warn!("SIP endpoint stopped: {e}");
            }
        });
        let mut incoming = endpoint
            .incoming_transactions()
            .map_err(|e| StartError::Bind {
                addr: bind,
                reason: e.to_string(),
            })?;
        let to_core = inbox.clone();
        tokio::spawn(async move {
            while let Some(tx) = incoming.recv().await {
                if to_core.send(Msg::Incoming(Box::new(tx))).is_err() {
                    break;
                }
            }
        });
        let to_core = inbox.clone();
        tokio::spawn(async move {
            while let Some(state) = state_rx.recv().await {
                if to_core.send(Msg::Dialog(state)).is_err() {
                    break;
                }
            }
        });
        let to_core = inbox.clone();
        let session_timers = Timers::new(move |fired| {
            let _ = to_core.send(Msg::SessionTimer(fired));
        });
        info!(%local, "SIP engine listening");
        let subs = Subscriptions::new(config.subscriptions.clone(), Instant::now());
        Ok((
            Self {
                config,
                media,
                events,
                inbox,
                endpoint,
                dialogs,
                state_tx,
                account: None,
                registration: None,
                registration_quiet: Arc::default(),
                calls: HashMap::new(),
                merged: Vec::new(),
                by_call_id: HashMap::new(),
                next_incoming: 1 << 40,
                in_dialog: HashMap::new(),
                udp,
                udp_token,
                next_hop: NextHop::default(),
                dialog_auth,
                registered: false,
                subs,
                early_notifies: HashMap::new(),
                sub_timer: None,
                session_timers,
                shutting_down: false,
                publisher: None,
                presence: None,
            },
            local,
        ))
    }

    async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Msg>) {
        while let Some(msg) = inbox.recv().await {
            match msg {
                Msg::Command(Command::Shutdown) => {
                    self.shutdown().await;
                    break;
                }
                Msg::Command(c) => self.command(c),
                Msg::Dialog(state) => self.dialog_state(state),
                Msg::Incoming(tx) => self.incoming(*tx),
                Msg::InviteDone { call, result } => self.invite_done(call, result),
                Msg::ReinviteDone { call, hold, result } => self.reinvite_done(call, hold, result),
                Msg::Registration(state) => {
                    if !self.shutting_down {
                        self.registration_changed(&state);
                        self.events.emit(Event::Registration(state));
                    }
                }
                Msg::MessageDone { id, result } => {
                    self.events.emit(Event::MessageResult { id, result });
                }
                Msg::Subscribed { call_id, outcome } => self.subscribed(call_id, outcome),
                Msg::Resubscribed { dialog, answer } => {
                    let actions = self.subs.refreshed(&dialog, answer, Instant::now());
                    self.carry_out(actions);
                }
                Msg::SubscriptionTimer => {
                    self.sub_timer = None;
                    let actions = self.subs.tick(Instant::now());
                    self.carry_out(actions);
                }
                Msg::SessionTimer(fired) => self.session_timer_due(fired),
                Msg::RefreshDone {
                    call,
                    by_update,
                    result,
                } => self.refresh_done(call, by_update, result),
                Msg::AddressChanged(ip) => self.address_changed(ip),
                Msg::Rebound(result) => self.rebound(result),
            }
        }
        self.endpoint.shutdown();
    }

    fn emit_state(&self, call: CallId) {
        if let Some(c) = self.calls.get(&call) {
            self.events.emit(Event::CallState {
                call,
                state: c.state.clone(),
            });
            self.report_to_transferor(c);
        }
    }

    /// RFC 3515 §2.4.5: a call placed on someone's REFER reports its progress to them in
    /// NOTIFYs of `message/sipfrag`, the last one ending the implicit subscription.
    fn report_to_transferor(&self, c: &Call) {
        let Some(old) = c.referred_by.get() else {
            return;
        };
        let (frag, last) = match &c.state {
            CallState::Ringing { .. } => ("SIP/2.0 180 Ringing", false),
            CallState::Active { .. } => ("SIP/2.0 200 OK", true),
            CallState::Ended(reason) => (
                match reason {
                    EndReason::Busy => "SIP/2.0 486 Busy Here",
                    EndReason::Declined => "SIP/2.0 603 Declined",
                    EndReason::NotFound => "SIP/2.0 404 Not Found",
                    EndReason::NoAnswer => "SIP/2.0 408 Request Timeout",
                    _ => "SIP/2.0 487 Request Terminated",
                },
                true,
            ),
            _ => return,
        };
        if last {
            c.referred_by.set(None);
        }
        if let Some(dialog) = self.calls.get(&old).and_then(|o| o.dialog.clone()) {
            tokio::spawn(notify_refer(dialog, frag, last));
        }
    }

    /// What rsipstack's dialogs are given: it re-sends a challenged request only when it holds
    /// a credential, but the answer is always ours ([`crate::wire::dialog_auth`]), so it gets
    /// the user name and never the password.
    fn stack_credential(&self) -> Option<Credential> {
        self.account.as_ref().map(|a| Credential {
            username: a.username.clone(),
            password: String::new(),
            realm: None,
            auth_username: a.auth_username.clone(),
        })
    }

    fn contact(&self) -> Option<rsipstack::sip::Uri> {
        let user = self.account.as_ref().map(|a| a.username.clone());
        self.dialogs.build_local_contact(user, None).ok()
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Register(account) => self.register(account),
            Command::Unregister => self.unregister(),
            Command::Dial { call, target } => self.dial(call, &target),
            Command::AddCall { call, target } => {
                for other in self.talking() {
                    self.set_hold(other, true);
                }
                self.dial(call, &target);
            }
            Command::Answer(call) => {
                self.hold_others(call);
                self.answer(call)
            }
            Command::Reject { call, decline } => self.reject(call, decline),
            Command::HangUp(call) => self.hang_up(call),
            Command::Hold(call) => self.set_hold(call, true),
            Command::Resume(call) => {
                self.hold_others(call);
                self.set_hold(call, false)
            }
            Command::SetMute { call, muted } => self.media.set_mute(call, muted),
            Command::SendDtmf { call, digit } => self.send_dtmf(call, digit),
            Command::Transfer { call, target } => self.transfer(call, &target),
            Command::AttendedTransfer { call, consult } => self.attended_transfer(call, consult),
            Command::Merge(calls) => self.merge(calls),
            Command::Split { keep } => {
                let members = self.merged.clone();
                self.split();
                for m in members {
                    if m != keep {
                        self.set_hold(m, true);
                    }
                }
            }
            Command::SendMessage {
                id,
                target,
                content_type,
                body,
            } => self.send_message(id, &target, content_type, body),
            Command::Watch { extensions } => {
                let actions = self.subs.watch(extensions, Instant::now());
                self.carry_out(actions);
            }
            Command::Unwatch => {
                let actions = self.subs.watch(Vec::new(), Instant::now());
                self.carry_out(actions);
            }
            Command::SetPresence(a) => self.set_presence(a),
            Command::Shutdown => {}
        }
    }

    // ── Registration ────────────────────────────────────────────────────

    /// A sign-in that cannot be tried at all (a bad address, proxy or certificate setting):
    /// said once, and not retried until the user signs in again.
    fn sign_in_failed(&self, reason: String) {
        self.events
            .emit(Event::Registration(RegistrationState::Failed {
                reason,
                retrying: false,
            }));
    }

    fn register(&mut self, account: Account) {
        if let Some(token) = self.registration.take() {
            token.cancel();
        }
        let server = match rsipstack::sip::Uri::try_from(account.server_uri().as_str()) {
            Ok(u) => u,
            Err(e) => {
                return self.sign_in_failed(format!(
                    "“{}” is not a server address ({e}).",
                    account.server
                ));
            }
        };
        self.next_hop = match NextHop::for_account(&account) {
            Ok(hop) => hop,
            Err(e) => {
                self.next_hop = NextHop::default();
                return self.sign_in_failed(e.to_string());
            }
        };
        let tls = match self.tls_setup(&account) {
            Ok(t) => t,
            Err(e) => {
                return self.sign_in_failed(e.to_string());
            }
        };
        let token = CancellationToken::new();
        self.registration = Some(token.clone());
        let quiet = Arc::new(std::sync::atomic::AtomicBool::new(false));
        self.registration_quiet = quiet.clone();
        self.events
            .emit(Event::Registration(RegistrationState::Registering));
        self.watch_address(&account, token.child_token());
        if matches!(
            account.transport,
            crate::Transport::Udp | crate::Transport::Tcp
        ) {
            let udp = self.udp.clone();
            let endpoint = self.endpoint.inner.clone();
            let tcp = account.transport == crate::Transport::Tcp;
            let every = self.config.keepalive;
            let token = token.clone();
            let hop = self.next_hop.towards(&server);
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
        let registrar = match Registrar::new(
            self.endpoint.inner.clone(),
            &account,
            server,
            &self.next_hop,
        ) {
            Ok(r) => r,
            Err(e) => {
                return self.sign_in_failed(e.to_string());
            }
        };
        let inbox = self.inbox.clone();
        // Subscriptions wait for this registration, then start afresh for the new account.
        self.registered = false;
        self.subs.pause();
        let actions = self
            .subs
            .set_mailbox(Some(account.username.clone()), Instant::now());
        self.carry_out(actions);
        self.dialog_auth
            .set_credentials(Some(Credentials::of(&account)));
        self.account = Some(account);
        self.restart_publisher();
        tokio::spawn(async move {
            let report = move |s: RegistrationState| {
                let _ = inbox.send(Msg::Registration(s));
            };
            if let Some(tls) = tls {
                let trusted = tls
                    .check_until_ok(&token, |e| {
                        report(RegistrationState::Failed {
                            reason: e.to_string(),
                            retrying: e.is_transient(),
                        })
                    })
                    .await;
                if !trusted {
                    if token.is_cancelled() && !quiet.load(std::sync::atomic::Ordering::SeqCst) {
                        report(RegistrationState::Unregistered);
                    }
                    return;
                }
            }
            registrar.run(token, quiet, report).await;
        });
    }

    /// For a TLS account: its trust, handed to the transport layer for the connections the
    /// stack makes; `None` for other transports.
    fn tls_setup(
        &self,
        account: &Account,
    ) -> Result<Option<crate::tls::TlsSetup>, crate::tls::TlsError> {
        if account.transport != crate::Transport::Tls {
            return Ok(None);
        }
        let setup = crate::tls::TlsSetup::new(
            &account.server,
            self.next_hop.proxy(),
            account.trusted_ca.as_deref(),
        )?;
        self.endpoint
            .inner
            .transport_layer
            .set_tls_config(setup.stack_config());
        Ok(Some(setup))
    }

    fn unregister(&mut self) {
        if let Some(token) = self.registration.take() {
            token.cancel();
        }
        self.registered = false;
        self.subs.pause();
        let now = Instant::now();
        let mut actions = self.subs.watch(Vec::new(), now);
        actions.extend(self.subs.set_mailbox(None, now));
        self.carry_out(actions);
        self.account = None;
        self.dialog_auth.set_credentials(None);
        if let Some(p) = self.publisher.take() {
            tokio::spawn(p.finish(std::time::Duration::from_secs(3)));
        }
    }

    // ── Our own presence ────────────────────────────────────────────────

    fn set_presence(&mut self, availability: crate::Availability) {
        self.presence = Some(availability);
        match &self.publisher {
            Some(p) => p.set(availability),
            None => self.restart_publisher(),
        }
    }

    /// A publication belongs to one account: the old one is removed, and the presence the app
    /// asked for is published for the account now signed in.
    fn restart_publisher(&mut self) {
        if let Some(old) = self.publisher.take() {
            tokio::spawn(old.finish(std::time::Duration::from_secs(3)));
        }
        let (Some(account), Some(presence)) = (self.account.clone(), self.presence) else {
            return;
        };
        let events = self.events.clone();
        let publisher = Publisher::start(
            self.endpoint.inner.clone(),
            account,
            self.next_hop.destination(),
            self.config.publish_expires,
            move |state| events.emit(Event::OwnPresence(state)),
        );
        publisher.set(presence);
        self.publisher = Some(publisher);
    }

    /// Subscriptions follow the registration: paused while it is lost, started afresh when it
    /// is back (the server may have restarted and forgotten them).
    fn registration_changed(&mut self, state: &RegistrationState) {
        match state {
            RegistrationState::Registered { .. } if !self.registered => {
                self.registered = true;
                let actions = self.subs.registered(Instant::now());
                self.carry_out(actions);
            }
            RegistrationState::Failed { .. } | RegistrationState::Unregistered => {
                self.registered = false;
                self.subs.pause();
            }
            RegistrationState::Registered { .. } | RegistrationState::Registering => {}
        }
    }

    async fn shutdown(&mut self) {
        self.shutting_down = true;
        // End every call and wait (briefly) for the BYEs and CANCELs to leave: once this
        // returns the runtime is dropped, and a call left up would ring on at the PBX.
        let mut goodbyes = Vec::new();
        for (id, call) in &self.calls {
            let Some(d) = call.dialog.clone() else {
                continue;
            };
            match call.state {
                CallState::Active { .. } => {
                    goodbyes.push(tokio::spawn(async move { d.bye().await }))
                }
                CallState::Dialing | CallState::Ringing { .. } => {
                    goodbyes.push(tokio::spawn(async move { d.cancel().await }))
                }
                CallState::Incoming => {
                    let _ = d.reject(Some(StatusCode::TemporarilyUnavailable), None);
                }
                CallState::Ended(_) => {}
            }
            debug!(call = %id, "ended at shutdown");
        }
        goodbyes.extend(self.unsubscribe_all());
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(2), futures_join(goodbyes)).await;
        if let Some(p) = self.publisher.take() {
            p.finish(std::time::Duration::from_secs(2)).await;
        }
        if let Some(token) = self.registration.take() {
            token.cancel();
            // Give the un-REGISTER a moment to leave.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    }

    // ── Outgoing calls ──────────────────────────────────────────────────

    fn dial(&mut self, call: CallId, target: &str) {
        let Some(account) = self.account.clone() else {
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
        let uri = account.target_uri(target);
        let (callee, caller) = match (
            rsipstack::sip::Uri::try_from(uri.as_str()),
            rsipstack::sip::Uri::try_from(account.aor().as_str()),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return self.fail_new_call(call, target, &format!("“{target}” cannot be called.")),
        };
        let mut entry = Call::outgoing(call, party::from_uri(&uri), socket, local_rtp);
        let offer = sdp::render(
            entry.sdp_session,
            entry.next_sdp_version(),
            &sdp::offer(local_rtp, Direction::SendRecv),
        );
        // Tracked before the INVITE leaves, so that its challenge is answered by us.
        let call_id = rsipstack::transaction::make_call_id(
            self.endpoint.inner.option.callid_suffix.as_deref(),
            self.endpoint.inner.option.callid_format,
        )
        .value()
        .to_string();
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
            destination: self.next_hop.destination(),
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
        entry.dialog = Some(dialog);
        self.by_call_id.insert(call_id, call);
        self.calls.insert(call, entry);
        self.emit_state(call);
        let inbox = self.inbox.clone();
        tokio::spawn(async move {
            let result = match handle.await {
                Ok(Ok((_, resp))) => Ok(resp),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let _ = inbox.send(Msg::InviteDone { call, result });
        });
    }

    fn fail_new_call(&mut self, call: CallId, target: &str, why: &str) {
        warn!(%call, target, why, "call not placed");
        self.events.emit(Event::CallState {
            call,
            state: CallState::Ended(EndReason::Failed(why.to_string())),
        });
    }

    fn invite_done(
        &mut self,
        call: CallId,
        result: Result<Option<rsipstack::sip::Response>, String>,
    ) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        if matches!(entry.state, CallState::Ended(_)) {
            return;
        }
        match result {
            Ok(Some(resp))
                if entry.cancelling && resp.status_code.kind() == StatusCodeKind::Successful =>
            {
                // The answer crossed our CANCEL (RFC 3261 §9.1): the call is up, so it ends
                // with a BYE, as the user asked.
                debug!(%call, "answered after we cancelled; hanging up");
                self.hang_up_dialog(call);
                self.end_call(call, EndReason::Cancelled);
            }
            Ok(Some(resp)) if resp.status_code.kind() == StatusCodeKind::Successful => {
                match sdp::parse(&resp.body).and_then(|a| Ok((sdp::chosen_from_answer(&a)?, a))) {
                    Ok((codec, answer)) => {
                        entry.remote_sdp = Some(answer.clone());
                        entry.state = CallState::Active { hold: Hold::None };
                        entry.answered();
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
                        self.end_call(
                            call,
                            EndReason::Failed(format!(
                                "The other side's audio could not be used ({e})."
                            )),
                        );
                        self.hang_up_dialog(call);
                    }
                }
            }
            Ok(Some(resp)) => {
                let reason = end_reason_for(resp.status_code.code(), &resp.status_code.to_string());
                self.end_call(call, reason);
            }
            Ok(None) => self.end_call(call, EndReason::Failed("No answer from the server.".into())),
            Err(e) if entry.cancelling => {
                debug!(%call, "invite ended after cancel: {e}");
                self.end_call(call, EndReason::Cancelled);
            }
            Err(e) => {
                let reason = if e.contains("imeout") {
                    EndReason::Failed("The phone system did not answer.".into())
                } else {
                    EndReason::Failed(format!("The call failed: {e}"))
                };
                self.end_call(call, reason);
            }
        }
    }

    // ── Incoming calls and requests ─────────────────────────────────────

    fn incoming(&mut self, tx: Transaction) {
        let method = tx.original.method;
        if let Some(dialog) = self.dialogs.match_dialog(&tx) {
            // Forget the queues of dialogs that have ended (their tasks then finish).
            let dialogs = &self.dialogs;
            self.in_dialog
                .retain(|id, q| !q.is_closed() && dialogs.get_dialog(id).is_some());
            let queue = self.in_dialog.entry(dialog.id()).or_insert_with(|| {
                let (q, mut requests) = mpsc::unbounded_channel::<Transaction>();
                let mut dialog = dialog.clone();
                tokio::spawn(async move {
                    while let Some(mut tx) = requests.recv().await {
                        if let Err(e) = dialog.handle(&mut tx).await {
                            debug!("in-dialog request failed: {e}");
                        }
                    }
                });
                q
            });
            if let Err(mpsc::error::SendError(mut tx)) = queue.send(tx) {
                // The queue's task is gone; answer on our own rather than drop the request.
                tokio::spawn(async move {
                    let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                });
            }
            return;
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
                let from = party::from_request(&tx.original);
                let content_type = tx
                    .original
                    .header_value("Content-Type")
                    .unwrap_or_else(|| "text/plain".into());
                let body = String::from_utf8_lossy(&tx.original.body).into_owned();
                self.events.emit(Event::MessageReceived {
                    from,
                    content_type,
                    body,
                });
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

    fn incoming_invite(&mut self, mut tx: Transaction) {
        let session = match session_timer::for_request(&tx.original, &self.config.session_timers) {
            session_timer::Verdict::TooSmall { min_se } => {
                let headers = session_timer::too_small_headers(min_se);
                reply_with(tx, StatusCode::SessionIntervalTooSmall, headers);
                return;
            }
            session_timer::Verdict::Accept(s) => s,
        };
        let offer = match sdp::parse(&tx.original.body) {
            Ok(o) if !o.codecs.is_empty() => o,
            Ok(_) | Err(_) if tx.original.body.is_empty() => {
                // Offerless INVITE: not supported yet; refuse cleanly.
                reply(tx, StatusCode::NotAcceptableHere);
                return;
            }
            _ => {
                reply(tx, StatusCode::NotAcceptableHere);
                return;
            }
        };
        if sdp::answer(
            &offer,
            SocketAddr::from(([127, 0, 0, 1], 9)),
            Direction::SendRecv,
        )
        .is_err()
        {
            reply(tx, StatusCode::NotAcceptableHere);
            return;
        }
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
        let mut entry = Call::incoming(call, from.clone(), offer);
        if let Some(s) = session {
            self.session_timers.negotiated(call, s);
        }
        let d = dialog.clone();
        entry.dialog = Some(dialog);
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

    fn answer(&mut self, call: CallId) {
        let bind_ip = self.config.bind_ip;
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        if entry.state != CallState::Incoming {
            return;
        }
        let Some(offer) = entry.remote_sdp.clone() else {
            return;
        };
        let socket = match RtpSockets::bind(bind_ip) {
            Ok(s) => s,
            Err(e) => {
                self.events
                    .emit(Event::Error(format!("No audio port is free ({e}).")));
                return;
            }
        };
        let Ok(local_rtp) = socket.local_rtp() else {
            return;
        };
        let answer = match sdp::answer(&offer, local_rtp, Direction::SendRecv) {
            Ok(a) => a,
            Err(e) => {
                self.events.emit(Event::Error(format!(
                    "The call's audio cannot be used: {e}"
                )));
                return;
            }
        };
        let body = sdp::render(entry.sdp_session, entry.next_sdp_version(), &answer);
        let Some(dialog) = entry.dialog.clone() else {
            return;
        };
        let mut headers = vec![Header::ContentType("application/sdp".into())];
        headers.extend(self.session_timers.answering(call));
        if let Err(e) = dialog.accept(Some(headers), Some(body.into_bytes())) {
            self.events
                .emit(Event::Error(format!("The call could not be answered: {e}")));
            return;
        }
        entry.socket = Some(socket);
        entry.local_rtp = Some(local_rtp);
        entry.state = CallState::Active { hold: Hold::None };
        entry.answered();
        let codec = answer.codecs[0].clone();
        self.start_or_update_media(
            call,
            &offer,
            codec,
            answer.telephone_event,
            answer.direction,
        );
        self.emit_state(call);
    }

    fn reject(&mut self, call: CallId, decline: bool) {
        let Some(entry) = self.calls.get(&call) else {
            return;
        };
        if entry.state != CallState::Incoming {
            return;
        }
        if let Some(d) = &entry.dialog {
            let code = if decline {
                StatusCode::Decline
            } else {
                StatusCode::BusyHere
            };
            if let Err(e) = d.reject(Some(code), None) {
                warn!(%call, "reject failed: {e}");
            }
        }
        self.end_call(call, EndReason::Declined);
    }

    // ── Ending calls ────────────────────────────────────────────────────

    /// The calls we are talking on: answered and not held by us.
    fn talking(&self) -> Vec<CallId> {
        self.calls
            .iter()
            .filter(|(_, c)| matches!(c.state, CallState::Active { hold } if !hold.local()))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Before `call` is answered or resumed: every other call we talk on goes on hold,
    /// except the ones merged with it.
    fn hold_others(&mut self, call: CallId) {
        let with_call = self.merged.contains(&call);
        for other in self.talking() {
            if other != call && !(with_call && self.merged.contains(&other)) {
                self.set_hold(other, true);
            }
        }
    }

    /// Mixes these calls into one conference, replacing any earlier one; held ones are resumed.
    fn merge(&mut self, mut calls: Vec<CallId>) {
        calls.sort();
        calls.dedup();
        calls.retain(|c| self.calls.contains_key(c));
        if calls.len() < 2 {
            return;
        }
        for c in &calls {
            if self.calls.get(c).is_some_and(|c| c.hold().local()) {
                self.set_hold(*c, false);
            }
        }
        self.merged = calls;
        self.media.conference(&self.merged);
        self.events.emit(Event::Conference {
            members: self.merged.clone(),
        });
    }

    fn split(&mut self) {
        let members = std::mem::take(&mut self.merged);
        if !members.is_empty() {
            self.media.split(&members);
            self.events.emit(Event::Conference { members: vec![] });
        }
    }

    /// Hanging up a merged call ends the whole conference, as on a desk phone; otherwise the
    /// one call.
    fn hang_up(&mut self, call: CallId) {
        if self.merged.contains(&call) {
            let members = std::mem::take(&mut self.merged);
            self.media.split(&members);
            for member in members {
                self.hang_up_one(member);
            }
        } else {
            self.hang_up_one(call);
        }
    }

    fn hang_up_one(&mut self, call: CallId) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        match entry.state {
            CallState::Dialing | CallState::Ringing { .. } => {
                entry.cancelling = true;
                if let Some(d) = entry.dialog.clone() {
                    tokio::spawn(async move {
                        if let Err(e) = d.cancel().await {
                            warn!("CANCEL failed: {e}");
                        }
                    });
                }
            }
            CallState::Incoming => self.reject(call, true),
            CallState::Active { .. } => {
                self.hang_up_dialog(call);
                self.end_call(call, EndReason::HungUp { by_us: true });
            }
            CallState::Ended(_) => {}
        }
    }

    fn hang_up_dialog(&mut self, call: CallId) {
        if let Some(d) = self.calls.get(&call).and_then(|c| c.dialog.clone()) {
            tokio::spawn(async move {
                if let Err(e) = d.bye().await {
                    warn!("BYE failed: {e}");
                }
            });
        }
    }

    /// Moves a call to Ended once, stops its audio and forgets it.
    fn end_call(&mut self, call: CallId, reason: EndReason) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        if matches!(entry.state, CallState::Ended(_)) {
            return;
        }
        info!(%call, %reason, "call ended");
        entry.state = CallState::Ended(reason);
        // A conference of one is no conference: the other party stays, unmixed.
        if self.merged.contains(&call) {
            self.merged.retain(|c| *c != call);
            if self.merged.len() < 2 {
                let rest = std::mem::take(&mut self.merged);
                self.media.split(&rest);
            }
        }
        self.session_timers.stop(call);
        if entry.media_started {
            self.media.stop(call);
        }
        self.emit_state(call);
        if let Some(entry) = self.calls.remove(&call)
            && let Some(d) = &entry.dialog
        {
            self.by_call_id.remove(&d.id().call_id);
            self.dialog_auth.forget(&d.id().call_id);
            // Dropping the sender ends the dialog's request task once its queue is empty.
            self.in_dialog.remove(&d.id());
        }
    }

    // ── Dialog events ───────────────────────────────────────────────────

    fn call_for(&self, id: &rsipstack::dialog::DialogId) -> Option<CallId> {
        self.by_call_id.get(&id.call_id).copied()
    }

    fn dialog_state(&mut self, state: DialogState) {
        match state {
            DialogState::Early(id, resp) => {
                let Some(call) = self.call_for(&id) else {
                    return;
                };
                let Some(entry) = self.calls.get_mut(&call) else {
                    return;
                };
                if entry.role != Role::Outgoing
                    || !matches!(entry.state, CallState::Dialing | CallState::Ringing { .. })
                {
                    return;
                }
                let early = if resp.body.is_empty() {
                    None
                } else {
                    sdp::parse(&resp.body).ok()
                };
                entry.state = CallState::Ringing {
                    early_media: early.is_some(),
                };
                if let Some(desc) = early
                    && let Ok(codec) = sdp::chosen_from_answer(&desc)
                {
                    entry.remote_sdp = Some(desc.clone());
                    let direction = Direction::answer_to(desc.direction, Direction::SendRecv);
                    self.start_or_update_media(call, &desc, codec, desc.telephone_event, direction);
                }
                self.emit_state(call);
            }
            DialogState::Terminated(id, reason) => {
                self.dialogs.remove_dialog(&id);
                let Some(call) = self.call_for(&id) else {
                    return;
                };
                let Some(entry) = self.calls.get(&call) else {
                    return;
                };
                let end = match (&entry.state, reason) {
                    (CallState::Incoming, TerminatedReason::UacCancel) => EndReason::Missed,
                    (CallState::Incoming, _) => EndReason::Missed,
                    (
                        CallState::Dialing | CallState::Ringing { .. },
                        TerminatedReason::UacCancel,
                    ) => EndReason::Cancelled,
                    (CallState::Dialing | CallState::Ringing { .. }, r) => terminated_reason(r),
                    (
                        CallState::Active { .. },
                        TerminatedReason::UacBye | TerminatedReason::UasBye,
                    ) => EndReason::HungUp { by_us: false },
                    (CallState::Active { .. }, TerminatedReason::Timeout) => EndReason::Failed(
                        "The call dropped: the other side stopped answering.".into(),
                    ),
                    (CallState::Active { .. }, _) => EndReason::HungUp { by_us: false },
                    (CallState::Ended(_), _) => return,
                };
                self.end_call(call, end);
            }
            DialogState::Updated(id, req, handle) => self.remote_offer(&id, req, handle),
            DialogState::Info(id, req, handle) => {
                if let Some(call) = self.call_for(&id)
                    && let Some(digit) = message::dtmf_from_info(&req)
                {
                    self.events.emit(Event::Dtmf { call, digit });
                }
                tokio::spawn(async move {
                    let _ = handle.reply(StatusCode::OK).await;
                });
            }
            DialogState::Notify(id, req, handle) if self.subs.owns(&id) => {
                self.subscription_notify(id, req, handle)
            }
            DialogState::Notify(id, req, handle) => {
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
                    && let Some(call) = self.call_for(&id)
                    && let Some(entry) = self.calls.get_mut(&call)
                    && let Some(target) = entry.transfer_target.clone()
                {
                    let state = match code {
                        100..=199 => crate::event::TransferState::Trying,
                        200..=299 => crate::event::TransferState::Done,
                        _ => {
                            crate::event::TransferState::Failed(StatusCode::from(code).to_string())
                        }
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
                tokio::spawn(async move {
                    let _ = handle.reply(StatusCode::OK).await;
                });
            }
            DialogState::Message(_, req, handle) => {
                let from = party::from_request(&req);
                let content_type = req
                    .header_value("Content-Type")
                    .unwrap_or_else(|| "text/plain".into());
                self.events.emit(Event::MessageReceived {
                    from,
                    content_type,
                    body: String::from_utf8_lossy(&req.body).into_owned(),
                });
                tokio::spawn(async move {
                    let _ = handle.reply(StatusCode::OK).await;
                });
            }
            DialogState::Refer(id, req, handle) => self.referred(id, req, handle),
            DialogState::Publish(_, _, handle) => {
                tokio::spawn(async move {
                    let _ = handle.reply(StatusCode::NotImplemented).await;
                });
            }
            DialogState::Options(_, _, handle) => {
                tokio::spawn(async move {
                    let _ = handle.reply(StatusCode::OK).await;
                });
            }
            DialogState::Confirmed(id, _) => {
                if let Some(call) = self.call_for(&id)
                    && let Some(hold) = self
                        .calls
                        .get_mut(&call)
                        .and_then(|c| c.pending_hold.take())
                {
                    self.set_hold(call, hold);
                }
            }
            DialogState::Calling(_) | DialogState::Trying(_) | DialogState::WaitAck(..) => {}
        }
    }

    /// A re-INVITE or UPDATE from the other side: answer it, follow its hold state.
    fn remote_offer(
        &mut self,
        id: &rsipstack::dialog::DialogId,
        req: rsipstack::sip::Request,
        handle: rsipstack::dialog::dialog::TransactionHandle,
    ) {
        let Some(call) = self.call_for(id) else {
            tokio::spawn(async move {
                let _ = handle.reply(StatusCode::CallTransactionDoesNotExist).await;
            });
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
        let Some(local_rtp) = entry.local_rtp else {
            return;
        };
        let ours = if entry.hold().local() {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        let offer = if req.body.is_empty() {
            None
        } else {
            sdp::parse(&req.body).ok()
        };
        let (body, update) = match &offer {
            Some(o) => match sdp::answer(o, local_rtp, ours) {
                Ok(a) => {
                    let text = sdp::render(entry.sdp_session, entry.next_sdp_version(), &a);
                    (text, Some((o.clone(), a)))
                }
                Err(_) => {
                    tokio::spawn(async move {
                        let _ = handle.reply(StatusCode::NotAcceptableHere).await;
                    });
                    return;
                }
            },
            // No offer: ours goes in the 200 and the answer comes in the ACK.
            None => (
                sdp::render(
                    entry.sdp_session,
                    entry.next_sdp_version(),
                    &sdp::offer(local_rtp, ours),
                ),
                None,
            ),
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
            let hold = entry.hold().with_remote(held_by_them);
            entry.state = CallState::Active { hold };
            entry.remote_sdp = Some(offer.clone());
            let codec = answer.codecs[0].clone();
            self.start_or_update_media(
                call,
                &offer,
                codec,
                answer.telephone_event,
                answer.direction,
            );
            self.emit_state(call);
        }
        self.refreshed_by_them(call, session);
    }

    // ── In-call actions ─────────────────────────────────────────────────

    fn set_hold(&mut self, call: CallId, hold: bool) {
        // A re-INVITE refreshes the session too; without the timer's headers it would turn
        // the timer off (RFC 4028 §7.4).
        let timer_headers = session_timer::request_headers(
            &self.config.session_timers,
            self.session_timers.session(call),
        );
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let CallState::Active { hold: current } = entry.state else {
            return;
        };
        if current.local() == hold {
            return;
        }
        let (Some(local_rtp), Some(dialog)) = (entry.local_rtp, entry.dialog.clone()) else {
            return;
        };
        let direction = if hold {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        let body = sdp::render(
            entry.sdp_session,
            entry.next_sdp_version(),
            &sdp::offer(local_rtp, direction),
        );
        let inbox = self.inbox.clone();
        let mut headers = vec![Header::ContentType("application/sdp".into())];
        headers.extend(timer_headers);
        tokio::spawn(async move {
            let result = dialog
                .reinvite(Some(headers), Some(body.into_bytes()))
                .await
                .map_err(|e| e.to_string());
            let _ = inbox.send(Msg::ReinviteDone { call, hold, result });
        });
    }

    fn reinvite_done(
        &mut self,
        call: CallId,
        hold: bool,
        result: Result<Option<rsipstack::sip::Response>, String>,
    ) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let CallState::Active { hold: current } = entry.state else {
            return;
        };
        match result {
            Ok(Some(resp)) if resp.status_code.kind() == StatusCodeKind::Successful => {
                entry.hold_retries = 0;
                self.session_timers
                    .restart(call, session_timer::from_response(&resp));
                let answer = sdp::parse(&resp.body).ok();
                entry.state = CallState::Active {
                    hold: current.with_local(hold),
                };
                if let Some(a) = answer
                    && let Ok(codec) = sdp::chosen_from_answer(&a)
                {
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
            Ok(None) if entry.hold_retries < 40 => {
                // The stack sends no re-INVITE until the dialog is confirmed (the ACK has not
                // been processed yet): try again shortly.
                entry.hold_retries += 1;
                let inbox = self.inbox.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                    let command = if hold {
                        Command::Hold(call)
                    } else {
                        Command::Resume(call)
                    };
                    let _ = inbox.send(Msg::Command(command));
                });
            }
            Ok(other) => {
                let why = other
                    .map(|r| r.status_code.to_string())
                    .unwrap_or_else(|| "no answer".into());
                let verb = if hold { "hold" } else { "resume" };
                self.events.emit(Event::Error(format!(
                    "The call could not be put on {verb}: {why}."
                )));
            }
            Err(e) => self.events.emit(Event::Error(format!("Hold failed: {e}"))),
        }
    }

    fn send_dtmf(&mut self, call: CallId, digit: char) {
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
        if let Some(d) = self.calls.get(&call).and_then(|c| c.dialog.clone()) {
            let body = message::dtmf_info_body(digit);
            tokio::spawn(async move {
                let headers = vec![Header::ContentType("application/dtmf-relay".into())];
                if let Err(e) = d.info(Some(headers), Some(body.into_bytes())).await {
                    warn!("INFO DTMF failed: {e}");
                }
            });
        }
    }

    fn transfer(&mut self, call: CallId, target: &str) {
        let Some(account) = self.account.clone() else {
            return;
        };
        let uri = account.target_uri(target);
        if rsipstack::sip::Uri::try_from(uri.as_str()).is_err() {
            self.events.emit(Event::Error(format!(
                "“{target}” cannot be a transfer target."
            )));
            return;
        }
        self.send_refer(call, format!("<{uri}>"), target.to_string());
    }

    /// Attended transfer (RFC 5589 §7): we talked to the target on `consult`; `call`'s far end
    /// is asked to call the target with Replaces, taking over our consult call.
    fn attended_transfer(&mut self, call: CallId, consult: CallId) {
        let Some(c) = self.calls.get(&consult) else {
            return;
        };
        let (Some(dialog), CallState::Active { .. }) = (&c.dialog, &c.state) else {
            self.events.emit(Event::Error(
                "Talk to the person you are transferring to before completing the transfer.".into(),
            ));
            return;
        };
        let id = dialog.id();
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
    fn send_refer(&mut self, call: CallId, refer_to: String, target: String) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(dialog) = entry.dialog.clone() else {
            return;
        };
        entry.transfer_target = Some(target.clone());
        let events = self.events.clone();
        self.events.emit(Event::Transfer {
            call,
            target: target.clone(),
            state: crate::event::TransferState::Trying,
        });
        tokio::spawn(async move {
            let refer_to = rsipstack::sip::ReferTo::new(refer_to);
            match dialog.refer(refer_to, None, None).await {
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
    fn referred(
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
        if let Some(dialog) = self.calls.get(&call).and_then(|c| c.dialog.clone()) {
            tokio::spawn(notify_refer(dialog, "SIP/2.0 100 Trying", false));
        }
        self.dial(new_call, &target);
        if let Some(c) = self.calls.get(&new_call) {
            c.referred_by.set(Some(call));
            // The dial may already have failed (no audio port): report that too.
            self.report_to_transferor(c);
        }
    }

    fn send_message(&mut self, id: u64, target: &str, content_type: String, body: String) {
        let Some(account) = self.account.clone() else {
            self.events.emit(Event::MessageResult {
                id,
                result: Err("Sign in before sending messages.".into()),
            });
            return;
        };
        let inbox = self.inbox.clone();
        let endpoint = self.endpoint.inner.clone();
        let uri = account.target_uri(target);
        let next_hop = self.next_hop.destination();
        tokio::spawn(async move {
            let result = message::send(
                endpoint,
                &account,
                &uri,
                next_hop,
                &content_type,
                body.into_bytes(),
            )
            .await
            .map_err(|e| e.to_string());
            let _ = inbox.send(Msg::MessageDone { id, result });
        });
    }

    // ── Media ───────────────────────────────────────────────────────────

    fn start_or_update_media(
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
        if entry.media_started {
            let update = StreamUpdate {
                remote,
                remote_rtcp,
                codec,
                telephone_event,
                direction,
            };
            if let Err(e) = self.media.update(call, update) {
                self.events.emit(Event::Error(format!(
                    "The call's audio could not change: {e}"
                )));
            }
            return;
        }
        let Some(socket) = entry.socket.take() else {
            return;
        };
        let params = StreamParams {
            sockets: socket,
            remote,
            remote_rtcp,
            codec,
            telephone_event,
            direction,
            ptime_ms: 20,
        };
        match self.media.start(call, params) {
            Ok(()) => entry.media_started = true,
            Err(e) => self.events.emit(Event::Error(format!(
                "The call's audio could not start: {e}"
            ))),
        }
    }
}

async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) {
    for h in handles {
        let _ = h.await;
    }
}

/// `hop` with its host resolved (the server's name, 5060 when it gives no port), for the
/// keepalive's raw sends.
async fn resolved(
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

/// One NOTIFY of a REFER subscription carrying `frag`, the status line of the new call.
async fn notify_refer(
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

/// Sends a CRLF keepalive on the stream connection to `target` (opening it if it closed).
async fn send_stream_keepalive(
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

fn reply_with(mut tx: Transaction, status: StatusCode, headers: Vec<Header>) {
    tokio::spawn(async move {
        if let Err(e) = tx.reply_with(status, headers, None).await {
            debug!("reply failed: {e}");
        }
    });
}

fn reply(mut tx: Transaction, status: StatusCode) {
    tokio::spawn(async move {
        if let Err(e) = tx.reply(status).await {
            debug!("reply failed: {e}");
        }
    });
}

/// Final response codes in the words the call screen shows.
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

fn terminated_reason(r: TerminatedReason) -> EndReason {
    match r {
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
