//! The recording attached to a voicemail, as samples: Asterisk writes 8 kHz 16-bit mono WAV
//! (`format = wav`); other sample sizes and rates are read too, and several channels are
//! mixed down.

use crate::MailboxError;

/// Mono samples, -1..1, at `rate` Hz.
#[derive(Clone, Debug, PartialEq)]
pub struct Pcm {
    pub rate: u32,
    pub samples: Vec<f32>,
}

impl Pcm {
    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / self.rate.max(1) as u64
    }
}

pub fn decode(bytes: &[u8]) -> Result<Pcm, MailboxError> {
    let bad = |e: hound::Error| MailboxError::BadAudio(e.to_string());
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes)).map_err(bad)?;
    let spec = reader.spec();
    let channels = spec.channels.max(1) as usize;
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .into_samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(bad)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(bad)?
        }
    };
    let samples = interleaved
        .chunks(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    Ok(Pcm {
        rate: spec.sample_rate,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(rate: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
        for s in samples {
            w.write_sample(*s).unwrap();
        }
        w.finalize().unwrap();
        out.into_inner()
    }

    #[test]
    fn telephone_wav_reads_as_samples_with_its_rate_and_length() {
        let pcm = decode(&wav(8000, 1, &[0, 16384, -32768, 32767].repeat(2000))).unwrap();
        assert_eq!(pcm.rate, 8000);
        assert_eq!(pcm.duration_ms(), 1000);
        assert_eq!(&pcm.samples[..3], &[0.0, 0.5, -1.0]);
    }

    #[test]
    fn stereo_is_mixed_down() {
        let pcm = decode(&wav(16000, 2, &[16384, 0, -16384, -16384])).unwrap();
        assert_eq!(pcm.samples, vec![0.25, -0.5]);
    }

    #[test]
    fn damaged_audio_is_said_in_words() {
        let err = decode(b"RIFF\x10\x00\x00\x00WAVEjunk").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("The voicemail's recording cannot be read")
        );
    }
}
