//! One RTP stream on the media thread: receive into the jitter buffer, decode one 20 ms frame
//! per tick, encode and send one frame per tick, RTCP SR/RR, statistics and telephone-event.
//! A `Stream` is built (sockets checked, codecs created, buffers allocated) on the caller's
//! thread in [`Stream::new`]; after that, a tick does no allocation.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

use crate::codec::{CodecKind, Decoder, Encoder, MAX_PAYLOAD};
use crate::devices::FRAME;
use crate::dtmf::{DtmfReceiver, DtmfSender};
use crate::ice::{self, Ice};
use crate::jitter_buffer::{JitterBuffer, Playout};
use crate::ogg_opus::OggOpusReader;
use crate::recorder::Recorder;
use crate::resample::Resampler;
use crate::rtp::{self, ReceiveStats, RtpHeader};
use crate::srtp::{self, Keys};
use crate::tone::{Tone, ToneGenerator};
use crate::{
    Codec, Direction, MediaError, MediaEvent, RecordWhat, Route, StreamConfig, StreamId,
    StreamUpdate,
};

/// Keys waiting to be sent; a fixed array so queuing a key never allocates.
const DTMF_QUEUE: usize = 32;

pub(crate) struct Stream {
    pub id: StreamId,
    socket: UdpSocket,
    rtcp_socket: Option<UdpSocket>,
    remote_rtp: SocketAddr,
    remote_rtcp: SocketAddr,
    symmetric: bool,
    codec: Codec,
    telephone_event: Option<(u8, u32)>,
    /// SRTP: the keys, and the two contexts built from them.
    srtp: Option<Secured>,
    /// ICE: the agent whose nominated pair says where RTP goes.
    ice: Option<Ice>,
    pub direction: Direction,
    pub route: Route,
    pub in_conference: bool,
    pub hold_music: bool,

    ssrc: u32,
    seq: u16,
    timestamp: u32,
    first_packet: bool,
    encoder: Encoder,
    decoder: Decoder,
    jb: JitterBuffer,
    to_codec: Resampler,
    from_codec: Resampler,
    packets_per_tick: usize,

    net_buf: Box<[u8; 2048]>,
    payload: Box<[u8; MAX_PAYLOAD]>,
    pcm: Vec<i16>,
    codec_f32: Vec<f32>,
    /// What the far end sent this tick, 48 kHz.
    pub received: Vec<f32>,
    /// What we send this tick, 48 kHz, filled by the engine before `send`.
    pub to_send: Vec<f32>,

    rx_stats: ReceiveStats,
    remote_ssrc: u32,
    packets_sent: u32,
    octets_sent: u32,
    last_sr: Option<(u32, Instant)>,
    rtt: Option<Duration>,
    last_report: Instant,
    started: Instant,

    dtmf_queue: [char; DTMF_QUEUE],
    dtmf_len: usize,
    dtmf_tx: Option<(DtmfSender, u32)>,
    dtmf_rx: DtmfReceiver,

    sine: Option<ToneGenerator>,
    player: Option<(OggOpusReader, std::path::PathBuf, bool)>,
    pub recorder: Option<(Recorder, RecordWhat)>,
    record_buf: Vec<f32>,
}

/// An encrypted stream's contexts (RFC 3711): one protects what we send, one checks what
/// arrives. Each is rebuilt only when its own key changes, so a re-INVITE that keeps our key
/// keeps our rollover counter.
struct Secured {
    keys: Keys,
    send: srtp::Session,
    receive: srtp::Session,
}

impl Secured {
    fn new(keys: Keys) -> Result<Self, MediaError> {
        Ok(Secured {
            send: srtp::Session::outbound(keys.suite, &keys.send)?,
            receive: srtp::Session::inbound(keys.suite, &keys.receive)?,
            keys,
        })
    }

    fn rekey(&mut self, keys: Keys) -> Result<(), MediaError> {
        if keys.send != self.keys.send || keys.suite != self.keys.suite {
            self.send = srtp::Session::outbound(keys.suite, &keys.send)?;
        }
        if keys.receive != self.keys.receive || keys.suite != self.keys.suite {
            self.receive = srtp::Session::inbound(keys.suite, &keys.receive)?;
        }
        self.keys = keys;
        Ok(())
    }
}

fn random_u32() -> u32 {
    // SSRCs and initial sequence numbers should be unpredictable (RFC 3550 section 5.1);
    // the std hasher is randomly keyed per process, which is enough here.
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish() as u32
}

