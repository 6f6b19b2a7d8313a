//! The demo PBX's voicemail store: Debian's Dovecot on 127.0.0.1, one IMAP mailbox per user
//! with the user's SIP password, where Asterisk's IMAP voicemail storage keeps every message
//! (`pbx/asterisk/voicemail.conf`) and from which the app lists, plays and deletes them.
//!
//! It runs beside Asterisk for as long as the PBX is up: `Pbx::up` starts it first and
//! `Pbx::down` stops it, by the PID it wrote. Its config, state and maildirs live under
//! `/var/tmp/switchboard-dovecot/<checkout>/`, not in the checkout: Dovecot's login and mail
//! processes run as its own unprivileged users, which cannot reach into a checkout under a
//! private home folder.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::process::{pid_alive, terminate_pid};
use crate::users::User;

/// The Debian packages the store needs on the host.
pub const PACKAGES: &[&str] = &["dovecot-imapd"];

pub const IMAP_PORT: u16 = 25143;

pub fn imap_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], IMAP_PORT))
}

pub struct VoicemailStore {
    dir: PathBuf,
}

impl VoicemailStore {
    /// The store of the PBX whose state is under `pbx_dir`: one per checkout.
    pub fn new(pbx_dir: &Path) -> Self {
        // FNV-1a of the path: the same folder for the same checkout, whatever the toolchain.
        let hash = pbx_dir
            .as_os_str()
            .as_encoded_bytes()
            .iter()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
            });
        Self {
            dir: Path::new("/var/tmp/switchboard-dovecot").join(format!("{hash:016x}")),
        }
    }

    /// Healthy: our Dovecot runs with the repo's config and greets on the IMAP port.
    pub fn status(&self, users: &[User]) -> anyhow::Result<()> {
        let pid = self.pid().context("the voicemail store is not running")?;
        if !pid_alive(pid) {
            bail!("the voicemail store has stopped");
        }
        for (path, wanted) in self.wanted_files(users)? {
            if fs::read_to_string(&path).ok().as_deref() != Some(wanted.as_str()) {
                bail!("the voicemail store runs an older {}", path.display());
            }
        }
        greeting(imap_addr()).context("the voicemail store does not answer IMAP")?;
        Ok(())
    }

    /// Writes the config and users, and starts Dovecot in its own session so that it outlives
    /// `cargo xtask pbx up`; waits for its greeting.
    pub fn start(&self, users: &[User]) -> anyhow::Result<()> {
        crate::host::ensure_packages(PACKAGES)?;
        self.stop();
        for sub in ["run", "state", "mail"] {
            fs::create_dir_all(self.dir.join(sub))?;
        }
        for (path, text) in self.wanted_files(users)? {
            fs::write(path, text)?;
        }
        // Mail is written as the `dovecot` user (Dovecot will not deliver as root).
        let chown = Command::new("chown")
            .args(["-R", "dovecot:dovecot"])
            .arg(self.dir.join("mail"))
            .status()
            .context("chown of the maildirs")?;
        if !chown.success() {
            bail!("could not give the maildirs to the dovecot user");
        }
        let mut cmd = Command::new("dovecot");
        cmd.args(["-F", "-c"])
            .arg(self.dir.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(self.dir.join("console.log"))?);
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .context("starting dovecot (is dovecot-imapd installed?)")?;
        fs::write(self.pid_path(), child.id().to_string())?;
        crate::wait::wait_for("the voicemail store", Duration::from_secs(20), || {
            greeting(imap_addr()).ok()
        })
        .map_err(|e| {
            let log = fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default();
            let console = fs::read_to_string(self.dir.join("console.log")).unwrap_or_default();
            anyhow::anyhow!("{e}\n{console}\n{log}")
        })?;
        Ok(())
    }

    pub fn stop(&self) {
        if let Some(pid) = self.pid()
            && pid_alive(pid)
        {
            terminate_pid(pid, Duration::from_secs(5));
        }
        let _ = fs::remove_file(self.pid_path());
    }

    /// The files of one user's mailbox folder: `INBOX` (new) or `Old` (heard), each a message.
    pub fn messages(&self, extension: &str) -> Vec<PathBuf> {
        let maildir = self.dir.join("mail").join(extension).join("Maildir");
        let mut out = Vec::new();
        for folder in [maildir.clone(), maildir.join(".Old")] {
            for sub in ["new", "cur"] {
                if let Ok(entries) = fs::read_dir(folder.join(sub)) {
                    out.extend(entries.filter_map(|e| Some(e.ok()?.path())));
                }
            }
        }
        out
    }

    /// Removes every message of one user, new and heard.
    pub fn clear(&self, extension: &str) -> anyhow::Result<()> {
        for path in self.messages(extension) {
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
        Ok(())
    }

    /// Puts a message in one user's INBOX directly, as a delivery would.
    pub fn deliver(&self, extension: &str, message: &str) -> anyhow::Result<()> {
        let new = self.dir.join("mail").join(extension).join("Maildir/new");
        fs::create_dir_all(&new)?;
        let name = format!(
            "{}.harness{}.switchboard",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos(),
            std::process::id()
        );
        fs::write(new.join(name), message)?;
        Command::new("chown")
            .args(["-R", "dovecot:dovecot"])
            .arg(self.dir.join("mail").join(extension))
            .status()?;
        Ok(())
    }

    fn wanted_files(&self, users: &[User]) -> anyhow::Result<Vec<(PathBuf, String)>> {
        let source = crate::paths::workspace_root().join("pbx/dovecot/dovecot.conf");
        let conf = fs::read_to_string(&source)
            .with_context(|| format!("reading {}", source.display()))?
            .replace("@DIR@", &self.dir.display().to_string())
            .replace("@PORT@", &IMAP_PORT.to_string());
        let mut passwd = String::new();
        for u in users {
            let _ = writeln!(passwd, "{}:{}", u.extension, u.password);
        }
        Ok(vec![
            (self.dir.join("dovecot.conf"), conf),
            (self.dir.join("users"), passwd),
        ])
    }

    fn pid_path(&self) -> PathBuf {
        self.dir.join("dovecot.pid")
    }

    fn pid(&self) -> Option<i32> {
        fs::read_to_string(self.pid_path())
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// A voicemail email as Asterisk's IMAP storage writes one: `X-Asterisk-VM-*` headers for the
/// caller, time and duration, and `wav` attached.
pub fn voicemail_email(caller_number: &str, caller_name: &str, at_secs: i64, wav: &[u8]) -> String {
    let duration = wav.len().saturating_sub(44) / 16_000;
    format!(
        "Date: Mon, 07 Dec 2026 12:36:44 +0000\r\n\
         From: Asterisk PBX <asterisk@vm>\r\n\
         Subject: [PBX]: New message\r\n\
         X-Asterisk-VM-Caller-ID-Num: {caller_number}\r\n\
         X-Asterisk-VM-Caller-ID-Name: {caller_name}\r\n\
         X-Asterisk-VM-Duration: {duration}\r\n\
         X-Asterisk-VM-Orig-time: {at_secs}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nA message.\r\n\
         --b1\r\nContent-Type: audio/x-wav; name=\"msg0000.wav\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        data_encoding::BASE64.encode(wav)
    )
}

/// A tone as Asterisk records voicemail: 8 kHz 16-bit mono WAV.
pub fn tone_wav(freq: f32, secs: f32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::new(&mut out, spec).expect("a WAV in memory");
    for i in 0..(secs * 8000.0) as usize {
        let t = i as f32 / 8000.0;
        w.write_sample(((t * freq * std::f32::consts::TAU).sin() * 8000.0) as i16)
            .expect("a WAV in memory");
    }
    w.finalize().expect("a WAV in memory");
    out.into_inner()
}

/// The server's first line, when it is an IMAP greeting.
fn greeting(addr: SocketAddr) -> anyhow::Result<String> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    if !line.starts_with("* OK") {
        bail!("not an IMAP greeting: {line:?}");
    }
    Ok(line)
}
