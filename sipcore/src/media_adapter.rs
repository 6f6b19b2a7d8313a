//! The real media engine behind [`MediaControl`]: negotiated SDP values become a
//! [`media::StreamConfig`]. What each call's audio is connected to (the user's devices, an
//! echo, a file) is the adapter's [`AudioSource`], so bots and the app share this code.

use std::path::PathBuf;

use crate::event::CallId;
use crate::media_control::{AudioPlan, MediaControl, StreamError, StreamParams, StreamUpdate};
use crate::sdp::{self, CodecName};

/// What a call's audio is connected to.
#[derive(Clone, Debug, PartialEq)]
pub enum AudioSource {
    /// Microphone and speaker: a person's calls.
    Devices,
    /// Send back what the caller sends.
    Echo,
    /// Play an Ogg Opus file to the caller, looping.
    File(PathBuf),
    /// A steady tone at this frequency.
    Tone(f32),
}

pub struct MediaEngine {
    pub engine: media::Engine,
    pub source: AudioSource,
    /// When set, what each call receives is also recorded to `<dir>/<call>.opus`.
    pub record_dir: Option<PathBuf>,
}

/// Opus bitrate when the far end names none: wideband speech is transparent well below this.
const DEFAULT_OPUS_BITRATE: u32 = 32_000;

/// The media engine's codec for a negotiated one; `fmtp` is what the far end asked to receive.
pub fn codec(c: &sdp::Codec, ptime_ms: u32) -> media::Codec {
    let kind = match c.name {
        CodecName::Opus => media::CodecKind::Opus,
        CodecName::G722 => media::CodecKind::G722,
        CodecName::Pcmu => media::CodecKind::Pcmu,
        CodecName::Pcma => media::CodecKind::Pcma,
    };
    media::Codec {
        kind,
        payload_type: c.payload_type,
        // G.722's RTP clock is 8000 although it samples at 16 kHz (RFC 3551 §4.5.2); Opus
        // always says 48000.
        clock_rate: match kind {
            media::CodecKind::Opus => 48_000,
            _ => 8_000,
        },
        channels: 1,
        ptime_ms,
        opus: opus_params(c.fmtp.as_deref().unwrap_or("")),
    }
}

/// Opus `fmtp` parameters (RFC 7587 §6.1), e.g. `maxaveragebitrate=24000;useinbandfec=1`.
pub fn opus_params(fmtp: &str) -> media::OpusParams {
    let mut p = media::OpusParams {
        max_average_bitrate: DEFAULT_OPUS_BITRATE,
        ..media::OpusParams::default()
    };
    for (k, v) in fmtp
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim()))
    {
        match k.as_str() {
            // RFC 7587 allows 6000..=510000.
            "maxaveragebitrate" => {
                if let Ok(b) = v.parse::<u32>() {
                    p.max_average_bitrate = b.clamp(6_000, 510_000);
                }
            }
            "useinbandfec" => p.useinbandfec = v == "1",
            "stereo" => p.stereo = v == "1",
            "maxplaybackrate" => {
                if let Ok(r) = v.parse::<u32>() {
                    p.fullband = r > 24_000;
                }
            }
            _ => {}
        }
    }
    p
}

pub fn direction(d: sdp::Direction) -> media::Direction {
    match d {
        sdp::Direction::SendRecv => media::Direction::SendRecv,
        sdp::Direction::SendOnly => media::Direction::SendOnly,
        sdp::Direction::RecvOnly => media::Direction::RecvOnly,
        sdp::Direction::Inactive => media::Direction::Inactive,
    }
}

fn stream(call: CallId) -> media::StreamId {
    media::StreamId(call.0)
}

/// telephone-event runs at 8000 Hz whatever the audio codec (we only offer that rate).
fn telephone_event(pt: Option<u8>) -> Option<(u8, u32)> {
    pt.map(|pt| (pt, 8_000))
}

impl MediaEngine {
    pub fn recording_path(&self, call: CallId) -> Option<PathBuf> {
        self.record_dir
            .as_ref()
            .map(|d| d.join(format!("{call}.opus")))
    }
}

