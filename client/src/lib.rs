//! Switchboard's domain without the window, as halloy's `data` crate is to its UI: what the
//! user works with (the model), what the window may ask (commands), what it is told (events),
//! the typed settings, and the backend that owns the SIP, media and storage engines.
//!
//! # The API in one screen
//! ```text
//! backend::start(BackendConfig, Waker) -> (Commands, Receiver<Event>)
//!     BackendConfig { headless_audio, directory_url, directory_refresh, data_dir, call_center,
//!                     voicemail_server, speech_model }
//!     Commands::send(Command)          never blocks; the backend runs it off the UI thread
//! Command   SignIn · Dial · Answer · Hold · Transfer · Merge · SaveSettings · PlayVoicemail …
//! Event     SignedIn · Registration · Profile · Call · CallRemoved · Contacts · History · Notice …
//!           SignInFailed(SignInError) — every failure a type, its Display the sentence shown
//! Model::apply(Event)                  the window's copy of what the backend reported
//! settings::SettingsForm               every setting, loaded once per sign-in
//! dial_string::normalize · phone_link::parse (tel:/sip:/callto: links) · directory::parse
//! idle::IdleWatch · assets::ringtone
//! call_center::CallCenter          queue tiles from the manager interface's events
//! routing::entries                 the call strategy, hours and do-not-disturb as the PBX's
//!                                      routing (its `//!` has the design)
//! watching::Watching                  whose status is subscribed to: all of a small company, else
//!                                      what is on screen and the people the user keeps
//! ```
//!
//! The backend is one thread with one inbox: the window's commands, the SIP engine's events,
//! the media engine's events and finished background work all arrive on it, in order, so no
//! state is shared and nothing forwards from one channel to another.

pub mod assets;
pub mod backend;
pub mod call_center;
pub mod command;
mod convert;
pub mod dial_string;
pub mod directory;
pub mod event;
pub mod idle;
pub mod model;
pub mod phone_link;
pub mod routing;
pub mod settings;
pub mod voicemail_player;
pub mod watching;

pub use backend::{BackendConfig, Waker, start};
pub use command::{Command, Commands};
pub use event::Event;
pub use model::Model;
