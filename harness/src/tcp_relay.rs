//! A TCP relay between SIP clients and the PBX that counts the client's CRLF keepalives
//! (RFC 5626 §4.4.1): what a NAT or the server sees between SIP messages. Only loopback.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct TcpRelay {
    /// Where the client connects; give this to it as the server address.
    pub addr: SocketAddr,
    keepalives: Arc<AtomicU64>,
}

impl TcpRelay {
    pub fn start(server: SocketAddr) -> std::io::Result<TcpRelay> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let keepalives = Arc::new(AtomicU64::new(0));
        let counted = keepalives.clone();
        std::thread::Builder::new()
            .name("tcp-relay".into())
            .spawn(move || {
                for client in listener.incoming() {
                    let Ok(client) = client else { return };
                    let Ok(upstream) = TcpStream::connect(server) else {
                        continue;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = upstream.set_nodelay(true);
                    let (c2, u2) = match (client.try_clone(), upstream.try_clone()) {
                        (Ok(c), Ok(u)) => (c, u),
                        _ => continue,
                    };
                    let counted = counted.clone();
                    std::thread::spawn(move || pipe(client, upstream, Some(counted)));
                    std::thread::spawn(move || pipe(u2, c2, None));
                }
            })?;
        Ok(TcpRelay { addr, keepalives })
    }

    /// Keepalives the client has sent so far.
    pub fn keepalives(&self) -> u64 {
        self.keepalives.load(Ordering::Relaxed)
    }
}

/// Copies `from` to `to` until either closes. A keepalive is sent on its own, between
/// messages, so a read of exactly a double CRLF is one.
fn pipe(mut from: TcpStream, mut to: TcpStream, keepalives: Option<Arc<AtomicU64>>) {
    let mut buf = [0u8; 65536];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if &buf[..n] == b"\r\n\r\n"
                    && let Some(k) = &keepalives
                {
                    k.fetch_add(1, Ordering::Relaxed);
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
