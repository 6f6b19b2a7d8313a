//! A small Asterisk Manager Interface client, so tests can ask the PBX what it sees.
//! Messages are `Key: Value` lines ended by a blank line; list actions end with an event whose
//! `EventList` is `Complete`.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, bail};

/// One AMI message: its fields in order.
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub fields: Vec<(String, String)>,
}

impl Message {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the greeting line, proving that AMI accepts connections.
pub fn banner(addr: SocketAddr) -> anyhow::Result<String> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    if !line.starts_with("Asterisk Call Manager") {
        bail!("unexpected AMI greeting {line:?}");
    }
    Ok(line.trim().to_string())
}

pub struct Ami {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_id: u64,
}

impl Ami {
    /// Connects and logs in; fails with AMI's own words when the login is refused.
    pub fn login(addr: SocketAddr, user: &str, secret: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            .with_context(|| format!("connecting to AMI at {addr}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let writer = stream.try_clone()?;
        let mut ami = Self {
            reader: BufReader::new(stream),
            writer,
            next_id: 1,
        };
        let mut greeting = String::new();
        ami.reader.read_line(&mut greeting)?;
        let reply = ami.action("Login", &[("Username", user), ("Secret", secret)])?;
        let first = reply.first().context("no reply to Login")?;
        if first.get("Response") != Some("Success") {
            bail!(
                "AMI login refused: {}",
                first.get("Message").unwrap_or("no reason given")
            );
        }
        Ok(ami)
    }

    /// The test user from `pbx/asterisk/manager.conf`.
    pub fn login_default() -> anyhow::Result<Self> {
        Self::login(
            crate::pbx::ami_addr(),
            crate::pbx::AMI_USER,
            crate::pbx::AMI_SECRET,
        )
    }

    /// Sends an action and returns its response, plus every list event up to the one whose
    /// `EventList` is `Complete` when the response announces a list.
    pub fn action(
        &mut self,
        action: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<Vec<Message>> {
        let id = format!("sb-{}", self.next_id);
        self.next_id += 1;
        let mut req = format!("Action: {action}\r\nActionID: {id}\r\n");
        for (k, v) in fields {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        self.writer.write_all(req.as_bytes())?;

        let mut out = Vec::new();
        let mut is_list = false;
        loop {
            let msg = self.read_message()?;
            if msg.get("ActionID") != Some(id.as_str()) {
                continue; // an unrelated event
            }
            if msg.get("Response").is_some() {
                is_list = msg
                    .get("EventList")
                    .is_some_and(|v| v.eq_ignore_ascii_case("start"))
                    || msg
                        .get("Message")
                        .is_some_and(|m| m.contains("will follow"));
                out.push(msg);
                if !is_list {
                    return Ok(out);
                }
                continue;
            }
            let done = msg
                .get("EventList")
                .is_some_and(|v| v.eq_ignore_ascii_case("Complete"));
            out.push(msg);
            if done && is_list {
                return Ok(out);
            }
        }
    }

    fn read_message(&mut self) -> anyhow::Result<Message> {
        let mut msg = Message::default();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line)?;
            if n == 0 {
                bail!("AMI closed the connection");
            }
            let line = line.trim_end();
            if line.is_empty() {
                if msg.fields.is_empty() {
                    continue;
                }
                return Ok(msg);
            }
            if let Some((k, v)) = line.split_once(':') {
                msg.fields
                    .push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
}

impl Drop for Ami {
    fn drop(&mut self) {
        let _ = self.writer.write_all(b"Action: Logoff\r\n\r\n");
    }
}
