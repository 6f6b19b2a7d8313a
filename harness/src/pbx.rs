//! A real Asterisk 16 on 127.0.0.1, run from a Debian bullseye chroot with the repo's own config.
//!
//! The chroot lives under the git-ignored cache (`.cache/pbx/rootfs`) and is built once with
//! debootstrap. Every `up` copies `pbx/asterisk/` into it, writes the per-user sections from
//! `pbx/users.tsv` and the TLS certificates, and waits until Asterisk is booted *and* its SIP
//! transports and AMI answer. A running PBX whose installed config differs from the repo's is not
//! healthy, so the next `up` restarts it with the new config.
//! Test processes share one PBX: `up` and `down` take a file lock, and each test leases the
//! extensions it registers so that two tests never fight over one contact.

use std::fs::{self, File};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::file_lock::FileLock;
use crate::pbx_config::{render_directory, render_user_config};
use crate::process::{pid_alive, run_with_timeout, terminate_pid};
use crate::users::{self, User};

/// SIP over UDP and TCP. Unusual on purpose: 5060 and 5070 are often taken by baresip or Kamailio.
pub const SIP_PORT: u16 = 25060;
/// SIP over TLS, with a certificate from the harness's own CA ([`Pbx::tls_ca`]).
pub const TLS_PORT: u16 = 25061;
pub const AMI_PORT: u16 = 5038;
pub const AMI_USER: &str = "switchboard";
pub const AMI_SECRET: &str = "switchboard-ami";
/// The app's own manager account (agent class only), as the demo and the tests give it.
pub const DESK_AMI_USER: &str = "desk";
pub const DESK_AMI_SECRET: &str = "desk-queues";
/// Asterisk's HTTP server, serving the company directory.
pub const HTTP_PORT: u16 = 25080;
/// The SIP domain users register to.
pub const DOMAIN: &str = "127.0.0.1";
/// Asterisk's voicemail built for IMAP storage (it replaces `asterisk-voicemail`).
const VOICEMAIL_PACKAGE: &str = "asterisk-voicemail-imapstorage";
/// What the PBX calls itself in SIP replies; the health check insists on it.
const USER_AGENT: &str = "Switchboard demo PBX";

/// Packages inside the chroot, all from bullseye main, so the voicemail module matches
/// asterisk. Voicemail is kept in IMAP mailboxes ([`crate::voicemail_store`]).
const CHROOT_PACKAGES: &[&str] = &[
    "asterisk",
    "asterisk-modules",
    VOICEMAIL_PACKAGE,
    "asterisk-opus",
    "asterisk-moh-opsound-gsm",
    "asterisk-core-sounds-en-gsm",
];

pub fn sip_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], SIP_PORT))
}

pub fn tls_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], TLS_PORT))
}

pub fn ami_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], AMI_PORT))
}

/// The manager interface over TLS (the SIP certificate, from the harness's test CA).
pub fn ami_tls_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5039))
}

/// What `up` did, for the times it prints.
#[derive(Debug)]
pub struct UpReport {
    /// Time spent building the chroot; `None` when it was reused.
    pub setup: Option<Duration>,
    /// Time from starting Asterisk to healthy; `None` when it was already running.
    pub boot: Option<Duration>,
    pub status: Status,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub pid: i32,
    pub version: String,
}

/// The PBX's files under the cache directory.
#[derive(Clone, Debug)]
pub struct Pbx {
    dir: PathBuf,
}

impl Default for Pbx {
    fn default() -> Self {
        Self::new()
    }
}

impl Pbx {
    pub fn new() -> Self {
        Self {
            dir: crate::paths::cache_dir().join("pbx"),
        }
    }

