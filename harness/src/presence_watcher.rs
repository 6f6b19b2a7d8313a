//! A presence watcher built from raw SIP over UDP, for tests that check what others see of a
//! user: it SUBSCRIBEs to `Event: presence` (answering the server's 407 with credentials the
//! caller computes), answers every NOTIFY with 200, and hands back the bodies in order.
//! Deliberately not sipcore's own subscription code, so it can judge that code independently.

use std::collections::{HashSet, VecDeque};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::users::User;

pub struct PresenceWatcher {
    sock: UdpSocket,
    notifies: VecDeque<String>,
    /// CSeqs of NOTIFYs seen: a retransmission is answered again but is not a new state.
    seen: HashSet<String>,
    timeout: Duration,
}

impl PresenceWatcher {
    /// Subscribes as `user` to `presentity` (an extension) at the server `server` whose SIP
    /// domain is `domain`. `authorize` gets the `Proxy-Authenticate` value of the server's 407
    /// and the Request-URI, and returns the `Proxy-Authorization` value to send.
    pub fn subscribe(
        server: SocketAddr,
        domain: &str,
        user: &User,
        presentity: &str,
        authorize: impl FnOnce(&str, &str) -> String,
    ) -> anyhow::Result<Self> {
        let sock = UdpSocket::bind("127.0.0.1:0")?;
        let local = sock.local_addr()?;
        let mut w = Self {
            sock,
            notifies: VecDeque::new(),
            seen: HashSet::new(),
            timeout: Duration::from_secs(20),
        };
        let target = format!("sip:{presentity}@{domain}");
        let tag = format!("w{}", local.port());
        let call_id = format!("watch-{}@127.0.0.1", local.port());
        let request = |cseq: u32, auth: Option<String>| {
            format!(
                "SUBSCRIBE {target} SIP/2.0\r\n\
                 Via: SIP/2.0/UDP {local};branch=z9hG4bK-w{cseq}-{tag};rport\r\n\
                 Max-Forwards: 70\r\n\
                 From: <sip:{u}@{domain}>;tag={tag}\r\n\
                 To: <{target}>\r\n\
                 Call-ID: {call_id}\r\n\
                 CSeq: {cseq} SUBSCRIBE\r\n\
                 Contact: <sip:{u}@{local}>\r\n\
                 Event: presence\r\n\
                 Accept: application/pidf+xml\r\n\
                 Expires: 300\r\n\
                 {auth}Content-Length: 0\r\n\r\n",
                u = user.extension,
                auth = auth
                    .map(|a| format!("Proxy-Authorization: {a}\r\n"))
                    .unwrap_or_default(),
            )
        };
        w.sock.send_to(request(1, None).as_bytes(), server)?;
        let challenge = w.final_response(1)?;
        if !challenge.starts_with("SIP/2.0 407") {
            bail!("expected a 407 to the SUBSCRIBE, got:\n{challenge}");
        }
        let header = header(&challenge, "Proxy-Authenticate").context("407 without a challenge")?;
        let auth = authorize(&header, &target);
        w.sock.send_to(request(2, Some(auth)).as_bytes(), server)?;
        let ok = w.final_response(2)?;
        if !ok.starts_with("SIP/2.0 2") {
            bail!("the SUBSCRIBE was refused:\n{ok}");
        }
        Ok(w)
    }

    /// Reads one message, answering a NOTIFY (and keeping its body) on the way.
    fn read(&mut self, deadline: Instant) -> Option<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        self.sock.set_read_timeout(Some(left)).ok()?;
        let mut buf = vec![0u8; 65535];
        let (n, from) = self.sock.recv_from(&mut buf).ok()?;
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if text.starts_with("NOTIFY ") {
            let mut reply = String::from("SIP/2.0 200 OK\r\n");
            for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
                for v in headers(&text, name) {
                    reply.push_str(&format!("{name}: {v}\r\n"));
                }
            }
            reply.push_str("Content-Length: 0\r\n\r\n");
            let _ = self.sock.send_to(reply.as_bytes(), from);
            if self.seen.insert(header(&text, "CSeq").unwrap_or_default()) {
                let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
                self.notifies.push_back(body.to_string());
            }
        }
        Some(text)
    }

    fn final_response(&mut self, cseq: u32) -> anyhow::Result<String> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let msg = self
                .read(deadline)
                .context("no final response to the SUBSCRIBE")?;
            let ours = header(&msg, "CSeq").is_some_and(|c| c == format!("{cseq} SUBSCRIBE"));
            if ours && msg.starts_with("SIP/2.0 ") && !msg.starts_with("SIP/2.0 1") {
                return Ok(msg);
            }
        }
    }

    /// The body of the next NOTIFY (each one once), waiting up to 20 s for it.
    pub fn next_body(&mut self) -> anyhow::Result<String> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(body) = self.notifies.pop_front() {
                return Ok(body);
            }
            if self.read(deadline).is_none() {
                bail!("no NOTIFY within {:?}", self.timeout);
            }
        }
    }
}

/// Every value of header `name` in a raw SIP message.
pub fn headers(msg: &str, name: &str) -> Vec<String> {
    msg.split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
        .collect()
}

pub fn header(msg: &str, name: &str) -> Option<String> {
    headers(msg, name).into_iter().next()
}
