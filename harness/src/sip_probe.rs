//! A one-shot SIP OPTIONS over UDP: proves that the server we expect is the one answering a port.
//! Asterisk reports 'fully booted' even when a transport failed to bind, and another SIP program
//! may hold the port, so a reply and its Server header are the only real proof.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use anyhow::Context;

/// The status line and headers of the reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.text.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

pub fn options(target: SocketAddr, timeout: Duration) -> anyhow::Result<Reply> {
    let sock = UdpSocket::bind("127.0.0.1:0").context("binding a UDP probe socket")?;
    let local = sock.local_addr()?;
    let tag: u64 = rand_u64();
    let request = format!(
        "OPTIONS sip:{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK{tag:x};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@{local}>;tag={tag:x}\r\n\
         To: <sip:{target}>\r\n\
         Call-ID: probe-{tag:x}@{local}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Accept: application/sdp\r\n\
         Content-Length: 0\r\n\r\n"
    );
    sock.send_to(request.as_bytes(), target)?;
    sock.set_read_timeout(Some(timeout))?;
    let mut buf = vec![0u8; 8192];
    let (n, _) = sock
        .recv_from(&mut buf)
        .with_context(|| format!("no SIP reply from {target} within {timeout:?}"))?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    let status = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("SIP/2.0 "))
        .and_then(|l| l.get(..3))
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("not a SIP reply from {target}: {:?}", text.lines().next()))?;
    Ok(Reply { status, text })
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}
