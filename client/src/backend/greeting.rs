//! The user's own greeting for messages taken here: recorded from the microphone in Settings →
//! Mailbox, kept as `greeting.ogg` in the profile, played back on the speaker, or dropped for
//! the spoken default. A recording goes to a `.part` file and replaces the greeting only once
//! the media engine has closed it, so a greeting is never half written.

use std::path::PathBuf;

use super::Backend;
use crate::command::Command;
use crate::event::Event;
use crate::model::Greeting;

/// A greeting shorter than this was a slip of the button: the previous one stays.
const SHORTEST_SAMPLES: usize = 48_000;

impl Backend {
    /// The user's own greeting file, when signed in.
    fn own_greeting(&self) -> Option<PathBuf> {
        let s = self.session.engines()?;
        Some(s.store.dir().join("greeting.ogg"))
    }

    /// What a caller hears: the user's own greeting, else the spoken default.
    pub(super) fn greeting_path(&self) -> PathBuf {
        self.own_greeting()
            .filter(|p| p.is_file())
            .unwrap_or_else(crate::assets::greeting)
    }

    pub(super) fn send_greeting(&self) {
        let Some(s) = self.session.engines() else {
            return;
        };
        let greeting = if s.recording_greeting.is_some() {
            Greeting::Recording
        } else {
            match self.own_greeting().filter(|p| p.is_file()) {
                Some(own) => Greeting::Own {
                    secs: media::ogg_opus::OggOpusReader::read_all(&own)
                        .map_or(0, |pcm| (pcm.len() as u64).div_ceil(48_000)),
                },
                None => Greeting::Spoken,
            }
        };
        self.emit(Event::Greeting(greeting));
    }

    pub(super) fn greeting_command(&mut self, c: Command) {
        let path = self.greeting_path();
        let Some(own) = self.own_greeting() else {
            return;
        };
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        match c {
            Command::RecordGreeting if s.recording_greeting.is_none() => {
                let part = own.with_extension("part");
                match s.media.record_microphone(&part) {
                    Ok(()) => s.recording_greeting = Some(part),
                    Err(e) => self.notice(format!("The greeting could not be recorded: {e}")),
                }
            }
            Command::StopRecordingGreeting => s.media.stop_recording_microphone(),
            Command::PlayGreeting => {
                // The speaker plays one file at a time: a voicemail playing is paused.
                if self.player.pause().is_some() {
                    self.emit(Event::Playback(self.player.playback()));
                }
                let Some(s) = self.session.engines_mut() else {
                    return;
                };
                if let Err(e) = s.media.play_file(&path, 0.0) {
                    self.notice(format!("The greeting could not be played: {e}"));
                }
            }
            Command::UseSpokenGreeting => {
                if let Err(e) = std::fs::remove_file(&own)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    self.notice(format!("Your greeting could not be removed: {e}"));
                }
            }
            _ => {}
        }
        self.send_greeting();
    }

    /// The media engine closed the recording: it becomes the greeting when it holds one.
    pub(super) fn greeting_recorded(&mut self) {
        let Some(own) = self.own_greeting() else {
            return;
        };
        let Some(part) = self
            .session
            .engines_mut()
            .and_then(|s| s.recording_greeting.take())
        else {
            return;
        };
        let long_enough = media::ogg_opus::OggOpusReader::read_all(&part)
            .is_ok_and(|pcm| pcm.len() >= SHORTEST_SAMPLES);
        if !long_enough {
            let _ = std::fs::remove_file(&part);
            self.notice("The greeting was too short to keep; the previous one stays.");
        } else if let Err(e) = std::fs::rename(&part, &own) {
            let _ = std::fs::remove_file(&part);
            self.notice(format!("The greeting could not be kept: {e}"));
        }
        self.send_greeting();
    }
}