    /// Brings the PBX up if it is not healthy, for tests. Returns the handle either way.
    pub fn ensure_up() -> anyhow::Result<Self> {
        let pbx = Self::new();
        if pbx.status().is_err() {
            pbx.up()?;
        }
        Ok(pbx)
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// Asterisk's own log (verbose, notices, warnings, errors).
    pub fn log_path(&self) -> PathBuf {
        self.rootfs().join("var/log/asterisk/messages")
    }

    /// The test CA's certificate (PEM): trust it to accept the PBX's TLS transport. Made on
    /// first use and kept in the cache, so it stays the same across restarts.
    pub fn tls_ca(&self) -> anyhow::Result<PathBuf> {
        Ok(crate::pbx_tls::ensure(&self.dir.join("tls"))?.ca)
    }

    fn pid_path(&self) -> PathBuf {
        self.dir.join("asterisk.pid")
    }

    fn lock(&self, name: &str) -> anyhow::Result<FileLock> {
        fs::create_dir_all(&self.dir)?;
        FileLock::exclusive(&self.dir.join(name))
    }

    /// Builds the chroot if needed, starts Asterisk if needed, and waits until it is healthy.
    pub fn up(&self) -> anyhow::Result<UpReport> {
        let _guard = self.lock("up.lock")?;
        if let Ok(status) = self.status() {
            return Ok(UpReport {
                setup: None,
                boot: None,
                status,
            });
        }
        let setup = self.ensure_rootfs()?;
        // A process left from an earlier run that is not healthy must go before we bind its ports.
        self.stop_asterisk()?;
        self.check_ports_free()?;
        self.install_config()?;
        let started = Instant::now();
        self.voicemail_store().start(&users::all()?)?;
        self.start_asterisk()?;
        let status =
            crate::wait::wait_for("Asterisk to be healthy", Duration::from_secs(60), || {
                self.status().ok()
            })
            .map_err(|e| {
                let diag = self
                    .status()
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                anyhow::anyhow!("{e}: {diag}\n{}", self.log_tail(30))
            })?;
        Ok(UpReport {
            setup,
            boot: Some(started.elapsed()),
            status,
        })
    }

    /// Stops Asterisk if it runs. The chroot stays for the next `up`.
    pub fn down(&self) -> anyhow::Result<()> {
        let _guard = self.lock("up.lock")?;
        self.stop_asterisk()?;
        self.voicemail_store().stop();
        Ok(())
    }

    /// Where Asterisk keeps voicemail: Dovecot beside it.
    pub fn voicemail_store(&self) -> crate::voicemail_store::VoicemailStore {
        crate::voicemail_store::VoicemailStore::new(&self.dir)
    }

    /// Healthy means: our Asterisk process runs with the repo's current config, reports fully
    /// booted, lists its SIP transports, answers SIP OPTIONS over UDP as itself, accepts TCP on
    /// the SIP and TLS ports, and AMI greets us.
    pub fn status(&self) -> anyhow::Result<Status> {
        let pid = self.running_pid().context("Asterisk is not running")?;
        self.installed_config_is_current()?;
        self.voicemail_store().status(&users::all()?)?;
        self.cli("core waitfullybooted")
            .context("Asterisk is not fully booted")?;
        let transports = self.cli("pjsip show transports")?;
        for t in ["transport-udp", "transport-tcp", "transport-tls"] {
            if !transports.contains(t) {
                bail!("SIP transport {t} is not listed by `pjsip show transports`");
            }
        }
        let reply = crate::sip_probe::options(sip_addr(), Duration::from_millis(500))
            .context("no SIP reply over UDP")?;
        let server = reply
            .header("Server")
            .or_else(|| reply.header("User-Agent"))
            .unwrap_or("");
        if server != USER_AGENT {
            bail!(
                "UDP port {SIP_PORT} is answered by `{server}`, not by our Asterisk: another SIP program holds it"
            );
        }
        TcpStream::connect_timeout(&sip_addr(), Duration::from_millis(500))
            .with_context(|| format!("SIP over TCP is not accepting on port {SIP_PORT}"))?;
        TcpStream::connect_timeout(&tls_addr(), Duration::from_millis(500))
            .with_context(|| format!("SIP over TLS is not accepting on port {TLS_PORT}"))?;
        crate::ami::banner(ami_addr()).context("AMI is not answering")?;
        let version = self
            .cli("core show version")?
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Status { pid, version })
    }

