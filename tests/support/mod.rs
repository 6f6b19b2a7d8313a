//! Shared harness for the whole-app tests: the real PBX, real peers, and waiting with a timeout.
//! The machinery lives in the `harness` crate so that xtask and every crate's tests share it.

#![allow(dead_code, unused_imports)]

pub use harness::ami::Ami;
pub use harness::peers::{Baresip, run_sipp, sipp_scenario};
pub use harness::{Lease, Pbx, User, wait_for};

pub mod phone;
pub mod window;

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use client::backend::{self, BackendConfig};
use client::{Commands, Event};

/// The PBX, brought up if no test has done so yet.
pub fn pbx() -> Pbx {
    Pbx::ensure_up().expect("the harness PBX must come up (see `cargo xtask pbx logs`)")
}

/// Long enough for a loaded 2-core CI machine; conditions normally hold within milliseconds.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// How long a voicemail's transcription may take: seconds alone, several times that with the
/// whole suite running on two cores.
pub const TRANSCRIBING: Duration = Duration::from_secs(90);

/// The backend as the tests run it: no sound devices, no directory, `data_dir` its own.
pub fn test_config(data_dir: &Path) -> BackendConfig {
    BackendConfig {
        headless_audio: true,
        data_dir: data_dir.to_path_buf(),
        ..Default::default()
    }
}

/// Starts the real backend (SIP, media and store) as the window would.
pub fn start_backend(config: BackendConfig) -> (Commands, Receiver<Event>) {
    backend::start(config, Arc::new(|| {}))
}
