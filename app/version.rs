//! The version string shown in About and logs, with the git revision the build came from.

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const REVISION: &str = env!("SWITCHBOARD_GIT_REVISION");

pub fn long() -> String {
    format!("Switchboard {VERSION} ({REVISION})")
}
