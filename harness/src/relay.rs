//! A UDP relay between one SIP client and the PBX that a test can switch off and on: a server
//! that goes away and comes back, or a network that drops. Only loopback.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

pub struct Relay {
    /// Where the client sends; give this to it as the server address.
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
    keepalives: Arc<AtomicU64>,
}

impl Relay {
    /// Relays to `server`, passing traffic while `up`.
    pub fn start(server: SocketAddr, up: bool) -> std::io::Result<Relay> {
        let front = UdpSocket::bind("127.0.0.1:0")?;
        let back = UdpSocket::bind("127.0.0.1:0")?;
        for s in [&front, &back] {
            s.set_read_timeout(Some(Duration::from_millis(20)))?;
        }
        let addr = front.local_addr()?;
        let relay = Relay {
            addr,
            up: Arc::new(AtomicBool::new(up)),
            stop: Arc::new(AtomicBool::new(false)),
            dropped: Arc::new(AtomicU64::new(0)),
            keepalives: Arc::new(AtomicU64::new(0)),
        };
        let (up, stop, dropped, keepalives) = (
            relay.up.clone(),
            relay.stop.clone(),
            relay.dropped.clone(),
            relay.keepalives.clone(),
        );
        std::thread::Builder::new()
            .name("sip-relay".into())
            .spawn(move || {
                let mut client: Option<SocketAddr> = None;
                let mut buf = vec![0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok((n, from)) = front.recv_from(&mut buf) {
                        client = Some(from);
                        if buf[..n].iter().all(|b| matches!(b, b'\r' | b'\n')) {
                            keepalives.fetch_add(1, Ordering::Relaxed);
                        }
                        if up.load(Ordering::Relaxed) {
                            let _ = back.send_to(&buf[..n], server);
                        } else {
                            dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if let Ok((n, _)) = back.recv_from(&mut buf)
                        && let Some(c) = client
                    {
                        if up.load(Ordering::Relaxed) {
                            let _ = front.send_to(&buf[..n], c);
                        } else {
                            dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })?;
        Ok(relay)
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::Relaxed);
    }

    /// CRLF keepalives the client sent.
    pub fn keepalives(&self) -> u64 {
        self.keepalives.load(Ordering::Relaxed)
    }

    /// Datagrams dropped while down.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
