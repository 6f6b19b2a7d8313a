//! Where the password goes, in real sessions: this test binary runs its own `child` test again
//! with no D-Bus session at all, with a D-Bus session that offers no Secret Service, and with a
//! private D-Bus session where GNOME Keyring answers, each in throwaway home and runtime
//! folders, so the user's own keyring is never touched.
//!
//! Needs `dbus-run-session` and `gnome-keyring-daemon` (`cargo xtask test` installs them).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use storage::secrets::{SecretBackend, forget_password, load_password, save_password};

/// Set in the child: which backend it must end up with ("keyring" or "file").
const EXPECT: &str = "SWITCHBOARD_TEST_EXPECT_BACKEND";
/// Set in the child: a scratch folder for its profiles.
const SCRATCH: &str = "SWITCHBOARD_TEST_SCRATCH";

/// The half that runs inside the session under test; a no-op when run directly.
#[test]
fn child() {
    let Ok(expect) = std::env::var(EXPECT) else {
        return;
    };
    let scratch = PathBuf::from(std::env::var_os(SCRATCH).expect("scratch folder"));
    let profile = scratch.join("profiles/1001@pbx");
    let file = profile.join("password");
    match expect.as_str() {
        "file" => {
            let backend = save_password(&profile, "s3cret").unwrap();
            assert_eq!(backend, SecretBackend::PrivateFile);
            assert!(backend.warning().is_some(), "the UI must be told");
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            assert_eq!(
                load_password(&profile).unwrap(),
                Some(("s3cret".into(), SecretBackend::PrivateFile))
            );
        }
        "keyring" => {
            // A file from a time without a keyring must not outlive the move to the keyring.
            std::fs::create_dir_all(&profile).unwrap();
            std::fs::write(&file, "old").unwrap();
            let backend = save_password(&profile, "s3cret").unwrap();
            assert_eq!(backend, SecretBackend::Keyring);
            assert!(backend.warning().is_none());
            assert!(!file.exists(), "no second copy on disk");
            assert_eq!(
                load_password(&profile).unwrap(),
                Some(("s3cret".into(), SecretBackend::Keyring))
            );
            // Each profile has its own item, and saving again replaces it.
            let other = scratch.join("profiles/1002@pbx");
            save_password(&other, "other").unwrap();
            save_password(&profile, "changed").unwrap();
            assert_eq!(load_password(&profile).unwrap().unwrap().0, "changed");
            assert_eq!(load_password(&other).unwrap().unwrap().0, "other");
            forget_password(&other).unwrap();
        }
        other => panic!("unknown backend {other}"),
    }
    forget_password(&profile).unwrap();
    assert_eq!(load_password(&profile).unwrap(), None);
    assert!(!file.exists());
    println!("child finished: {expect}");
}

/// A throwaway session: home, data and runtime folders of its own.
struct Session {
    root: tempfile::TempDir,
}

impl Session {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        for d in ["home", "run", "scratch"] {
            std::fs::create_dir(root.path().join(d)).unwrap();
        }
        std::fs::set_permissions(
            root.path().join("run"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        Session { root }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// `program args… <this test binary> child`, in this session's folders, with no trace of
    /// the caller's own D-Bus session or display.
    fn command(&self, program: &str, args: &[&str], expect: &str) -> Command {
        let mut c = Command::new(program);
        c.args(args)
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "keyring::child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env("HOME", self.path("home"))
            .env("XDG_DATA_HOME", self.path("home/.local/share"))
            .env("XDG_RUNTIME_DIR", self.path("run"))
            .env(EXPECT, expect)
            .env(SCRATCH, self.path("scratch"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }
}

/// Runs the child to the end (a minute at most) and fails with its output unless it passed.
fn run(mut command: Command, expect: &str) {
    let mut child = command.spawn().expect("start the child session");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("child finished: {expect}")),
        "child expecting {expect}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn require(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is not installed; `cargo xtask test` installs it (apt-get install dbus-daemon gnome-keyring)"
    );
}

#[test]
fn with_no_dbus_session_the_password_goes_to_a_private_file() {
    let s = Session::new();
    // Nothing to find: no bus address, and no bus socket in the (empty) runtime folder.
    run(s.command("env", &[], "file"), "file");
}

#[test]
fn with_a_dbus_session_but_no_secret_service_the_password_goes_to_a_private_file() {
    require("dbus-run-session");
    let s = Session::new();
    // A session bus that can start no services, so nothing owns org.freedesktop.secrets.
    let config = s.path("bus.conf");
    std::fs::write(&config, bus_config_without_services(&s.path("run"))).unwrap();
    let config_arg = format!("--config-file={}", config.display());
    run(
        s.command("dbus-run-session", &[&config_arg, "--"], "file"),
        "file",
    );
}

#[test]
fn gnome_keyring_keeps_the_password_when_it_runs() {
    require("dbus-run-session");
    require("gnome-keyring-daemon");
    let s = Session::new();
    // What a desktop login does through PAM: start GNOME Keyring with the login password,
    // which makes and unlocks the "login" keyring (the default collection new items go to).
    // It keeps its keyrings under the throwaway home.
    let login = "printf 'login password' | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec \"$@\"";
    run(
        s.command(
            "dbus-run-session",
            &["--", "sh", "-c", login, "sh"],
            "keyring",
        ),
        "keyring",
    );
    let keyrings = s.path("home/.local/share/keyrings");
    let stored = std::fs::read_dir(&keyrings)
        .map(|d| d.count())
        .unwrap_or_default();
    assert!(
        stored > 0,
        "GNOME Keyring wrote nothing in {}",
        keyrings.display()
    );
}

fn bus_config_without_services(run: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        run.display()
    )
}
