//! Audio codecs behind one interface: Opus (libopus, with in-band FEC and PLC), G.722 and G.711
//! µ/A-law.
//! Every codec works on mono 16-bit frames at its own clock rate; packet-loss concealment is a
//! call with no payload, so the jitter buffer need not know which codec it feeds.

use crate::MediaError;
use crate::g711;

/// Which codec a stream uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecKind {
    Opus,
    /// 64 kbit/s mode 1. Its RTP clock is 8000 although it samples at 16 kHz (RFC 3551 4.5.2).
    G722,
    Pcmu,
    Pcma,
}

/// Opus parameters from the SDP `fmtp` line (RFC 7587 section 6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusParams {
    /// `maxaveragebitrate`, bits per second.
    pub max_average_bitrate: u32,
    /// `useinbandfec=1`: encode FEC data and use it on receipt.
    pub useinbandfec: bool,
    /// `stereo=1`: we still send mono; the field is kept so sipcore can pass it through.
    pub stereo: bool,
    /// Audio bandwidth to ask the encoder for.
    pub fullband: bool,
}

impl Default for OpusParams {
    fn default() -> Self {
        OpusParams {
            max_average_bitrate: 32_000,
            useinbandfec: true,
            stereo: false,
            fullband: false,
        }
    }
}

/// A negotiated codec, as sipcore derives it from the SDP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    pub kind: CodecKind,
    pub payload_type: u8,
    /// RTP clock rate: 48000 for Opus, 8000 for G.711 and G.722.
    pub clock_rate: u32,
    pub channels: u16,
    /// Packet duration; 10 or 20 ms.
    pub ptime_ms: u32,
    pub opus: OpusParams,
}

impl Codec {
    pub fn opus(payload_type: u8, bitrate: u32) -> Self {
        Codec {
            kind: CodecKind::Opus,
            payload_type,
            clock_rate: 48_000,
            channels: 1,
            ptime_ms: 20,
            opus: OpusParams {
                max_average_bitrate: bitrate,
                ..OpusParams::default()
            },
        }
    }
    pub fn pcmu() -> Self {
        Codec {
            kind: CodecKind::Pcmu,
            payload_type: 0,
            clock_rate: 8000,
            channels: 1,
            ptime_ms: 20,
            opus: OpusParams::default(),
        }
    }
    pub fn g722() -> Self {
        Codec {
            kind: CodecKind::G722,
            payload_type: 9,
            clock_rate: 8000,
            channels: 1,
            ptime_ms: 20,
            opus: OpusParams::default(),
        }
    }
    pub fn pcma() -> Self {
        Codec {
            kind: CodecKind::Pcma,
            payload_type: 8,
            clock_rate: 8000,
            channels: 1,
            ptime_ms: 20,
            opus: OpusParams::default(),
        }
    }
    /// PCM samples in one packet, at [`pcm_rate`](Self::pcm_rate).
    pub fn frame_samples(&self) -> usize {
        (self.pcm_rate() * self.ptime_ms / 1000) as usize
    }
    /// RTP timestamp units per packet.
    pub fn timestamp_step(&self) -> u32 {
        self.clock_rate * self.ptime_ms / 1000
    }
    /// The rate the codec's PCM runs at. Opus is decoded at 48 kHz whatever it was sent at.
    pub fn pcm_rate(&self) -> u32 {
        match self.kind {
            CodecKind::G722 => 16_000,
            _ => self.clock_rate,
        }
    }
}

/// Largest encoded frame we ever produce or accept (RFC 7587 allows up to 1275 bytes per frame).
pub const MAX_PAYLOAD: usize = 1500;

/// An encoder for one stream.
pub enum Encoder {
    Opus(opus::Encoder),
    G722(Box<crate::g722::encoder::Encoder>),
    Pcmu,
    Pcma,
}

