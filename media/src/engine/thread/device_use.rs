//! Which sound devices the media thread holds: each is opened when something needs it and
//! closed a few seconds after its last use, and a chosen device that fails or disappears falls
//! back to the system default, with an event saying so.

use std::sync::atomic::Ordering;

use super::MediaThread;
use crate::devices::{Capture, Playback};
use crate::engine::EngineConfig;
use crate::{DeviceRole, MediaError, MediaEvent};

/// One device's life: open while wanted, closed a while after the last use.
#[derive(Default)]
pub(super) struct Linger {
    pub(super) open: bool,
    idle: u32,
}

enum Change {
    Open,
    Close,
}

impl Linger {
    fn step(&mut self, wanted: bool) -> Option<Change> {
        if wanted {
            self.idle = 0;
            if !self.open {
                self.open = true;
                return Some(Change::Open);
            }
        } else if self.open {
            self.idle += 1;
            if self.idle >= LINGER_TICKS {
                self.open = false;
                return Some(Change::Close);
            }
        }
        None
    }
}

/// How long devices stay open after their last use (ticks of 20 ms): long enough that the
/// key presses of a number, or a call that follows its ringtone, do not reopen them each time.
const LINGER_TICKS: u32 = 150;

impl MediaThread {
    /// Opens devices when something starts to need them and closes them a few seconds after
    /// the last use. An open microphone lights the system's "microphone in use" indicator and
    /// keeps the sound server busy, so an idle app holds no device at all.
    pub(super) fn sync_devices(&mut self) {
        if self.config.headless {
            return;
        }
        match self.mic_life.step(self.wants_mic()) {
            Some(Change::Open) => self.open_mic(),
            Some(Change::Close) => self.capture = None,
            None => {}
        }
        match self.speaker_life.step(self.wants_speaker()) {
            Some(Change::Open) => self.open_speaker(),
            Some(Change::Close) => self.playback = None,
            None => {}
        }
        match self.ringer_life.step(self.ringing.is_some()) {
            Some(Change::Open) => self.open_ringer(),
            Some(Change::Close) => self.ringer = None,
            None => {}
        }
        self.in_use.store(
            self.mic_life.open || self.speaker_life.open || self.ringer_life.open,
            Ordering::Relaxed,
        );
    }

    fn open_mic(&mut self) {
        let mic = self.config.microphone.clone();
        self.capture =
            self.open_with_fallback(DeviceRole::Microphone, mic.as_deref(), Capture::open);
    }

    fn open_speaker(&mut self) {
        let spk = self.config.speaker.clone();
        self.playback =
            self.open_with_fallback(DeviceRole::Speaker, spk.as_deref(), Playback::open);
    }

    fn open_ringer(&mut self) {
        let ring = self.config.ringer.clone();
        self.ringer = self.open_with_fallback(DeviceRole::Ringer, ring.as_deref(), Playback::open);
    }

    /// Takes a new choice of devices; those open now are reopened with it (calls go on). One
    /// that fails is replaced by the default, with an event.
    pub(super) fn open_devices(&mut self, config: EngineConfig) {
        self.config = config;
        if self.config.headless {
            self.capture = None;
            self.playback = None;
            self.ringer = None;
            return;
        }
        // Both close before either reopens. Reopening the microphone while the old speaker
        // stream still played left the call audible on the old speaker after a switch
        // (media/tests/hotplug.rs caught it; the sound server's reason was not pinned down).
        self.capture = None;
        self.playback = None;
        if self.mic_life.open {
            self.open_mic();
        }
        if self.speaker_life.open {
            self.open_speaker();
        }
        if self.ringer_life.open {
            self.ringer = None;
            self.open_ringer();
        }
    }