impl Stream {
    pub fn new(id: StreamId, cfg: StreamConfig) -> Result<Self, MediaError> {
        let codec = cfg.codec;
        if codec.ptime_ms != 10 && codec.ptime_ms != 20 {
            return Err(MediaError::Unsupported(format!(
                "ptime {} ms (only 10 or 20)",
                codec.ptime_ms
            )));
        }
        if codec.kind == CodecKind::Opus && codec.clock_rate != 48_000 {
            return Err(MediaError::Unsupported(
                "Opus with an RTP clock other than 48 kHz".into(),
            ));
        }
        cfg.rtp_socket.set_nonblocking(true)?;
        if let Some(s) = &cfg.rtcp_socket {
            s.set_nonblocking(true)?;
        }
        let remote_rtcp = cfg.remote_rtcp.unwrap_or_else(|| {
            let mut a = cfg.remote_rtp;
            if cfg.rtcp_socket.is_some() {
                a.set_port(a.port().wrapping_add(1));
            }
            a
        });
        let codec_frame = (codec.pcm_rate() / 50) as usize;
        let local = cfg.rtp_socket.local_addr()?;
        let mut s = Stream {
            id,
            socket: cfg.rtp_socket,
            rtcp_socket: cfg.rtcp_socket,
            remote_rtp: cfg.remote_rtp,
            remote_rtcp,
            symmetric: cfg.symmetric,
            codec,
            telephone_event: cfg.telephone_event,
            srtp: cfg.srtp.map(Secured::new).transpose()?,
            ice: cfg.ice.map(|c| Ice::new(c, local)),
            direction: cfg.direction,
            route: Route::Local,
            in_conference: false,
            hold_music: false,
            ssrc: random_u32(),
            seq: random_u32() as u16,
            timestamp: random_u32(),
            first_packet: true,
            encoder: Encoder::new(&codec)?,
            decoder: Decoder::new(&codec)?,
            jb: JitterBuffer::new(codec.ptime_ms, codec.clock_rate),
            to_codec: Resampler::new(48_000, codec.pcm_rate(), 20)?,
            from_codec: Resampler::new(codec.pcm_rate(), 48_000, 20)?,
            packets_per_tick: (20 / codec.ptime_ms) as usize,
            net_buf: Box::new([0; 2048]),
            payload: Box::new([0; MAX_PAYLOAD]),
            pcm: vec![0; codec_frame],
            codec_f32: vec![0.0; codec_frame],
            received: vec![0.0; FRAME],
            to_send: vec![0.0; FRAME],
            rx_stats: ReceiveStats::default(),
            remote_ssrc: 0,
            packets_sent: 0,
            octets_sent: 0,
            last_sr: None,
            rtt: None,
            last_report: Instant::now(),
            started: Instant::now(),
            dtmf_queue: ['\0'; DTMF_QUEUE],
            dtmf_len: 0,
            dtmf_tx: None,
            dtmf_rx: DtmfReceiver::default(),
            sine: None,
            player: None,
            recorder: None,
            record_buf: vec![0.0; FRAME],
        };
        s.set_route(cfg.route)?;
        if let Some(rec) = cfg.record {
            s.recorder = Some((Recorder::start(&rec.path)?, rec.what));
        }
        Ok(s)
    }

    /// Applies a re-INVITE. A new codec rebuilds the coders; the RTP sequence continues.
    pub fn update(&mut self, u: StreamUpdate) -> Result<(), MediaError> {
        if let Some(a) = u.remote_rtp {
            self.remote_rtp = a;
            if u.remote_rtcp.is_none() {
                self.remote_rtcp = a;
                if self.rtcp_socket.is_some() {
                    self.remote_rtcp.set_port(a.port().wrapping_add(1));
                }
            }
        }
        if let Some(a) = u.remote_rtcp {
            self.remote_rtcp = a;
        }
        if let Some(c) = u.codec
            && c != self.codec
        {
            self.encoder = Encoder::new(&c)?;
            self.decoder = Decoder::new(&c)?;
            self.jb = JitterBuffer::new(c.ptime_ms, c.clock_rate);
            self.to_codec = Resampler::new(48_000, c.pcm_rate(), 20)?;
            self.from_codec = Resampler::new(c.pcm_rate(), 48_000, 20)?;
            self.pcm = vec![0; (c.pcm_rate() / 50) as usize];
            self.codec_f32 = vec![0.0; (c.pcm_rate() / 50) as usize];
            self.packets_per_tick = (20 / c.ptime_ms) as usize;
            self.codec = c;
        }
        if let Some(d) = u.direction {
            self.direction = d;
        }
        if let Some(keys) = u.srtp {
            match &mut self.srtp {
                Some(s) => s.rekey(keys)?,
                None => self.srtp = Some(Secured::new(keys)?),
            }
        }
        if let Some(r) = u.route {
            self.set_route(r)?;
        }
        Ok(())
    }

