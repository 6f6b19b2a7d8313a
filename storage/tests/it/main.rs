//! The store's integration tests in one binary (one link instead of two). Each re-runs this
//! binary as a child process for the part that must be killed or must see another session bus,
//! naming its child test by its full path, so they share the binary safely.

mod crash_safety;
mod keyring;
