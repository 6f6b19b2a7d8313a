//! The media thread and the [`Engine`] handle that commands it. The thread ticks every 20 ms:
//! it takes a microphone frame, receives and decodes every stream, mixes, adds tones, sends,
//! and writes the speaker and ringer frames. Commands arrive on a channel and are applied
//! between ticks; nothing on the tick path allocates, locks or logs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use crate::devices::{self, Capture, DeviceInfo, FRAME, Playback};
use crate::mixer;
use crate::ogg_opus::OggOpusReader;
use crate::stream::Stream;
use crate::tone::{self, Tone, ToneGenerator};
use crate::{DeviceRole, MediaError, MediaEvent, Route, StreamConfig, StreamId, StreamUpdate};

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
    pub fn start(config: EngineConfig, events: Sender<MediaEvent>) -> Result<Engine, MediaError> {
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
    events: Sender<MediaEvent>,
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

struct Ringing {
    reader: Box<OggOpusReader>,
    volume: f32,
    looped: bool,
}

/// A file playing on the speaker, and how far it has got.
struct FilePlayer {
    reader: Box<OggOpusReader>,
    at_samples: u64,
}

/// How often a playing file reports its position (ticks of 20 ms).
const POSITION_TICKS: u64 = 10;

/// One device's life: open while wanted, closed a while after the last use.
#[derive(Default)]
struct Linger {
    open: bool,
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

struct MediaThread {
    config: EngineConfig,
    events: Sender<MediaEvent>,
    commands: Receiver<Command>,
    streams: Vec<Stream>,
    hold_readers: Vec<(StreamId, Box<OggOpusReader>)>,
    capture: Option<Capture>,
    playback: Option<Playback>,
    ringer: Option<Playback>,
    muted: bool,
    meter: bool,
    tone: Option<ToneGenerator>,
    ringing: Option<Ringing>,
    file: Option<FilePlayer>,
    file_frame: Vec<f32>,
    mic: Vec<f32>,
    speaker: Vec<f32>,
    conference_sum: Vec<f32>,
    ring_frame: Vec<f32>,
    ticks: u64,
    mic_life: Linger,
    speaker_life: Linger,
    ringer_life: Linger,
    /// Shared with the device watcher: poll only while something is open.
    in_use: Arc<AtomicBool>,
}

/// How long devices stay open after their last use (ticks of 20 ms): long enough that the
/// key presses of a number, or a call that follows its ringtone, do not reopen them each time.
const LINGER_TICKS: u32 = 150;

impl MediaThread {
    /// Adds the next frame of the playing file to the speaker and reports its position.
    fn play_file_frame(&mut self) {
        let Some(f) = &mut self.file else { return };
        // A read error (a file truncated under us) ends playback like the end of the file.
        let n = f.reader.read(&mut self.file_frame).unwrap_or(0);
        for (o, x) in self.speaker.iter_mut().zip(&self.file_frame[..n]) {
            *o += x;
        }
        f.at_samples += n as u64;
        let secs = f.at_samples as f32 / 48_000.0;
        if n < FRAME {
            self.file = None;
            let _ = self.events.send(MediaEvent::FilePosition { secs });
            let _ = self.events.send(MediaEvent::FileFinished);
        } else if self.ticks.is_multiple_of(POSITION_TICKS) {
            let _ = self.events.send(MediaEvent::FilePosition { secs });
        }
    }

    fn new(
        config: EngineConfig,
        events: Sender<MediaEvent>,
        commands: Receiver<Command>,
        in_use: Arc<AtomicBool>,
    ) -> Self {
        let mut t = MediaThread {
            config: EngineConfig::headless(),
            events,
            commands,
            streams: Vec::with_capacity(16),
            hold_readers: Vec::with_capacity(16),
            capture: None,
            playback: None,
            ringer: None,
            muted: false,
            meter: false,
            tone: None,
            ringing: None,
            file: None,
            file_frame: vec![0.0; FRAME],
            mic: vec![0.0; FRAME],
            speaker: vec![0.0; FRAME],
            conference_sum: vec![0.0; FRAME],
            ring_frame: vec![0.0; FRAME],
            ticks: 0,
            mic_life: Linger::default(),
            speaker_life: Linger::default(),
            ringer_life: Linger::default(),
            in_use,
        };
        t.open_devices(config);
        t
    }

    /// Whether anything needs the microphone: a call or the level meter.
    fn wants_mic(&self) -> bool {
        !self.streams.is_empty() || self.meter
    }

    /// Whether anything needs the speaker: a call, a tone, a file, or the meter (whose page
    /// offers a test tone). A voicemail or a key tone alone does not open the microphone, so
    /// the system's "microphone in use" light stays off.
    fn wants_speaker(&self) -> bool {
        !self.streams.is_empty() || self.tone.is_some() || self.file.is_some() || self.meter
    }

    /// Nothing to do until a command arrives.
    fn idle(&self) -> bool {
        !self.mic_life.open
            && !self.speaker_life.open
            && !self.ringer_life.open
            && !self.wants_speaker()
            && self.ringing.is_none()
    }

    /// Opens devices when something starts to need them and closes them a few seconds after
    /// the last use. An open microphone lights the system's "microphone in use" indicator and
    /// keeps the sound server busy, so an idle app holds no device at all.
    fn sync_devices(&mut self) {
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
    fn open_devices(&mut self, config: EngineConfig) {
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

    fn run(mut self) {
        let tick = Duration::from_millis(20);
        let mut next = Instant::now();
        loop {
            if self.idle() {
                // No call, no sound, no device: sleep until told otherwise.
                match self.commands.recv() {
                    Ok(Command::Shutdown) | Err(_) => return,
                    Ok(c) => self.apply(c),
                }
                next = Instant::now();
            }
            loop {
                match self.commands.try_recv() {
                    Ok(Command::Shutdown) | Err(TryRecvError::Disconnected) => return,
                    Ok(c) => self.apply(c),
                    Err(TryRecvError::Empty) => break,
                }
            }
            self.sync_devices();
            self.tick();
            next += tick;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            } else if now - next > Duration::from_millis(200) {
                // We were stalled (a device opening, a suspended laptop): do not burst to catch up.
                next = now;
            }
        }
    }

    fn find(&mut self, id: StreamId) -> Option<&mut Stream> {
        self.streams.iter_mut().find(|s| s.id == id)
    }

    fn apply(&mut self, c: Command) {
        match c {
            Command::StartStream(s) => {
                let id = s.id;
                self.streams.retain(|x| x.id != id);
                self.streams.push(*s);
            }
            Command::UpdateStream(id, u) => {
                if let Some(s) = self.find(id)
                    && let Err(e) = s.update(u)
                {
                    self.fail(id, e);
                }
            }
            Command::StopStream(id) => {
                // Dropping the stream closes its recording, which waits for the writer thread.
                self.streams.retain(|s| s.id != id);
                self.hold_readers.retain(|(s, _)| *s != id);
                let _ = self.events.send(MediaEvent::StreamStopped { stream: id });
            }
            Command::SendDtmf(id, d) => {
                if let Some(s) = self.find(id) {
                    s.queue_dtmf(d);
                }
            }
            Command::SetMute(m) => self.muted = m,
            Command::SetHoldMusic(id, reader) => {
                self.hold_readers.retain(|(s, _)| *s != id);
                if let Some(s) = self.find(id) {
                    s.hold_music = reader.is_some();
                }
                if let Some(r) = reader {
                    self.hold_readers.push((id, r));
                }
            }
            Command::Conference(ids) => {
                for s in &mut self.streams {
                    if ids.contains(&s.id) {
                        s.in_conference = true;
                    }
                }
            }
            Command::Split => self
                .streams
                .iter_mut()
                .for_each(|s| s.in_conference = false),
            Command::PlayTone(t) => self.tone = Some(ToneGenerator::new(t, 48_000)),
            Command::StopTone => self.tone = None,
            Command::StartRinging {
                reader,
                volume,
                looped,
            } => {
                self.ringing = Some(Ringing {
                    reader,
                    volume: volume.clamp(0.0, 1.0),
                    looped,
                })
            }
            Command::StopRinging => self.ringing = None,
            Command::PlayFile { reader, at_samples } => {
                self.file = Some(FilePlayer { reader, at_samples })
            }
            Command::StopFile => self.file = None,
            Command::SetDevices(cfg) => self.open_devices(cfg),
            Command::MicMeter(on) => self.meter = on,
            Command::DevicesPresent(ids) => self.drop_vanished_devices(&ids),
            Command::Shutdown => {}
        }
    }

    fn fail(&mut self, id: StreamId, e: MediaError) {
        let _ = self.events.send(MediaEvent::StreamFailed {
            stream: id,
            reason: e.to_string(),
        });
        self.streams.retain(|s| s.id != id);
    }

    /// A chosen device that is no longer listed has been unplugged. Sound servers such as
    /// PulseAudio move its streams to another device on their own, so no error reaches cpal;
    /// falling back here tells the user, and keeps our idea of the devices true. The choice
    /// reverts to the default until the app chooses again.
    fn drop_vanished_devices(&mut self, present: &[String]) {
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

    fn check_devices(&mut self) {
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

    fn tick(&mut self) {
        self.ticks += 1;
        self.check_devices();
        match &mut self.capture {
            Some(c) => {
                if c.read_frame(&mut self.mic).is_err() {
                    self.mic.fill(0.0);
                }
            }
            None => self.mic.fill(0.0),
        }
        if self.meter && self.ticks.is_multiple_of(5) {
            let _ = self
                .events
                .send(MediaEvent::MicLevel(tone::level_dbfs(&self.mic)));
        }
        if self.muted {
            self.mic.fill(0.0);
        }

        // Receive and decode every stream.
        let mut failed: Option<(StreamId, MediaError)> = None;
        for s in &mut self.streams {
            if let Err(e) = s.receive(&self.events).and_then(|_| s.decode()) {
                failed = Some((s.id, e));
            }
        }
        if let Some((id, e)) = failed.take() {
            self.fail(id, e);
        }

        // Mix: the speaker hears every local stream; merged streams hear each other.
        self.speaker.fill(0.0);
        self.conference_sum.fill(0.0);
        for s in &self.streams {
            if s.route == Route::Local {
                for (o, x) in self.speaker.iter_mut().zip(&s.received) {
                    *o += x;
                }
                if s.in_conference {
                    for (o, x) in self.conference_sum.iter_mut().zip(&s.received) {
                        *o += x;
                    }
                }
            }
        }
        for s in &mut self.streams {
            let r = match s.route {
                Route::Local => {
                    let own = s.in_conference.then_some(&s.received[..]);
                    mixer::mix_minus(&self.mic, &self.conference_sum, own, &mut s.to_send);
                    Ok(false)
                }
                Route::Echo => {
                    s.to_send.copy_from_slice(&s.received);
                    Ok(false)
                }
                Route::Play { .. } | Route::Sine(_) => s.generate(),
            };
            match r {
                Ok(true) => {
                    let _ = self
                        .events
                        .send(MediaEvent::PlaybackFinished { stream: s.id });
                }
                Ok(false) => {}
                Err(e) => failed = Some((s.id, e)),
            }
            if s.hold_music
                && let Some((_, reader)) = self.hold_readers.iter_mut().find(|(id, _)| *id == s.id)
            {
                // Music on hold loops; a read error just plays silence.
                let n = reader.read(&mut s.to_send).unwrap_or(0);
                if n < FRAME {
                    s.to_send[n..].fill(0.0);
                    let _ = reader.rewind();
                }
            }
            if let Err(e) = s.send() {
                failed = Some((s.id, e));
            }
            s.record();
            if let Some(ev) = s.report() {
                let _ = self.events.send(ev);
            }
        }
        if let Some((id, e)) = failed {
            self.fail(id, e);
        }

        if let Some(t) = &mut self.tone {
            t.add_to(&mut self.speaker);
            if t.finished() {
                self.tone = None;
            }
        }
        self.play_file_frame();
        mixer::clip(&mut self.speaker);
        if let Some(p) = &mut self.playback {
            let _ = p.write_frame(&self.speaker);
        }

        if let Some(r) = &mut self.ringing {
            let n = r.reader.read(&mut self.ring_frame).unwrap_or(0);
            if n < FRAME {
                self.ring_frame[n..].fill(0.0);
                if r.looped {
                    let _ = r.reader.rewind();
                }
            }
            for s in &mut self.ring_frame {
                *s *= r.volume;
            }
            let done = n < FRAME && !r.looped;
            if done {
                self.ringing = None;
            }
        } else {
            self.ring_frame.fill(0.0);
        }
        if let Some(p) = &mut self.ringer {
            let _ = p.write_frame(&self.ring_frame);
        }
    }
}
