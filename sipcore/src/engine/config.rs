//! How the engine is set up and how starting it can fail.

use std::net::{IpAddr, SocketAddr, UdpSocket};

use crate::session_timer;
use crate::subscription::Pacing;

#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The local address for SIP and RTP. Use [`local_ip_towards`] to pick the interface that
    /// reaches the server.
    pub bind_ip: IpAddr,
    /// 0 picks a free port.
    pub sip_port: u16,
    pub user_agent: String,
    /// How often to send a CRLF keepalive to the server over UDP while registered, so that a
    /// NAT in between keeps our mapping open (RFC 5626 §4.4.1 uses CRLF on streams; over UDP
    /// it is what phones commonly send). Typical NATs forget UDP after 30 s or more.
    pub keepalive: std::time::Duration,
    /// How fast subscriptions go out and how long each is asked to last.
    pub subscriptions: Pacing,
    /// Session timers (RFC 4028) we ask for and accept.
    pub session_timers: session_timer::SessionTimerConfig,
    /// How often to check, while registered, that `bind_ip` still reaches the server; when it
    /// does not, the engine moves to the address that does and registers again from there
    /// ([`crate::network_watch`]). Zero turns the check off.
    pub address_check: std::time::Duration,
    /// Lifetime asked for our presence publication; it is refreshed at 75 % of what the server
    /// grants.
    pub publish_expires: std::time::Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            bind_ip: IpAddr::from([127, 0, 0, 1]),
            sip_port: 0,
            user_agent: format!("Switchboard/{}", env!("CARGO_PKG_VERSION")),
            keepalive: std::time::Duration::from_secs(25),
            subscriptions: Pacing::default(),
            session_timers: session_timer::SessionTimerConfig::default(),
            address_check: std::time::Duration::from_secs(5),
            publish_expires: std::time::Duration::from_secs(600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not start the SIP engine's runtime: {0}")]
    Runtime(std::io::Error),
    /// The stack could not open or serve the socket, in its words.
    #[error("could not open a SIP port on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    #[error("could not open a SIP port on {addr}: no local address")]
    NoLocalAddress { addr: SocketAddr },
    #[error("could not open a SIP port on {addr}: the engine thread stopped")]
    Stopped { addr: SocketAddr },
}

/// The local address whose route reaches `server` (`host:port`); no packet is sent.
pub fn local_ip_towards(server: SocketAddr) -> std::io::Result<IpAddr> {
    let probe = UdpSocket::bind(SocketAddr::new(
        if server.is_ipv4() {
            IpAddr::from([0, 0, 0, 0])
        } else {
            IpAddr::from([0u16; 8])
        },
        0,
    ))?;
    probe.connect(server)?;
    Ok(probe.local_addr()?.ip())
}