    fn open_with_fallback<T>(
        &self,
        role: DeviceRole,
        id: Option<&str>,
        open: impl Fn(Option<&str>) -> Result<T, MediaError>,
    ) -> Option<T> {
        let chosen = match open(id) {
            Ok(d) => return Some(d),
            Err(e) => e,
        };
        tracing::warn!(?role, error = %chosen, "cannot open the chosen device");
        let Some(id) = id else {
            // The default itself failed: there is nothing to fall back to.
            let _ = self.events.send(MediaEvent::DeviceMissing {
                what: role,
                reason: chosen.to_string(),
            });
            return None;
        };
        match open(None) {
            Ok(d) => {
                let _ = self.events.send(MediaEvent::DeviceFallback {
                    what: role,
                    from: id.to_string(),
                    to: "default".into(),
                });
                Some(d)
            }
            Err(e) => {
                let _ = self.events.send(MediaEvent::DeviceMissing {
                    what: role,
                    reason: e.to_string(),
                });
                None
            }
        }
    }

    /// A chosen device that is no longer listed has been unplugged. Sound servers such as
    /// PulseAudio move its streams to another device on their own, so no error reaches cpal;
    /// falling back here tells the user, and keeps our idea of the devices true. The choice
    /// reverts to the default until the app chooses again.
    pub(super) fn drop_vanished_devices(&mut self, present: &[String]) {
        let gone =
            |chosen: &Option<String>| chosen.as_ref().is_some_and(|id| !present.contains(id));
        if gone(&self.config.microphone) {
            let from = self.config.microphone.take().unwrap_or_default();
            self.capture = self
                .mic_life
                .open
                .then(|| Capture::open(None).ok())
                .flatten();
            let to = self
                .capture
                .as_ref()
                .map(|c| c.id.clone())
                .unwrap_or_default();
            self.tell_fallback(DeviceRole::Microphone, from, to);
        }
        if gone(&self.config.speaker) {
            let from = self.config.speaker.take().unwrap_or_default();
            self.playback = self
                .speaker_life
                .open
                .then(|| Playback::open(None).ok())
                .flatten();
            let to = self
                .playback
                .as_ref()
                .map(|p| p.id.clone())
                .unwrap_or_default();
            self.tell_fallback(DeviceRole::Speaker, from, to);
        }
        if gone(&self.config.ringer) {
            let from = self.config.ringer.take().unwrap_or_default();
            self.ringer = self
                .ringer_life
                .open
                .then(|| Playback::open(None).ok())
                .flatten();
            let to = self
                .ringer
                .as_ref()
                .map(|p| p.id.clone())
                .unwrap_or_default();
            self.tell_fallback(DeviceRole::Ringer, from, to);
        }
    }

    fn tell_fallback(&self, what: DeviceRole, from: String, to: String) {
        let _ = self
            .events
            .send(MediaEvent::DeviceFallback { what, from, to });
    }

    pub(super) fn check_devices(&mut self) {
        let mic_failed = self.capture.as_ref().is_some_and(|c| c.failed());
        let spk_failed = self.playback.as_ref().is_some_and(|p| p.failed());
        let ring_failed = self.ringer.as_ref().is_some_and(|p| p.failed());
        if mic_failed {
            let from = self.capture.take().map(|c| c.id).unwrap_or_default();
            self.capture = Capture::open(None).ok();
            let to = self
                .capture
                .as_ref()
                .map(|c| c.id.clone())
                .unwrap_or_default();
            let _ = self.events.send(MediaEvent::DeviceFallback {
                what: DeviceRole::Microphone,
                from,
                to,
            });
        }
        if spk_failed {
            let from = self.playback.take().map(|c| c.id).unwrap_or_default();
            self.playback = Playback::open(None).ok();
            let to = self
                .playback
                .as_ref()
                .map(|c| c.id.clone())
                .unwrap_or_default();
            let _ = self.events.send(MediaEvent::DeviceFallback {
                what: DeviceRole::Speaker,
                from,
                to,
            });
        }
        if ring_failed {
            let from = self.ringer.take().map(|c| c.id).unwrap_or_default();
            self.ringer = Playback::open(None).ok();
            let to = self
                .ringer
                .as_ref()
                .map(|c| c.id.clone())
                .unwrap_or_default();
            let _ = self.events.send(MediaEvent::DeviceFallback {
                what: DeviceRole::Ringer,
                from,
                to,
            });
        }
    }
}
