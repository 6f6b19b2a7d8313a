//! The codecs a call can use, behind one encoder and one decoder type. Frames are 20 ms of
//! mono PCM at the codec's own rate; buffers are sized once when the codec is created.

use crate::g711;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodecKind {
    Pcmu,
    Pcma,
    G722,
    Opus,
}

impl CodecKind {
    /// The PCM sample rate the codec works at (not the RTP clock: G.722 says 8000 there).
    pub fn pcm_rate(self) -> u32 {
        match self {
            CodecKind::Pcmu | CodecKind::Pcma => 8000,
            CodecKind::G722 => 16000,
            CodecKind::Opus => 48000,
        }
    }

    /// RTP timestamp units per 20 ms frame.
    pub fn rtp_ticks_per_frame(self) -> u32 {
        match self {
            CodecKind::Pcmu | CodecKind::Pcma | CodecKind::G722 => 160,
            CodecKind::Opus => 960,
        }
    }

    /// PCM samples in a 20 ms frame at [`Self::pcm_rate`].
    pub fn samples_per_frame(self) -> usize {
        (self.pcm_rate() / 50) as usize
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("Opus: {0}")]
    Opus(#[from] opus::Error),
}

/// Encoder settings from the SDP (`maxaveragebitrate`, `useinbandfec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpusSettings {
    pub bitrate: i32,
    pub fec: bool,
    /// Expected loss, which tunes how much FEC Opus spends.
    pub expected_loss_pct: i32,
}

impl Default for OpusSettings {
    fn default() -> Self {
        Self {
            bitrate: 32_000,
            fec: true,
            expected_loss_pct: 5,
        }
    }
}

impl OpusSettings {
    /// Reads `maxaveragebitrate` and `useinbandfec` from an fmtp line.
    pub fn from_fmtp(fmtp: Option<&str>) -> Self {
        let mut s = Self::default();
        for p in fmtp.unwrap_or("").split(';') {
            let Some((k, v)) = p.trim().split_once('=') else {
                continue;
            };
            match k.trim() {
                "maxaveragebitrate" => {
                    if let Ok(b) = v.trim().parse::<i32>() {
                        s.bitrate = b.clamp(6_000, 510_000);
                    }
                }
                "useinbandfec" => s.fec = v.trim() == "1",
                _ => {}
            }
        }
        s
    }
}

pub enum Encoder {
    Pcmu,
    Pcma,
    G722(Box<ezk_g722::libg722::encoder::Encoder>),
    Opus(Box<opus::Encoder>),
}

impl Encoder {
    pub fn new(kind: CodecKind, opus_settings: OpusSettings) -> Result<Self, CodecError> {
        Ok(match kind {
            CodecKind::Pcmu => Encoder::Pcmu,
            CodecKind::Pcma => Encoder::Pcma,
            CodecKind::G722 => Encoder::G722(Box::new(ezk_g722::libg722::encoder::Encoder::new(
                ezk_g722::libg722::Bitrate::Mode1_64000,
                false,
                false,
            ))),
            CodecKind::Opus => {
                let mut e =
                    opus::Encoder::new(48000, opus::Channels::Mono, opus::Application::Voip)?;
                e.set_bitrate(opus::Bitrate::Bits(opus_settings.bitrate))?;
                e.set_inband_fec(opus_settings.fec)?;
                e.set_packet_loss_perc(opus_settings.expected_loss_pct)?;
                Encoder::Opus(Box::new(e))
            }
        })
    }

    /// Encodes one frame into `out`, returning the payload length.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        match self {
            Encoder::Pcmu => {
                for (o, s) in out.iter_mut().zip(pcm) {
                    *o = g711::linear_to_ulaw(*s);
                }
                Ok(pcm.len().min(out.len()))
            }
            Encoder::Pcma => {
                for (o, s) in out.iter_mut().zip(pcm) {
                    *o = g711::linear_to_alaw(*s);
                }
                Ok(pcm.len().min(out.len()))
            }
            Encoder::G722(e) => {
                // The crate returns a fresh Vec per frame; 160 bytes every 20 ms.
                let bytes = e.encode(pcm);
                let n = bytes.len().min(out.len());
                out[..n].copy_from_slice(&bytes[..n]);
                Ok(n)
            }
            Encoder::Opus(e) => Ok(e.encode(pcm, out)?),
        }
    }
}

