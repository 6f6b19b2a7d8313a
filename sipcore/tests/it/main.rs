//! sipcore's integration tests, one module per feature, in one binary: one link instead of
//! fifteen. They share the harness PBX (each test leases its own extensions; the leases are
//! `flock`s, which hold between threads as between processes) and each starts its own engine,
//! so they run side by side. None changes process-wide state: the network namespaces of
//! `network_change` and `registration` are unshared on a thread of their own (the engine's
//! threads inherit it, the rest of the process stays where it was), and `rfc4475` re-runs
//! itself, by its full test name, in a child process inside a namespace.

mod support;

mod agent;
mod audio;
mod busy_lamp;
mod calls;
mod digest;
mod flood;
mod ice;
mod idle;
mod network_change;
mod presence_publish;
mod presence_watch;
mod registration;
mod rfc4475;
mod session_timers;
mod sha256;
mod srtp;
mod tls;
mod transfer;
mod via;
mod voicemail;
