//! A real Kamailio 5.6 on 127.0.0.1, one per test: the registrar with SHA-256 digest auth and the
//! presence server (PUBLISH, SUBSCRIBE, PIDF) that Asterisk 16 lacks.
//!
//! Each [`Kamailio`] copies `pbx/kamailio/kamailio.cfg` into a temporary directory of its own,
//! writes the subscriber table from `pbx/users.tsv` and the per-instance parameters beside it,
//! runs Kamailio in the foreground on a free port, and waits until that port answers OPTIONS as
//! this very instance. Dropping it stops Kamailio by its PID. Instances share nothing, so tests
//! that start their own run in parallel.

use std::fmt::Write as _;
use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::process::ChildGuard;
use crate::users::{self, User};

/// The Debian packages a [`Kamailio`] needs on the host.
pub const PACKAGES: &[&str] = &["kamailio", "kamailio-presence-modules"];

/// Where Debian installs the db_text table templates.
const DBTEXT_TEMPLATES: &str = "/usr/share/kamailio/dbtext/kamailio";
/// The db_text tables the config's modules open (auth_db, usrloc, presence, presence_xml).
const TABLES: &[&str] = &[
    "version",
    "subscriber",
    "location",
    "location_attrs",
    "presentity",
    "active_watchers",
    "watchers",
    "xcap",
    "pua",
];

/// The digest algorithm Kamailio challenges with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Algorithm {
    #[default]
    Md5,
    /// RFC 8760.
    Sha256,
}

impl Algorithm {
    fn config_name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub algorithm: Algorithm,
    /// How long a nonce stays good. A request that reuses it later is answered `stale=true`.
    pub nonce_expire: Duration,
    /// Also serve the dialog event package (RFC 4235, the busy lamp) from the calls it relays.
    /// Off by default: the presence tests rely on a server that refuses `Event: dialog`.
    pub dialog_info: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Md5,
            nonce_expire: Duration::from_secs(300),
            dialog_info: false,
        }
    }
}

/// A running Kamailio. Stopped by PID when dropped.
pub struct Kamailio {
    child: ChildGuard,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Kamailio {
    /// Starts one with MD5 digest auth and the default nonce lifetime.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> anyhow::Result<Self> {
        if !Path::new("/usr/sbin/kamailio").exists() {
            bail!(
                "Kamailio is not installed: `sudo apt-get install -y {}` (cargo xtask test installs it)",
                PACKAGES.join(" ")
            );
        }
        let users = users::all()?;
        // A port that was free a moment ago can be taken before Kamailio binds it; try again
        // with another rather than fail the test.
        let mut last_error = None;
        for _ in 0..3 {
            match Self::start_on(free_port()?, &options, &users) {
                Ok(k) => return Ok(k),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("Kamailio did not start")))
    }

