//! Switchboard's audio engine. It knows nothing of SIP: it is given codec parameters, a socket and
//! devices, and it moves audio.
//!
//! # How it is used
//!
//! ```no_run
//! use media::*;
//! let (tx, events) = std::sync::mpsc::channel();
//! let engine = Engine::start(EngineConfig::headless(), tx).unwrap();
//! let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap(); // sipcore puts its port in SDP
//! let remote = "127.0.0.1:40000".parse().unwrap();
//! engine.start_stream(StreamId(1), StreamConfig::new(socket, remote, Codec::opus(111, 32_000))).unwrap();
//! engine.send_dtmf(StreamId(1), '5');
//! while let Ok(ev) = events.recv() { if let MediaEvent::Stats { mos, .. } = ev { println!("MOS {mos}"); } }
//! ```
//!
//! * [`Engine`] is a cheap handle (clone it freely). Every method only sends a command to the
//!   media thread and returns at once; failures that happen later arrive as
//!   [`MediaEvent::StreamFailed`]. `start_stream` checks its arguments before it returns.
//! * The media thread runs every 20 ms on 48 kHz mono frames. Each stream has a
//!   [`JitterBuffer`], a decoder, resamplers to and from the codec's rate, an encoder, an
//!   RTP sender and RTCP. The [`mixer`] joins streams with the microphone and speaker.
//! * Device callbacks (cpal) only copy samples between lock-free `rtrb` ring buffers and the
//!   media thread; see [`devices`].
//! * Events reach the caller through the [`Events`] it passed in: a `Sender<MediaEvent>`
//!   (`.into()`), or a conversion into the owner's own inbox ([`Events::to`]), so the owner
//!   needs no thread that forwards from one channel to another.
//!
//! # The API in one screen
//!
//! | call | what it does |
//! |---|---|
//! | [`Engine::start`]`(EngineConfig, impl Into<Events>)` | starts the media thread; [`EngineConfig::headless`] for no devices |
//! | [`Engine::start_stream`]`(StreamId, StreamConfig)` | one RTP stream on sipcore's bound socket(s) |
//! | [`Engine::update_stream`]`(StreamId, StreamUpdate)` | re-INVITE: remote address, codec, direction, route |
//! | [`Engine::stop_stream`] | then [`MediaEvent::StreamStopped`] once its recording is closed |
//! | [`Engine::send_dtmf`] | RFC 4733 key press, three end packets |
//! | [`Engine::set_mute`], [`Engine::set_hold_music`] | microphone mute; music on hold to one stream |
//! | [`Engine::conference`]`(&[StreamId])`, [`Engine::split`] | 3-way merge (mix-minus) and back |
//! | [`Engine::play_tone`]`(Tone)`, [`Engine::stop_tone`] | ringback, busy, call waiting, DTMF feedback |
//! | [`Engine::start_ringing`]`(path, volume)`, [`Engine::stop_ringing`], [`Engine::preview_ringtone`] | Ogg Opus ringtone on the ringing device |
//! | [`Engine::play_file`]`(path, from_secs)`, [`Engine::stop_file`] | a voicemail on the speaker, with its position |
//! | [`Engine::set_devices`], [`Engine::list_devices`], [`Engine::set_mic_meter`] | devices and the level meter |
//! | [`Engine::record_microphone`]`(path)`, [`Engine::stop_recording_microphone`] | a greeting, outside calls |
//!
//! [`StreamConfig`] carries the RTP socket, an optional RTCP socket (none = rtcp-mux), the
//! remote addresses, the negotiated [`Codec`], telephone-event, [`Direction`], [`Route`]
//! (`Local`, `Echo`, `Play`, `Sine`), an optional [`Recording`] and optional SRTP
//! [`srtp::Keys`]: an encrypted stream protects every packet it sends in place and drops every
//! packet that fails authentication before looking at it (see [`srtp`], libsrtp2).
//!
//! # Codecs
//!
//! Opus (48 kHz RTP clock, in-band FEC, PLC, bitrate from `maxaveragebitrate`), G.722 (64 kbit/s;
//! spandsp's code vendored from `ezk-g722`, see [`g722`]), PCMU and PCMA, and telephone-event
//! (RFC 4733).
//!
//! # Real-time rules, and where they are bent
//!
//! The per-tick path (capture, receive, jitter buffer, decode, mix, encode, send, playback)
//! allocates nothing, takes no lock and logs nothing. These happen on the media thread but not
//! every tick, and are known costs: opening a device after [`Engine::set_devices`] or a fallback
//! (tens of ms, the tick clock then resynchronises instead of bursting); reading Ogg files for
//! `Route::Play`, music on hold and ringtones (buffered reads, a reopen at each loop); dropping
//! a stream with a recording (joins the writer thread, which has at most a few frames queued);
//! sending events (the channel allocates a block now and then). Recording itself is encoded and
//! written on its own thread.

