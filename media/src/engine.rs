//! The media thread: every 20 ms it reads the microphone, receives and plays out each stream,
//! mixes, sends, and feeds the speaker. Callers talk to it through [`Engine`], whose methods
//! only queue a message and never wait on audio. Device callbacks (see [`crate::devices`]) only
//! copy samples through lock-free ring buffers.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use crate::devices::{self, DeviceChoice, DeviceIo};
use crate::stream::{Codec, Direction, FRAME, Route, Stats, Stream, StreamConfig, StreamError};
use crate::tone::{Tone, TonePlayer};

/// What the engine reports.
#[derive(Clone, Debug, PartialEq)]
pub enum MediaEvent {
    /// About once a second per stream.
    Stats {
        stream: u64,
        stats: Stats,
    },
    Dtmf {
        stream: u64,
        digit: char,
    },
    StreamFailed {
        stream: u64,
        reason: String,
    },
    /// A device went away; audio moved to the default one.
    DeviceFallback {
        what: String,
        reason: String,
    },
    /// Microphone level, 0.0 to 1.0, about ten times a second while metering.
    MicLevel(f32),
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the audio engine has stopped")]
    Stopped,
    #[error(transparent)]
    Stream(#[from] StreamError),
    #[error("{0}")]
    Device(String),
}

/// Samples to play on the speaker: a ringtone, a preview, a test tone.
pub struct Sound {
    pub samples: std::sync::Arc<Vec<i16>>,
    /// 0.0 to 1.0.
    pub volume: f32,
    pub looped: bool,
    position: usize,
}

impl Sound {
    pub fn new(samples: std::sync::Arc<Vec<i16>>, volume: f32, looped: bool) -> Self {
        Self {
            samples,
            volume: volume.clamp(0.0, 1.0),
            looped,
            position: 0,
        }
    }

    /// Adds the next frame into `out`; false once a one-shot sound is over.
    fn mix(&mut self, out: &mut [i16]) -> bool {
        if self.samples.is_empty() {
            return false;
        }
        for o in out.iter_mut() {
            if self.position >= self.samples.len() {
                if !self.looped {
                    return false;
                }
                self.position = 0;
            }
            let v = *o as f32 + self.samples[self.position] as f32 * self.volume;
            *o = v.clamp(i16::MIN as f32, i16::MAX as f32) as i16;
            self.position += 1;
        }
        true
    }
}

pub struct EngineConfig {
    pub devices: DeviceChoice,
    /// Played to the other side while we hold it (Ogg Opus); `None` sends silence.
    pub hold_music: Option<PathBuf>,
}

enum Control {
    Start(u64, Box<Stream>),
    Update {
        id: u64,
        remote: std::net::SocketAddr,
        codec: Codec,
        telephone_event: Option<u8>,
        direction: Direction,
    },
    Stop(u64),
    Dtmf(u64, char),
    Mute(u64, bool),
    HoldMusic(u64, bool),
    Conference(Vec<u64>),
    Split(Vec<u64>),
    Tone(Option<Tone>),
    Sound(Option<Sound>),
    Devices(DeviceChoice),
    Meter(bool),
    Shutdown,
}

/// A handle to the media thread; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    tx: Sender<Control>,
    hold_music: std::sync::Arc<Vec<i16>>,
}

impl Engine {
    pub fn start(config: EngineConfig, events: Sender<MediaEvent>) -> Result<Self, MediaError> {
        let hold_music = match &config.hold_music {
            Some(p) => crate::ogg_opus::read(p).map_err(|e| MediaError::Device(e.to_string()))?,
            None => Vec::new(),
        };
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let choice = config.devices;
        std::thread::Builder::new()
            .name("media".into())
            .spawn(move || {
                // Devices are opened here because cpal's streams must stay on the thread that
                // made them.
                let io = DeviceIo::open(&choice);
                let (io, error) = match io {
                    Ok(io) => (io, None),
                    Err(e) => (DeviceIo::headless(), Some(e)),
                };
                let _ = ready_tx.send(error);
                MediaThread::new(io, choice, events).run(rx);
            })
            .map_err(|e| MediaError::Device(e.to_string()))?;
        if let Ok(Some(e)) = ready_rx.recv() {
            return Err(MediaError::Device(e));
        }
        Ok(Self {
            tx,
            hold_music: std::sync::Arc::new(hold_music),
        })
    }

    fn send(&self, c: Control) -> Result<(), MediaError> {
        self.tx.send(c).map_err(|_| MediaError::Stopped)
    }

