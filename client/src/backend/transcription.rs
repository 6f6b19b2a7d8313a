//! Voicemail transcription, on this machine: when Settings → Mailbox → "Transcribe voicemail"
//! is on, every voicemail without a transcript is transcribed on a worker thread (whisper.cpp
//! with the installed speech model, see the `transcribe` crate), one batch at a time, and each
//! transcript is stored as soon as it is made, so the list shows it and search finds it.
//!
//! A voicemail's email waits for its transcript while one is coming (see `awaits_transcript`),
//! so the email carries it. A voicemail whose audio cannot be read gets an empty transcript:
//! tried, nothing to show, and its email goes. With no model installed the user is told once,
//! and emails go without transcripts.

use std::path::{Path, PathBuf};

use super::{Backend, Input};

/// What the worker reports.
pub(crate) enum Transcribed {
    /// One voicemail's transcript, or why its audio could not be transcribed.
    One {
        id: i64,
        result: Result<String, String>,
    },
    /// The batch is over; the model could not be loaded when this says why.
    Done(Result<(), transcribe::TranscribeError>),
}

impl Backend {
    /// The speech model to use: the configured one, else the first installed.
    fn speech_model(&self) -> PathBuf {
        self.config.speech_model.clone().unwrap_or_else(|| {
            let paths = transcribe::model_paths();
            paths
                .iter()
                .find(|p| p.is_file())
                .or(paths.last())
                .cloned()
                .unwrap_or_default()
        })
    }

    /// Whether voicemails without a transcript will get one: on in Settings, a model to make
    /// them with, and no failure to load it.
    pub(super) fn transcripts_coming(&self) -> bool {
        self.session
            .engines()
            .is_some_and(|s| s.settings.mailbox.transcription)
            && !self.transcription_failing
            && self.speech_model().is_file()
    }

    /// Transcribes, on a worker, every voicemail still without a transcript.
    pub(super) fn transcribe_voicemails(&mut self) {
        let model = self.speech_model();
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        if !s.settings.mailbox.transcription {
            return;
        }
        // A voicemail that came meanwhile is taken by the next batch.
        if s.transcribing.busy() {
            return;
        }
        let waiting: Vec<(i64, PathBuf)> = match s.store.voicemails() {
            Ok(all) => all
                .into_iter()
                .filter(|v| v.voicemail.transcript.is_none())
                .map(|v| (v.id, v.voicemail.audio_path))
                .collect(),
            Err(e) => return self.notice(format!("Voicemails could not be read: {e}")),
        };
        if waiting.is_empty() {
            return;
        }
        s.transcribing.start();
        let inbox = self.inbox.clone();
        std::thread::Builder::new()
            .name("transcription".into())
            .spawn(move || {
                let done = transcribe_all(&model, &waiting, |id, result| {
                    let _ = inbox.send(Input::Transcribed(Transcribed::One { id, result }));
                });
                let _ = inbox.send(Input::Transcribed(Transcribed::Done(done)));
            })
            .expect("spawning a thread");
    }

    pub(super) fn transcribed(&mut self, news: Transcribed) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        match news {
            Transcribed::One { id, result } => {
                let text = match result {
                    Ok(text) => text,
                    Err(why) => {
                        self.notice(format!("A voicemail could not be transcribed: {why}"));
                        String::new()
                    }
                };
                let Some(s) = self.session.engines_mut() else {
                    return;
                };
                if let Err(e) = s.store.set_voicemail_transcript(id, Some(&text)) {
                    tracing::warn!("voicemail {id}'s transcript not stored: {e}");
                }
                self.send_voicemails();
            }
            Transcribed::Done(result) => {
                let again = s.transcribing.finish();
                match result {
                    Ok(()) => self.transcription_failing = false,
                    Err(e) => {
                        if !std::mem::replace(&mut self.transcription_failing, true) {
                            self.notice(format!("Voicemails cannot be transcribed: {e}."));
                        }
                    }
                }
                // Emails that waited for their transcripts.
                self.send_pending_emails();
                if again {
                    self.transcribe_voicemails();
                }
            }
        }
    }
}

/// Loads the model once and transcribes each voicemail in turn (on the worker thread).
fn transcribe_all(
    model: &Path,
    waiting: &[(i64, PathBuf)],
    mut report: impl FnMut(i64, Result<String, String>),
) -> Result<(), transcribe::TranscribeError> {
    let transcriber = transcribe::Transcriber::load(model)?;
    for (id, audio) in waiting {
        let result =
            speech(audio).and_then(|pcm| transcriber.transcribe(&pcm).map_err(|e| e.to_string()));
        report(*id, result);
    }
    Ok(())
}

/// A stored voicemail (48 kHz Ogg Opus) as Whisper hears: 16 kHz mono.
fn speech(path: &Path) -> Result<Vec<f32>, String> {
    let pcm = media::ogg_opus::OggOpusReader::read_all(path).map_err(|e| e.to_string())?;
    to_16k(&pcm).map_err(|e| e.to_string())
}

/// 48 kHz to 16 kHz, 20 ms at a time, the last frame padded with silence.
fn to_16k(pcm: &[f32]) -> Result<Vec<f32>, media::MediaError> {
    let mut resampler = media::resample::Resampler::new(48_000, transcribe::SAMPLE_RATE, 20)?;
    let (n_in, n_out) = (resampler.input_len(), resampler.output_len());
    let delay = resampler.delay();
    let mut out = Vec::with_capacity(pcm.len() / 3 + n_out * 2);
    let mut frame = vec![0.0; n_out];
    let mut padded = vec![0.0; n_in];
    // One more frame of silence flushes what the filter holds back.
    let frames = pcm.len().div_ceil(n_in) + 1;
    for i in 0..frames {
        let start = (i * n_in).min(pcm.len());
        let end = (start + n_in).min(pcm.len());
        padded.fill(0.0);
        padded[..end - start].copy_from_slice(&pcm[start..end]);
        resampler.process(&padded, &mut frame)?;
        out.extend_from_slice(&frame);
    }
    let wanted = pcm.len() / 3;
    Ok(out.into_iter().skip(delay).take(wanted).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_the_length_and_the_tone() {
        let pcm: Vec<f32> = (0..48_000)
            .map(|i| (i as f32 / 48_000.0 * 440.0 * std::f32::consts::TAU).sin() * 0.5)
            .collect();
        let out = to_16k(&pcm).unwrap();
        assert_eq!(out.len(), 16_000);
        // The same tone a third as often: a zero crossing every 16000 / 880 samples.
        let crossings = out
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!((870..=890).contains(&crossings), "{crossings} crossings");
    }
}
