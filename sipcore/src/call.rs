//! One call as the engine keeps it: its state machine value, its dialog, and its audio
//! endpoints. The state is one enum ([`CallState`]); everything else describes the call.

use std::net::SocketAddr;
use std::time::Instant;

use rsipstack::dialog::invite_dialog::InviteDialog;

use crate::event::{CallId, CallState, Hold, Party};
use crate::media_control::RtpSockets;
use crate::sdp::MediaDescription;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Outgoing,
    Incoming,
}

pub struct Call {
    pub id: CallId,
    pub role: Role,
    pub remote: Party,
    pub state: CallState,
    pub dialog: Option<InviteDialog>,
    /// Our RTP and RTCP sockets until the media engine takes them.
    pub socket: Option<RtpSockets>,
    pub local_rtp: Option<SocketAddr>,
    /// The other side's last session description (their offer, for an incoming call).
    pub remote_sdp: Option<MediaDescription>,
    pub media_started: bool,
    /// We sent CANCEL; the INVITE's end is then "Cancelled", whatever it says.
    pub cancelling: bool,
    pub transfer_target: Option<String>,
    /// Set on a call we placed because the far end of this other call transferred us (REFER):
    /// its progress goes back to them as NOTIFYs until it is answered or fails.
    pub referred_by: std::cell::Cell<Option<CallId>>,
    /// A hold or resume asked for before the dialog was confirmed.
    pub pending_hold: Option<bool>,
    /// Re-INVITEs retried because the stack was not ready for them.
    pub hold_retries: u32,
    pub answered_at: Option<Instant>,
    /// The SDP `o=` session id, and the version that grows with every body we send.
    pub sdp_session: u64,
    sdp_version: u64,
}

impl Call {
    pub fn outgoing(id: CallId, remote: Party, socket: RtpSockets, local_rtp: SocketAddr) -> Self {
        Self::new(
            id,
            Role::Outgoing,
            remote,
            CallState::Dialing,
            Some(socket),
            Some(local_rtp),
            None,
        )
    }

    pub fn incoming(id: CallId, remote: Party, offer: MediaDescription) -> Self {
        Self::new(
            id,
            Role::Incoming,
            remote,
            CallState::Incoming,
            None,
            None,
            Some(offer),
        )
    }

    fn new(
        id: CallId,
        role: Role,
        remote: Party,
        state: CallState,
        socket: Option<RtpSockets>,
        local_rtp: Option<SocketAddr>,
        remote_sdp: Option<MediaDescription>,
    ) -> Self {
        Self {
            id,
            role,
            remote,
            state,
            dialog: None,
            socket,
            local_rtp,
            remote_sdp,
            media_started: false,
            cancelling: false,
            transfer_target: None,
            referred_by: std::cell::Cell::new(None),
            pending_hold: None,
            hold_retries: 0,
            answered_at: None,
            sdp_session: rand::random::<u32>() as u64,
            sdp_version: 0,
        }
    }

    /// The next `o=` version: every new body in a session must have a higher one.
    pub fn next_sdp_version(&mut self) -> u64 {
        self.sdp_version += 1;
        self.sdp_version
    }

    pub fn answered(&mut self) {
        self.answered_at.get_or_insert_with(Instant::now);
    }

    pub fn hold(&self) -> Hold {
        match self.state {
            CallState::Active { hold } => hold,
            _ => Hold::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdp_versions_grow_and_hold_is_none_until_active() {
        let mut c = Call::incoming(
            CallId(1),
            Party::default(),
            crate::sdp::offer(
                "127.0.0.1:4000".parse().unwrap(),
                crate::sdp::Direction::SendRecv,
            ),
        );
        assert_eq!(c.next_sdp_version(), 1);
        assert_eq!(c.next_sdp_version(), 2);
        assert_eq!(c.hold(), Hold::None);
        c.state = CallState::Active { hold: Hold::Remote };
        assert_eq!(c.hold(), Hold::Remote);
        assert!(c.hold().with_local(true) == Hold::Both);
    }
}
