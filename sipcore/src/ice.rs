//! ICE for calls through NAT (RFC 8445, RFC 8839), the signalling half; the checks run in the
//! media engine on the RTP socket (`media::ice`).
//!
//! * When the account names a STUN server, every call runs ICE: before the offer (or the
//!   answer) is written, a STUN Binding request from the call's RTP socket learns its
//!   server-reflexive address ([`gather`], at most [`GATHER_TIMEOUT`], off the engine's loop).
//!   The SDP carries the host and server-reflexive candidates, fresh credentials and
//!   `a=rtcp-mux`; its `c=` line is the server-reflexive address, the one most likely to work
//!   for a peer that does not do ICE (RFC 8445 §5.1.2.3's default candidate).
//! * An offer with ICE attributes is answered with ICE even without a STUN server (the host
//!   candidate alone): the other side may be the one with a public address.
//! * The offerer controls and nominates (full ICE on both sides). The candidates are given to
//!   the media engine with the remote ones, and the nominated pair decides where RTP goes.
//! * Not done: TURN relays, trickle ICE in SIP (RFC 8840), ICE restarts in re-INVITEs (a
//!   re-offer repeats the same credentials and candidates, so the checks simply go on).

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use media::ice::{Candidate, IceConfig, IceCreds};

use crate::sdp::IceAttributes;

/// How long gathering waits for the STUN server before the call goes on without it.
pub const GATHER_TIMEOUT: Duration = Duration::from_millis(500);

/// Our side of a call's ICE: credentials, candidates, and the default address for `c=`.
#[derive(Clone, Debug)]
pub struct LocalIce {
    pub creds: IceCreds,
    pub candidates: Vec<Candidate>,
    pub default: SocketAddr,
}

impl LocalIce {
    /// Candidates for the RTP socket at `host`, and its server-reflexive address if known.
    pub fn new(host: SocketAddr, reflexive: Option<SocketAddr>) -> Self {
        let mut candidates: Vec<Candidate> = Candidate::host(host, "udp").into_iter().collect();
        if let Some(r) = reflexive.filter(|r| *r != host)
            && let Ok(c) = Candidate::server_reflexive(r, host, "udp")
        {
            candidates.push(c);
        }
        LocalIce {
            creds: IceCreds::new(),
            candidates,
            default: reflexive.unwrap_or(host),
        }
    }

    /// The SDP attributes that say it.
    pub fn attributes(&self) -> IceAttributes {
        IceAttributes {
            ufrag: self.creds.ufrag.clone(),
            pwd: self.creds.pass.clone(),
            candidates: self
                .candidates
                .iter()
                .map(Candidate::to_sdp_string)
                .collect(),
        }
    }

    /// What the media engine runs, with the other side's attributes. Their candidates that
    /// cannot be read, or are not for RTP over UDP, are left out; none left is no ICE.
    pub fn config(&self, remote: &IceAttributes, controlling: bool) -> Option<IceConfig> {
        let remote_candidates: Vec<Candidate> = remote
            .candidates
            .iter()
            // Component 1 is RTP; with rtcp-mux there is no other.
            .filter(|c| c.split_whitespace().nth(1) == Some("1"))
            .filter_map(|c| Candidate::from_sdp_string(c).ok())
            .filter(|c| c.proto() == media::ice::Protocol::Udp)
            .collect();
        (!remote_candidates.is_empty()).then(|| IceConfig {
            controlling,
            local: self.creds.clone(),
            remote: IceCreds {
                ufrag: remote.ufrag.clone(),
                pass: remote.pwd.clone(),
            },
            local_candidates: self.candidates.clone(),
            remote_candidates,
        })
    }
}

/// The server-reflexive address of `socket` from the STUN server `server` (`host:port`, port
/// 3478 when left out). `None` when it cannot be resolved or does not answer in time.
pub fn gather(socket: &UdpSocket, server: &str) -> Option<SocketAddr> {
    let with_port = if server.contains(':') {
        server.to_string()
    } else {
        format!("{server}:3478")
    };
    let local = socket.local_addr().ok()?;
    let addr = with_port
        .to_socket_addrs()
        .ok()?
        .find(|a| a.is_ipv4() == local.is_ipv4())?;
    media::ice::reflexive_address(socket, addr, GATHER_TIMEOUT)
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_round_trip_through_sdp_and_only_rtp_over_udp_is_kept() {
        let host: SocketAddr = "10.0.0.2:40000".parse().unwrap();
        let public: SocketAddr = "203.0.113.9:40000".parse().unwrap();
        let ours = LocalIce::new(host, Some(public));
        assert_eq!(ours.default, public);
        let attrs = ours.attributes();
        assert_eq!(attrs.candidates.len(), 2);
        assert!(
            attrs.candidates[1].contains("203.0.113.9 40000 typ srflx"),
            "{attrs:?}"
        );
        let mut theirs = attrs.clone();
        theirs
            .candidates
            .push("candidate:9 2 udp 1 198.51.100.1 40001 typ host".into());
        theirs
            .candidates
            .push("candidate:8 1 tcp 1 198.51.100.1 9 typ host tcptype active".into());
        theirs.candidates.push("not a candidate".into());
        let cfg = LocalIce::new(host, None).config(&theirs, true).unwrap();
        assert_eq!(cfg.remote_candidates.len(), 2, "the two RTP/UDP ones");
        assert_eq!(cfg.remote.ufrag, attrs.ufrag);
        let none = IceAttributes {
            candidates: vec!["candidate:9 2 udp 1 198.51.100.1 40001 typ host".into()],
            ..attrs
        };
        assert!(LocalIce::new(host, None).config(&none, false).is_none());
        assert_eq!(LocalIce::new(host, Some(host)).candidates.len(), 1);
    }

    #[test]
    fn gathering_from_a_silent_or_unknown_server_gives_nothing() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert_eq!(
            gather(&socket, &silent.local_addr().unwrap().to_string()),
            None
        );
        assert_eq!(gather(&socket, "no-such-host.invalid"), None);
    }
}
