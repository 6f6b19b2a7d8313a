//! The narrow seam between SIP and audio: sipcore tells the media engine to start, update or
//! stop a stream with what was negotiated, and the engine moves the audio. Tests can plug in
//! [`RecordingMedia`] to see exactly what sipcore asked for.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Mutex;

use crate::event::CallId;
use crate::sdp::{Codec, Direction};

/// Our RTP socket and, on the port above it, RTCP: bound by sipcore so the port could go into
/// the SDP.
#[derive(Debug)]
pub struct RtpSockets {
    pub rtp: UdpSocket,
    /// `None` when port+1 was taken; RTCP then shares the RTP port.
    pub rtcp: Option<UdpSocket>,
}

impl RtpSockets {
    /// A fresh pair on `ip`: RTP on an even port, RTCP on the next one (RFC 3550 §11).
    pub fn bind(ip: IpAddr) -> std::io::Result<RtpSockets> {
        for _ in 0..32 {
            let rtp = UdpSocket::bind(SocketAddr::new(ip, 0))?;
            let port = rtp.local_addr()?.port();
            if port % 2 != 0 || port == u16::MAX {
                continue;
            }
            if let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(ip, port + 1)) {
                return Ok(RtpSockets {
                    rtp,
                    rtcp: Some(rtcp),
                });
            }
        }
        Ok(RtpSockets {
            rtp: UdpSocket::bind(SocketAddr::new(ip, 0))?,
            rtcp: None,
        })
    }

    pub fn local_rtp(&self) -> std::io::Result<SocketAddr> {
        self.rtp.local_addr()
    }
}

/// Everything the media engine needs for one call's audio.
#[derive(Debug)]
pub struct StreamParams {
    pub sockets: RtpSockets,
    pub remote: SocketAddr,
    pub remote_rtcp: SocketAddr,
    pub codec: Codec,
    pub telephone_event: Option<u8>,
    pub direction: Direction,
    pub ptime_ms: u32,
    pub srtp: Option<crate::sdes::Keys>,
    /// ICE on the RTP socket (then `sockets.rtcp` is `None`: rtcp-mux).
    pub ice: Option<media::ice::IceConfig>,
    pub plan: AudioPlan,
}

/// What a call's audio is for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AudioPlan {
    /// Talking: the engine's own source (the user's devices, or a bot's tone or file).
    #[default]
    Talk,
    /// Taking a message: the greeting (Ogg Opus) is played once and what the caller sends is
    /// recorded to `record_to` (Ogg Opus, 48 kHz), closed when the call's audio stops.
    TakeMessage {
        greeting: std::path::PathBuf,
        record_to: std::path::PathBuf,
    },
}

/// What changes on a re-INVITE or UPDATE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamUpdate {
    pub remote: SocketAddr,
    pub remote_rtcp: SocketAddr,
    pub codec: Codec,
    pub telephone_event: Option<u8>,
    pub direction: Direction,
    /// The keys when the call is encrypted (an encrypted call never goes back to plain).
    pub srtp: Option<crate::sdes::Keys>,
}

/// Why the media engine could not start or change a call's audio, in its words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// Our RTP socket could not be used (its address could not be read).
    #[error("{0}")]
    Socket(String),
    /// The media engine refused the stream.
    #[error("{0}")]
    Refused(String),
}

pub trait MediaControl: Send + Sync + 'static {
    fn start(&self, call: CallId, params: StreamParams) -> Result<(), StreamError>;
    fn update(&self, call: CallId, update: StreamUpdate) -> Result<(), StreamError>;
    fn stop(&self, call: CallId);
    /// Sends an RFC 4733 event; false when the stream has no telephone-event.
    fn send_dtmf(&self, call: CallId, digit: char) -> bool;
    fn set_mute(&self, call: CallId, muted: bool);
    /// Music to the far end while we hold it.
    fn set_hold_music(&self, call: CallId, on: bool);
    /// Mix these calls together (a 3-way call), or separate them again.
    fn conference(&self, calls: &[CallId]);
    fn split(&self, calls: &[CallId]);
}

/// A double that records every request, for tests that look at signalling only.
#[derive(Default)]
pub struct RecordingMedia {
    pub log: Mutex<Vec<MediaRequest>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaRequest {
    Start {
        call: CallId,
        local: SocketAddr,
        remote: SocketAddr,
        codec: Codec,
        direction: Direction,
        encrypted: bool,
    },
    Update {
        call: CallId,
        update: StreamUpdate,
    },
    Stop(CallId),
    Dtmf(CallId, char),
    Mute(CallId, bool),
    HoldMusic(CallId, bool),
    Conference(Vec<CallId>),
    Split(Vec<CallId>),
}

impl RecordingMedia {
    pub fn requests(&self) -> Vec<MediaRequest> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn push(&self, r: MediaRequest) {
        if let Ok(mut l) = self.log.lock() {
            l.push(r);
        }
    }
}

impl MediaControl for RecordingMedia {
    fn start(&self, call: CallId, p: StreamParams) -> Result<(), StreamError> {
        let local = p
            .sockets
            .rtp
            .local_addr()
            .map_err(|e| StreamError::Socket(e.to_string()))?;
        self.push(MediaRequest::Start {
            call,
            local,
            remote: p.remote,
            codec: p.codec,
            direction: p.direction,
            encrypted: p.srtp.is_some(),
        });
        Ok(())
    }
    fn update(&self, call: CallId, update: StreamUpdate) -> Result<(), StreamError> {
        self.push(MediaRequest::Update { call, update });
        Ok(())
    }
    fn stop(&self, call: CallId) {
        self.push(MediaRequest::Stop(call));
    }
    fn send_dtmf(&self, call: CallId, digit: char) -> bool {
        self.push(MediaRequest::Dtmf(call, digit));
        true
    }
    fn set_mute(&self, call: CallId, muted: bool) {
        self.push(MediaRequest::Mute(call, muted));
    }
    fn set_hold_music(&self, call: CallId, on: bool) {
        self.push(MediaRequest::HoldMusic(call, on));
    }
    fn conference(&self, calls: &[CallId]) {
        self.push(MediaRequest::Conference(calls.to_vec()));
    }
    fn split(&self, calls: &[CallId]) {
        self.push(MediaRequest::Split(calls.to_vec()));
    }
}