    fn set_route(&mut self, route: Route) -> Result<(), MediaError> {
        self.sine = None;
        self.player = None;
        match &route {
            Route::Sine(f) => {
                self.sine = Some(ToneGenerator::new(Tone::Sine(*f), 48_000).with_amplitude(0.3))
            }
            Route::Play { path, looped } => {
                self.player = Some((OggOpusReader::open(path)?, path.clone(), *looped))
            }
            Route::Local | Route::Echo => {}
        }
        self.route = route;
        Ok(())
    }

    pub fn queue_dtmf(&mut self, key: char) {
        if self.dtmf_len < DTMF_QUEUE {
            self.dtmf_queue[self.dtmf_len] = key;
            self.dtmf_len += 1;
        }
    }

    /// Fills `to_send` from a Sine or Play route. Returns true when a non-looped file ended.
    pub fn generate(&mut self) -> Result<bool, MediaError> {
        if let Some(g) = &mut self.sine {
            self.to_send.fill(0.0);
            g.add_to(&mut self.to_send);
        }
        if let Some((reader, path, looped)) = &mut self.player {
            let n = reader.read(&mut self.to_send)?;
            if n < FRAME {
                if *looped {
                    *reader = OggOpusReader::open(path)?;
                    reader.read(&mut self.to_send[n..])?;
                } else {
                    self.to_send[n..].fill(0.0);
                    self.player = None;
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn arrival_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// Reads every datagram waiting on the sockets.
    pub fn receive(&mut self, events: &crate::Events) -> Result<(), MediaError> {
        if let Some(ice) = &mut self.ice
            && let Some(remote) = ice.tick(&self.socket)
        {
            self.remote_rtp = remote;
            self.remote_rtcp = remote;
            let _ = events.send(MediaEvent::IceNominated {
                stream: self.id,
                remote,
            });
        }
        loop {
            let (n, from) = match self.socket.recv_from(&mut self.net_buf[..]) {
                Ok(v) => v,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                // ICMP port unreachable from a peer not yet listening shows up here on Linux.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e.into()),
            };
            if let Some(ice) = &mut self.ice
                && ice::is_stun(&self.net_buf[..n])
            {
                ice.on_packet(&self.net_buf[..n], from);
                continue;
            }
            if rtp::is_rtcp(&self.net_buf[..n]) {
                if let Some(n) = self.unprotect(n, true) {
                    self.on_rtcp(n);
                }
                continue;
            }
            // Only an authenticated packet may move where we send (symmetric RTP below).
            let Some(n) = self.unprotect(n, false) else {
                continue;
            };
            let Some((h, payload)) = rtp::parse_rtp(&self.net_buf[..n]) else {
                continue;
            };
            // With ICE the nominated pair says where RTP goes.
            if self.symmetric && self.ice.is_none() && from != self.remote_rtp {
                // Symmetric RTP (RFC 4961): answer where the peer really sends from (NAT).
                self.remote_rtp = from;
                if self.rtcp_socket.is_none() {
                    self.remote_rtcp = from;
                }
            }
            if !self.direction.receives() {
                continue;
            }
            self.remote_ssrc = h.ssrc;
            let arrival = self.arrival_ms();
            // Loss and jitter are per source (RFC 3550 6.4.1), telephone-event packets included:
            // they use sequence numbers too.
            let arrival_ts = (arrival * self.codec.clock_rate as f64 / 1000.0) as u64 as u32;
            self.rx_stats.on_packet(h.sequence, h.timestamp, arrival_ts);
            if Some(h.payload_type) == self.telephone_event.map(|t| t.0) {
                if let Some(digit) = self.dtmf_rx.on_packet(h.timestamp, payload) {
                    let _ = events.send(MediaEvent::DtmfReceived {
                        stream: self.id,
                        digit,
                    });
                }
                continue;
            }
            if h.payload_type != self.codec.payload_type {
                continue;
            }
            self.jb.push(h.sequence, h.timestamp, payload, arrival);
        }
        if let Some(sock) = self.rtcp_socket.take() {
            let result = loop {
                match sock.recv_from(&mut self.net_buf[..]) {
                    Ok((n, _)) => {
                        if let Some(n) = self.unprotect(n, true) {
                            self.on_rtcp(n);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break Ok(()),
                    Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
                    Err(e) => break Err(e.into()),
                }
            };
            self.rtcp_socket = Some(sock);
            return result;
        }
        Ok(())
    }

    /// The plain length of the packet in `net_buf[..n]`, or `None` when SRTP refuses it (a
    /// wrong key, a changed byte, a replay): such a packet is dropped unseen.
    fn unprotect(&mut self, n: usize, rtcp: bool) -> Option<usize> {
        let Some(s) = &mut self.srtp else {
            return Some(n);
        };
        let buf = &mut self.net_buf[..];
        let plain = if rtcp {
            s.receive.unprotect_rtcp(buf, n)
        } else {
            s.receive.unprotect_rtp(buf, n)
        };
        plain.ok()
    }

    fn on_rtcp(&mut self, n: usize) {
        let info = rtp::parse_rtcp(&self.net_buf[..n]);
        if let Some(mid) = info.sr_ntp_middle {
            self.last_sr = Some((mid, Instant::now()));
        }
        if let Some(b) = info.block
            && b.ssrc == self.ssrc
        {
            if let Some(rtt) = rtp::round_trip(&b, rtp::ntp_middle(SystemTime::now())) {
                self.rtt = Some(rtt);
            }
            self.encoder
                .set_expected_loss((b.fraction_lost as u32 * 100 / 256) as u8);
        }
    }

    /// Decodes this tick's 20 ms into `received`.
    pub fn decode(&mut self) -> Result<(), MediaError> {
        let per = self.codec.frame_samples();
        for k in 0..self.packets_per_tick {
            let out = &mut self.pcm[k * per..(k + 1) * per];
            let n = match self.jb.pop() {
                Playout::Packet(p) => self.decoder.decode(p, out)?,
                Playout::Lost { next: Some(next) } => match self.decoder.decode_fec(next, out) {
                    Some(n) => n,
                    None => self.decoder.conceal(out),
                },
                Playout::Lost { next: None } => self.decoder.conceal(out),
                Playout::Silence => {
                    out.fill(0);
                    per
                }
            };
            if n < per {
                out[n..].fill(0);
            }
        }
        for (f, s) in self.codec_f32.iter_mut().zip(&self.pcm) {
            *f = *s as f32 / 32768.0;
        }
        self.from_codec.process(&self.codec_f32, &mut self.received)
    }

    /// Encodes and sends `to_send` (or the next telephone-event packet).
    pub fn send(&mut self) -> Result<(), MediaError> {
        let per = self.codec.frame_samples();
        let step = self.codec.timestamp_step();
        if !self.direction.sends() {
            self.timestamp = self
                .timestamp
                .wrapping_add(step * self.packets_per_tick as u32);
            return Ok(());
        }
        self.to_codec.process(&self.to_send, &mut self.codec_f32)?;
        for (s, f) in self.pcm.iter_mut().zip(&self.codec_f32) {
            *s = (f.clamp(-1.0, 1.0) * 32767.0) as i16;
        }
        for k in 0..self.packets_per_tick {
            if self.send_dtmf_packet()? {
                self.timestamp = self.timestamp.wrapping_add(step);
                continue;
            }
            let len = self
                .encoder
                .encode(&self.pcm[k * per..(k + 1) * per], &mut self.payload[..])?;
            let h = RtpHeader {
                marker: self.first_packet,
                payload_type: self.codec.payload_type,
                sequence: self.seq,
                timestamp: self.timestamp,
                ssrc: self.ssrc,
            };
            self.first_packet = false;
            let n = rtp::write_rtp(&h, &self.payload[..len], &mut self.net_buf[..]);
            self.transmit(n)?;
            self.seq = self.seq.wrapping_add(1);
            self.timestamp = self.timestamp.wrapping_add(step);
            self.packets_sent += 1;
            self.octets_sent += len as u32;
        }
        Ok(())
    }

    fn transmit(&mut self, n: usize) -> Result<(), MediaError> {
        let n = match &mut self.srtp {
            Some(s) => s.send.protect_rtp(&mut self.net_buf[..], n)?,
            None => n,
        };
        match self.socket.send_to(&self.net_buf[..n], self.remote_rtp) {
            Ok(_) => Ok(()),
            // A full socket buffer or a peer not yet listening loses a packet, not the call.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Sends the next packet of a key press, if one is under way. Returns true if it did.
    fn send_dtmf_packet(&mut self) -> Result<bool, MediaError> {
        let Some((pt, rate)) = self.telephone_event else {
            return Ok(false);
        };
        if self.dtmf_tx.is_none() && self.dtmf_len > 0 {
            let key = self.dtmf_queue[0];
            self.dtmf_queue.copy_within(1..self.dtmf_len, 0);
            self.dtmf_len -= 1;
            // The event's timestamp is the media time at its start (RFC 4733 section 2.3.1).
            self.dtmf_tx =
                DtmfSender::new(key, rate, self.codec.ptime_ms).map(|s| (s, self.timestamp));
        }
        let Some((sender, start_ts)) = &mut self.dtmf_tx else {
            return Ok(false);
        };
        let start_ts = *start_ts;
        let Some((ev, marker)) = sender.next_packet() else {
            self.dtmf_tx = None;
            return Ok(false);
        };
        let h = RtpHeader {
            marker,
            payload_type: pt,
            sequence: self.seq,
            timestamp: start_ts,
            ssrc: self.ssrc,
        };
        let n = rtp::write_rtp(&h, &ev.write(), &mut self.net_buf[..]);
        self.transmit(n)?;
        self.seq = self.seq.wrapping_add(1);
        self.packets_sent += 1;
        self.octets_sent += 4;
        Ok(true)
    }

    /// Writes this tick's audio to the recording, if any.
    pub fn record(&mut self) {
        let Some((rec, what)) = &mut self.recorder else {
            return;
        };
        let buf = &mut self.record_buf;
        match what {
            RecordWhat::Received => buf.copy_from_slice(&self.received),
            RecordWhat::Sent => buf.copy_from_slice(&self.to_send),
            RecordWhat::Both => {
                for ((o, a), b) in buf.iter_mut().zip(&self.received).zip(&self.to_send) {
                    *o = a + b;
                }
            }
        }
        rec.push(buf);
    }

    /// Once a second: sends RTCP and returns the statistics event.
    pub fn report(&mut self) -> Option<MediaEvent> {
        if self.last_report.elapsed() < Duration::from_secs(1) {
            return None;
        }
        self.last_report = Instant::now();
        let (lsr, dlsr) = match self.last_sr {
            Some((mid, at)) => (mid, (at.elapsed().as_secs_f64() * 65_536.0) as u32),
            None => (0, 0),
        };
        let received_any = self.rx_stats.extended_max() > 0 || self.remote_ssrc != 0;
        let block = received_any.then(|| self.rx_stats.report(self.remote_ssrc, lsr, dlsr));
        let sender = (self.packets_sent > 0).then(|| {
            (
                SystemTime::now(),
                self.timestamp,
                self.packets_sent,
                self.octets_sent,
            )
        });
        let mut n = rtp::write_rtcp(self.ssrc, sender, block.as_ref(), &mut self.net_buf[..]);
        if let Some(s) = &mut self.srtp {
            n = s.send.protect_rtcp(&mut self.net_buf[..], n).unwrap_or(0);
        }
        let sock = self.rtcp_socket.as_ref().unwrap_or(&self.socket);
        let _ = sock.send_to(&self.net_buf[..n], self.remote_rtcp);

        let loss_pct = block.map_or(0.0, |b| b.fraction_lost as f32 * 100.0 / 256.0);
        let jitter_ms = self.rx_stats.jitter() as f32 * 1000.0 / self.codec.clock_rate as f32;
        let rtt_ms = self.rtt.map(|d| d.as_secs_f32() * 1000.0);
        // Mouth to ear: half the RTT, the jitter buffer, one packet and ~20 ms of devices.
        let buffer_ms = self.jb.stats().target_frames as f32 * self.codec.ptime_ms as f32;
        let one_way = rtt_ms.unwrap_or(0.0) / 2.0 + buffer_ms + self.codec.ptime_ms as f32 + 20.0;
        // G.113 Appendix I: G.711 with PLC Ie 0, Bpl 25.1. Opus has no G.113 entry; wideband
        // Opus is commonly given Ie 0 on the wideband scale and robust concealment, so Bpl 20
        // is a conservative stand-in.
        let (ie, bpl) = match self.codec.kind {
            CodecKind::Opus => (0.0, 20.0),
            CodecKind::Pcmu | CodecKind::Pcma => (0.0, 25.1),
            // G.113 gives G.722 at 64 kbit/s Ie 0 on the wideband scale; no Bpl with our simple
            // concealment is published, so use G.711's.
            CodecKind::G722 => (0.0, 25.1),
        };
        let mos = rtp::mos_estimate(one_way, loss_pct, ie, bpl);
        Some(MediaEvent::Stats {
            stream: self.id,
            loss_pct,
            jitter_ms,
            rtt_ms,
            mos,
        })
    }
}
