//! Sound devices through cpal: listing with stable ids, and capture/playback streams whose
//! callbacks do nothing but copy samples to or from a lock-free `rtrb` ring (on Linux the
//! microphone is read by [`crate::alsa_capture`] instead of a cpal stream). Everything else —
//! down-mixing, resampling to 48 kHz, absorbing the drift between the device clock and the
//! media thread's clock — happens in [`Capture::read_frame`] and [`Playback::write_frame`],
//! called on the media thread with buffers allocated when the device was opened.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use crate::MediaError;
use crate::resample::Resampler;

/// Samples per 20 ms frame on the media thread.
pub const FRAME: usize = 960;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Input,
    Output,
}

/// One device as the settings screen lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Stable across runs (cpal's host-qualified id, e.g. `alsa:pulse`); store this in settings.
    pub id: String,
    /// What to show the user.
    pub name: String,
    pub kind: DeviceKind,
    pub is_default: bool,
}

fn dev_err(e: impl std::fmt::Display) -> MediaError {
    MediaError::Device(e.to_string())
}

fn device_id(d: &cpal::Device) -> String {
    d.id().map(|i| i.to_string()).unwrap_or_default()
}

fn device_name(d: &cpal::Device) -> String {
    d.description()
        .map(|x| x.name().to_string())
        .unwrap_or_else(|_| device_id(d))
}

/// Lists inputs and outputs of the default host, the system defaults marked.
pub fn list_devices() -> Result<Vec<DeviceInfo>, MediaError> {
    let host = cpal::default_host();
    let def_in = host.default_input_device().map(|d| device_id(&d));
    let def_out = host.default_output_device().map(|d| device_id(&d));
    let mut out = Vec::new();
    for d in host.input_devices().map_err(dev_err)? {
        let id = device_id(&d);
        out.push(DeviceInfo {
            is_default: Some(&id) == def_in.as_ref(),
            name: device_name(&d),
            id,
            kind: DeviceKind::Input,
        });
    }
    for d in host.output_devices().map_err(dev_err)? {
        let id = device_id(&d);
        out.push(DeviceInfo {
            is_default: Some(&id) == def_out.as_ref(),
            name: device_name(&d),
            id,
            kind: DeviceKind::Output,
        });
    }
    Ok(out)
}

/// Finds a device by id, or the default one when `id` is `None`.
fn find(kind: DeviceKind, id: Option<&str>) -> Result<cpal::Device, MediaError> {
    let host = cpal::default_host();
    match id {
        None => match kind {
            DeviceKind::Input => host.default_input_device(),
            DeviceKind::Output => host.default_output_device(),
        }
        .ok_or_else(|| MediaError::Device("no default device".into())),
        Some(id) => {
            let mut devices = match kind {
                DeviceKind::Input => Box::new(host.input_devices().map_err(dev_err)?)
                    as Box<dyn Iterator<Item = cpal::Device>>,
                DeviceKind::Output => Box::new(host.output_devices().map_err(dev_err)?),
            };
            devices
                .find(|d| device_id(d) == id)
                .ok_or_else(|| MediaError::Device(format!("device {id} not found")))
        }
    }
}

/// An open microphone.
pub struct Capture {
    _source: Source,
    ring: rtrb::Consumer<f32>,
    channels: usize,
    resampler: Resampler,
    mono: Vec<f32>,
    failed: Arc<AtomicBool>,
    pub id: String,
}

/// What feeds a capture's ring, kept open while the capture is: on Linux a reading thread of
/// our own (see [`crate::alsa_capture`] for why not cpal's), elsewhere a cpal stream.
#[cfg(target_os = "linux")]
type Source = crate::alsa_capture::AlsaCapture;
#[cfg(not(target_os = "linux"))]
type Source = cpal::Stream;

impl Capture {
    pub fn open(id: Option<&str>) -> Result<Self, MediaError> {
        let device = find(DeviceKind::Input, id)?;
        let cfg = device.default_input_config().map_err(dev_err)?;
        let (rate, channels) = (cfg.sample_rate(), cfg.channels() as usize);
        // 200 ms of slack for the device's own buffering.
        let (tx, ring) = rtrb::RingBuffer::<f32>::new(rate as usize * channels / 5);
        let failed = Arc::new(AtomicBool::new(false));
        let id = device_id(&device);
        #[cfg(target_os = "linux")]
        let (source, rate, channels) = {
            // cpal's ALSA ids are `alsa:` and the PCM's name.
            let pcm = id.strip_prefix("alsa:").unwrap_or("default");
            let reader =
                crate::alsa_capture::AlsaCapture::open(pcm, rate, channels, tx, failed.clone())?;
            let (rate, channels) = (reader.rate, reader.channels);
            (reader, rate, channels)
        };
        #[cfg(not(target_os = "linux"))]
        let source = cpal_input(&device, rate, channels, tx, failed.clone())?;
        let resampler = Resampler::new(rate, 48_000, 20)?;
        let mono = vec![0.0; resampler.input_len()];
        Ok(Capture {
            _source: source,
            ring,
            channels,
            resampler,
            mono,
            failed,
            id,
        })
    }

