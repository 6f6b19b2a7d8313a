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
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Instant;

use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{DialogState, DialogStateSender, TransactionHandle};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::{Header, StatusCode};
use rsipstack::transaction::endpoint::EndpointOption;
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::TransportLayer;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::{EndpointBuilder, transaction::endpoint::Endpoint};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::call::{Call, Phase};
use crate::command::Command;
use crate::error::EngineError;
use crate::event::{CallId, Event, RegistrationState};
use crate::media_control::MediaControl;
use crate::session_timer::{self, Timers};
use crate::subscribe;
use crate::subscription::{Answer, Subscriptions};
use crate::wire::dialog_auth::DialogAuth;
use crate::wire::next_hop::with_default_port;

mod calls;
mod config;
mod in_call;
mod lines;
mod memory;
mod rebind;
mod requests;
mod session_refresh;
mod sign_in;
mod subscriptions;
mod transfer;

use sign_in::SignIn;

pub use config::{EngineConfig, StartError, local_ip_towards};

/// Called after every event is queued, so a window can wake up and repaint.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The app's side of a running engine.
#[derive(Clone)]
pub struct Handle {
    inbox: mpsc::UnboundedSender<Msg>,
    /// The SIP address the engine listens on.
    pub local_addr: SocketAddr,
    /// Signalled when the engine thread has finished (calls hung up, un-REGISTER sent).
    done: Arc<std::sync::Mutex<std_mpsc::Receiver<()>>>,
    metrics: tokio::runtime::RuntimeMetrics,
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

    /// How many times the engine's threads have gone to sleep since it started: each is one
    /// wake-up that ended. An idle engine only wakes for a timer or a datagram, so this counts
    /// what idle costs without timing anything.
    pub fn wakes(&self) -> u64 {
        (0..self.metrics.num_workers())
            .map(|w| self.metrics.worker_park_count(w))
            .sum()
    }
}

/// Starts the engine. Events arrive on the returned receiver; `waker` runs after each one.
/// A thin wrapper over [`start_with`], for tests and bots that read events in a loop.
pub fn start(
    config: EngineConfig,
    media: Arc<dyn MediaControl>,
    waker: Option<Waker>,
) -> Result<(Handle, std_mpsc::Receiver<Event>), StartError> {
    let (events_tx, events_rx) = std_mpsc::channel();
    let handle = start_with(config, media, move |event| {
        if events_tx.send(event).is_ok()
            && let Some(w) = &waker
        {
            w();
        }
    })?;
    Ok((handle, events_rx))
}

/// Starts the engine and calls `on_event` for every event, in order, on the engine's own
/// threads: it should only hand the event on (to the app's one inbox) and return.
pub fn start_with(
    config: EngineConfig,
    media: Arc<dyn MediaControl>,
    on_event: impl Fn(Event) + Send + Sync + 'static,
) -> Result<Handle, StartError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sipcore")
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    let metrics = runtime.metrics();
    let sink = EventSink(Arc::new(on_event));
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
    let local_addr = ready_rx
        .recv()
        .map_err(|_| StartError::Stopped { addr: bind })??;
    Ok(Handle {
        inbox: inbox_tx,
        local_addr,
        done: Arc::new(std::sync::Mutex::new(done_rx)),
        metrics,
    })
}

/// Where every event goes: the app's `on_event`.
#[derive(Clone)]
struct EventSink(Arc<dyn Fn(Event) + Send + Sync>);

