//! Switchboard's SIP engine. It owns every piece of SIP state on its own tokio runtime and talks
//! to the rest of the app only through commands in and events out.
//!
//! # How it is used
//!
//! ```no_run
//! use sipcore::*;
//! let media = std::sync::Arc::new(RecordingMedia::default()); // or media_adapter::MediaEngine
//! let sip = start_with(EngineConfig::default(), media, |event| println!("{event:?}")).unwrap();
//! sip.send(Command::Register(Account::new("1001", "secret", "pbx.example.com")));
//! sip.send(Command::Dial { call: CallId(1), target: "1002".into() });
//! ```
//!
//! * [`Handle::send`] only queues a [`Command`] and returns at once; what happens arrives as
//!   [`Event`]s, in order, on the engine's threads (`on_event` should hand them on and return).
//! * Calls are ids the app chooses ([`CallId`]); incoming ones get ids from the engine. A call's
//!   life is [`CallState`]: `Dialing`, `Ringing`, `Incoming`, `Active { hold }`, `Ended(reason)`.
//! * The engine owns the lines: answering or resuming a call holds the others, a conference is
//!   mixed by our own media engine and reported as [`Event::Conference`]. Hold and resume are
//!   idempotent.
//! * Failures are typed, and their `Display` is the sentence a user reads: [`EngineError`]
//!   ([`Event::Error`]), [`RegistrationError`], [`MessageError`], [`EndReason`].
//! * Audio goes through [`MediaControl`]: [`media_adapter::MediaEngine`] drives the `media`
//!   crate, [`RecordingMedia`] records what signalling asked for, for tests.
//!
//! # The API in one screen
//!
//! | item | what it is |
//! |---|---|
//! | [`start_with`]`(EngineConfig, Arc<dyn MediaControl>, on_event)` | starts the engine; every [`Event`] goes to `on_event` |
//! | [`start`]`(EngineConfig, media, Option<Waker>)` | the same with a channel: `(Handle, Receiver<Event>)`, for tests and bots |
//! | [`Handle`] | `send(Command)`, `shutdown_and_wait(timeout)`, `local_addr`, `wakes()` (idle costs, counted) |
//! | [`Command`] | `Register(Account)`, `Unregister`, `Dial`, `AddCall`, `Answer`, `AnswerAlongside`, `TakeMessage`, `Reject`, `HangUp`, `Hold`, `Resume`, `SetMute`, `SendDtmf`, `Transfer`, `AttendedTransfer`, `Merge`, `Split { keep }`, `SendMessage`, `SetPresence`, `SetCallOptions`, `Watch`, `Unwatch`, `Shutdown` |
//! | [`Event`] | `Registration`, `IncomingCall`, `CallState`, `Dtmf`, `Transfer`, `TransferredBy`, `PhoneStatus`, `Presence`, `MessageWaiting`, `MessageReceived`, `MessageResult`, `SessionRefreshed`, `OwnPresence`, `Conference`, `Error` |
//! | [`Account`], [`Transport`], [`SrtpPolicy`] | who signs in where, over UDP, TCP or TLS, and whether calls are encrypted (SDES-SRTP) |
//! | [`EngineConfig`], [`SessionTimerConfig`], [`Pacing`] | bind address, keepalive, session timers, subscription pacing and the most watched |
//! | [`local_ip_towards`] | the local address that reaches a server, for `EngineConfig::bind_ip` |
//! | [`MediaControl`], [`StreamParams`], [`StreamUpdate`], [`RecordingMedia`] | the seam to the audio engine |
//!
//! Modules that stay public are the ones tools and tests reach into: [`sdp`] (offer/answer),
//! [`sdes`] (SRTP keys in SDP, RFC 4568),
//! [`bodies`] (PIDF, dialog-info, message-summary, sipfrag), [`digest`] (RFC 7616/8760 digest,
//! for test servers), [`media_control`] and [`media_adapter`].

mod account;
mod bindings;
pub mod bodies;
mod call;
mod command;
mod engine;
mod error;
mod event;
#[doc(hidden)]
pub mod fuzzing;
mod ice;
pub mod media_adapter;
pub mod media_control;
mod message;
mod network_watch;
mod party;
mod publish;
mod registration;
pub mod sdes;
pub mod sdp;
mod session_timer;
mod subscribe;
mod subscription;
mod tls;
mod uas_checks;
mod wire;

pub use wire::digest;

pub use account::{Account, Transport};
pub use bodies::pidf::Availability;
pub use command::Command;
pub use engine::{EngineConfig, Handle, StartError, Waker, local_ip_towards, start, start_with};
pub use error::{EngineError, RegistrationError};
pub use event::{
    CallId, CallState, EndReason, Event, Hold, LineState, Party, RegistrationState, TransferState,
};
pub use media_control::{MediaControl, RecordingMedia, StreamError, StreamParams, StreamUpdate};
pub use message::MessageError;
pub use publish::PublishState;
pub use sdes::SrtpPolicy;
pub use session_timer::SessionTimerConfig;
pub use subscription::Pacing;
pub use tls::{TlsError, TrustAnchors};
pub use wire::out_of_dialog::RequestError;
