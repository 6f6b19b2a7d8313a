//! Switchboard's local store: one SQLite database per signed-in profile. No SQL lives outside
//! this crate.