    fn start_on(port: u16, options: &Options, users: &[User]) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("kamailio-").tempdir()?;
        let db = dir.path().join("db");
        write_tables(&db, users)?;
        let server = server_name(port);
        fs::write(
            dir.path().join("params.cfg"),
            render_params(port, &db, options, &server),
        )?;
        let source = crate::paths::workspace_root().join("pbx/kamailio/kamailio.cfg");
        let cfg = dir.path().join("kamailio.cfg");
        fs::copy(&source, &cfg).with_context(|| format!("copying {}", source.display()))?;
        let run = dir.path().join("run");
        fs::create_dir_all(&run)?;
        let log = dir.path().join("kamailio.log");
        let logfile = fs::File::create(&log)?;
        let mut cmd = Command::new("/usr/sbin/kamailio");
        cmd.arg("-f")
            .arg(&cfg)
            // Foreground, logging to stderr; small memory pools, this serves a handful of users.
            .args(["-DD", "-E", "-m", "32", "-M", "4"])
            .arg("-Y")
            .arg(&run)
            .arg("-w")
            .arg(dir.path())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(logfile.try_clone()?)
            .stderr(logfile);
        let mut child = ChildGuard::spawn("kamailio", &mut cmd)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let healthy = crate::wait::wait_for(
            "Kamailio to answer OPTIONS",
            Duration::from_secs(15),
            || {
                if !child.is_running() {
                    return Some(false);
                }
                let reply = crate::sip_probe::options(addr, Duration::from_millis(200)).ok()?;
                (reply.header("Server") == Some(server.as_str())).then_some(true)
            },
        );
        match healthy {
            Ok(true) => Ok(Self {
                child,
                addr,
                log,
                _dir: dir,
            }),
            Ok(false) => bail!(
                "Kamailio exited at start:\n{}",
                tail(&fs::read_to_string(&log).unwrap_or_default(), 30)
            ),
            Err(e) => bail!(
                "{e}:\n{}",
                tail(&fs::read_to_string(&log).unwrap_or_default(), 30)
            ),
        }
    }

    /// SIP over UDP and TCP.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The SIP domain (and account server) users register to: `127.0.0.1:PORT`.
    pub fn domain(&self) -> String {
        self.addr.to_string()
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Everything Kamailio has logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every digest check the config made, in order (from its `auth …` log lines).
    pub fn auth_checks(&self) -> Vec<AuthCheck> {
        self.log().lines().filter_map(AuthCheck::parse).collect()
    }

    /// Waits until the log holds at least `n` auth checks that `pick` accepts; returns them all.
    pub fn wait_for_auth_checks(
        &self,
        n: usize,
        timeout: Duration,
        pick: impl Fn(&AuthCheck) -> bool,
    ) -> anyhow::Result<Vec<AuthCheck>> {
        crate::wait::wait_for(
            &format!("{n} matching auth checks in Kamailio's log"),
            timeout,
            || {
                let all = self.auth_checks();
                (all.iter().filter(|c| pick(c)).count() >= n).then_some(all)
            },
        )
        .map_err(|e| anyhow::anyhow!("{e}; checks so far: {:#?}", self.auth_checks()))
    }
}

/// One `auth_check` Kamailio made: who, for which method, its result code, and what the request's
/// credentials said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthCheck {
    pub method: String,
    pub user: String,
    /// 1: accepted; -2: wrong password; -4: nonce expired; -5: no credentials; -6: nonce reused.
    pub rc: i32,
    pub nonce: Option<String>,
    pub nc: Option<String>,
    pub algorithm: Option<String>,
}

impl AuthCheck {
    /// Reads a line the config logs: `auth METHOD user USER rc RC credentials [HEADER]`.
    pub fn parse(line: &str) -> Option<Self> {
        let rest = &line[line.find("<script>: auth ")? + "<script>: auth ".len()..];
        let mut words = rest.split_whitespace();
        let method = words.next()?.to_string();
        (words.next()? == "user").then_some(())?;
        let user = words.next()?.to_string();
        (words.next()? == "rc").then_some(())?;
        let rc = words.next()?.parse().ok()?;
        let creds = rest
            .split_once("credentials [")
            .map(|(_, c)| c.trim_end().trim_end_matches(']'))
            .unwrap_or("");
        let param = |name: &str| -> Option<String> {
            creds.split(',').find_map(|p| {
                let (k, v) = p.split_once('=')?;
                let k = k.trim();
                let k = k.rsplit(' ').next().unwrap_or(k);
                k.eq_ignore_ascii_case(name)
                    .then(|| v.trim().trim_matches('"').to_string())
            })
        };
        Some(Self {
            method,
            user,
            rc,
            nonce: param("nonce"),
            nc: param("nc"),
            algorithm: param("algorithm"),
        })
    }
}

/// What this instance answers in its Server header; the health check insists on it, so another
/// program on the port is never mistaken for it.
fn server_name(port: u16) -> String {
    format!("Switchboard test Kamailio {port}")
}

