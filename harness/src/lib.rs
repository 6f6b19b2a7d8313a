//! Real peers for Switchboard's tests and developer tools.
//!
//! Everything here starts real software on 127.0.0.1 and stops only what it started, by PID:
//! Asterisk in a bullseye chroot ([`pbx`]), its manager interface ([`ami`]), the user agents
//! baresip and sipp ([`peers`]), Kamailio for SHA-256 digest auth and presence ([`kamailio`]),
//! and a way to wait for a condition with a timeout ([`wait`]).

pub mod ami;
pub mod audio;
pub mod capture;
pub mod demo;
pub mod display;
pub mod file_lock;
pub mod host;
pub mod kamailio;
pub mod nat_lab;
pub mod paths;
pub mod pbx;
pub mod pbx_config;
pub mod pbx_tls;
pub mod peers;
pub mod presence_watcher;
pub mod private_pbx;
pub mod process;
pub mod relay;
pub mod sip_probe;
pub mod smtp;
pub mod tcp_relay;
pub mod users;
pub mod voicemail_store;
pub mod wait;

pub use pbx::{Lease, Pbx};
pub use users::User;
pub use wait::wait_for;
