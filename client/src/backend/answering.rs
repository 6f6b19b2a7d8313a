//! Messages taken on this computer, for a phone system without voicemail: with Settings →
//! Mailbox → "Take messages on this computer" on, a call that rings here for the ring
//! duration (the business-hours one or the after-hours one, as the clock says) unanswered is
//! answered by the app. The caller hears the greeting (the user's own, see `greeting`, or
//! `assets/sounds/greeting.opus`, spoken by espeak-ng) and what they say is recorded to Ogg Opus in the profile until they hang up
//! or [`LONGEST`] passes. The recording, without the greeting's length of it, becomes a
//! voicemail like those from the PBX: listed, played, transcribed, emailed, kept as long as
//! the retention says. A caller who hangs up without a word leaves a missed call only.
//!
//! The PBX's own voicemail still comes first where it has one and answers sooner: this is for
//! lines whose calls would otherwise ring out.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Backend, Input, now_ms};
use crate::model::CallId;

/// The longest message: then the app hangs up, as Asterisk's `maxsecs` does.
pub(super) const LONGEST: Duration = Duration::from_secs(5 * 60);

/// Shorter than this after the greeting, a recording holds no message.
const SHORTEST_MS: u64 = 1_000;

/// A message being taken.
#[derive(Debug)]
pub(super) struct Taking {
    caller_name: Option<String>,
    caller_number: String,
    received_at: i64,
    path: PathBuf,
}

impl Backend {
    /// A call rings here: when messages are taken here, the answering machine is due after the
    /// ring duration.
    pub(super) fn answer_unanswered_later(&self, call: CallId) {
        let Some(s) = self.session.engines() else {
            return;
        };
        if !s.settings.mailbox.take_messages || s.settings.call_strategy.use_desk_phone {
            return;
        }
        let open = crate::routing::open_at(
            &s.settings.business_hours,
            &s.settings.time_zone,
            chrono::Utc::now(),
        );
        let secs = if open {
            s.settings.call_strategy.ring_seconds
        } else {
            s.settings.business_hours.after_hours_ring_seconds
        };
        super::after(
            &self.inbox,
            Duration::from_secs(secs.into()),
            Input::Unanswered(call),
        );
    }

    /// The ring duration passed: a call still ringing is answered with the greeting.
    pub(super) fn unanswered(&mut self, call: CallId) {
        let Some(missed) = self.line_to_voicemail(call) else {
            return;
        };
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        let received_at = now_ms();
        let dir = s.store.dir().join("voicemail");
        let path = dir.join(format!("here-{received_at}-{}.ogg", call.0));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return self.notice(format!("A message could not be taken: {e}"));
        }
        s.taking.insert(
            call,
            Taking {
                caller_name: missed.remote_name,
                caller_number: missed.remote_number,
                received_at,
                path: path.clone(),
            },
        );
        self.sip(sipcore::Command::TakeMessage {
            call,
            greeting: self.greeting_path(),
            record_to: path,
        });
        super::after(&self.inbox, LONGEST, Input::MessageTooLong(call));
    }

    /// The longest message is reached: the app hangs up, and the message is kept.
    pub(super) fn message_too_long(&mut self, call: CallId) {
        if self
            .session
            .engines()
            .is_some_and(|s| s.taking.contains_key(&call))
        {
            self.sip(sipcore::Command::HangUp(call));
        }
    }

    /// A call's audio stopped: when it was a message, its recording is closed and becomes a
    /// voicemail (trimmed on a worker, then stored here).
    pub(super) fn message_recorded(&mut self, call: CallId) {
        let Some(taking) = self
            .session
            .engines_mut()
            .and_then(|s| s.taking.remove(&call))
        else {
            return;
        };
        let inbox = self.inbox.clone();
        let greeting = self.greeting_path();
        std::thread::Builder::new()
            .name("message".into())
            .spawn(move || {
                let result = keep_what_was_said(&taking, &greeting);
                let _ = inbox.send(Input::MessageTaken(result));
            })
            .expect("spawning a thread");
    }

    pub(super) fn message_taken(
        &mut self,
        result: Result<Option<storage::voicemails::NewVoicemail>, String>,
    ) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        let vm = match result {
            Ok(Some(vm)) => vm,
            Ok(None) => return,
            Err(why) => return self.notice(format!("A message could not be kept: {why}")),
        };
        match s.store.add_voicemail(&vm) {
            Ok(id) => {
                self.send_voicemails();
                self.transcribe_voicemails();
                self.email_new_voicemails(&[id]);
            }
            Err(e) => {
                let _ = std::fs::remove_file(&vm.audio_path);
                self.notice(format!("A message could not be kept: {e}"));
            }
        }
    }
}