    /// Starts a call's audio. Decoding a file to play and opening a recording happen here, on
    /// the caller's thread, not on the media thread.
    pub fn start_stream(&self, id: u64, config: StreamConfig) -> Result<(), MediaError> {
        let stream = Stream::new(config, &self.hold_music)?;
        self.send(Control::Start(id, Box::new(stream)))
    }

    pub fn update_stream(
        &self,
        id: u64,
        remote: std::net::SocketAddr,
        codec: Codec,
        telephone_event: Option<u8>,
        direction: Direction,
    ) -> Result<(), MediaError> {
        self.send(Control::Update {
            id,
            remote,
            codec,
            telephone_event,
            direction,
        })
    }

    pub fn stop_stream(&self, id: u64) {
        let _ = self.send(Control::Stop(id));
    }

    pub fn send_dtmf(&self, id: u64, digit: char) {
        let _ = self.send(Control::Dtmf(id, digit));
    }

    pub fn set_mute(&self, id: u64, muted: bool) {
        let _ = self.send(Control::Mute(id, muted));
    }

    pub fn set_hold_music(&self, id: u64, on: bool) {
        let _ = self.send(Control::HoldMusic(id, on));
    }

    pub fn conference(&self, ids: &[u64]) {
        let _ = self.send(Control::Conference(ids.to_vec()));
    }

    pub fn split(&self, ids: &[u64]) {
        let _ = self.send(Control::Split(ids.to_vec()));
    }

    /// Plays a call-progress tone on the speaker (`None` stops it).
    pub fn play_tone(&self, tone: Option<Tone>) {
        let _ = self.send(Control::Tone(tone));
    }

    /// Plays samples (48 kHz mono) on the speaker, replacing any sound playing; `None` stops.
    pub fn play_sound(&self, sound: Option<Sound>) {
        let _ = self.send(Control::Sound(sound));
    }

    pub fn set_devices(&self, choice: DeviceChoice) {
        let _ = self.send(Control::Devices(choice));
    }

    /// Reports the microphone level while on (for the audio settings' meter).
    pub fn meter(&self, on: bool) {
        let _ = self.send(Control::Meter(on));
    }

    pub fn shutdown(&self) {
        let _ = self.send(Control::Shutdown);
    }
}

struct Entry {
    id: u64,
    stream: Stream,
    conference: Option<u32>,
}

struct MediaThread {
    io: DeviceIo,
    choice: DeviceChoice,
    events: Sender<MediaEvent>,
    streams: Vec<Entry>,
    tone: Option<TonePlayer>,
    sound: Option<Sound>,
    metering: bool,
    next_conference: u32,
    mic: Box<[i16; FRAME]>,
    speaker: Box<[i32; FRAME]>,
    out: Box<[i16; FRAME]>,
    ticks: u64,
}

impl MediaThread {
    fn new(io: DeviceIo, choice: DeviceChoice, events: Sender<MediaEvent>) -> Self {
        Self {
            io,
            choice,
            events,
            streams: Vec::with_capacity(8),
            tone: None,
            sound: None,
            metering: false,
            next_conference: 1,
            mic: Box::new([0; FRAME]),
            speaker: Box::new([0; FRAME]),
            out: Box::new([0; FRAME]),
            ticks: 0,
        }
    }

    fn run(mut self, rx: Receiver<Control>) {
        let period = Duration::from_millis(20);
        let mut next = Instant::now() + period;
        loop {
            while let Ok(c) = rx.try_recv() {
                if !self.control(c) {
                    self.stop_all();
                    return;
                }
            }
            self.tick();
            let now = Instant::now();
            if now < next {
                std::thread::sleep(next - now);
                next += period;
            } else if now - next > Duration::from_millis(200) {
                // We fell far behind (the machine was suspended): start the clock afresh.
                next = now + period;
            } else {
                next += period;
            }
        }
    }

    fn stop_all(&mut self) {
        for e in self.streams.drain(..) {
            e.stream.finish();
        }
    }