    /// Runs an Asterisk CLI command (`asterisk -rx`) and returns its output.
    pub fn cli(&self, command: &str) -> anyhow::Result<String> {
        let mut cmd = Command::new("chroot");
        cmd.arg(self.rootfs()).args([
            "/usr/sbin/asterisk",
            "-C",
            "/etc/switchboard/asterisk.conf",
            "-rx",
            command,
        ]);
        let out = run_with_timeout(&mut cmd, Duration::from_secs(10))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() || text.contains("Unable to connect to remote asterisk") {
            bail!(
                "`asterisk -rx '{command}'` failed: {}{}",
                text.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(text)
    }

    /// The last `lines` lines of Asterisk's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Leases one extension for the life of the returned guard: blocks while another test holds it.
    pub fn lease(&self, extension: &str) -> anyhow::Result<Lease> {
        let user = users::get(extension)?;
        fs::create_dir_all(self.dir.join("leases"))?;
        let lock = FileLock::exclusive(&self.dir.join(format!("leases/{extension}.lock")))?;
        self.fresh_line(&user)?;
        Ok(Lease { user, _lock: lock })
    }

    /// Leases the first free extension of the test pool (2001 and up).
    pub fn lease_any(&self) -> anyhow::Result<Lease> {
        self.lease_first_free(|u| {
            !u.is_demo() && !u.requires_session_timers() && !u.requires_srtp() && !u.is_mobile()
        })
    }

    /// Leases the first free extension whose endpoint requires session timers (3001 and up).
    pub fn lease_with_session_timers(&self) -> anyhow::Result<Lease> {
        self.lease_first_free(User::requires_session_timers)
    }

    /// A user of the pool whose calls the PBX encrypts (SDES-SRTP, PCMU only).
    pub fn lease_with_srtp(&self) -> anyhow::Result<Lease> {
        self.lease_first_free(User::requires_srtp)
    }

    fn lease_first_free(&self, in_pool: impl Fn(&User) -> bool) -> anyhow::Result<Lease> {
        fs::create_dir_all(self.dir.join("leases"))?;
        let pool: Vec<User> = users::all()?.into_iter().filter(in_pool).collect();
        crate::wait::wait_for("a free test extension", Duration::from_secs(120), || {
            pool.iter().find_map(|u| {
                let path = self.dir.join(format!("leases/{}.lock", u.extension));
                FileLock::try_exclusive(&path)
                    .ok()
                    .flatten()
                    .map(|lock| Lease {
                        user: u.clone(),
                        _lock: lock,
                    })
            })
        })
        .and_then(|lease| {
            self.fresh_line(&lease.user)?;
            Ok(lease)
        })
    }

    /// The line as the dialplan has it by default, for the test that just leased it: no
    /// registration left behind, and no call routing an earlier test's app wrote to the PBX's
    /// database (family `switchboard/<extension>`, client::routing::family), which would
    /// otherwise send the next test's calls to a mobile or straight to voicemail.
    fn fresh_line(&self, user: &User) -> anyhow::Result<()> {
        self.forget_contacts(user)?;
        self.cli(&format!("database deltree switchboard/{}", user.extension))
            .with_context(|| format!("forgetting {}'s call routing", user.extension))?;
        Ok(())
    }

    /// Removes every registration Asterisk keeps for `extension`. Called with its lease held, so
    /// that none of them belongs to a running test: they are what a process stopped before it
    /// could unregister left behind, and calls and texts to the extension would go there too.
    /// A wildcard un-REGISTER (not a database edit) so that Asterisk also marks the phone
    /// offline, as busy-lamp and presence watchers expect of an unregistered extension.
    fn forget_contacts(&self, user: &User) -> anyhow::Result<()> {
        let listing = self.cli("database show registrar")?;
        if has_contacts(&listing, &user.extension) {
            crate::peers::run_sipp(
                &crate::peers::sipp_scenario("unregister-all"),
                user,
                &user.extension,
                Duration::from_secs(10),
            )
            .with_context(|| format!("removing {}'s stale registrations", user.extension))?;
        }
        Ok(())
    }

    /// The subscriptions Asterisk serves now (`pjsip show subscriptions inbound`).
    pub fn inbound_subscriptions(&self) -> anyhow::Result<Vec<Served>> {
        Ok(parse_served(&self.cli("pjsip show subscriptions inbound")?))
    }

    /// Deletes every voicemail of one mailbox, so a test starts from zero messages, and makes
    /// Asterisk tell subscribers so. Asterisk caches the counts it last published and only
    /// publishes again when its poll sees them differ from what it last saw; deleting files
    /// under it would leave the cached count for the next subscription. So: a placeholder
    /// message and a recount (the poll now sees at least one), then the deletion and a recount
    /// (it sees zero, differing, and publishes 0/0).
    pub fn clear_voicemail(&self, extension: &str) -> anyhow::Result<()> {
        let store = self.voicemail_store();
        store.deliver(
            extension,
            "From: harness\r\nSubject: placeholder\r\n\r\nA placeholder for a recount.\r\n",
        )?;
        self.recount_voicemail(extension)?;
        store.clear(extension)?;
        self.recount_voicemail(extension)
    }

    fn mailbox_dir(&self, extension: &str) -> PathBuf {
        self.rootfs()
            .join("var/spool/asterisk/voicemail/default")
            .join(extension)
    }

    /// Waits until Asterisk serves `extension` its own mailbox subscription (message-summary),
    /// so that a message left from now on is told to it.
    pub fn wait_for_mailbox_subscription(
        &self,
        extension: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        crate::wait::wait_for(
            "Asterisk to serve the mailbox subscription",
            timeout,
            || {
                self.inbound_subscriptions()
                    .ok()?
                    .iter()
                    .any(|s| {
                        s.endpoint == extension
                            && s.resource == extension
                            && s.event == "message-summary"
                    })
                    .then_some(())
            },
        )
    }

    /// Waits until a message being left for `extension` holds about two seconds of sound, in
    /// the box's tmp folder where Asterisk records it before the caller hangs up.
    pub fn wait_for_message_recording(
        &self,
        extension: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let tmp = self.mailbox_dir(extension).join("tmp");
        crate::wait::wait_for("two seconds of message recorded", timeout, || {
            fs::read_dir(&tmp)
                .ok()?
                .filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .any(|m| m.len() > 16_000)
                .then_some(())
        })
    }

    /// AMI `VoicemailRefresh` for one mailbox (needs `pollmailboxes` in voicemail.conf).
    fn recount_voicemail(&self, extension: &str) -> anyhow::Result<()> {
        let reply = crate::ami::Ami::login_default()?.action(
            "VoicemailRefresh",
            &[("Context", "default"), ("Mailbox", extension)],
        )?;
        if reply.first().and_then(|m| m.get("Response")) != Some("Success") {
            bail!("Asterisk did not recount mailbox {extension}: {reply:?}");
        }
        Ok(())
    }

    fn running_pid(&self) -> Option<i32> {
        let pid: i32 = fs::read_to_string(self.pid_path())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        pid_alive(pid).then_some(pid)
    }

    /// Builds the bullseye chroot with Asterisk, unless a complete one exists. Returns the time
    /// taken when it built one.
    fn ensure_rootfs(&self) -> anyhow::Result<Option<Duration>> {
        let root = self.rootfs();
        if root.join("usr/sbin/asterisk").is_file() {
            self.ensure_imap_voicemail(&root)?;
            return Ok(None);
        }
        if !crate::host::is_root() {
            bail!(
                "building the PBX chroot needs root (debootstrap and chroot); run `sudo cargo xtask pbx up` once"
            );
        }
        crate::host::ensure_packages(&["debootstrap"])?;
        let started = Instant::now();
        // Build beside the final path and rename at the end, so a half-built tree is never used.
        let partial = self.dir.join("rootfs.partial");
        if partial.exists() {
            fs::remove_dir_all(&partial).context("removing an earlier half-built chroot")?;
        }
        let mut debootstrap = Command::new("debootstrap");
        debootstrap
            .args(["--variant=minbase", "bullseye"])
            .arg(&partial)
            .arg("http://deb.debian.org/debian");
        run_checked(
            &mut debootstrap,
            Duration::from_secs(600),
            "debootstrap bullseye",
        )?;
        let mut install = Command::new("chroot");
        install
            .arg(&partial)
            .args(["apt-get", "install", "-y", "--no-install-recommends"])
            .args(CHROOT_PACKAGES)
            .env("DEBIAN_FRONTEND", "noninteractive");
        run_checked(
            &mut install,
            Duration::from_secs(600),
            "installing Asterisk in the chroot",
        )?;
        let mut clean = Command::new("chroot");
        clean.arg(&partial).args(["apt-get", "clean"]);
        run_checked(&mut clean, Duration::from_secs(60), "apt-get clean")?;
        // Without /etc/hosts Asterisk logs name-resolution errors on every call.
        fs::write(
            partial.join("etc/hosts"),
            "127.0.0.1 localhost\n::1 localhost\n",
        )?;
        fs::rename(&partial, &root)?;
        Ok(Some(started.elapsed()))
    }

    /// A chroot built before voicemail moved to IMAP gets the IMAP build of the module.
    fn ensure_imap_voicemail(&self, root: &Path) -> anyhow::Result<()> {
        let marker = format!("var/lib/dpkg/info/{VOICEMAIL_PACKAGE}.list");
        if root.join(&marker).is_file() {
            return Ok(());
        }
        for args in [
            &["apt-get", "update"][..],
            &[
                "apt-get",
                "install",
                "-y",
                "--no-install-recommends",
                VOICEMAIL_PACKAGE,
            ][..],
            &["apt-get", "clean"][..],
        ] {
            let mut cmd = Command::new("chroot");
            cmd.arg(root)
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive");
            run_checked(
                &mut cmd,
                Duration::from_secs(300),
                "installing IMAP voicemail in the chroot",
            )?;
        }
        Ok(())
    }

    /// Every file `install_config` puts under `/etc/switchboard`, by path relative to it, with
    /// its contents.
    fn wanted_config(&self) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
        let mut files = Vec::new();
        let source = crate::paths::workspace_root().join("pbx/asterisk");
        for entry in
            fs::read_dir(&source).with_context(|| format!("reading {}", source.display()))?
        {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "conf") {
                let name = PathBuf::from(path.file_name().context("file name")?);
                files.push((name, fs::read(&path)?));
            }
        }
        for (name, text) in render_user_config(&users::all()?) {
            files.push((Path::new("generated").join(name), text.into_bytes()));
        }
        let tls = crate::pbx_tls::ensure(&self.dir.join("tls"))?;
        files.push(("tls/server.crt".into(), fs::read(&tls.server_cert)?));
        files.push(("tls/server.key".into(), fs::read(&tls.server_key)?));
        Ok(files)
    }

