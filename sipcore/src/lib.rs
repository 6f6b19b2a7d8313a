//! Switchboard's SIP engine. It owns every piece of SIP state on its own tokio runtime and talks
//! to the rest of the app only through a command channel in and an event channel out.

pub mod account;
pub mod bindings;
pub mod bodies;
pub mod call;
pub mod command;
pub mod engine;
pub mod error;
pub mod event;
pub mod media_adapter;
pub mod media_control;
pub mod message;
pub mod network_watch;
pub mod party;
pub mod publish;
pub mod registration;
pub mod sdp;
pub mod session_timer;
pub mod subscribe;
pub mod subscription;
pub mod tls;
pub mod uas_checks;
mod wire;

// Where these were before the wire had a module of its own.
pub use wire::{digest, out_of_dialog};

pub use account::{Account, Transport};
pub use bodies::pidf::Availability;
pub use command::Command;
pub use engine::{EngineConfig, Handle, StartError, Waker, local_ip_towards, start, start_with};
pub use error::{EngineError, RegistrationError};
pub use event::{
    CallId, CallState, EndReason, Event, Hold, LineState, Party, RegistrationState, TransferState,
};
pub use media_control::{MediaControl, RecordingMedia, StreamParams, StreamUpdate};
pub use message::MessageError;
pub use publish::PublishState;
pub use session_timer::SessionTimerConfig;