impl MediaControl for MediaEngine {
    fn start(&self, call: CallId, p: StreamParams) -> Result<(), StreamError> {
        let (route, record) = match &p.plan {
            AudioPlan::Talk => (
                match &self.source {
                    AudioSource::Devices => media::Route::Local,
                    AudioSource::Echo => media::Route::Echo,
                    AudioSource::File(f) => media::Route::Play {
                        path: f.clone(),
                        looped: true,
                    },
                    AudioSource::Tone(f) => media::Route::Sine(*f),
                },
                self.recording_path(call),
            ),
            AudioPlan::TakeMessage {
                greeting,
                record_to,
            } => (
                media::Route::Play {
                    path: greeting.clone(),
                    looped: false,
                },
                Some(record_to.clone()),
            ),
        };
        let remote_rtcp = p.sockets.rtcp.as_ref().map(|_| p.remote_rtcp);
        self.engine
            .start_stream(
                stream(call),
                media::StreamConfig {
                    rtp_socket: p.sockets.rtp,
                    rtcp_socket: p.sockets.rtcp,
                    remote_rtp: p.remote,
                    remote_rtcp,
                    codec: codec(&p.codec, p.ptime_ms),
                    telephone_event: telephone_event(p.telephone_event),
                    direction: direction(p.direction),
                    route,
                    record: record.map(|path| media::Recording {
                        path,
                        what: media::RecordWhat::Received,
                    }),
                    // The PBX relays media from a fixed address; a peer behind NAT sends from
                    // wherever its NAT maps it, and answering there is what reaches it.
                    symmetric: true,
                    srtp: p.srtp,
                    ice: p.ice,
                },
            )
            .map_err(|e| StreamError::Refused(e.to_string()))
    }

    fn update(&self, call: CallId, u: StreamUpdate) -> Result<(), StreamError> {
        self.engine.update_stream(
            stream(call),
            media::StreamUpdate {
                remote_rtp: Some(u.remote),
                remote_rtcp: Some(u.remote_rtcp),
                codec: Some(codec(&u.codec, 20)),
                direction: Some(direction(u.direction)),
                route: None,
                srtp: u.srtp,
            },
        );
        Ok(())
    }

    fn stop(&self, call: CallId) {
        self.engine.stop_stream(stream(call));
    }

    fn send_dtmf(&self, call: CallId, digit: char) -> bool {
        self.engine.send_dtmf(stream(call), digit);
        true
    }

    fn set_mute(&self, _call: CallId, muted: bool) {
        // One microphone: muting is the user's, whichever call is in front. Held calls send
        // nothing anyway.
        self.engine.set_mute(muted);
    }

    fn set_hold_music(&self, call: CallId, on: bool) {
        if let Err(e) = self.engine.set_hold_music(stream(call), on) {
            tracing::warn!("hold music for {call}: {e}");
        }
    }

    fn conference(&self, calls: &[CallId]) {
        let ids: Vec<media::StreamId> = calls.iter().copied().map(stream).collect();
        self.engine.conference(&ids);
    }

    fn split(&self, _calls: &[CallId]) {
        self.engine.split();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_follows_the_far_ends_fmtp() {
        let p = opus_params("maxaveragebitrate=24000; useinbandfec=1;stereo=0");
        assert_eq!(p.max_average_bitrate, 24_000);
        assert!(p.useinbandfec);
        assert!(!p.stereo);
        let p = opus_params("useinbandfec=0;maxplaybackrate=48000");
        assert_eq!(p.max_average_bitrate, DEFAULT_OPUS_BITRATE);
        assert!(!p.useinbandfec);
        assert!(p.fullband);
        assert_eq!(
            opus_params("maxaveragebitrate=1").max_average_bitrate,
            6_000,
            "clamped to RFC 7587's range"
        );
        assert_eq!(opus_params("garbage;=;x=").max_average_bitrate, 32_000);
    }

    #[test]
    fn g722_keeps_its_8000_rtp_clock() {
        let c = sdp::Codec {
            name: CodecName::G722,
            payload_type: 9,
            clock_rate: 8000,
            channels: 1,
            fmtp: None,
        };
        let m = codec(&c, 20);
        assert_eq!(
            (m.clock_rate, m.pcm_rate(), m.timestamp_step()),
            (8000, 16000, 160)
        );
    }
}