    fn control(&mut self, c: Control) -> bool {
        let find = |s: &mut Vec<Entry>, id: u64| s.iter_mut().position(|e| e.id == id);
        match c {
            Control::Start(id, stream) => {
                if let Some(i) = find(&mut self.streams, id) {
                    self.streams.remove(i).stream.finish();
                }
                self.streams.push(Entry {
                    id,
                    stream: *stream,
                    conference: None,
                });
            }
            Control::Update {
                id,
                remote,
                codec,
                telephone_event,
                direction,
            } => {
                if let Some(i) = find(&mut self.streams, id)
                    && let Err(e) =
                        self.streams[i]
                            .stream
                            .update(remote, codec, telephone_event, direction)
                {
                    let _ = self.events.send(MediaEvent::StreamFailed {
                        stream: id,
                        reason: e.to_string(),
                    });
                }
            }
            Control::Stop(id) => {
                if let Some(i) = find(&mut self.streams, id) {
                    self.streams.remove(i).stream.finish();
                }
            }
            Control::Dtmf(id, digit) => {
                if let Some(i) = find(&mut self.streams, id) {
                    self.streams[i].stream.start_dtmf(digit);
                    if matches!(self.streams[i].stream.route, Route::Local) {
                        self.tone = Some(TonePlayer::new(Tone::Dtmf(digit)));
                    }
                }
            }
            Control::Mute(id, m) => {
                if let Some(i) = find(&mut self.streams, id) {
                    self.streams[i].stream.muted = m;
                }
            }
            Control::HoldMusic(id, on) => {
                if let Some(i) = find(&mut self.streams, id) {
                    self.streams[i].stream.hold_music = on;
                }
            }
            Control::Conference(ids) => {
                let group = self.next_conference;
                self.next_conference += 1;
                for e in self.streams.iter_mut().filter(|e| ids.contains(&e.id)) {
                    e.conference = Some(group);
                }
            }
            Control::Split(ids) => {
                for e in self.streams.iter_mut().filter(|e| ids.contains(&e.id)) {
                    e.conference = None;
                }
            }
            Control::Tone(t) => self.tone = t.map(TonePlayer::new),
            Control::Sound(s) => self.sound = s,
            Control::Devices(choice) => match DeviceIo::open(&choice) {
                Ok(io) => {
                    self.io = io;
                    self.choice = choice;
                }
                Err(e) => {
                    let _ = self.events.send(MediaEvent::DeviceFallback {
                        what: "audio device".into(),
                        reason: e,
                    });
                }
            },
            Control::Meter(on) => self.metering = on,
            Control::Shutdown => return false,
        }
        true
    }

    fn tick(&mut self) {
        self.ticks += 1;
        if let Some(reason) = self.io.failure() {
            // The device vanished (unplugged): fall back to the system default.
            let _ = self.events.send(MediaEvent::DeviceFallback {
                what: "audio device".into(),
                reason: reason.clone(),
            });
            self.io = DeviceIo::open(&DeviceChoice::default_devices())
                .unwrap_or_else(|_| DeviceIo::headless());
        }
        self.io.read_mic(&mut self.mic[..]);
        if self.metering && self.ticks.is_multiple_of(5) {
            let peak = self.mic.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
            let _ = self
                .events
                .send(MediaEvent::MicLevel(peak as f32 / 32768.0));
        }
        for e in self.streams.iter_mut() {
            if let Some(digit) = e.stream.receive() {
                let _ = self.events.send(MediaEvent::Dtmf {
                    stream: e.id,
                    digit,
                });
            }
            e.stream.playout();
        }
        // The speaker hears every local call that is not on hold, and any tone.
        self.speaker.fill(0);
        for e in self
            .streams
            .iter()
            .filter(|e| matches!(e.stream.route, Route::Local))
        {
            if e.stream.direction.receives() {
                for (acc, s) in self.speaker.iter_mut().zip(e.stream.rx.iter()) {
                    *acc += *s as i32;
                }
            }
        }
        // Each remote hears the microphone plus the other members of its conference.
        for i in 0..self.streams.len() {
            let (before, rest) = self.streams.split_at_mut(i);
            let (me, after) = rest.split_first_mut().expect("index in range");
            if !me.stream.own_source(&mut self.out) {
                let group = me.conference;
                for (k, o) in self.out.iter_mut().enumerate() {
                    let mut v = self.mic[k] as i32;
                    if let Some(g) = group {
                        for other in before
                            .iter()
                            .chain(after.iter())
                            .filter(|x| x.conference == Some(g))
                        {
                            v += other.stream.rx[k] as i32;
                        }
                    }
                    *o = v.clamp(i16::MIN as i32, i16::MAX as i32) as i16;
                }
            }
            me.stream.send(&mut self.out);
        }
        for (o, s) in self.out.iter_mut().zip(self.speaker.iter()) {
            *o = (*s).clamp(i16::MIN as i32, i16::MAX as i32) as i16;
        }
        if let Some(t) = self.tone.as_mut()
            && !t.next_frame(&mut self.out[..])
        {
            self.tone = None;
        }
        if let Some(s) = self.sound.as_mut()
            && !s.mix(&mut self.out[..])
        {
            self.sound = None;
        }
        self.io.write_speaker(&self.out[..]);
        if self.ticks.is_multiple_of(50) {
            for e in self.streams.iter_mut() {
                let stats = e.stream.take_stats();
                let _ = self.events.send(MediaEvent::Stats {
                    stream: e.id,
                    stats,
                });
            }
        }
    }
}

pub use devices::list as list_devices;
