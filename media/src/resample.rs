//! Fixed-frame sample-rate conversion between a device rate (44.1 or 48 kHz) and the engine's
//! 48 kHz or a codec's rate, built on rubato's synchronous FFT resampler. One call converts one
//! 10 or 20 ms frame; all buffers are allocated in `new`, so `process` never allocates.
//! The FFT resampler delays by half its chunk, so it always runs on 10 ms chunks (5 ms delay)
//! and a 20 ms frame is two calls.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler as _};

use crate::MediaError;

/// Converts mono frames of `in_len` samples at one rate into frames of `out_len` at another.
pub struct Resampler {
    /// `None` when both rates are equal: a plain copy, no filter delay.
    inner: Option<Fft<f32>>,
    in_len: usize,
    out_len: usize,
    /// 10 ms chunks per frame.
    chunks: usize,
}

/// The chunk the FFT runs on; see the module docs.
const CHUNK_MS: u32 = 10;

impl Resampler {
    /// A resampler for frames of `frame_ms` milliseconds from `from_rate` to `to_rate`.
    pub fn new(from_rate: u32, to_rate: u32, frame_ms: u32) -> Result<Self, MediaError> {
        let in_len = (from_rate * frame_ms / 1000) as usize;
        let out_len = (to_rate * frame_ms / 1000) as usize;
        if from_rate == to_rate {
            return Ok(Resampler {
                inner: None,
                in_len,
                out_len,
                chunks: 1,
            });
        }
        if !frame_ms.is_multiple_of(CHUNK_MS) {
            return Err(MediaError::Resampler(format!(
                "{frame_ms} ms is not a multiple of 10 ms"
            )));
        }
        let chunks = (frame_ms / CHUNK_MS) as usize;
        let fft = Fft::<f32>::new(
            from_rate as usize,
            to_rate as usize,
            in_len / chunks,
            1,
            FixedSync::Both,
        )
        .map_err(|e| MediaError::Resampler(e.to_string()))?;
        if fft.input_frames_next() * chunks != in_len
            || fft.output_frames_next() * chunks != out_len
        {
            return Err(MediaError::Resampler(format!(
                "{from_rate}->{to_rate} Hz cannot run in {frame_ms} ms frames"
            )));
        }
        Ok(Resampler {
            inner: Some(fft),
            in_len,
            out_len,
            chunks,
        })
    }

    pub fn input_len(&self) -> usize {
        self.in_len
    }
    pub fn output_len(&self) -> usize {
        self.out_len
    }
    /// Samples of delay the filter adds, at the output rate.
    pub fn delay(&self) -> usize {
        self.inner.as_ref().map_or(0, |r| r.output_delay())
    }

    /// Converts exactly one frame. `input.len()` must be `input_len()` and `output.len()`
    /// must be `output_len()`.
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) -> Result<(), MediaError> {
        let Some(fft) = self.inner.as_mut() else {
            output.copy_from_slice(input);
            return Ok(());
        };
        let err = |e: String| MediaError::Resampler(e);
        let (ci, co) = (self.in_len / self.chunks, self.out_len / self.chunks);
        for (i, o) in input.chunks_exact(ci).zip(output.chunks_exact_mut(co)) {
            let inp = InterleavedSlice::new(i, 1, ci).map_err(|e| err(e.to_string()))?;
            let mut out = InterleavedSlice::new_mut(o, 1, co).map_err(|e| err(e.to_string()))?;
            fft.process_into_buffer(&inp, &mut out, None)
                .map_err(|e| err(e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::goertzel_power;

    /// Resamples 1 s of a sine and returns the output's RMS after the filter has settled.
    fn rms_after(from: u32, to: u32, freq: f32) -> f32 {
        let mut r = Resampler::new(from, to, 20).unwrap();
        let mut out_all = Vec::new();
        let mut out = vec![0.0; r.output_len()];
        let n = r.input_len();
        for f in 0..50 {
            let input: Vec<f32> = (0..n)
                .map(|i| {
                    (2.0 * std::f32::consts::PI * freq * (f * n + i) as f32 / from as f32).sin()
                        * 0.5
                })
                .collect();
            r.process(&input, &mut out).unwrap();
            out_all.extend_from_slice(&out);
        }
        let tail = &out_all[out_all.len() / 2..];
        (tail.iter().map(|s| s * s).sum::<f32>() / tail.len() as f32).sqrt()
    }

    #[test]
    fn passband_gain_is_unity_for_every_device_rate() {
        let expected = 0.5 / 2f32.sqrt();
        for (from, to) in [
            (44_100, 48_000),
            (48_000, 44_100),
            (48_000, 16_000),
            (48_000, 8000),
            (8000, 48_000),
            (44_100, 8000),
        ] {
            let rms = rms_after(from, to, 1000.0);
            assert!(
                (rms / expected - 1.0).abs() < 0.02,
                "{from}->{to}: rms {rms}"
            );
        }
    }

    #[test]
    fn frequencies_above_the_new_nyquist_are_removed() {
        // 6 kHz cannot exist at 8 kHz; it must be filtered out, not aliased to 2 kHz.
        let rms = rms_after(48_000, 8000, 6000.0);
        assert!(rms < 0.01, "6 kHz leaked through as rms {rms}");
        // 3 kHz, inside the new band, passes.
        let rms = rms_after(48_000, 8000, 3000.0);
        assert!(rms > 0.3, "3 kHz attenuated to {rms}");
    }

    #[test]
    fn the_filter_delay_is_5_ms() {
        for (from, to) in [(44_100, 48_000), (48_000, 8000), (16_000, 48_000)] {
            let r = Resampler::new(from, to, 20).unwrap();
            assert_eq!(r.delay(), (to / 200) as usize, "{from}->{to}");
        }
    }

    #[test]
    fn tone_keeps_its_frequency() {
        let mut r = Resampler::new(44_100, 48_000, 20).unwrap();
        let mut out = vec![0.0; 960];
        let mut all = Vec::new();
        for f in 0..20 {
            let input: Vec<f32> = (0..882)
                .map(|i| {
                    (2.0 * std::f32::consts::PI * 1000.0 * (f * 882 + i) as f32 / 44_100.0).sin()
                })
                .collect();
            r.process(&input, &mut out).unwrap();
            all.extend_from_slice(&out);
        }
        let tail = &all[9600..];
        assert!(
            goertzel_power(tail, 48_000, 1000.0) > 1000.0 * goertzel_power(tail, 48_000, 1100.0)
        );
    }
}