    /// Fails, naming the first file that differs, when the running PBX was installed from
    /// another config than the repo's (pbx/ changed since its `up`).
    fn installed_config_is_current(&self) -> anyhow::Result<()> {
        let etc = self.rootfs().join("etc/switchboard");
        for (name, wanted) in self.wanted_config()? {
            if fs::read(etc.join(&name)).ok().as_ref() != Some(&wanted) {
                bail!(
                    "the running PBX has an older {} than the repo: `up` restarts it with the new config",
                    name.display()
                );
            }
        }
        Ok(())
    }

    /// Copies the repo's config into the chroot and writes the per-user sections.
    fn install_config(&self) -> anyhow::Result<()> {
        let root = self.rootfs();
        let etc = root.join("etc/switchboard");
        if etc.exists() {
            fs::remove_dir_all(&etc)?;
        }
        for (name, contents) in self.wanted_config()? {
            let path = etc.join(name);
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)?;
            }
            fs::write(path, contents)?;
        }
        let users = users::all()?;
        let web = root.join("usr/share/asterisk/static-http/switchboard");
        fs::create_dir_all(&web)?;
        let office: Vec<User> = users.iter().filter(|u| u.is_demo()).cloned().collect();
        let (xml, vcf) = render_directory(&office);
        fs::write(web.join("phonebook.xml"), xml)?;
        fs::write(web.join("directory.vcf"), vcf)?;
        // Root inside the chroot cannot write to directories owned by its asterisk uid.
        for dir in [
            "var/run/asterisk",
            "var/log/asterisk",
            "var/spool/asterisk",
            "var/lib/asterisk",
        ] {
            let d = root.join(dir);
            fs::create_dir_all(&d)?;
            chown_root_recursive(&d)?;
        }
        // The database holds the users' call routing (and registrations): a run starts from
        // the dialplan's defaults, never from what an earlier run's tests left.
        let astdb = root.join("var/lib/asterisk/astdb.sqlite3");
        if astdb.exists() {
            fs::remove_file(&astdb)?;
        }
        // Keep the previous run's log for a look after a failure; start this run's afresh.
        let log = self.log_path();
        if log.exists() {
            let _ = fs::rename(&log, log.with_extension("previous"));
        }
        Ok(())
    }

    /// Fails with a clear reason when another program, or a PBX from another checkout, already
    /// answers our ports: Asterisk would start anyway and only log the bind failure.
    fn check_ports_free(&self) -> anyhow::Result<()> {
        if let Ok(reply) = crate::sip_probe::options(sip_addr(), Duration::from_millis(300)) {
            let server = reply
                .header("Server")
                .or_else(|| reply.header("User-Agent"));
            bail!(
                "SIP port {SIP_PORT} is already answered by `{}`: stop that program (for a PBX \
                 from another checkout, `cargo xtask pbx down` there) and try again",
                server.unwrap_or("an unknown SIP program")
            );
        }
        if TcpStream::connect_timeout(&ami_addr(), Duration::from_millis(300)).is_ok() {
            bail!("AMI port {AMI_PORT} is already taken by another program: stop it and try again");
        }
        Ok(())
    }

    fn start_asterisk(&self) -> anyhow::Result<()> {
        let console = File::create(self.dir.join("console.log"))?;
        let mut cmd = Command::new("chroot");
        cmd.arg(self.rootfs())
            .args([
                "/usr/sbin/asterisk",
                "-f",
                "-C",
                "/etc/switchboard/asterisk.conf",
            ])
            .stdin(Stdio::null())
            .stdout(console.try_clone()?)
            .stderr(console);
        // Its own session, so that it outlives `cargo xtask pbx up` and ignores our terminal's signals.
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let child = cmd.spawn().context("starting Asterisk in the chroot")?;
        fs::write(self.pid_path(), child.id().to_string())?;
        Ok(())
    }

    fn stop_asterisk(&self) -> anyhow::Result<()> {
        let Some(pid) = self.running_pid() else {
            let _ = fs::remove_file(self.pid_path());
            return Ok(());
        };
        let _ = self.cli("core stop now");
        let stopped = crate::wait::wait_for("Asterisk to stop", Duration::from_secs(10), || {
            (!pid_alive(pid)).then_some(())
        });
        if stopped.is_err() {
            terminate_pid(pid, Duration::from_secs(3));
        }
        let _ = fs::remove_file(self.pid_path());
        let _ = fs::remove_file(self.rootfs().join("var/run/asterisk/asterisk.ctl"));
        Ok(())
    }
}