/// A port free for both UDP and TCP on 127.0.0.1 a moment ago.
fn free_port() -> anyhow::Result<u16> {
    for _ in 0..20 {
        let port = crate::peers::free_udp_port()?;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no port free for both UDP and TCP on 127.0.0.1")
}

/// The per-instance definitions `kamailio.cfg` includes.
pub fn render_params(port: u16, db: &Path, options: &Options, server: &str) -> String {
    let mut out = String::new();
    let defs = [
        ("KAM_PORT", port.to_string()),
        ("KAM_DB", db.display().to_string()),
        ("KAM_ALGORITHM", options.algorithm.config_name().to_string()),
        (
            "KAM_NONCE_EXPIRE",
            options.nonce_expire.as_secs().max(1).to_string(),
        ),
        ("KAM_SERVER", server.to_string()),
    ];
    for (name, value) in defs {
        let _ = writeln!(out, "#!substdef \"!{name}!{value}!g\"");
    }
    if options.dialog_info {
        out.push_str("#!define WITH_DIALOG_INFO\n");
    }
    out
}

/// The db_text tables: empty ones from Debian's templates, and the subscriber table with one
/// row per user. `ha1` and `ha1b` must not be empty for db_text, though the config computes HA1
/// from the password.
fn write_tables(db: &Path, users: &[User]) -> anyhow::Result<()> {
    fs::create_dir_all(db)?;
    for table in TABLES {
        let from = Path::new(DBTEXT_TEMPLATES).join(table);
        fs::copy(&from, db.join(table)).with_context(|| format!("copying {}", from.display()))?;
    }
    let mut subscriber = fs::read_to_string(db.join("subscriber"))?;
    subscriber.push_str(&render_subscribers(users));
    fs::write(db.join("subscriber"), subscriber)?;
    Ok(())
}

/// db_text rows `id:username:domain:password:ha1:ha1b`; `:` in a value is escaped.
pub fn render_subscribers(users: &[User]) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace(':', "\\:");
    users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            format!(
                "{}:{}:127.0.0.1:{}:-:-\n",
                i + 1,
                esc(&u.extension),
                esc(&u.password)
            )
        })
        .collect()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriber_rows_escape_colons_and_fill_the_hash_columns() {
        let users = users::parse("2001\tT\tp:w\tt@x\n").unwrap();
        assert_eq!(render_subscribers(&users), "1:2001:127.0.0.1:p\\:w:-:-\n");
    }

    #[test]
    fn params_define_every_placeholder_the_config_uses() {
        let params = render_params(
            25070,
            Path::new("/tmp/db"),
            &Options {
                algorithm: Algorithm::Sha256,
                nonce_expire: Duration::from_secs(3),
                dialog_info: true,
            },
            "S 25070",
        );
        assert!(params.contains("#!substdef \"!KAM_ALGORITHM!SHA-256!g\""));
        assert!(params.contains("#!define WITH_DIALOG_INFO\n"));
        assert!(!render_params(1, Path::new("/d"), &Options::default(), "S").contains("#!define"));
        assert!(params.contains("!KAM_NONCE_EXPIRE!3!g"));
        let cfg =
            fs::read_to_string(crate::paths::workspace_root().join("pbx/kamailio/kamailio.cfg"))
                .unwrap();
        for name in [
            "KAM_PORT",
            "KAM_DB",
            "KAM_ALGORITHM",
            "KAM_NONCE_EXPIRE",
            "KAM_SERVER",
        ] {
            assert!(cfg.contains(name) && params.contains(name), "{name}");
        }
    }

    #[test]
    fn reads_an_auth_log_line() {
        let line = r#" 2(9869) INFO: <script>: auth REGISTER user 2001 rc 1 credentials [Digest username="2001", realm="127.0.0.1", nonce="abc+/=", uri="sip:127.0.0.1:25070", response="f00", algorithm=SHA-256, qop=auth, cnonce="x", nc=00000002]"#;
        let c = AuthCheck::parse(line).unwrap();
        assert_eq!(c.method, "REGISTER");
        assert_eq!(c.user, "2001");
        assert_eq!(c.rc, 1);
        assert_eq!(c.nonce.as_deref(), Some("abc+/="));
        assert_eq!(c.algorithm.as_deref(), Some("SHA-256"));
        assert_eq!(c.nc.as_deref(), Some("00000002"));
        assert!(AuthCheck::parse("request REGISTER from x").is_none());
    }
}