impl Encoder {
    pub fn new(codec: &Codec) -> Result<Self, MediaError> {
        Ok(match codec.kind {
            CodecKind::Pcmu => Encoder::Pcmu,
            CodecKind::Pcma => Encoder::Pcma,
            CodecKind::G722 => Encoder::G722(Box::new(crate::g722::encoder::Encoder::new(
                crate::g722::Bitrate::Mode1_64000,
                false,
                false,
            ))),
            CodecKind::Opus => {
                let mut enc =
                    opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
                        .map_err(|e| MediaError::Codec(e.to_string()))?;
                let o = codec.opus;
                let mut setup = || -> Result<(), opus::Error> {
                    enc.set_bitrate(opus::Bitrate::Bits(
                        o.max_average_bitrate.clamp(6000, 510_000) as i32,
                    ))?;
                    enc.set_inband_fec(o.useinbandfec)?;
                    // FEC is only emitted when the encoder expects loss; 5 % is WebRTC's floor too.
                    enc.set_packet_loss_perc(if o.useinbandfec { 5 } else { 0 })?;
                    enc.set_max_bandwidth(if o.fullband {
                        opus::Bandwidth::Fullband
                    } else {
                        opus::Bandwidth::Wideband
                    })?;
                    Ok(())
                };
                setup().map_err(|e| MediaError::Codec(e.to_string()))?;
                Encoder::Opus(enc)
            }
        })
    }

    /// Encodes one frame of `frame_samples()` into `out`, returning the payload length.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, MediaError> {
        match self {
            Encoder::Pcmu => {
                for (o, s) in out.iter_mut().zip(pcm) {
                    *o = g711::linear_to_ulaw(*s);
                }
                Ok(pcm.len())
            }
            Encoder::Pcma => {
                for (o, s) in out.iter_mut().zip(pcm) {
                    *o = g711::linear_to_alaw(*s);
                }
                Ok(pcm.len())
            }
            Encoder::G722(enc) => Ok(enc.encode(pcm, out)),
            Encoder::Opus(enc) => enc
                .encode(pcm, out)
                .map_err(|e| MediaError::Codec(e.to_string())),
        }
    }

    /// Tells Opus the loss the far end reports, so it spends bits on FEC only when it helps.
    pub fn set_expected_loss(&mut self, pct: u8) {
        if let Encoder::Opus(enc) = self {
            let _ = enc.set_packet_loss_perc(pct.clamp(5, 30) as i32);
        }
    }
}

/// A decoder for one stream, with its own concealment.
pub enum Decoder {
    Opus(opus::Decoder),
    /// G.711 and G.722, which have no concealment of their own: repetition with a fade.
    G711 {
        alaw: bool,
        last: Vec<i16>,
        concealed: u32,
        /// Set for G.722, whose bytes are ADPCM rather than companded samples.
        g722: Option<Box<crate::g722::decoder::Decoder>>,
        /// Pitch period found in the last good frame, and where in it concealment has got to.
        period: usize,
        phase: usize,
    },
}

impl Decoder {
    pub fn new(codec: &Codec) -> Result<Self, MediaError> {
        Ok(match codec.kind {
            CodecKind::Opus => Decoder::Opus(
                opus::Decoder::new(48_000, opus::Channels::Mono)
                    .map_err(|e| MediaError::Codec(e.to_string()))?,
            ),
            CodecKind::Pcmu | CodecKind::Pcma | CodecKind::G722 => Decoder::G711 {
                alaw: codec.kind == CodecKind::Pcma,
                last: vec![0; codec.frame_samples()],
                concealed: 0,
                period: 1,
                phase: 0,
                g722: (codec.kind == CodecKind::G722).then(|| {
                    Box::new(crate::g722::decoder::Decoder::new(
                        crate::g722::Bitrate::Mode1_64000,
                        false,
                        false,
                    ))
                }),
            },
        })
    }

    /// Decodes a payload into `out` (exactly one frame), returning the samples written.
    pub fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, MediaError> {
        match self {
            Decoder::Opus(dec) => dec
                .decode(payload, out, false)
                .map_err(|e| MediaError::Codec(e.to_string())),
            Decoder::G711 {
                alaw,
                last,
                concealed,
                g722,
                ..
            } => {
                let n = if let Some(dec) = g722 {
                    // Two samples per byte; a payload too long for the frame is cut.
                    let bytes = payload.len().min(out.len() / 2);
                    dec.decode(&payload[..bytes], out)
                } else {
                    payload.len().min(out.len())
                };
                for (o, b) in out[..n].iter_mut().zip(payload).filter(|_| g722.is_none()) {
                    *o = if *alaw {
                        g711::alaw_to_linear(*b)
                    } else {
                        g711::ulaw_to_linear(*b)
                    };
                }
                let keep = n.min(last.len());
                last[..keep].copy_from_slice(&out[..keep]);
                *concealed = 0;
                Ok(n)
            }
        }
    }