/// An extension a test holds: nobody else registers it until the lease is dropped.
pub struct Lease {
    pub user: User,
    _lock: FileLock,
}

impl Lease {
    pub fn extension(&self) -> &str {
        &self.user.extension
    }

    pub fn password(&self) -> &str {
        &self.user.password
    }
}

/// One subscription Asterisk serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// The subscriber's endpoint, e.g. `2001`.
    pub endpoint: String,
    /// What is watched, e.g. `2002`.
    pub resource: String,
    /// The event package, e.g. `dialog`.
    pub event: String,
    /// Seconds left until it expires.
    pub expiry_secs: u32,
    pub call_id: String,
}

/// Reads the blocks of `pjsip show subscriptions inbound`:
/// `Endpoint: 2001/"Name" <2001>`, `Resource: 2002/dialog`, `Expiry:      599  CALL-ID`.
fn parse_served(text: &str) -> Vec<Served> {
    let mut out = Vec::new();
    let mut endpoint = None;
    let mut resource = None;
    for line in text.lines().map(str::trim) {
        if line.contains('<') && line.contains("....") {
            continue; // the column legend
        }
        if let Some(v) = line.strip_prefix("Endpoint:") {
            endpoint = v.trim().split('/').next().map(str::to_string);
        } else if let Some(v) = line.strip_prefix("Resource:") {
            resource = v
                .trim()
                .rsplit_once('/')
                .map(|(r, e)| (r.to_string(), e.to_string()));
        } else if let Some(v) = line.strip_prefix("Expiry:") {
            let mut parts = v.split_whitespace();
            if let (Some(e), Some((r, ev)), Some(secs), Some(call_id)) = (
                endpoint.take(),
                resource.take(),
                parts.next().and_then(|s| s.parse().ok()),
                parts.next(),
            ) {
                out.push(Served {
                    endpoint: e,
                    resource: r,
                    event: ev,
                    expiry_secs: secs,
                    call_id: call_id.to_string(),
                });
            }
        }
    }
    out
}

