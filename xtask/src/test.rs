//! `cargo xtask test`: the whole suite on a fresh Debian or Ubuntu machine. Installs the system
//! packages the tests drive for real, brings the PBX up, runs `cargo test --workspace`, and brings
//! the PBX down again whatever the result. Extra arguments go to `cargo test`.

use std::process::Command;
use std::time::Instant;

use harness::Pbx;

/// What the suite needs from the system, by what uses it.
pub const PACKAGES: &[&str] = &[
    // The PBX chroot and the peers that talk to it.
    "debootstrap",
    "sip-tester",
    "baresip",
    // A second server for what Asterisk 16 lacks: SHA-256 digest auth and a presence server.
    "kamailio",
    "kamailio-presence-modules",
    // The PBX keeps voicemail in IMAP mailboxes (harness/src/voicemail_store.rs), and the
    // tests read voicemail emails back from a real mail server (harness/src/smtp.rs).
    "dovecot-imapd",
    "python3-aiosmtpd",
    // The RFC 4475 test runs the stack in a network namespace of its own (unshare, ip).
    "iproute2",
    "util-linux",
    // Audio: ALSA headers for cpal, libopus for the codec, a virtual sound device through
    // PulseAudio's null sink, and speech and signal tools for the quality tests.
    "pkg-config",
    "cmake",
    "libasound2-dev",
    "libopus-dev",
    // SRTP for encrypted calls (media/src/srtp.rs links libsrtp2), and tcpdump for the test
    // that checks no audio crosses the wire in clear.
    "libsrtp2-dev",
    "tcpdump",
    // Calls through NAT: a STUN server and the NAT itself (iptables masquerade in a network
    // namespace of the test's own).
    "coturn",
    "iptables",
    "pulseaudio",
    "pulseaudio-utils",
    "libasound2-plugins",
    "alsa-utils",
    "espeak-ng",
    "sox",
    // Voicemail transcription: numpy for tools/speech_model.py, which makes the speech model.
    "python3-numpy",
    // The window: X11/Wayland, xkbcommon and GL for eframe, Xvfb to run it headless, D-Bus for
    // the keyring and notifications.
    "libx11-dev",
    "libxcursor-dev",
    "libxrandr-dev",
    "libxi-dev",
    "libxkbcommon-dev",
    "libxkbcommon-x11-0",
    "libwayland-dev",
    "libgl1-mesa-dri",
    "libegl1",
    "xvfb",
    "libdbus-1-dev",
    // The password store's tests run a private session bus with GNOME Keyring behind it.
    "dbus-daemon",
    "gnome-keyring",
];

/// Installs what the suite and the demo need (as root), or says which command to run.
pub fn ensure_packages() -> anyhow::Result<()> {
    harness::host::ensure_packages(PACKAGES)
}

pub fn run(args: &[&str]) -> anyhow::Result<i32> {
    let started = Instant::now();
    ensure_packages()?;
    // Without the model only the transcription tests can fail; the rest should still run.
    if let Err(e) = harness::paths::ensure_speech_model() {
        eprintln!("warning: no speech model, so the transcription tests will fail: {e:#}");
    }
    let pbx = Pbx::new();
    crate::pbx::up(&pbx)?;

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(cargo)
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(args)
        .status();

    // Down even when the tests failed or could not start.
    let down = pbx.down();
    let status = status?;
    down?;
    println!(
        "cargo xtask test: {} in {:.0} s",
        if status.success() { "passed" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    Ok(status.code().unwrap_or(1))
}
