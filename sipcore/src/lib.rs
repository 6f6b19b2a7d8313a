//! Switchboard's SIP engine. It owns every piece of SIP state on its own tokio runtime and talks
//! to the rest of the app only through a command channel in and an event channel out.

pub mod bodies;
