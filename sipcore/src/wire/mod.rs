//! The wire: how every request the engine starts leaves and gets through.
//!
//! - [`next_hop`]: the one decision where a request goes first (outbound proxy or Request-URI,
//!   over UDP, TCP or TLS).
//! - [`digest`]: the one digest implementation (MD5, SHA-256, SHA-512-256; RFC 8760) and the
//!   [`digest::DigestSession`] that answers every 401/407.
//! - [`out_of_dialog`]: requests outside a dialog (MESSAGE, PUBLISH, OPTIONS, the first
//!   SUBSCRIBE), sent and retried through their challenges.
//! - [`dialog_auth`]: the same answers for the requests rsipstack's dialogs send (INVITE,
//!   re-INVITE, BYE, in-dialog SUBSCRIBE, …), which rsipstack re-sends itself.
//!
//! - [`raw_guard`]: our own strict look at each UDP datagram before the stack parses it, and
//!   where answers go (`rport` or the Via's port).
//!
//! REGISTER keeps its own loop ([`crate::registration`]) for the refresh timing, on the same
//! next hop and [`digest::DigestSession`].

pub(crate) mod dialog_auth;
pub mod digest;
pub(crate) mod guarded_udp;
pub(crate) mod next_hop;
pub mod out_of_dialog;
pub(crate) mod raw_guard;