impl EventSink {
    fn emit(&self, event: Event) {
        debug!(?event, "event");
        (self.0)(event);
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
        result: Result<Option<rsipstack::sip::Response>, DialogFailure>,
    },
    /// A call's server-reflexive address came back from the STUN server (or did not).
    Gathered {
        call: CallId,
        sockets: crate::media_control::RtpSockets,
        local_rtp: SocketAddr,
        reflexive: Option<SocketAddr>,
        next: calls::AfterGathering,
    },
    /// Give back what a burst of requests freed ([`memory`]).
    Trim,
    /// A hold or resume re-INVITE the stack was not ready to send is due again.
    HoldRetry {
        call: CallId,
        hold: bool,
    },
    /// A re-INVITE we sent (hold/resume) was answered.
    ReinviteDone {
        call: CallId,
        hold: bool,
        result: Result<Option<rsipstack::sip::Response>, DialogFailure>,
    },
    Registration(RegistrationState),
    MessageDone {
        id: u64,
        result: Result<(), crate::message::MessageError>,
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
    Rebound(Result<(UdpConnection, CancellationToken), EngineError>),
    /// A session refresh we sent was answered (`by_update`: an UPDATE, else a re-INVITE).
    RefreshDone {
        call: CallId,
        by_update: bool,
        result: Result<Option<rsipstack::sip::Response>, DialogFailure>,
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
    /// The account, its registration and publication.
    sign_in: SignIn,
    calls: HashMap<CallId, Call>,
    /// The calls mixed together in our 3-way conference (the media engine mixes one group).
    merged: Vec<CallId>,
    /// Call-ID header value → our call, for dialog events whose tags change on the way.
    by_call_id: HashMap<String, CallId>,
    next_incoming: u64,
    /// Calls we are placing whose candidates are still being gathered: not yet a `Call`, but
    /// a hang-up must still reach them.
    gathering: std::collections::HashSet<CallId>,
    trim: memory::Trim,
    /// One queue per dialog for the requests the far end sends in it, and our BYE after them.
    /// rsipstack answers 500 to a request whose CSeq is below the last one it saw, so two
    /// NOTIFYs sent back to back must reach it in order, not raced on separate tasks.
    in_dialog: HashMap<rsipstack::dialog::DialogId, mpsc::UnboundedSender<requests::InDialog>>,
    /// Our UDP socket, for keepalives outside any transaction.
    udp: UdpConnection,
    /// Closes `udp` when the engine moves to another address.
    udp_token: CancellationToken,
    /// Answers the challenges to requests rsipstack's dialogs send, for the dialogs tracked.
    dialog_auth: DialogAuth,
    subs: Subscriptions,
    /// NOTIFYs that came before their SUBSCRIBE's 2xx made the dialog, by Call-ID.
    early_notifies: HashMap<String, Vec<Transaction>>,
    /// The subscription deadline a timer task is already sleeping towards.
    sub_timer: Option<Instant>,
    session_timers: Timers,
    shutting_down: bool,
    /// The presence the app last asked for, republished after a change of account.
    presence: Option<crate::Availability>,
}

impl Core {
    /// Opens the SIP socket, builds the endpoint and dialog layer on it, and starts the tasks
    /// that feed the inbox. It runs past 80 lines because these steps share the socket, token
    /// and endpoint in the order rsipstack needs; split, they would only be passed around.
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
        let udp = crate::wire::guarded_udp::bind(bind, udp_token.clone())
            .await
            .map_err(|reason| StartError::Bind { addr: bind, reason })?;
        transport.add_transport(udp.clone().into());
        let dialog_auth = DialogAuth::new();
        let endpoint = EndpointBuilder::new()
            .with_user_agent(&config.user_agent)
            .with_inspector(dialog_auth.inspector())
            .with_transport_inspector(Box::new(crate::wire::guarded_udp::ViaFix))
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
            .ok_or(StartError::NoLocalAddress { addr: bind })?;
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let (state_tx, state_rx) = dialogs.new_dialog_state_channel();

        let serve = endpoint.inner.clone();
        tokio::spawn(async move {
            if let Err(e) = serve.serve().await {
                warn!("SIP endpoint stopped: {e}");
            }
        });
        let incoming = endpoint
            .incoming_transactions()
            .map_err(|e| StartError::Bind {
                addr: bind,
                reason: e.to_string(),
            })?;
        pump_into(&inbox, incoming, state_rx);
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
                sign_in: SignIn::Out,
                calls: HashMap::new(),
                merged: Vec::new(),
                by_call_id: HashMap::new(),
                next_incoming: 1 << 40,
                gathering: Default::default(),
                trim: Default::default(),
                in_dialog: HashMap::new(),
                udp,
                udp_token,
                dialog_auth,
                subs,
                early_notifies: HashMap::new(),
                sub_timer: None,
                session_timers,
                shutting_down: false,
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
                Msg::Incoming(tx) => {
                    self.trim.after_activity(&self.inbox);
                    self.incoming(*tx)
                }
                Msg::Trim => self.trim.now(&self.inbox),
                Msg::InviteDone { call, result } => self.invite_done(call, result),
                Msg::Gathered {
                    call,
                    sockets,
                    local_rtp,
                    reflexive,
                    next,
                } => self.gathered(call, sockets, local_rtp, reflexive, next),
                Msg::ReinviteDone { call, hold, result } => self.reinvite_done(call, hold, result),
                Msg::HoldRetry { call, hold } => self.send_hold(call, hold),
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

    /// What rsipstack's dialogs are given: it re-sends a challenged request only when it holds
    /// a credential, but the answer is always ours ([`crate::wire::dialog_auth`]), so it gets
    /// the user name and never the password.
    pub(super) fn stack_credential(&self) -> Option<Credential> {
        self.sign_in.account().map(|a| Credential {
            username: a.username.clone(),
            password: String::new(),
            realm: None,
            auth_username: a.auth_username.clone(),
        })
    }

    pub(super) fn contact(&self) -> Option<rsipstack::sip::Uri> {
        let user = self.sign_in.account().map(|a| a.username.clone());
        self.dialogs.build_local_contact(user, None).ok()
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Register(account) => self.register(account),
            Command::Unregister => self.unregister(),
            Command::Dial { call, target } => self.dial(call, &target),
            Command::AddCall { call, target } => {
                self.hold_others(None);
                self.dial(call, &target);
            }
            Command::Answer(call) => {
                if self
                    .calls
                    .get(&call)
                    .is_some_and(|c| c.phase == Phase::Incoming)
                {
                    self.hold_others(Some(call));
                }
                self.answer(call);
            }
            Command::AnswerAlongside(call) => self.answer(call),
            Command::TakeMessage {
                call,
                greeting,
                record_to,
            } => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.plan = crate::media_control::AudioPlan::TakeMessage {
                        greeting,
                        record_to,
                    };
                }
                self.answer(call);
            }
            Command::Reject { call, decline } => self.reject(call, decline),
            Command::HangUp(call) => self.hang_up(call),
            Command::Hold(call) => self.set_hold(call, true),
            Command::Resume(call) => {
                if self.calls.get(&call).is_some_and(|c| c.phase.is_active()) {
                    self.hold_others(Some(call));
                }
                self.set_hold(call, false);
            }
            Command::SetMute { call, muted } => self.media.set_mute(call, muted),
            Command::SendDtmf { call, digit } => self.send_dtmf(call, digit),
            Command::Transfer { call, target } => self.transfer(call, &target),
            Command::AttendedTransfer { call, consult } => self.attended_transfer(call, consult),
            Command::Merge(calls) => self.merge(calls),
            Command::Split { keep } => self.split(keep),
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
            Command::SetCallOptions { srtp, stun_server } => {
                self.sign_in.set_call_options(srtp, stun_server)
            }
            Command::Shutdown => {}
        }
    }

    // ── Registration ────────────────────────────────────────────────────

    // ── Our own presence ────────────────────────────────────────────────

    async fn shutdown(&mut self) {
        self.shutting_down = true;
        // End every call and wait (briefly) for the BYEs and CANCELs to leave: once this
        // returns the runtime is dropped, and a call left up would ring on at the PBX.
        let mut goodbyes = Vec::new();
        for (id, call) in &self.calls {
            let d = call.dialog.clone();
            match call.phase {
                Phase::Active { .. } => goodbyes.push(tokio::spawn(async move { d.bye().await })),
                Phase::Dialing { .. } | Phase::Ringing { .. } => {
                    goodbyes.push(tokio::spawn(async move { d.cancel().await }))
                }
                Phase::Incoming => {
                    let _ = d.reject(Some(StatusCode::TemporarilyUnavailable), None);
                }
                Phase::Ended(_) => {}
            }
            debug!(call = %id, "ended at shutdown");
        }
        goodbyes.extend(self.unsubscribe_all());
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(2), futures_join(goodbyes)).await;
        self.sign_out_before_exit().await;
    }

    // ── Outgoing calls ──────────────────────────────────────────────────

    // ── Incoming calls and requests ─────────────────────────────────────

    // ── Ending calls ────────────────────────────────────────────────────

    // ── Dialog events ───────────────────────────────────────────────────

    pub(super) fn call_for(&self, id: &rsipstack::dialog::DialogId) -> Option<CallId> {
        self.by_call_id.get(&id.call_id).copied()
    }

    // ── In-call actions ─────────────────────────────────────────────────

    // ── Media ───────────────────────────────────────────────────────────
}

