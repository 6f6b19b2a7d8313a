//! A real mail server on 127.0.0.1 for one test: Debian's aiosmtpd, run from
//! `pbx/smtp/smtp_server.py` on a free port, taking mail from one user and keeping each
//! message in a Maildir of its own that [`SmtpServer::messages`] reads back. Stopped by its
//! PID when dropped.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use crate::process::ChildGuard;

/// The Debian packages it needs on the host.
pub const PACKAGES: &[&str] = &["python3-aiosmtpd"];

pub struct SmtpServer {
    _child: ChildGuard,
    pub addr: SocketAddr,
    pub user: String,
    pub password: String,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    pub fn start(user: &str, password: &str) -> anyhow::Result<Self> {
        crate::host::ensure_packages(PACKAGES)?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let maildir = tempfile::tempdir()?;
        let script = crate::paths::workspace_root().join("pbx/smtp/smtp_server.py");
        // Debian's Python, where python3-aiosmtpd is installed (not a pyenv one earlier on PATH).
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(&script)
            .args(["--port", &port.to_string()])
            .arg("--maildir")
            .arg(maildir.path().join("mail"))
            .args(["--user", user, "--password", password])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = ChildGuard::spawn("smtp server", &mut cmd)?;
        let stdout = child.take_stdout().context("the mail server's output")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(20))
                .context("the mail server did not start")?;
            if line.trim() == "ready" {
                break;
            }
        }
        Ok(Self {
            _child: child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            user: user.into(),
            password: password.into(),
            maildir,
        })
    }

    /// Every message taken so far, whole, in the order of their file names.
    pub fn messages(&self) -> Vec<String> {
        let dir = self.maildir.path().join("mail/new");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
            .unwrap_or_default();
        paths.sort();
        paths
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }
}