/// Whether a `database show registrar` listing holds a contact of `extension`.
fn has_contacts(listing: &str, extension: &str) -> bool {
    let prefix = format!("/registrar/contact/{extension};@");
    listing.lines().any(|l| l.starts_with(&prefix))
}

/// The directory URLs the demo PBX serves.
pub fn directory_url(file: &str) -> String {
    format!("http://127.0.0.1:{HTTP_PORT}/static/switchboard/{file}")
}

fn run_checked(cmd: &mut Command, timeout: Duration, what: &str) -> anyhow::Result<()> {
    let out = run_with_timeout(cmd, timeout)?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(15).collect();
        bail!(
            "{what} failed ({}):\n{}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}

fn chown_root_recursive(path: &Path) -> anyhow::Result<()> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())?;
    // SAFETY: lchown on a path we own; a failure is reported, not ignored.
    if unsafe { libc::lchown(c.as_ptr(), 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("chown {}", path.display()));
    }
    if path.is_dir() && !path.is_symlink() {
        for entry in fs::read_dir(path)? {
            chown_root_recursive(&entry?.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_found_for_one_extension_only() {
        let listing = "\
/registrar/contact/1002;@a994671de3d597a1c597b570a1a1109c: {\"via_addr\":\"127.0.0.1\"}
/registrar/contact/10021;@0ea73db55fc3a6ff41381a44e3c26ee9: {\"via_addr\":\"127.0.0.1\"}
2 results found.";
        assert!(has_contacts(listing, "1002"));
        assert!(has_contacts(listing, "10021"));
        assert!(!has_contacts(listing, "1003"));
        assert!(!has_contacts(listing, "100"));
    }

    #[test]
    fn reads_the_subscriptions_asterisk_serves() {
        let text = "Endpoint: <Endpoint/Caller-ID.............................................>\n\
            Resource: <Resource/Event.................................................>\n\
            \x20 Expiry: <Expiry>  <Call-id..............................................>\n\
            ===========================================================================\n\n\
            Endpoint: 2001/\"Test User 2001\" <2001>\n\
            Resource: 2002/dialog\n\
            \x20 Expiry:      599  4c9ff6f0574f71cc-1@switchboard\n\n\
            1 active subscriptions\n";
        assert_eq!(
            parse_served(text),
            vec![Served {
                endpoint: "2001".into(),
                resource: "2002".into(),
                event: "dialog".into(),
                expiry_secs: 599,
                call_id: "4c9ff6f0574f71cc-1@switchboard".into(),
            }]
        );
    }
}