/// Why a request we sent in a call's dialog (INVITE, re-INVITE, UPDATE) got no final answer;
/// its `Display` is the stack's own words.
#[derive(Debug, thiserror::Error)]
enum DialogFailure {
    #[error("{0}")]
    Stack(#[from] rsipstack::Error),
    /// The task waiting for the answer ended first (the runtime is going away).
    #[error("{0}")]
    Task(#[from] tokio::task::JoinError),
}

impl DialogFailure {
    /// The stack gave up waiting for any answer (its 64*T1 transaction timeout).
    fn is_timeout(&self) -> bool {
        matches!(
            self,
            DialogFailure::Stack(rsipstack::Error::DialogError(
                _,
                _,
                StatusCode::RequestTimeout
            ))
        )
    }
}

/// The stack's incoming requests and dialog changes, into the core's inbox as they come.
fn pump_into(
    inbox: &mpsc::UnboundedSender<Msg>,
    mut incoming: rsipstack::transaction::TransactionReceiver,
    mut states: rsipstack::dialog::dialog::DialogStateReceiver,
) {
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
        while let Some(state) = states.recv().await {
            if to_core.send(Msg::Dialog(state)).is_err() {
                break;
            }
        }
    });
}

pub(super) async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) {
    for h in handles {
        let _ = h.await;
    }
}

