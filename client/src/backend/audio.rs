//! Sound: which devices the media engine uses, the ringtone, the settings page's test tone and
//! meter, and what the media engine reports (quality, devices coming and going).

use super::Backend;
use crate::command::Command;
use crate::event::Event;
use crate::model::{CallId, Quality};

impl Backend {
    /// The media engine's devices for the user's choice (`None` is the system default).
    pub(super) fn engine_config(&self, audio: &crate::settings::Audio) -> media::EngineConfig {
        if self.config.headless_audio {
            return media::EngineConfig::headless();
        }
        media::EngineConfig {
            headless: false,
            microphone: audio.microphone.clone(),
            speaker: audio.speaker.clone(),
            ringer: audio.ringer.clone(),
        }
    }

    /// Tells the settings page which devices exist. Listing probes the sound system, which is
    /// why it happens here and not on the UI thread.
    pub(super) fn send_devices(&self, engine: &media::Engine) {
        if self.config.headless_audio {
            return;
        }
        match engine.list_devices() {
            Ok(list) => {
                let of = |kind| {
                    list.iter()
                        .filter(|d| d.kind == kind)
                        .map(|d| (d.id.clone(), d.name.clone()))
                        .collect()
                };
                self.emit(Event::Devices {
                    inputs: of(media::DeviceKind::Input),
                    outputs: of(media::DeviceKind::Output),
                });
            }
            Err(e) => self.notice(format!("The sound devices could not be listed: {e}")),
        }
    }

    pub(super) fn audio_command(&mut self, c: Command) {
        let Some(s) = self.session.engines() else {
            return;
        };
        match c {
            Command::MicMeter(on) => s.media.set_mic_meter(on),
            Command::PreviewRingtone { ringtone, volume } => {
                if let Err(e) = s
                    .media
                    .preview_ringtone(&crate::assets::ringtone(&ringtone), volume)
                {
                    self.notice(format!("The ringtone could not be played: {e}"));
                }
            }
            Command::PlayTestTone => s.media.play_tone(media::Tone::Test),
            _ => {}
        }
    }

    /// The ringtone from the settings, unless notifications are muted.
    pub(super) fn ring(&self) {
        let Some(s) = self.session.engines() else {
            return;
        };
        let n = &s.settings.notifications;
        if n.mute_all {
            return;
        }
        if let Err(e) = s
            .media
            .start_ringing(&crate::assets::ringtone(&n.ringtone), n.volume)
        {
            tracing::warn!("ringtone: {e}");
        }
    }

    /// A device came or went: list them again, and when a chosen device that had gone is back
    /// (the headset plugged in again), use it again.
    fn devices_changed(&mut self) {
        let Some(s) = self.session.engines() else {
            return;
        };
        self.send_devices(&s.media);
        if !s.fell_back {
            return;
        }
        let Ok(list) = s.media.list_devices() else {
            return;
        };
        let audio = &s.settings.audio;
        let back = [&audio.microphone, &audio.speaker, &audio.ringer]
            .iter()
            .filter_map(|c| c.as_ref())
            .all(|id| list.iter().any(|d| &d.id == id));
        if back {
            s.media.set_devices(self.engine_config(audio));
            if let Some(s) = self.session.engines_mut() {
                s.fell_back = false;
            }
        }
    }

    pub(super) fn media_event(&mut self, e: media::MediaEvent) {
        match e {
            media::MediaEvent::Stats {
                stream,
                loss_pct,
                jitter_ms,
                rtt_ms,
                mos,
            } => self.quality(
                CallId(stream.0),
                Quality {
                    loss_pct,
                    jitter_ms,
                    rtt_ms,
                    mos,
                },
            ),
            media::MediaEvent::DeviceFallback { what, from, to } => {
                if let Some(s) = self.session.engines_mut() {
                    s.fell_back = true;
                }
                let what = match what {
                    media::DeviceRole::Microphone => "microphone",
                    media::DeviceRole::Speaker => "speaker",
                    media::DeviceRole::Ringer => "ringing device",
                };
                self.notice(format!(
                    "The {what} “{from}” went away; switched to “{to}”."
                ))
            }
            // The ringer is the speaker unless chosen apart; one notice for both is enough.
            media::MediaEvent::DeviceMissing {
                what: media::DeviceRole::Ringer,
                reason,
            } => tracing::warn!("no ringing device: {reason}"),
            media::MediaEvent::DeviceMissing { what, reason } => {
                let what = match what {
                    media::DeviceRole::Microphone => "No microphone",
                    _ => "No speaker",
                };
                tracing::warn!("{what}: {reason}");
                self.notice(format!(
                    "{what} could be opened: calls will have no audio there until one is connected."
                ));
            }
            // The meter shows -60 dBFS (quiet room) to 0 dBFS (clipping) as empty to full.
            media::MediaEvent::MicLevel(dbfs) => {
                self.emit(Event::MicLevel(((dbfs + 60.0) / 60.0).clamp(0.0, 1.0)))
            }
            media::MediaEvent::DevicesChanged => self.devices_changed(),
            media::MediaEvent::StreamFailed { reason, .. } => {
                self.notice(format!("Call audio problem: {reason}"))
            }
            media::MediaEvent::FilePosition { secs } => self.voicemail_position(Some(secs)),
            media::MediaEvent::FileFinished => self.voicemail_position(None),
            media::MediaEvent::StreamStopped { stream } => {
                self.message_recorded(crate::model::CallId(stream.0))
            }
            media::MediaEvent::MicRecordingStopped => self.greeting_recorded(),
            media::MediaEvent::DtmfReceived { .. }
            | media::MediaEvent::PlaybackFinished { .. }
            | media::MediaEvent::IceNominated { .. } => {}
        }
    }
}
