//! Shared harness for the whole-app tests: the real PBX, real peers, and waiting with a timeout.
//! The machinery lives in the `harness` crate so that xtask and every crate's tests share it.

#![allow(dead_code, unused_imports)]

pub use harness::ami::Ami;
pub use harness::peers::{Baresip, run_sipp, sipp_scenario};
pub use harness::{Lease, Pbx, User, wait_for};

pub mod window;

use std::time::Duration;

/// The PBX, brought up if no test has done so yet.
pub fn pbx() -> Pbx {
    Pbx::ensure_up().expect("the harness PBX must come up (see `cargo xtask pbx logs`)")
}

/// Long enough for a loaded 2-core CI machine; conditions normally hold within milliseconds.
pub const TIMEOUT: Duration = Duration::from_secs(20);
