//! The media thread and the [`Engine`] handle that commands it. The thread ticks every 20 ms:
//! it takes a microphone frame, receives and decodes every stream, mixes, adds tones, sends,
//! and writes the speaker and ringer frames. Commands arrive on a channel and are applied
//! between ticks; nothing on the tick path allocates, locks or logs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

use crate::devices::{self, DeviceInfo};
use crate::ogg_opus::OggOpusReader;
use crate::stream::Stream;
use crate::tone::Tone;
use crate::{Events, MediaError, MediaEvent, StreamConfig, StreamId, StreamUpdate};

mod thread;

use thread::MediaThread;

/// Which devices to open. `None` ids mean the system default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineConfig {
    /// No sound devices at all: the thread is clocked by a timer (bots, tests, servers).
    pub headless: bool,
    pub microphone: Option<String>,
    pub speaker: Option<String>,
    pub ringer: Option<String>,
}

impl EngineConfig {
    pub fn headless() -> Self {
        EngineConfig {
            headless: true,
            ..Default::default()
        }
    }
    /// The system default microphone, speaker and ringer.
    pub fn default_devices() -> Self {
        EngineConfig::default()
    }
}

enum Command {
    StartStream(Box<Stream>),
    UpdateStream(StreamId, StreamUpdate),
    StopStream(StreamId),
    SendDtmf(StreamId, char),
    SetMute(bool),
    SetHoldMusic(StreamId, Option<Box<OggOpusReader>>),
    Conference(Vec<StreamId>),
    Split,
    PlayTone(Tone),
    StopTone,
    StartRinging {
        reader: Box<OggOpusReader>,
        volume: f32,
        looped: bool,
    },
    StopRinging,
    /// A file (a voicemail) on the speaker, already positioned by the caller.
    PlayFile {
        reader: Box<OggOpusReader>,
        at_samples: u64,
    },
    StopFile,
    SetDevices(EngineConfig),
    MicMeter(bool),
    /// Record the microphone (a voicemail greeting) to this recorder; `None` stops and closes
    /// the file.
    RecordMic(Option<Box<crate::recorder::Recorder>>),
    /// The device watcher's latest list of ids.
    DevicesPresent(Vec<String>),
    Shutdown,
}

/// A handle to the media thread. Cheap to clone; every method returns at once. When the last
/// clone is dropped the media thread and the device watcher stop.
#[derive(Clone)]
pub struct Engine {
    handle: Arc<Handle>,
    hold_music: Option<PathBuf>,
}

struct Handle {
    commands: Sender<Command>,
    stop: Arc<AtomicBool>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.commands.send(Command::Shutdown);
    }
}

