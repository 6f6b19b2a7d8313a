//! One call's audio: its RTP socket, codec, jitter buffer, DTMF and statistics. The engine
//! calls [`Stream::receive`], [`Stream::playout`] and [`Stream::send`] once per 20 ms tick;
//! every buffer is allocated when the stream starts.

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::Instant;

use crate::codec::{CodecKind, Decoder, Encoder, OpusSettings};
use crate::dtmf;
use crate::jitter_buffer::{JitterBuffer, Playout};
use crate::ogg_opus;
use crate::quality;
use crate::resample::Resampler;
use crate::rtp;
use crate::tone::Sine;

pub const FRAME: usize = 960; // 20 ms at 48 kHz

/// Which way audio flows (from SDP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
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

/// The negotiated codec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codec {
    pub kind: CodecKind,
    pub payload_type: u8,
    pub fmtp: Option<String>,
}

/// Where a stream's outgoing audio comes from and where its incoming audio goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    /// The microphone out, the speaker in, through the mixer: a person's call.
    Local,
    /// Send back what arrives: the echo bot.
    Echo,
    /// Send a file (Ogg Opus), looping.
    Play(PathBuf),
    /// Send a steady tone: tests and line checks.
    Sine(f32),
    Silence,
}

pub struct StreamConfig {
    pub socket: UdpSocket,
    pub remote: SocketAddr,
    pub codec: Codec,
    pub telephone_event: Option<u8>,
    pub direction: Direction,
    pub route: Route,
    /// Also write what we receive to this Ogg Opus file.
    pub record: Option<PathBuf>,
}

/// Statistics for the quality meter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub loss_pct: f32,
    pub jitter_ms: f32,
    pub rtt_ms: Option<f32>,
    pub mos: f32,
    pub packets_received: u64,
    pub packets_sent: u64,
}