#[cfg(target_os = "linux")]
mod alsa_capture;
pub mod codec;
pub mod devices;
pub mod dtmf;
mod engine;
pub mod g711;
pub mod g722;
pub mod ice;
pub mod jitter_buffer;
pub mod mixer;
pub mod ogg_opus;
mod recorder;
pub mod resample;
pub mod rtp;
pub mod srtp;
mod stream;
pub mod tone;

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;

pub use codec::{Codec, CodecKind, OpusParams};
pub use devices::{DeviceInfo, DeviceKind};
pub use engine::{Engine, EngineConfig};
pub use jitter_buffer::JitterBuffer;
pub use tone::Tone;

/// Errors from the media engine.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("codec error: {0}")]
    Codec(String),
    #[error("resampler error: {0}")]
    Resampler(String),
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("sound device error: {0}")]
    Device(String),
    #[error("network error: {0}")]
    Network(#[from] std::io::Error),
    #[error("stream {0:?} already exists")]
    StreamExists(StreamId),
    #[error("the media thread has stopped")]
    EngineStopped,
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("encryption: {0}")]
    Srtp(#[from] srtp::SrtpError),
}

/// A stream chosen by the caller (sipcore uses one per call leg).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u64);

/// SDP direction of our side of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// Where a stream's audio comes from and goes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// Through the mixer: the far end hears the microphone, we hear it on the speaker.
    Local,
    /// Send back what is received (the echo-test bot).
    Echo,
    /// Send an Ogg Opus file, once or looped (the announcement bot).
    Play { path: PathBuf, looped: bool },
    /// Send a sine at this frequency (tests).
    Sine(f32),
}

/// Which audio of a stream a recording holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordWhat {
    Received,
    Sent,
    /// Both directions mixed, as a call recording.
    Both,
}

/// Records a stream to an Ogg Opus file at 48 kHz mono.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub path: PathBuf,
    pub what: RecordWhat,
}

/// Everything the media thread needs to run one RTP stream.
#[derive(Debug)]
pub struct StreamConfig {
    /// Already bound by sipcore, which put its port in the SDP.
    pub rtp_socket: UdpSocket,
    /// RTCP socket on port+1; `None` means rtcp-mux on the RTP socket.
    pub rtcp_socket: Option<UdpSocket>,
    pub remote_rtp: SocketAddr,
    /// Defaults to the RTP address (rtcp-mux) or port+1 when `rtcp_socket` is given.
    pub remote_rtcp: Option<SocketAddr>,
    pub codec: Codec,
    /// telephone-event payload type and clock rate.
    pub telephone_event: Option<(u8, u32)>,
    pub direction: Direction,
    pub route: Route,
    pub record: Option<Recording>,
    /// Follow the source address of incoming RTP (symmetric RTP, RFC 4961), for peers behind NAT.
    pub symmetric: bool,
    /// SRTP keys (RFC 3711, SDES): the stream sends and accepts only encrypted packets.
    pub srtp: Option<srtp::Keys>,
    /// ICE (RFC 8445) on the RTP socket, with rtcp-mux; see [`ice`].
    pub ice: Option<ice::IceConfig>,
}