    /// Recovers a lost frame from the FEC data carried in the *next* packet (Opus only).
    /// Returns `None` when the codec has no FEC, so the caller conceals instead.
    pub fn decode_fec(&mut self, next_payload: &[u8], out: &mut [i16]) -> Option<usize> {
        match self {
            Decoder::Opus(dec) => dec.decode(next_payload, out, true).ok(),
            Decoder::G711 { .. } => None,
        }
    }

    /// Fills `out` for a lost frame: Opus PLC, or for G.711 the last frame repeated with a fade
    /// (ITU-T G.711 Appendix I style, simplified) that reaches silence after 60 ms.
    pub fn conceal(&mut self, out: &mut [i16]) -> usize {
        match self {
            Decoder::Opus(dec) => dec.decode(&[], out, false).unwrap_or_else(|_| {
                out.fill(0);
                out.len()
            }),
            Decoder::G711 {
                last,
                concealed,
                period,
                phase,
                ..
            } => {
                // Pitch-synchronous repetition in the spirit of G.711 Appendix I: repeat the
                // last pitch period (so the waveform continues without a click), hold it for
                // 10 ms, then fade to silence at 60 ms.
                let n = out.len().min(last.len());
                if *concealed == 0 {
                    *period = pitch_period(&last[..n]);
                    *phase = 0;
                }
                let p = (*period).clamp(1, n);
                let hold = n as f32 / 2.0;
                let fade = n as f32 * 2.5;
                let start = *concealed as f32 * n as f32;
                for (i, o) in out[..n].iter_mut().enumerate() {
                    let t = start + i as f32;
                    let gain = (1.0 - (t - hold).max(0.0) / fade).max(0.0);
                    *o = (last[n - p + *phase] as f32 * gain) as i16;
                    *phase = (*phase + 1) % p;
                }
                *concealed += 1;
                n
            }
        }
    }
}

