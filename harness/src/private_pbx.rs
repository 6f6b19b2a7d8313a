//! A second Asterisk from the harness's chroot, for a test that stops and starts its PBX
//! without disturbing the shared one: its own config, run, log and database folders, on the
//! usual ports inside the calling thread's network namespace (a test makes one with
//! `unshare(CLONE_NEWNET)`; the shared PBX's ports are elsewhere, so nothing clashes).

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::pbx::Pbx;
use crate::process::{ChildGuard, run_with_timeout};

/// Moves the calling thread into a network namespace of its own, with loopback up: the
/// threads and processes it starts from then on share it, the rest of the process stays where
/// it was. Panics, saying why, when the process may not (it needs root).
pub fn enter_own_network_namespace() {
    // SAFETY: unshare on this thread only; it shares no namespace-dependent state yet.
    let unshared = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        unshared,
        0,
        "a network namespace needs root: {}",
        std::io::Error::last_os_error()
    );
    let up = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("running ip");
    assert!(
        up.success(),
        "loopback did not come up in the new namespace"
    );
}

pub struct PrivatePbx {
    rootfs: PathBuf,
    /// Folder name under the chroot's /etc, /var/run, /var/log and /var/lib.
    name: String,
    child: Option<ChildGuard>,
}

impl PrivatePbx {
    /// Copies the shared PBX's installed config and starts Asterisk with it, waiting until it
    /// answers SIP. The shared PBX must be up (it installs the config).
    pub fn start(pbx: &Pbx) -> anyhow::Result<Self> {
        let rootfs = pbx.rootfs();
        let name = format!("switchboard-private-{}", std::process::id());
        let etc = rootfs.join("etc").join(&name);
        copy_dir(&rootfs.join("etc/switchboard"), &etc)?;
        let conf = fs::read_to_string(etc.join("asterisk.conf"))?;
        let conf = conf
            .replace(
                "astetcdir => /etc/switchboard",
                &format!("astetcdir => /etc/{name}"),
            )
            .replace(
                "astrundir => /var/run/asterisk",
                &format!("astrundir => /var/run/{name}"),
            )
            .replace(
                "astlogdir => /var/log/asterisk",
                &format!("astlogdir => /var/log/{name}"),
            )
            .replace(
                "astdbdir => /var/lib/asterisk",
                &format!("astdbdir => /var/lib/{name}"),
            );
        if !conf.contains(&format!("astrundir => /var/run/{name}")) {
            bail!(
                "asterisk.conf has no astrundir line to move: pbx/asterisk/asterisk.conf changed"
            );
        }
        fs::write(etc.join("asterisk.conf"), conf)?;
        for dir in ["var/run", "var/log", "var/lib"] {
            fs::create_dir_all(rootfs.join(dir).join(&name))?;
        }
        let mut me = Self {
            rootfs,
            name,
            child: None,
        };
        me.boot()?;
        Ok(me)
    }

    /// Stops Asterisk (as a crash or a reboot would, from the phones' point of view).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = self.cli("core stop now");
            if child.wait_exit(Duration::from_secs(10)).is_none() {
                child.stop();
            }
        }
    }

    /// Starts it again after [`Self::stop`].
    pub fn boot(&mut self) -> anyhow::Result<()> {
        let log = fs::File::create(
            self.rootfs
                .join("var/log")
                .join(&self.name)
                .join("console.log"),
        )?;
        let mut cmd = Command::new("chroot");
        cmd.arg(&self.rootfs)
            .args(["/usr/sbin/asterisk", "-f", "-C"])
            .arg(format!("/etc/{}/asterisk.conf", self.name))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.child = Some(ChildGuard::spawn("private asterisk", &mut cmd)?);
        crate::wait::wait_for(
            "the private Asterisk to answer SIP",
            Duration::from_secs(60),
            || {
                self.cli("core waitfullybooted").ok()?;
                crate::sip_probe::options(crate::pbx::sip_addr(), Duration::from_millis(300)).ok()
            },
        )?;
        Ok(())
    }

    /// `asterisk -rx` against this instance.
    pub fn cli(&self, command: &str) -> anyhow::Result<String> {
        let mut cmd = Command::new("chroot");
        cmd.arg(&self.rootfs)
            .args(["/usr/sbin/asterisk", "-C"])
            .arg(format!("/etc/{}/asterisk.conf", self.name))
            .args(["-rx", command]);
        let out = run_with_timeout(&mut cmd, Duration::from_secs(10))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() || text.contains("Unable to connect to remote asterisk") {
            bail!(
                "`asterisk -rx '{command}'` on the private PBX failed: {}",
                text.trim()
            );
        }
        Ok(text)
    }
}

impl Drop for PrivatePbx {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(self.rootfs.join("etc").join(&self.name));
        for dir in ["var/run", "var/log", "var/lib"] {
            let _ = fs::remove_dir_all(self.rootfs.join(dir).join(&self.name));
        }
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
