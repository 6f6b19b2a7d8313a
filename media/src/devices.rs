//! Sound devices through cpal. The device callbacks only copy interleaved samples into or out
//! of lock-free ring buffers (rtrb); channel mixing and resampling to the engine's 48 kHz mono
//! happen on the media thread. A device that fails (unplugged) is reported through
//! [`DeviceIo::failure`], and the engine falls back to the default device.

use std::sync::{Arc, Mutex};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use rtrb::{Consumer, Producer, RingBuffer};

use crate::resample::Resampler;
use crate::stream::FRAME;

/// Which devices to open. Names come from [`list`]; `None` is the system default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceChoice {
    /// No sound devices: the engine still keeps time, for bots and tests.
    Headless,
    System {
        input: Option<String>,
        output: Option<String>,
    },
}

impl DeviceChoice {
    pub fn default_devices() -> Self {
        DeviceChoice::System {
            input: None,
            output: None,
        }
    }
}

/// A device as the settings screen lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Stable across runs: the direction and the name the system gives it.
    pub id: String,
    pub name: String,
    pub is_input: bool,
    pub is_default: bool,
}

/// Every input and output device, defaults marked. Call again to see hot-plugged devices.
pub fn list() -> Vec<DeviceInfo> {
    let host = cpal::default_host();
    let default_in = host.default_input_device().and_then(|d| d.name().ok());
    let default_out = host.default_output_device().and_then(|d| d.name().ok());
    let mut out = Vec::new();
    if let Ok(devs) = host.input_devices() {
        for d in devs {
            if let Ok(name) = d.name() {
                out.push(DeviceInfo {
                    id: format!("in:{name}"),
                    is_default: Some(&name) == default_in.as_ref(),
                    name,
                    is_input: true,
                });
            }
        }
    }
    if let Ok(devs) = host.output_devices() {
        for d in devs {
            if let Ok(name) = d.name() {
                out.push(DeviceInfo {
                    id: format!("out:{name}"),
                    is_default: Some(&name) == default_out.as_ref(),
                    name,
                    is_input: false,
                });
            }
        }
    }
    out
}

struct Input {
    _stream: cpal::Stream,
    ring: Consumer<f32>,
    channels: usize,
    frame: Vec<i16>,
    resampler: Resampler,
}

struct Output {
    _stream: cpal::Stream,
    ring: Producer<f32>,
    channels: usize,
    frame: Vec<i16>,
    resampler: Resampler,
}

/// The open devices, owned by the media thread.
pub struct DeviceIo {
    input: Option<Input>,
    output: Option<Output>,
    failure: Arc<Mutex<Option<String>>>,
}

impl DeviceIo {
    pub fn headless() -> Self {
        Self {
            input: None,
            output: None,
            failure: Arc::new(Mutex::new(None)),
        }
    }

    pub fn open(choice: &DeviceChoice) -> Result<Self, String> {
        let DeviceChoice::System { input, output } = choice else {
            return Ok(Self::headless());
        };
        let host = cpal::default_host();
        let failure = Arc::new(Mutex::new(None));
        let out_dev = find(&host, output.as_deref(), false)?;
        let in_dev = find(&host, input.as_deref(), true)?;
        Ok(Self {
            output: Some(open_output(&out_dev, failure.clone())?),
            input: Some(open_input(&in_dev, failure.clone())?),
            failure,
        })
    }

    /// Why a device stopped, once.
    pub fn failure(&mut self) -> Option<String> {
        self.failure.lock().ok()?.take()
    }

    /// Fills one 20 ms frame at 48 kHz mono from the microphone (silence if none or short).
    pub fn read_mic(&mut self, out: &mut [i16]) {
        let Some(inp) = self.input.as_mut() else {
            out.fill(0);
            return;
        };
        let needed = inp.frame.len() * inp.channels;
        if inp.ring.slots() < needed {
            out.fill(0);
            return;
        }
        // Keep latency bounded: if the device got ahead, skip the oldest audio.
        while inp.ring.slots() >= needed * 4 {
            if let Ok(chunk) = inp.ring.read_chunk(needed) {
                chunk.commit_all();
            }
        }
        if let Ok(chunk) = inp.ring.read_chunk(needed) {
            let (a, b) = chunk.as_slices();
            for (i, s) in inp.frame.iter_mut().enumerate() {
                let mut acc = 0.0;
                for c in 0..inp.channels {
                    let k = i * inp.channels + c;
                    acc += if k < a.len() { a[k] } else { b[k - a.len()] };
                }
                *s = (acc / inp.channels as f32 * 32767.0).clamp(-32768.0, 32767.0) as i16;
            }
            chunk.commit_all();
        }
        inp.resampler.process(&inp.frame, out);
    }