/// The lag between 2.5 ms and 10 ms (at any rate, as a share of a 20 ms frame) at which the end
/// of `frame` best matches the part before it: the pitch period of voiced speech.
fn pitch_period(frame: &[i16]) -> usize {
    let n = frame.len();
    let (min_p, max_p) = ((n / 8).max(1), (n / 2).max(1));
    let mut best = (max_p, f64::MIN);
    for p in min_p..=max_p {
        let (a, b) = (&frame[n - p..], &frame[n - 2 * p..n - p]);
        let (mut xy, mut xx, mut yy) = (0f64, 0f64, 0f64);
        for (x, y) in a.iter().zip(b) {
            let (x, y) = (*x as f64, *y as f64);
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }
        let c = xy / (xx * yy).sqrt().max(1.0);
        if c > best.1 {
            best = (p, c);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::goertzel_power;

    fn sine(rate: u32, freq: f32, n: usize, offset: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                (8000.0
                    * (2.0 * std::f32::consts::PI * freq * (i + offset) as f32 / rate as f32).sin())
                    as i16
            })
            .collect()
    }

    fn round_trip(codec: Codec) -> Vec<f32> {
        let mut enc = Encoder::new(&codec).unwrap();
        let mut dec = Decoder::new(&codec).unwrap();
        let n = codec.frame_samples();
        let mut out_all = Vec::new();
        let mut payload = [0u8; MAX_PAYLOAD];
        let mut pcm = vec![0i16; n];
        for f in 0..25 {
            let input = sine(codec.pcm_rate(), 1000.0, n, f * n);
            let len = enc.encode(&input, &mut payload).unwrap();
            let got = dec.decode(&payload[..len], &mut pcm).unwrap();
            assert_eq!(got, n);
            out_all.extend(pcm.iter().map(|s| *s as f32 / 32768.0));
        }
        out_all
    }

    #[test]
    fn each_codec_carries_a_1khz_tone() {
        for codec in [
            Codec::g722(),
            Codec::pcmu(),
            Codec::pcma(),
            Codec::opus(111, 24_000),
            Codec::opus(111, 32_000),
        ] {
            let out = round_trip(codec);
            let tail = &out[out.len() / 2..];
            let on = goertzel_power(tail, codec.pcm_rate(), 1000.0);
            let off = goertzel_power(tail, codec.pcm_rate(), 1700.0);
            assert!(on > 100.0 * off, "{codec:?}: on {on} off {off}");
            let rms = (tail.iter().map(|s| s * s).sum::<f32>() / tail.len() as f32).sqrt();
            // 8000/32768 peak is 0.173 RMS; the codec must keep the level within 2 dB.
            assert!((rms / 0.1726 - 1.0).abs() < 0.25, "{codec:?}: rms {rms}");
        }
    }

    #[test]
    fn g711_concealment_repeats_then_fades_to_silence() {
        let codec = Codec::pcmu();
        let mut dec = Decoder::new(&codec).unwrap();
        let payload = vec![linear(4000); 160];
        let mut out = vec![0i16; 160];
        dec.decode(&payload, &mut out).unwrap();
        dec.conceal(&mut out);
        assert!(
            out[0].abs() > 3000,
            "first concealed frame repeats the last one"
        );
        for _ in 0..3 {
            dec.conceal(&mut out);
        }
        assert!(out.iter().all(|s| *s == 0), "silence after 60 ms of loss");
    }

    #[test]
    fn g711_concealment_continues_a_voiced_waveform_in_phase() {
        let codec = Codec::pcmu();
        let mut dec = Decoder::new(&codec).unwrap();
        let mut out = vec![0i16; 160];
        for f in 0..3 {
            let payload: Vec<u8> = sine(8000, 200.0, 160, f * 160)
                .iter()
                .map(|s| linear(*s))
                .collect();
            dec.decode(&payload, &mut out).unwrap();
        }
        dec.conceal(&mut out);
        let truth = sine(8000, 200.0, 80, 3 * 160);
        // The first 10 ms are held at full level: they should follow the true continuation.
        let err: f64 = out[..80]
            .iter()
            .zip(&truth)
            .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
            .sum();
        let energy: f64 = truth.iter().map(|b| (*b as f64).powi(2)).sum();
        assert!(
            err < 0.05 * energy,
            "error energy {:.3} of the signal",
            err / energy
        );
    }

    fn linear(s: i16) -> u8 {
        g711::linear_to_ulaw(s)
    }

    #[test]
    fn opus_fec_recovers_a_lost_frame_better_than_silence() {
        let codec = Codec::opus(111, 32_000);
        let mut enc = Encoder::new(&codec).unwrap();
        enc.set_expected_loss(20);
        let mut dec = Decoder::new(&codec).unwrap();
        let n = codec.frame_samples();
        let mut packets = Vec::new();
        for f in 0..10 {
            let mut p = [0u8; MAX_PAYLOAD];
            let len = enc.encode(&sine(48_000, 440.0, n, f * n), &mut p).unwrap();
            packets.push(p[..len].to_vec());
        }
        let mut out = vec![0i16; n];
        for p in &packets[..8] {
            dec.decode(p, &mut out).unwrap();
        }
        // Packet 8 is lost; packet 9 carries its FEC copy.
        let got = dec.decode_fec(&packets[9], &mut out).unwrap();
        assert_eq!(got, n);
        let f: Vec<f32> = out.iter().map(|s| *s as f32).collect();
        assert!(goertzel_power(&f, 48_000, 440.0) > 100.0 * goertzel_power(&f, 48_000, 1500.0));
    }
}
#[cfg(test)]
mod g722_tests {
    use super::*;
    use crate::tone::goertzel_power;

    /// G.722's point is the 50–7000 Hz band: tones across it keep their level and frequency.
    #[test]
    fn g722_keeps_tones_across_the_wideband_band() {
        let codec = Codec::g722();
        for f in [300.0f32, 1000.0, 3000.0, 5000.0, 6500.0] {
            let mut enc = Encoder::new(&codec).unwrap();
            let mut dec = Decoder::new(&codec).unwrap();
            let mut all = Vec::new();
            let mut p = [0u8; 1500];
            let mut out = vec![0i16; 320];
            for k in 0..25 {
                let pcm: Vec<i16> = (0..320)
                    .map(|i| {
                        (8000.0
                            * (2.0 * std::f32::consts::PI * f * (k * 320 + i) as f32 / 16000.0)
                                .sin()) as i16
                    })
                    .collect();
                let n = enc.encode(&pcm, &mut p).unwrap();
                dec.decode(&p[..n], &mut out).unwrap();
                all.extend(out.iter().map(|s| *s as f32 / 32768.0));
            }
            let tail = &all[4000..];
            let rms = (tail.iter().map(|s| s * s).sum::<f32>() / tail.len() as f32).sqrt();
            // A sine of peak 8000/32768 has an RMS of 0.1726 and a Goertzel power of 0.0149.
            assert!((rms / 0.1726 - 1.0).abs() < 0.03, "{f} Hz: rms {rms}");
            let tone = goertzel_power(tail, 16000, f);
            assert!(tone > 0.0145, "{f} Hz: tone power {tone}");
        }
    }
}
