//! The media thread: every 20 ms it takes a microphone frame, receives and decodes every
//! stream, mixes, adds tones, the ringtone and the playing file, sends, and writes the speaker
//! and ringer frames. Commands are applied between ticks; nothing on the tick path allocates,
//! locks or logs. Which devices are open, and falling back when one goes, is `device_use`.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use super::{Command, EngineConfig};
use crate::devices::{Capture, FRAME, Playback};
use crate::mixer;
use crate::ogg_opus::OggOpusReader;
use crate::stream::Stream;
use crate::tone::{self, ToneGenerator};
use crate::{Events, MediaError, MediaEvent, Route, StreamId};

mod device_use;

use device_use::Linger;

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

pub(super) struct MediaThread {
    config: EngineConfig,
    events: Events,
    commands: Receiver<Command>,
    streams: Vec<Stream>,
    hold_readers: Vec<(StreamId, Box<OggOpusReader>)>,
    capture: Option<Capture>,
    playback: Option<Playback>,
    ringer: Option<Playback>,
    muted: bool,
    meter: bool,
    /// The microphone being recorded outside calls (a greeting).
    mic_recording: Option<Box<crate::recorder::Recorder>>,
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

    pub(super) fn new(
        config: EngineConfig,
        events: Events,
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
            mic_recording: None,
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

    /// Whether anything needs the microphone: a call, the level meter or a greeting being
    /// recorded.
    fn wants_mic(&self) -> bool {
        !self.streams.is_empty() || self.meter || self.mic_recording.is_some()
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
            // A recording runs on the clock even with no device (then it records silence).
            && self.mic_recording.is_none()
    }

    pub(super) fn run(mut self) {
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
            Command::RecordMic(recorder) => {
                let was_recording = self.mic_recording.is_some();
                // Dropping a recorder closes its file, waiting for the writer thread.
                self.mic_recording = recorder;
                if was_recording {
                    let _ = self.events.send(MediaEvent::MicRecordingStopped);
                }
            }
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
        if let Some(r) = &mut self.mic_recording {
            r.push(&self.mic);
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
