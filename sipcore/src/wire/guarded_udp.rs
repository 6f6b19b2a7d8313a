//! The SIP UDP socket as rsipstack sees it: every datagram goes through [`raw_guard::judge`]
//! first (answered, dropped, or handed on, maybe rewritten), and [`ViaFix`] takes the marker
//! the guard put on a Via without `rport` off again once the stack has parsed the request.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::sip::SipMessage;
use rsipstack::transaction::endpoint::TransportEventInspector;
use rsipstack::transport::TransportEvent;
use rsipstack::transport::udp::UdpConnection;
use tokio_util::sync::CancellationToken;

use super::raw_guard::{self, Verdict};

struct GuardedUdp {
    sock: tokio::net::UdpSocket,
}

#[async_trait::async_trait]
impl rsipstack::platform::net::UdpSocket for GuardedUdp {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        loop {
            let (n, source) = self.sock.recv_from(buf).await?;
            let rewritten = match raw_guard::judge(&buf[..n], source) {
                Verdict::Pass(Cow::Borrowed(_)) => return Ok((n, source)),
                Verdict::Pass(Cow::Owned(bytes)) => bytes,
                Verdict::Answer(reply, to) => {
                    let _ = self.sock.send_to(&reply, to).await;
                    continue;
                }
                Verdict::Drop => continue,
            };
            // Rewriting adds a few bytes; one that no longer fits the stack's buffer is one the
            // stack would have had to cut anyway.
            if rewritten.len() <= buf.len() {
                buf[..rewritten.len()].copy_from_slice(&rewritten);
                return Ok((rewritten.len(), source));
            }
        }
    }

    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        let out = raw_guard::untag(buf);
        self.sock.send_to(&out, addr).await?;
        // The stack checks that the whole of what it gave was sent.
        Ok(buf.len())
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.sock.local_addr()?)
    }
}

/// Our UDP SIP connection on `bind`, guarded.
pub(crate) async fn bind(
    bind: SocketAddr,
    cancel: CancellationToken,
) -> Result<UdpConnection, String> {
    let sock = tokio::net::UdpSocket::bind(bind)
        .await
        .map_err(|e| e.to_string())?;
    UdpConnection::from_socket(Arc::new(GuardedUdp { sock }), None, Some(cancel))
        .await
        .map_err(|e| e.to_string())
}

/// Removes the guard's no-`rport` marker from each parsed request, before any transaction
/// takes its Via to answer.
pub(crate) struct ViaFix;

#[async_trait::async_trait]
impl TransportEventInspector for ViaFix {
    async fn handle(&self, event: TransportEvent) -> Option<TransportEvent> {
        Some(match event {
            TransportEvent::Incoming(SipMessage::Request(mut req), conn, from) => {
                raw_guard::strip_rport_marker(&mut req);
                TransportEvent::Incoming(SipMessage::Request(req), conn, from)
            }
            other => other,
        })
    }
}