pub struct Stream {
    socket: UdpSocket,
    remote: SocketAddr,
    /// Symmetric RTP: once media arrives from another address (NAT), we answer there.
    latched: bool,
    pub codec: Codec,
    pub telephone_event: Option<u8>,
    pub direction: Direction,
    pub route: Route,
    pub muted: bool,
    pub hold_music: bool,
    encoder: Encoder,
    decoder: Decoder,
    jitter: JitterBuffer,
    to_codec: Resampler,
    from_codec: Resampler,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    started: Instant,
    dtmf_out: Option<dtmf::Sender>,
    dtmf_in: dtmf::Receiver,
    dtmf_timestamp: u32,
    recorder: Option<ogg_opus::Writer>,
    play: Vec<i16>,
    play_pos: usize,
    sine: Sine,
    // Buffers, allocated once.
    packet: Box<[u8; 1600]>,
    payload: Box<[u8; 1500]>,
    codec_pcm: Vec<i16>,
    last_codec_pcm: Vec<i16>,
    /// The last 20 ms received, at 48 kHz.
    pub rx: Box<[i16; FRAME]>,
    packets_sent: u64,
    window_received: u64,
    window_lost: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("the RTP socket cannot be used: {0}")]
    Socket(std::io::Error),
    #[error("codec: {0}")]
    Codec(#[from] crate::codec::CodecError),
    #[error("{0}")]
    Resample(#[from] crate::resample::ResampleError),
    #[error("recording: {0}")]
    Record(#[from] ogg_opus::OggOpusError),
}

impl Stream {
    pub fn new(config: StreamConfig, hold_music: &[i16]) -> Result<Self, StreamError> {
        config
            .socket
            .set_nonblocking(true)
            .map_err(StreamError::Socket)?;
        let kind = config.codec.kind;
        let rate = kind.pcm_rate();
        let play = match &config.route {
            Route::Play(path) => ogg_opus::read(path)?,
            _ => Vec::new(),
        };
        let sine_freq = if let Route::Sine(f) = config.route {
            f
        } else {
            0.0
        };
        Ok(Self {
            socket: config.socket,
            remote: config.remote,
            latched: false,
            encoder: Encoder::new(kind, OpusSettings::from_fmtp(config.codec.fmtp.as_deref()))?,
            decoder: Decoder::new(kind)?,
            jitter: JitterBuffer::new(kind.rtp_ticks_per_frame(), clock_rate(kind)),
            to_codec: Resampler::new(48000, rate)?,
            from_codec: Resampler::new(rate, 48000)?,
            codec: config.codec,
            telephone_event: config.telephone_event,
            direction: config.direction,
            route: config.route,
            muted: false,
            hold_music: false,
            ssrc: rand::random(),
            sequence: rand::random(),
            timestamp: rand::random(),
            started: Instant::now(),
            dtmf_out: None,
            dtmf_in: dtmf::Receiver::default(),
            dtmf_timestamp: 0,
            recorder: config
                .record
                .as_deref()
                .map(ogg_opus::Writer::create)
                .transpose()?,
            play: if play.is_empty() {
                hold_music.to_vec()
            } else {
                play
            },
            play_pos: 0,
            sine: Sine::new(sine_freq, 48000, 8000.0),
            packet: Box::new([0; 1600]),
            payload: Box::new([0; 1500]),
            codec_pcm: vec![0; kind.samples_per_frame()],
            last_codec_pcm: vec![0; kind.samples_per_frame()],
            rx: Box::new([0; FRAME]),
            packets_sent: 0,
            window_received: 0,
            window_lost: 0,
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok()
    }

    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Changes what a re-INVITE changed; a new codec resets the coding state.
    pub fn update(
        &mut self,
        remote: SocketAddr,
        codec: Codec,
        telephone_event: Option<u8>,
        direction: Direction,
    ) -> Result<(), StreamError> {
        if codec.kind != self.codec.kind {
            let kind = codec.kind;
            self.encoder = Encoder::new(kind, OpusSettings::from_fmtp(codec.fmtp.as_deref()))?;
            self.decoder = Decoder::new(kind)?;
            self.jitter = JitterBuffer::new(kind.rtp_ticks_per_frame(), clock_rate(kind));
            self.to_codec = Resampler::new(48000, kind.pcm_rate())?;
            self.from_codec = Resampler::new(kind.pcm_rate(), 48000)?;
            self.codec_pcm = vec![0; kind.samples_per_frame()];
            self.last_codec_pcm = vec![0; kind.samples_per_frame()];
        }
        if remote != self.remote {
            self.latched = false;
        }
        self.remote = remote;
        self.codec = codec;
        self.telephone_event = telephone_event;
        self.direction = direction;
        Ok(())
    }

    pub fn start_dtmf(&mut self, digit: char) -> bool {
        if self.telephone_event.is_none() {
            return false;
        }
        let ticks = self.codec.kind.rtp_ticks_per_frame() as u16;
        match dtmf::Sender::new(digit, ticks) {
            Some(s) => {
                self.dtmf_out = Some(s);
                self.dtmf_timestamp = self.timestamp;
                true
            }
            None => false,
        }
    }

    /// Reads every packet waiting on the socket. Returns a received DTMF digit, if any.
    pub fn receive(&mut self) -> Option<char> {
        let mut digit = None;
        let rate = clock_rate(self.codec.kind) as f64;
        while let Ok((n, from)) = self.socket.recv_from(&mut self.packet[..]) {
            let Some((header, payload)) = rtp::parse(&self.packet[..n]) else {
                continue;
            };
            if !self.latched && from != self.remote {
                self.remote = from;
            }
            self.latched = true;
            if Some(header.payload_type) == self.telephone_event {
                if let Some(d) = self.dtmf_in.on_packet(header.timestamp, payload) {
                    digit = Some(d);
                }
                continue;
            }
            if header.payload_type != self.codec.payload_type || !self.direction.receives() {
                continue;
            }
            let arrival = (self.started.elapsed().as_secs_f64() * rate) as i64;
            self.jitter
                .push(header.sequence, header.timestamp, arrival, payload);
        }
        digit
    }

    /// Decodes this tick's frame into [`Self::rx`] (silence when nothing is there).
    pub fn playout(&mut self) {
        let n = self.codec_pcm.len();
        let got = match self.jitter.pop() {
            Playout::Packet(p) => {
                self.window_received += 1;
                self.decoder.decode(p, &mut self.codec_pcm).unwrap_or(0)
            }
            Playout::Lost { next } => {
                self.window_lost += 1;
                self.decoder
                    .conceal(next, &self.last_codec_pcm, &mut self.codec_pcm)
                    .unwrap_or(0)
            }
            Playout::Empty => 0,
        };
        if got == 0 {
            self.rx.fill(0);
            return;
        }
        if got < n {
            self.codec_pcm[got..].fill(0);
        }
        self.last_codec_pcm.copy_from_slice(&self.codec_pcm);
        self.from_codec.process(&self.codec_pcm, &mut self.rx[..]);
        if let Some(r) = self.recorder.as_mut()
            && r.write_frame(&self.rx[..]).is_err()
        {
            self.recorder = None;
        }
    }

    /// What this stream sends this tick, when its route decides alone (not the mixer).
    pub fn own_source(&mut self, out: &mut [i16; FRAME]) -> bool {
        match &self.route {
            Route::Echo => out.copy_from_slice(&self.rx[..]),
            Route::Sine(_) => self.sine.fill(out),
            Route::Play(_) => self.next_play(out),
            Route::Silence => out.fill(0),
            Route::Local => return false,
        }
        true
    }

    fn next_play(&mut self, out: &mut [i16; FRAME]) {
        if self.play.is_empty() {
            out.fill(0);
            return;
        }
        for s in out.iter_mut() {
            *s = self.play[self.play_pos];
            self.play_pos = (self.play_pos + 1) % self.play.len();
        }
    }

    /// Encodes and sends one frame (48 kHz), or this tick's DTMF packet instead.
    pub fn send(&mut self, frame: &mut [i16; FRAME]) {
        let ticks = self.codec.kind.rtp_ticks_per_frame();
        if !self.direction.sends() {
            self.timestamp = self.timestamp.wrapping_add(ticks);
            return;
        }
        if self.hold_music {
            self.next_play(frame);
        } else if self.muted {
            frame.fill(0);
        }
        if let (Some(sender), Some(pt)) = (self.dtmf_out.as_mut(), self.telephone_event) {
            match sender.next_packet() {
                Some((payload, first)) => {
                    let header = rtp::Header {
                        marker: first,
                        payload_type: pt,
                        sequence: self.sequence,
                        timestamp: self.dtmf_timestamp,
                        ssrc: self.ssrc,
                    };
                    let n = rtp::write(&header, &payload, &mut self.packet[..]);
                    let _ = self.socket.send_to(&self.packet[..n], self.remote);
                    self.sequence = self.sequence.wrapping_add(1);
                    self.timestamp = self.timestamp.wrapping_add(ticks);
                    self.packets_sent += 1;
                    return;
                }
                None => self.dtmf_out = None,
            }
        }
        self.to_codec.process(&frame[..], &mut self.codec_pcm);
        let len = match self.encoder.encode(&self.codec_pcm, &mut self.payload[..]) {
            Ok(n) => n,
            Err(_) => return,
        };
        let header = rtp::Header {
            marker: self.packets_sent == 0,
            payload_type: self.codec.payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
        };
        let n = rtp::write(&header, &self.payload[..len], &mut self.packet[..]);
        let _ = self.socket.send_to(&self.packet[..n], self.remote);
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(ticks);
        self.packets_sent += 1;
    }

    /// Statistics since the last call (about once a second).
    pub fn take_stats(&mut self) -> Stats {
        let total = self.window_received + self.window_lost;
        let loss = if total == 0 {
            0.0
        } else {
            self.window_lost as f64 * 100.0 / total as f64
        };
        self.window_received = 0;
        self.window_lost = 0;
        let jitter = self.jitter.jitter_ms();
        let buffer_ms = self.jitter.target_depth() as f64 * 20.0;
        let impairment = match self.codec.kind {
            CodecKind::Opus => quality::OPUS,
            CodecKind::G722 => quality::G722,
            _ => quality::G711,
        };
        Stats {
            loss_pct: loss as f32,
            jitter_ms: jitter as f32,
            rtt_ms: None,
            mos: quality::mos(buffer_ms + 20.0, loss, impairment) as f32,
            packets_received: self.jitter.received,
            packets_sent: self.packets_sent,
        }
    }

    /// Ends the recording cleanly.
    pub fn finish(mut self) {
        if let Some(r) = self.recorder.take() {
            let _ = r.finish();
        }
    }
}

/// The RTP clock (G.722's is 8000 though it samples at 16 kHz, RFC 3551).
pub fn clock_rate(kind: CodecKind) -> u32 {
    match kind {
        CodecKind::Opus => 48000,
        _ => 8000,
    }
}