impl Engine {
    /// Starts the media thread (and, with devices, a thread that watches for hot-plugging).
    pub fn start(config: EngineConfig, events: impl Into<Events>) -> Result<Engine, MediaError> {
        let events = events.into();
        let (commands, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let in_use = Arc::new(AtomicBool::new(false));
        if !config.headless {
            spawn_device_watcher(
                events.clone(),
                commands.clone(),
                stop.clone(),
                in_use.clone(),
            );
        }
        std::thread::Builder::new()
            .name("media".into())
            .spawn(move || MediaThread::new(config, events, rx, in_use).run())
            .map_err(MediaError::Network)?;
        let hold = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/sounds/hold-music.opus");
        Ok(Engine {
            handle: Arc::new(Handle { commands, stop }),
            hold_music: Some(hold),
        })
    }

    fn send(&self, c: Command) {
        // A stopped media thread has already reported why; there is nothing more to do.
        let _ = self.handle.commands.send(c);
    }

    /// Uses this file as music on hold instead of the shipped one.
    pub fn with_hold_music(mut self, path: PathBuf) -> Self {
        self.hold_music = Some(path);
        self
    }

    /// Starts an RTP stream. Codec, sockets and files are checked here; errors return at once.
    pub fn start_stream(&self, id: StreamId, config: StreamConfig) -> Result<(), MediaError> {
        let stream = Stream::new(id, config)?;
        self.handle
            .commands
            .send(Command::StartStream(Box::new(stream)))
            .map_err(|_| MediaError::EngineStopped)
    }
    pub fn update_stream(&self, id: StreamId, update: StreamUpdate) {
        self.send(Command::UpdateStream(id, update));
    }
    /// Stops a stream; [`MediaEvent::StreamStopped`] follows once its recording is closed.
    pub fn stop_stream(&self, id: StreamId) {
        self.send(Command::StopStream(id));
    }
    /// Sends a key as RFC 4733 telephone-event (queued behind keys already being sent).
    pub fn send_dtmf(&self, id: StreamId, digit: char) {
        self.send(Command::SendDtmf(id, digit));
    }
    pub fn set_mute(&self, muted: bool) {
        self.send(Command::SetMute(muted));
    }
    /// While on, the stream sends music on hold instead of the microphone.
    pub fn set_hold_music(&self, id: StreamId, on: bool) -> Result<(), MediaError> {
        let reader = match (on, &self.hold_music) {
            (true, Some(p)) => Some(Box::new(OggOpusReader::open(p)?)),
            _ => None,
        };
        self.send(Command::SetHoldMusic(id, reader));
        Ok(())
    }
    /// Merges these streams with the local user (3-way call); others stay as they are.
    pub fn conference(&self, ids: &[StreamId]) {
        self.send(Command::Conference(ids.to_vec()));
    }
    /// Ends the conference: every stream hears only the local user again.
    pub fn split(&self) {
        self.send(Command::Split);
    }
    /// Plays a tone on the speaker (ringback, busy, call waiting, DTMF feedback).
    pub fn play_tone(&self, tone: Tone) {
        self.send(Command::PlayTone(tone));
    }
    pub fn stop_tone(&self) {
        self.send(Command::StopTone);
    }
    /// Loops a ringtone on the ringing device. `volume` is 0..=1.
    pub fn start_ringing(&self, path: &Path, volume: f32) -> Result<(), MediaError> {
        let reader = Box::new(OggOpusReader::open(path)?);
        self.send(Command::StartRinging {
            reader,
            volume,
            looped: true,
        });
        Ok(())
    }
    pub fn stop_ringing(&self) {
        self.send(Command::StopRinging);
    }
    /// Plays an Ogg Opus file (a voicemail) on the speaker from `from_secs`, replacing any file
    /// already playing. Reports [`MediaEvent::FilePosition`] a few times a second and
    /// [`MediaEvent::FileFinished`] at the end. The file is opened and skipped to its position
    /// here, on the caller's thread, so a seek costs the media thread nothing.
    pub fn play_file(&self, path: &Path, from_secs: f32) -> Result<(), MediaError> {
        let mut reader = Box::new(OggOpusReader::open(path)?);
        let at_samples = (from_secs.max(0.0) as f64 * 48_000.0) as u64;
        reader.skip(at_samples as usize)?;
        self.send(Command::PlayFile { reader, at_samples });
        Ok(())
    }
    /// Stops the file started by [`Engine::play_file`] (pause is a stop; play resumes from the
    /// last reported position).
    pub fn stop_file(&self) {
        self.send(Command::StopFile);
    }
    /// Plays a ringtone once on the ringing device, for the settings screen.
    pub fn preview_ringtone(&self, path: &Path, volume: f32) -> Result<(), MediaError> {
        let reader = Box::new(OggOpusReader::open(path)?);
        self.send(Command::StartRinging {
            reader,
            volume,
            looped: false,
        });
        Ok(())
    }
    /// Switches devices; calls continue. Failures fall back to the default with an event.
    pub fn set_devices(&self, config: EngineConfig) {
        self.send(Command::SetDevices(config));
    }
    /// Lists devices. This enumerates the sound system and can take tens of milliseconds, so
    /// call it off the UI thread or when [`MediaEvent::DevicesChanged`] arrives.
    pub fn list_devices(&self) -> Result<Vec<DeviceInfo>, MediaError> {
        devices::list_devices()
    }
    /// Turns the [`MediaEvent::MicLevel`] meter on or off.
    pub fn set_mic_meter(&self, on: bool) {
        self.send(Command::MicMeter(on));
    }
    /// Records the microphone to `path` (Ogg Opus, 48 kHz), outside any call: a voicemail
    /// greeting. The file is created here, so a bad path fails at once.
    pub fn record_microphone(&self, path: &Path) -> Result<(), MediaError> {
        let recorder = crate::recorder::Recorder::start(path)?;
        self.send(Command::RecordMic(Some(Box::new(recorder))));
        Ok(())
    }
    /// Stops [`Engine::record_microphone`]; then [`MediaEvent::MicRecordingStopped`] once the
    /// file is complete.
    pub fn stop_recording_microphone(&self) {
        self.send(Command::RecordMic(None));
    }
    /// Stops the media thread and closes devices and streams.
    pub fn shutdown(&self) {
        self.send(Command::Shutdown);
    }
}

/// Polls the device list every 2 s on its own thread (enumeration is slow) and reports changes.
/// Polls the device list every 2 s while devices are in use (a call, a tone, the level meter
/// of the settings page, a ringtone): enumerating probes the sound system, which an idle app
/// should not pay for.
fn spawn_device_watcher(
    events: Events,
    commands: Sender<Command>,
    stop: Arc<AtomicBool>,
    in_use: Arc<AtomicBool>,
) {
    let _ = std::thread::Builder::new()
        .name("media-devices".into())
        .spawn(move || {
            let ids = || {
                devices::list_devices()
                    .map(|l| l.into_iter().map(|d| d.id).collect::<Vec<_>>())
                    .unwrap_or_default()
            };
            // Compared with the list when devices were last in use: a change made while the
            // app was idle is reported when they are used again.
            let mut last = ids();
            loop {
                std::thread::sleep(Duration::from_secs(2));
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                if !in_use.load(Ordering::Relaxed) {
                    continue;
                }
                let now = ids();
                if now == last {
                    continue;
                }
                last = now.clone();
                if events.send(MediaEvent::DevicesChanged).is_err()
                    || commands.send(Command::DevicesPresent(now)).is_err()
                {
                    return;
                }
            }
        });
}