/// The recording without its first greeting's length (the caller listening), rewritten in
/// place; `None` when nothing is left of it.
fn keep_what_was_said(
    taking: &Taking,
    greeting: &Path,
) -> Result<Option<storage::voicemails::NewVoicemail>, String> {
    let read = |p: &Path| media::ogg_opus::OggOpusReader::read_all(p).map_err(|e| e.to_string());
    let heard = read(&taking.path)?;
    let greeting_len = read(greeting).map(|g| g.len()).unwrap_or(0);
    let said = &heard[greeting_len.min(heard.len())..];
    let duration_ms = said.len() as u64 * 1000 / 48_000;
    if duration_ms < SHORTEST_MS {
        let _ = std::fs::remove_file(&taking.path);
        return Ok(None);
    }
    let part = taking.path.with_extension("part");
    media::ogg_opus::write_pcm(&part, 48_000, said, 24_000)
        .and_then(|()| std::fs::rename(&part, &taking.path).map_err(Into::into))
        .map_err(|e| {
            let _ = std::fs::remove_file(&part);
            e.to_string()
        })?;
    Ok(Some(storage::voicemails::NewVoicemail {
        caller_name: taking.caller_name.clone(),
        caller_number: taking.caller_number.clone(),
        received_at: taking.received_at,
        duration_ms,
        audio_path: taking.path.clone(),
        transcript: None,
        server_ref: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(secs: f32) -> Vec<f32> {
        (0..(secs * 48_000.0) as usize)
            .map(|i| (i as f32 / 48_000.0 * 440.0 * std::f32::consts::TAU).sin() * 0.3)
            .collect()
    }

    #[test]
    fn the_greeting_s_length_is_cut_and_a_silent_caller_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let greeting = dir.path().join("greeting.ogg");
        media::ogg_opus::write_pcm(&greeting, 48_000, &tone(2.0), 24_000).unwrap();
        let taking = |name: &str, secs: f32| {
            let path = dir.path().join(name);
            media::ogg_opus::write_pcm(&path, 48_000, &tone(secs), 24_000).unwrap();
            Taking {
                caller_name: Some("Grace".into()),
                caller_number: "1002".into(),
                received_at: 7,
                path,
            }
        };
        let spoke = taking("spoke.ogg", 5.0);
        let vm = keep_what_was_said(&spoke, &greeting).unwrap().unwrap();
        assert!(
            (2_900..=3_100).contains(&vm.duration_ms),
            "{}",
            vm.duration_ms
        );
        let kept = media::ogg_opus::OggOpusReader::read_all(&spoke.path).unwrap();
        assert!(
            (kept.len() as i64 - 3 * 48_000).abs() < 2_000,
            "{}",
            kept.len()
        );
        assert_eq!(vm.caller_number, "1002");

        let silent = taking("silent.ogg", 2.5);
        assert!(keep_what_was_said(&silent, &greeting).unwrap().is_none());
        assert!(!silent.path.exists(), "an empty recording is not kept");

        let damaged = dir.path().join("damaged.ogg");
        std::fs::write(&damaged, b"not audio").unwrap();
        let broken = Taking {
            path: damaged,
            ..taking("unused.ogg", 1.0)
        };
        assert!(keep_what_was_said(&broken, &greeting).is_err());
    }
}
