//! The real media engine behind [`MediaControl`]: negotiated SDP values become a
//! [`media::StreamConfig`]. What each call's audio is connected to (the user's devices, an
//! echo, a file) is the adapter's [`AudioSource`], so bots and the app share this code.

use std::path::PathBuf;

use crate::event::CallId;
use crate::media_control::{MediaControl, StreamParams, StreamUpdate};
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

pub fn codec(c: &sdp::Codec) -> media::Codec {
    media::Codec {
        kind: match c.name {
            CodecName::Opus => media::CodecKind::Opus,
            CodecName::G722 => media::CodecKind::G722,
            CodecName::Pcmu => media::CodecKind::Pcmu,
            CodecName::Pcma => media::CodecKind::Pcma,
        },
        payload_type: c.payload_type,
        fmtp: c.fmtp.clone(),
    }
}

pub fn direction(d: sdp::Direction) -> media::Direction {
    match d {
        sdp::Direction::SendRecv => media::Direction::SendRecv,
        sdp::Direction::SendOnly => media::Direction::SendOnly,
        sdp::Direction::RecvOnly => media::Direction::RecvOnly,
        sdp::Direction::Inactive => media::Direction::Inactive,
    }
}

impl MediaEngine {
    pub fn recording_path(&self, call: CallId) -> Option<PathBuf> {
        self.record_dir
            .as_ref()
            .map(|d| d.join(format!("{call}.opus")))
    }
}

impl MediaControl for MediaEngine {
    fn start(&self, call: CallId, p: StreamParams) -> Result<(), String> {
        let route = match &self.source {
            AudioSource::Devices => media::Route::Local,
            AudioSource::Echo => media::Route::Echo,
            AudioSource::File(f) => media::Route::Play(f.clone()),
            AudioSource::Tone(f) => media::Route::Sine(*f),
        };
        self.engine
            .start_stream(
                call.0,
                media::StreamConfig {
                    socket: p.socket,
                    remote: p.remote,
                    codec: codec(&p.codec),
                    telephone_event: p.telephone_event,
                    direction: direction(p.direction),
                    route,
                    record: self.recording_path(call),
                },
            )
            .map_err(|e| e.to_string())
    }

    fn update(&self, call: CallId, u: StreamUpdate) -> Result<(), String> {
        self.engine
            .update_stream(
                call.0,
                u.remote,
                codec(&u.codec),
                u.telephone_event,
                direction(u.direction),
            )
            .map_err(|e| e.to_string())
    }

    fn stop(&self, call: CallId) {
        self.engine.stop_stream(call.0);
    }

    fn send_dtmf(&self, call: CallId, digit: char) -> bool {
        self.engine.send_dtmf(call.0, digit);
        true
    }

    fn set_mute(&self, call: CallId, muted: bool) {
        self.engine.set_mute(call.0, muted);
    }

    fn set_hold_music(&self, call: CallId, on: bool) {
        self.engine.set_hold_music(call.0, on);
    }

    fn conference(&self, calls: &[CallId]) {
        let ids: Vec<u64> = calls.iter().map(|c| c.0).collect();
        self.engine.conference(&ids);
    }

    fn split(&self, calls: &[CallId]) {
        let ids: Vec<u64> = calls.iter().map(|c| c.0).collect();
        self.engine.split(&ids);
    }
}
