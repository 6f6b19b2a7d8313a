//! A microphone read on a thread of its own that takes whatever the device has each time it
//! wakes, as ALSA's own blocking read does (and so baresip). cpal's ALSA input instead waits
//! for a whole period after each wake-up, and the PulseAudio (and PipeWire) ALSA plugin reports
//! the device readable as soon as any sample is: cpal's thread spun through `poll`, `getpid`
//! and `snd_pcm_avail_delay` for 2.7 to 8.4 s of every 30 s call in `cargo xtask bench` (perf,
//! 2026-12-06), more than all the rest of the app. Reading what is there empties the plugin's
//! buffer, so its next poll sleeps.
//!
//! The device is non-blocking and waited on with a timeout, so the thread notices within
//! `WAIT_MS` that it should stop even when the device has stopped sending. It only copies into
//! the `rtrb` ring that [`crate::devices::Capture`] reads on the media thread; it allocates its
//! one buffer before the loop and never locks or logs in it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use alsa::pcm::{Access, Format, HwParams, PCM};
use alsa::{Direction, ValueOr};

use crate::MediaError;

/// 10 ms at 48 kHz.
const PERIOD_FRAMES: alsa::pcm::Frames = 480;
/// The longest the thread waits for the device before looking whether it should stop.
const WAIT_MS: u32 = 100;
/// Eight periods of slack in the device before it overruns.
const BUFFER_FRAMES: alsa::pcm::Frames = PERIOD_FRAMES * 8;

/// An open ALSA capture device and the thread reading it; dropping it stops the thread.
pub struct AlsaCapture {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// What the device agreed to.
    pub rate: u32,
    pub channels: usize,
}

fn err(pcm: &str, e: alsa::Error) -> MediaError {
    MediaError::Device(format!("{pcm}: {e}"))
}

impl AlsaCapture {
    /// Opens ALSA's `pcm` (e.g. `default`, `pulse`, `hw:CARD=USB`) for `channels` at `rate` (or
    /// what is nearest), and starts reading into `ring`. `failed` is set when the device goes
    /// away (unplugged, the sound server gone).
    pub fn open(
        pcm: &str,
        rate: u32,
        channels: usize,
        mut ring: rtrb::Producer<f32>,
        failed: Arc<AtomicBool>,
    ) -> Result<Self, MediaError> {
        let device = PCM::new(pcm, Direction::Capture, true).map_err(|e| err(pcm, e))?;
        let (rate, channels) = {
            let hw = HwParams::any(&device).map_err(|e| err(pcm, e))?;
            hw.set_access(Access::RWInterleaved)
                .and_then(|_| hw.set_format(Format::float()))
                .and_then(|_| hw.set_channels(channels as u32))
                .and_then(|_| hw.set_rate(rate, ValueOr::Nearest))
                .and_then(|_| hw.set_period_size_near(PERIOD_FRAMES, ValueOr::Nearest))
                .and_then(|_| hw.set_buffer_size_near(BUFFER_FRAMES))
                .and_then(|_| device.hw_params(&hw))
                .map_err(|e| err(pcm, e))?;
            let now = device.hw_params_current().map_err(|e| err(pcm, e))?;
            let rate = now.get_rate().map_err(|e| err(pcm, e))?;
            let channels = now.get_channels().map_err(|e| err(pcm, e))? as usize;
            (rate, channels)
        };
        device.start().map_err(|e| err(pcm, e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("mic".into())
            .spawn(move || {
                let Ok(io) = device.io_f32() else {
                    failed.store(true, Ordering::Relaxed);
                    return;
                };
                let mut buf = vec![0.0f32; PERIOD_FRAMES as usize * channels];
                while !stopping.load(Ordering::Relaxed) {
                    let read = match device.wait(Some(WAIT_MS)) {
                        Ok(false) => continue,
                        Ok(true) => io.readi(&mut buf),
                        Err(e) => Err(e),
                    };
                    match read {
                        Ok(frames) => {
                            // Copy what fits; the media thread drops a backlog itself.
                            let n = (frames * channels).min(ring.slots());
                            if let Ok(mut chunk) = ring.write_chunk(n) {
                                let (a, b) = chunk.as_mut_slices();
                                a.copy_from_slice(&buf[..a.len()]);
                                b.copy_from_slice(&buf[a.len()..n]);
                                chunk.commit_all();
                            }
                        }
                        Err(e) if e.errno() == libc::EAGAIN => {}
                        // An overrun (the thread was not scheduled in time) is recovered; a
                        // device that is gone is not.
                        Err(e) => {
                            if device.try_recover(e, true).is_err() {
                                failed.store(true, Ordering::Relaxed);
                                return;
                            }
                        }
                    }
                }
            })
            .map_err(|e| MediaError::Device(format!("{pcm}: {e}")))?;
        Ok(Self {
            stop,
            thread: Some(thread),
            rate,
            channels,
        })
    }
}

impl Drop for AlsaCapture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
