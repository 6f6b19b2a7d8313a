//! A small client for the Asterisk Manager Interface, for the call-center tiles: queue status
//! and events in, agent log-in, log-out and pause out. (asterisk-rs-ami was weighed: it is a
//! young 0.x crate covering 160 events whose API changed every release; the client needs nine
//! events and four actions, so this is the smaller thing to trust and to test.)
//!
//! # The API in one screen
//! ```text
//! Client::start(Config { addr, user, secret, tls }, |Report| …) -> Client   own thread,
//!                              reconnects; plain TCP or TLS (rustls) when `tls` is given
//! Client::send(Action)         QueueStatus · ShowDialPlan · QueueAdd · QueueRemove · QueuePause ·
//!                              DbPut (the user's call routing, read by the dialplan)
//! Report     Connected · Event(Event) · Reply { action, result } · Down { error, retry_in }
//! Event      Params · Member · MemberRemoved · Waiting · CallerJoin · CallerLeave ·
//!            CallerAbandon · AgentCalled · AgentConnect · AgentComplete · StatusComplete ·
//!            QueueNumber
//! AmiError   LoginRefused · Unreachable · Closed · NotAmi · Silent · Tls — each a sentence
//! frame::Decoder               bytes → Message; skips garbage, never fails the connection
//! ```

mod connection;
pub mod event;
pub mod frame;

pub use connection::{Action, AmiError, Client, Config, Report};
pub use event::{DeviceState, Entry, Event, Member, QueueParams};