    /// Queues one 20 ms frame at 48 kHz mono for the speaker.
    pub fn write_speaker(&mut self, frame: &[i16]) {
        let Some(o) = self.output.as_mut() else {
            return;
        };
        o.resampler.process(frame, &mut o.frame);
        let needed = o.frame.len() * o.channels;
        if o.ring.slots() < needed {
            return; // the device is not draining: drop rather than grow latency
        }
        if let Ok(mut chunk) = o.ring.write_chunk(needed) {
            let (a, b) = chunk.as_mut_slices();
            for (k, slot) in a.iter_mut().chain(b.iter_mut()).enumerate() {
                *slot = o.frame[k / o.channels] as f32 / 32768.0;
            }
            chunk.commit_all();
        }
    }
}

fn find(host: &cpal::Host, name: Option<&str>, input: bool) -> Result<cpal::Device, String> {
    if let Some(name) = name {
        let devices = if input {
            host.input_devices()
        } else {
            host.output_devices()
        };
        if let Ok(mut devs) = devices
            && let Some(d) = devs.find(|d| d.name().ok().as_deref() == Some(name))
        {
            return Ok(d);
        }
        return Err(format!("the audio device “{name}” is not connected"));
    }
    let d = if input {
        host.default_input_device()
    } else {
        host.default_output_device()
    };
    d.ok_or_else(|| {
        format!(
            "no {} device is available",
            if input { "microphone" } else { "speaker" }
        )
    })
}

fn error_callback(
    failure: Arc<Mutex<Option<String>>>,
) -> impl FnMut(cpal::StreamError) + Send + 'static {
    move |e| {
        if let Ok(mut f) = failure.lock() {
            *f = Some(e.to_string());
        }
    }
}

fn open_input(dev: &cpal::Device, failure: Arc<Mutex<Option<String>>>) -> Result<Input, String> {
    let config = dev.default_input_config().map_err(|e| e.to_string())?;
    let rate = config.sample_rate().0;
    let channels = config.channels() as usize;
    let (mut producer, consumer) = RingBuffer::<f32>::new((rate as usize / 5) * channels);
    let stream_config: cpal::StreamConfig = config.clone().into();
    let err = error_callback(failure);
    let stream = match config.sample_format() {
        cpal::SampleFormat::F32 => dev.build_input_stream(
            &stream_config,
            move |data: &[f32], _: &_| {
                for s in data {
                    let _ = producer.push(*s);
                }
            },
            err,
            None,
        ),
        cpal::SampleFormat::I16 => dev.build_input_stream(
            &stream_config,
            move |data: &[i16], _: &_| {
                for s in data {
                    let _ = producer.push(*s as f32 / 32768.0);
                }
            },
            err,
            None,
        ),
        other => return Err(format!("unsupported microphone sample format {other:?}")),
    }
    .map_err(|e| e.to_string())?;
    stream.play().map_err(|e| e.to_string())?;
    Ok(Input {
        _stream: stream,
        ring: consumer,
        channels,
        frame: vec![0; (rate / 50) as usize],
        resampler: Resampler::new(rate, 48000).map_err(|e| e.to_string())?,
    })
}

fn open_output(dev: &cpal::Device, failure: Arc<Mutex<Option<String>>>) -> Result<Output, String> {
    let config = dev.default_output_config().map_err(|e| e.to_string())?;
    let rate = config.sample_rate().0;
    let channels = config.channels() as usize;
    let (producer, mut consumer) = RingBuffer::<f32>::new((rate as usize / 5) * channels);
    let stream_config: cpal::StreamConfig = config.clone().into();
    let err = error_callback(failure);
    let stream = match config.sample_format() {
        cpal::SampleFormat::F32 => dev.build_output_stream(
            &stream_config,
            move |data: &mut [f32], _: &_| {
                for s in data.iter_mut() {
                    *s = consumer.pop().unwrap_or(0.0);
                }
            },
            err,
            None,
        ),
        cpal::SampleFormat::I16 => dev.build_output_stream(
            &stream_config,
            move |data: &mut [i16], _: &_| {
                for s in data.iter_mut() {
                    *s = (consumer.pop().unwrap_or(0.0) * 32767.0) as i16;
                }
            },
            err,
            None,
        ),
        other => return Err(format!("unsupported speaker sample format {other:?}")),
    }
    .map_err(|e| e.to_string())?;
    stream.play().map_err(|e| e.to_string())?;
    let _ = FRAME;
    Ok(Output {
        _stream: stream,
        ring: producer,
        channels,
        frame: vec![0; (rate / 50) as usize],
        resampler: Resampler::new(48000, rate).map_err(|e| e.to_string())?,
    })
}