impl StreamConfig {
    /// A send-receive stream to the local devices with rtcp-mux and symmetric RTP.
    pub fn new(rtp_socket: UdpSocket, remote_rtp: SocketAddr, codec: Codec) -> Self {
        StreamConfig {
            rtp_socket,
            rtcp_socket: None,
            remote_rtp,
            remote_rtcp: None,
            codec,
            telephone_event: Some((101, codec.clock_rate)),
            direction: Direction::SendRecv,
            route: Route::Local,
            record: None,
            symmetric: true,
            srtp: None,
            ice: None,
        }
    }
}

/// Changes after a re-INVITE; `None` fields stay as they are.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StreamUpdate {
    pub remote_rtp: Option<SocketAddr>,
    pub remote_rtcp: Option<SocketAddr>,
    pub codec: Option<Codec>,
    pub direction: Option<Direction>,
    pub route: Option<Route>,
    /// New SRTP keys; a stream never goes back to plain RTP.
    pub srtp: Option<srtp::Keys>,
}

/// Which device role an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRole {
    Microphone,
    Speaker,
    Ringer,
}

/// Where the engine's events go. Sending never blocks; the engine stops sending once the
/// receiving side is gone.
#[derive(Clone)]
pub struct Events(std::sync::Arc<dyn Fn(MediaEvent) -> Result<(), EventsClosed> + Send + Sync>);

/// The side that received [`Events`] has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventsClosed;

impl Events {
    /// Events converted into the owner's own message type and sent to its inbox.
    pub fn to<T: Send + 'static>(
        inbox: std::sync::mpsc::Sender<T>,
        convert: fn(MediaEvent) -> T,
    ) -> Self {
        Events(std::sync::Arc::new(move |e| {
            inbox.send(convert(e)).map_err(|_| EventsClosed)
        }))
    }

    pub fn send(&self, event: MediaEvent) -> Result<(), EventsClosed> {
        (self.0)(event)
    }
}

impl From<std::sync::mpsc::Sender<MediaEvent>> for Events {
    fn from(tx: std::sync::mpsc::Sender<MediaEvent>) -> Self {
        Events::to(tx, |e| e)
    }
}

/// What the engine tells the app and sipcore.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// About once a second per stream, for the call-quality meter.
    Stats {
        stream: StreamId,
        loss_pct: f32,
        jitter_ms: f32,
        rtt_ms: Option<f32>,
        mos: f32,
    },
    DtmfReceived {
        stream: StreamId,
        digit: char,
    },
    /// A device went away; the engine switched to the default.
    DeviceFallback {
        what: DeviceRole,
        from: String,
        to: String,
    },
    /// Neither the chosen device nor the system default could be opened (no sound card, or
    /// the sound server is down): calls go on without it.
    DeviceMissing {
        what: DeviceRole,
        reason: String,
    },
    /// The device list changed (hot-plug).
    DevicesChanged,
    StreamFailed {
        stream: StreamId,
        reason: String,
    },
    /// Microphone level in dBFS, about ten times a second while the meter is on.
    MicLevel(f32),
    /// ICE nominated a pair: RTP now goes to `remote`.
    IceNominated {
        stream: StreamId,
        remote: SocketAddr,
    },
    /// A stream is gone and its recording file is complete.
    StreamStopped {
        stream: StreamId,
    },
    /// A `Route::Play` file that is not looped has played to its end.
    PlaybackFinished {
        stream: StreamId,
    },
    /// How far the file of [`Engine::play_file`] has played, five times a second.
    FilePosition {
        secs: f32,
    },
    /// The file of [`Engine::play_file`] has played to its end.
    FileFinished,
    /// The recording of [`Engine::record_microphone`] is stopped and its file complete.
    MicRecordingStopped,
}
