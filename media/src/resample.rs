//! Sample-rate conversion in fixed 20 ms frames with rubato. Buffers are allocated once, when
//! the converter is made; equal rates pass through untouched.

use rubato::{FftFixedInOut, Resampler as _};

pub struct Resampler {
    inner: Option<FftFixedInOut<f32>>,
    input: Vec<Vec<f32>>,
    output: Vec<Vec<f32>>,
    pub frames_in: usize,
    pub frames_out: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot convert {from} Hz to {to} Hz in 20 ms frames: {reason}")]
pub struct ResampleError {
    pub from: u32,
    pub to: u32,
    pub reason: String,
}

impl Resampler {
    /// Converts 20 ms frames from `from` Hz to `to` Hz, mono.
    pub fn new(from: u32, to: u32) -> Result<Self, ResampleError> {
        let frames_in = (from / 50) as usize;
        let frames_out = (to / 50) as usize;
        if from == to {
            return Ok(Self {
                inner: None,
                input: Vec::new(),
                output: Vec::new(),
                frames_in,
                frames_out,
            });
        }
        let inner =
            FftFixedInOut::<f32>::new(from as usize, to as usize, frames_in, 1).map_err(|e| {
                ResampleError {
                    from,
                    to,
                    reason: e.to_string(),
                }
            })?;
        if inner.input_frames_next() != frames_in || inner.output_frames_next() != frames_out {
            return Err(ResampleError {
                from,
                to,
                reason: format!(
                    "rubato chose {} in / {} out",
                    inner.input_frames_next(),
                    inner.output_frames_next()
                ),
            });
        }
        Ok(Self {
            input: vec![vec![0.0; frames_in]],
            output: vec![vec![0.0; inner.output_frames_max()]],
            inner: Some(inner),
            frames_in,
            frames_out,
        })
    }

    /// Converts one frame: `input` has `frames_in` samples, `output` gets `frames_out`.
    pub fn process(&mut self, input: &[i16], output: &mut [i16]) {
        let Some(inner) = self.inner.as_mut() else {
            let n = input.len().min(output.len());
            output[..n].copy_from_slice(&input[..n]);
            return;
        };
        for (d, s) in self.input[0].iter_mut().zip(input) {
            *d = *s as f32 / 32768.0;
        }
        match inner.process_into_buffer(&self.input, &mut self.output, None) {
            Ok((_, written)) => {
                for (d, s) in output.iter_mut().zip(&self.output[0][..written]) {
                    *d = (s * 32768.0).clamp(-32768.0, 32767.0) as i16;
                }
            }
            Err(_) => output.fill(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{Sine, goertzel_level};

    fn through(from: u32, to: u32, freq: f32) -> (f32, f32) {
        let mut r = Resampler::new(from, to).unwrap();
        let mut sine = Sine::new(freq, from, 16384.0);
        let mut inp = vec![0i16; r.frames_in];
        let mut out = vec![0i16; r.frames_out];
        let mut all = Vec::new();
        for _ in 0..20 {
            sine.fill(&mut inp);
            r.process(&inp, &mut out);
            all.extend_from_slice(&out);
        }
        let tail = &all[all.len() / 2..];
        (goertzel_level(tail, freq, to), 0.5)
    }

    #[test]
    fn keeps_the_gain_of_tones_inside_the_band() {
        for (from, to) in [
            (48000, 8000),
            (8000, 48000),
            (48000, 16000),
            (44100, 48000),
            (48000, 44100),
        ] {
            let (level, expected) = through(from, to, 1000.0);
            assert!((level - expected).abs() < 0.05, "{from}->{to}: {level}");
        }
    }

    #[test]
    fn removes_tones_above_the_new_nyquist() {
        // 6 kHz cannot exist at 8 kHz: it must be filtered out, not folded to 2 kHz.
        let mut r = Resampler::new(48000, 8000).unwrap();
        let mut sine = Sine::new(6000.0, 48000, 16384.0);
        let mut inp = vec![0i16; 960];
        let mut out = vec![0i16; 160];
        let mut all = Vec::new();
        for _ in 0..20 {
            sine.fill(&mut inp);
            r.process(&inp, &mut out);
            all.extend_from_slice(&out);
        }
        assert!(goertzel_level(&all[800..], 2000.0, 8000) < 0.01);
    }

    #[test]
    fn equal_rates_pass_through() {
        let mut r = Resampler::new(48000, 48000).unwrap();
        let inp: Vec<i16> = (0..960).map(|i| i as i16).collect();
        let mut out = vec![0; 960];
        r.process(&inp, &mut out);
        assert_eq!(inp, out);
    }
}