pub enum Decoder {
    Pcmu,
    Pcma,
    G722(Box<ezk_g722::libg722::decoder::Decoder>),
    Opus(Box<opus::Decoder>),
}

impl Decoder {
    pub fn new(kind: CodecKind) -> Result<Self, CodecError> {
        Ok(match kind {
            CodecKind::Pcmu => Decoder::Pcmu,
            CodecKind::Pcma => Decoder::Pcma,
            CodecKind::G722 => Decoder::G722(Box::new(ezk_g722::libg722::decoder::Decoder::new(
                ezk_g722::libg722::Bitrate::Mode1_64000,
                false,
                false,
            ))),
            CodecKind::Opus => {
                Decoder::Opus(Box::new(opus::Decoder::new(48000, opus::Channels::Mono)?))
            }
        })
    }

    /// Decodes one payload into `out` (one frame at the codec rate); returns samples written.
    pub fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        match self {
            Decoder::Pcmu => {
                for (o, b) in out.iter_mut().zip(payload) {
                    *o = g711::ulaw_to_linear(*b);
                }
                Ok(payload.len().min(out.len()))
            }
            Decoder::Pcma => {
                for (o, b) in out.iter_mut().zip(payload) {
                    *o = g711::alaw_to_linear(*b);
                }
                Ok(payload.len().min(out.len()))
            }
            Decoder::G722(d) => {
                let pcm = d.decode(payload);
                let n = pcm.len().min(out.len());
                out[..n].copy_from_slice(&pcm[..n]);
                Ok(n)
            }
            Decoder::Opus(d) => Ok(d.decode(payload, out, false)?),
        }
    }

    /// A frame to play where a packet was lost. Opus uses the next packet's in-band FEC when
    /// it has it, else its own concealment; the others fade the last frame.
    pub fn conceal(
        &mut self,
        next: Option<&[u8]>,
        last: &[i16],
        out: &mut [i16],
    ) -> Result<usize, CodecError> {
        match self {
            Decoder::Opus(d) => match next {
                Some(p) => Ok(d.decode(p, out, true)?),
                None => Ok(d.decode(&[], out, false)?),
            },
            _ => {
                // Repeat the last frame at half level: a soft gap instead of a click.
                for (o, s) in out.iter_mut().zip(last) {
                    *o = s / 2;
                }
                Ok(last.len().min(out.len()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone;

    fn round_trip(kind: CodecKind, freq: f32) -> f32 {
        let n = kind.samples_per_frame();
        let mut enc = Encoder::new(kind, OpusSettings::default()).unwrap();
        let mut dec = Decoder::new(kind).unwrap();
        let mut sine = tone::Sine::new(freq, kind.pcm_rate(), 8000.0);
        let mut pcm = vec![0i16; n];
        let mut out = vec![0i16; n];
        let mut payload = vec![0u8; 1500];
        let mut decoded = Vec::new();
        for _ in 0..25 {
            sine.fill(&mut pcm);
            let len = enc.encode(&pcm, &mut payload).unwrap();
            let got = dec.decode(&payload[..len], &mut out).unwrap();
            assert_eq!(got, n);
            decoded.extend_from_slice(&out);
        }
        // Skip the codec's start-up, then measure how much of the tone came through.
        tone::goertzel_level(&decoded[decoded.len() / 2..], freq, kind.pcm_rate())
    }

    #[test]
    fn every_codec_carries_a_tone_through_encode_and_decode() {
        for kind in [
            CodecKind::Pcmu,
            CodecKind::Pcma,
            CodecKind::G722,
            CodecKind::Opus,
        ] {
            let level = round_trip(kind, 1000.0);
            // The input tone's Goertzel level is about 0.24 (amplitude 8000 of 32768).
            assert!(level > 0.15, "{kind:?}: tone level {level}");
        }
    }

    #[test]
    fn opus_settings_come_from_fmtp() {
        let s =
            OpusSettings::from_fmtp(Some("minptime=10; useinbandfec=0; maxaveragebitrate=24000"));
        assert_eq!((s.bitrate, s.fec), (24000, false));
        assert_eq!(OpusSettings::from_fmtp(None), OpusSettings::default());
    }
}