    /// True once the device reported an error (unplugged); the engine then falls back.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Takes one 20 ms frame at 48 kHz mono into `out`. Plays silence on underrun; on a
    /// backlog beyond 3 frames (the device clock is faster than ours) drops the oldest audio.
    pub fn read_frame(&mut self, out: &mut [f32]) -> Result<bool, MediaError> {
        let need = self.mono.len() * self.channels;
        let backlog = self.ring.slots();
        if backlog >= need * 4 {
            let drop = backlog - need * 2;
            if let Ok(c) = self.ring.read_chunk(drop - drop % self.channels) {
                c.commit_all();
            }
        }
        let Ok(chunk) = self.ring.read_chunk(need) else {
            out.fill(0.0);
            return Ok(false);
        };
        let (a, b) = chunk.as_slices();
        let ch = self.channels;
        for (i, m) in self.mono.iter_mut().enumerate() {
            let mut sum = 0.0;
            for c in 0..ch {
                let k = i * ch + c;
                sum += if k < a.len() { a[k] } else { b[k - a.len()] };
            }
            *m = sum / ch as f32;
        }
        chunk.commit_all();
        self.resampler.process(&self.mono, out)?;
        Ok(true)
    }
}

/// A cpal input stream copying into `tx` (where the ALSA reader is not used).
#[cfg(not(target_os = "linux"))]
fn cpal_input(
    device: &cpal::Device,
    rate: u32,
    channels: usize,
    mut tx: rtrb::Producer<f32>,
    failed: Arc<AtomicBool>,
) -> Result<cpal::Stream, MediaError> {
    let config = cpal::StreamConfig {
        channels: channels as u16,
        sample_rate: rate,
        buffer_size: cpal::BufferSize::Default,
    };
    let stream = device
        .build_input_stream::<f32, _, _>(
            config,
            move |data: &[f32], _| {
                // Real-time callback: copy what fits, drop the rest, never block or allocate.
                let n = data.len().min(tx.slots());
                if let Ok(mut chunk) = tx.write_chunk(n) {
                    let (a, b) = chunk.as_mut_slices();
                    a.copy_from_slice(&data[..a.len()]);
                    b.copy_from_slice(&data[a.len()..n]);
                    chunk.commit_all();
                }
            },
            move |_| failed.store(true, Ordering::Relaxed),
            None,
        )
        .map_err(dev_err)?;
    stream.play().map_err(dev_err)?;
    Ok(stream)
}

/// An open speaker (or ringing device).
pub struct Playback {
    _stream: cpal::Stream,
    ring: rtrb::Producer<f32>,
    channels: usize,
    resampler: Resampler,
    resampled: Vec<f32>,
    failed: Arc<AtomicBool>,
    pub id: String,
}

impl Playback {
    pub fn open(id: Option<&str>) -> Result<Self, MediaError> {
        let device = find(DeviceKind::Output, id)?;
        let cfg = device.default_output_config().map_err(dev_err)?;
        let (rate, channels) = (cfg.sample_rate(), cfg.channels() as usize);
        let config = cpal::StreamConfig {
            channels: cfg.channels(),
            sample_rate: rate,
            buffer_size: cpal::BufferSize::Default,
        };
        let (mut ring, mut rx) = rtrb::RingBuffer::<f32>::new(rate as usize * channels / 5);
        // Start with 40 ms of silence queued so the first ticks' timing jitter does not underrun.
        let prefill = rate as usize * channels / 25;
        if let Ok(c) = ring.write_chunk_uninit(prefill) {
            c.fill_from_iter(std::iter::repeat(0.0));
        }
        let failed = Arc::new(AtomicBool::new(false));
        let f = failed.clone();
        let stream = device
            .build_output_stream::<f32, _, _>(
                config,
                move |data: &mut [f32], _| {
                    let n = data.len().min(rx.slots());
                    if let Ok(chunk) = rx.read_chunk(n) {
                        let (a, b) = chunk.as_slices();
                        data[..a.len()].copy_from_slice(a);
                        data[a.len()..n].copy_from_slice(b);
                        chunk.commit_all();
                    }
                    data[n..].fill(0.0);
                },
                move |_| f.store(true, Ordering::Relaxed),
                None,
            )
            .map_err(dev_err)?;
        stream.play().map_err(dev_err)?;
        let resampler = Resampler::new(48_000, rate, 20)?;
        let resampled = vec![0.0; resampler.output_len()];
        Ok(Playback {
            _stream: stream,
            ring,
            channels,
            resampler,
            resampled,
            failed,
            id: device_id(&device),
        })
    }

    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Queues one 20 ms frame at 48 kHz mono, copied to every channel. If the device has not
    /// taken the previous frames (its clock is slower than ours) the frame is dropped.
    pub fn write_frame(&mut self, frame: &[f32]) -> Result<(), MediaError> {
        self.resampler.process(frame, &mut self.resampled)?;
        let need = self.resampled.len() * self.channels;
        let Ok(chunk) = self.ring.write_chunk_uninit(need) else {
            return Ok(());
        };
        let ch = self.channels;
        let src = &self.resampled;
        chunk.fill_from_iter((0..need).map(|k| src[k / ch]));
        Ok(())
    }
}
