//! ICE (RFC 8445) on a stream's own RTP socket, with the sans-IO agent of the `is` crate
//! (str0m's): connectivity checks go out and come in on the RTP socket, told apart from RTP by
//! their first byte and magic cookie (RFC 7983), and the pair the controlling side nominates
//! becomes where RTP goes. One component: ICE calls use rtcp-mux.
//!
//! Gathering is the signalling side's (sipcore): the host candidate is the socket's address,
//! the server-reflexive one comes from [`reflexive_address`], a STUN Binding request from the
//! same socket before the offer or answer is written.
//!
//! The checks are a handful of small packets a second while a pair is sought and one every
//! few seconds after; the agent allocates while it handles them, a known cost on the media
//! thread like the others listed in the crate's documentation.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

pub use is::{Candidate, IceCreds, Protocol};
use is::{IceAgent, IceAgentEvent};

/// What a stream needs to run ICE: the roles, both sides' credentials and candidates.
#[derive(Clone, Debug)]
pub struct IceConfig {
    /// The offerer controls (RFC 8445 §6.1.1) and nominates.
    pub controlling: bool,
    pub local: IceCreds,
    pub remote: IceCreds,
    pub local_candidates: Vec<Candidate>,
    pub remote_candidates: Vec<Candidate>,
}

impl PartialEq for IceConfig {
    fn eq(&self, other: &Self) -> bool {
        self.controlling == other.controlling
            && self.local == other.local
            && self.remote == other.remote
            && self.local_candidates.len() == other.local_candidates.len()
            && self.remote_candidates.len() == other.remote_candidates.len()
    }
}

/// True for a STUN message (RFC 7983 §7: first byte 0..=3, and the magic cookie).
pub fn is_stun(buf: &[u8]) -> bool {
    buf.len() >= 20 && buf[0] < 4 && buf[4..8] == [0x21, 0x12, 0xA4, 0x42]
}

pub(crate) struct Ice {
    agent: IceAgent,
    local: SocketAddr,
    nominated: Option<SocketAddr>,
}

impl Ice {
    pub fn new(cfg: IceConfig, local: SocketAddr) -> Self {
        let mut agent = IceAgent::new(cfg.local);
        agent.set_controlling(cfg.controlling);
        agent.set_remote_credentials(cfg.remote);
        for c in cfg.local_candidates {
            agent.add_local_candidate(c);
        }
        for c in cfg.remote_candidates {
            agent.add_remote_candidate(c);
        }
        Ice {
            agent,
            local,
            nominated: None,
        }
    }

    /// A STUN packet that arrived on the socket from `from`.
    pub fn on_packet(&mut self, buf: &[u8], from: SocketAddr) {
        let Ok(message) = is::stun::StunMessage::parse(buf) else {
            return;
        };
        let packet = is::stun::StunPacket {
            proto: Protocol::Udp,
            source: from,
            destination: self.local,
            message,
        };
        self.agent.handle_packet(Instant::now(), packet);
    }

    /// Runs the agent's timers and sends its checks; returns the pair's remote address when
    /// the nomination changed it.
    pub fn tick(&mut self, socket: &UdpSocket) -> Option<SocketAddr> {
        self.agent.handle_timeout(Instant::now());
        while let Some(t) = self.agent.poll_transmit() {
            let _ = socket.send_to(&t.contents, t.destination);
        }
        let mut changed = None;
        while let Some(e) = self.agent.poll_event() {
            if let IceAgentEvent::NominatedSend { destination, .. } = e
                && self.nominated != Some(destination)
            {
                self.nominated = Some(destination);
                changed = Some(destination);
            }
        }
        changed
    }
}

/// The address a STUN server sees `socket` send from (its server-reflexive address), by a
/// Binding request (RFC 8489, `stun-types`) retried until `timeout`. `Ok(None)` when the server
/// did not answer in time. The socket's own timeout is put back afterwards.
pub fn reflexive_address(
    socket: &UdpSocket,
    server: SocketAddr,
    timeout: Duration,
) -> std::io::Result<Option<SocketAddr>> {
    use stun_types::attribute::XorMappedAddress;
    use stun_types::message::MessageWriteVec;
    use stun_types::message::{BINDING, Message, MessageClass, MessageWrite, MessageWriteExt};

    let request = Message::builder_request(BINDING, MessageWriteVec::new());
    let trans_id = request.transaction_id();
    let out = request.finish();
    let before = socket.read_timeout()?;
    let deadline = Instant::now() + timeout;
    let mut found = None;
    let mut buf = [0u8; 1500];
    'asking: while Instant::now() < deadline {
        socket.send_to(&out, server)?;
        // RFC 8489 §6.2.1 retransmits with a growing interval; every 200 ms is plenty here.
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(200));
        socket.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            if from != server {
                continue;
            }
            if let Ok(m) = Message::from_bytes(&buf[..len])
                && m.transaction_id() == trans_id
                && m.has_class(MessageClass::Success)
                && let Ok(a) = m.attribute::<XorMappedAddress>()
            {
                found = Some(a.addr(trans_id));
                break 'asking;
            }
        }
    }
    socket.set_read_timeout(before)?;
    Ok(found)
}