pub(super) fn reply_with(mut tx: Transaction, status: StatusCode, headers: Vec<Header>) {
    tokio::spawn(async move {
        if let Err(e) = tx.reply_with(status, headers, None).await {
            debug!("reply failed: {e}");
        }
    });
}

/// The `Warning` for a 488 refusing an offer (RFC 3261 §20.43): code, our name, the fault.
pub(super) fn sdp_warning(e: &crate::sdp::SdpError) -> Header {
    let (code, text) = e.warning();
    Header::Other("Warning".into(), format!("{code} switchboard \"{text}\""))
}

pub(super) fn reply(mut tx: Transaction, status: StatusCode) {
    tokio::spawn(async move {
        if let Err(e) = tx.reply(status).await {
            debug!("reply failed: {e}");
        }
    });
}

/// Answers an in-dialog request the stack handed us (dropping it unanswered makes it reply 501).
pub(super) fn respond(handle: TransactionHandle, status: StatusCode) {
    tokio::spawn(async move {
        let _ = handle.reply(status).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_is_told_by_its_status_not_its_words() {
        let id = rsipstack::dialog::DialogId {
            call_id: "c".into(),
            local_tag: "l".into(),
            remote_tag: "r".into(),
        };
        let timed_out = DialogFailure::Stack(rsipstack::Error::DialogError(
            "no answer".into(),
            id.clone(),
            StatusCode::RequestTimeout,
        ));
        assert!(timed_out.is_timeout());
        // Words that mention a timeout do not make one.
        let worded = DialogFailure::Stack(rsipstack::Error::Error("Timeout".into()));
        assert!(!worded.is_timeout());
        let refused = DialogFailure::Stack(rsipstack::Error::DialogError(
            "refused".into(),
            id,
            StatusCode::ServerInternalError,
        ));
        assert!(!refused.is_timeout());
    }
}
