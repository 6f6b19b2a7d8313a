//! Ogg Opus files (RFC 7845): a writer that encodes 48 kHz mono frames (for recordings and
//! voicemail) and a reader that decodes any Ogg Opus file to 48 kHz mono (ringtones, music on
//! hold, playback). Granule positions count 48 kHz samples including the pre-skip.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use ogg::{PacketReader, PacketWriteEndInfo, PacketWriter};

use crate::MediaError;

const FRAME: usize = 960; // 20 ms at 48 kHz
const SERIAL: u32 = 0x5357_4244;

fn io_err(path: &Path, e: impl std::fmt::Display) -> MediaError {
    MediaError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Encodes 20 ms mono frames at 48 kHz into an Ogg Opus file.
pub struct OggOpusWriter {
    writer: PacketWriter<'static, BufWriter<File>>,
    encoder: opus::Encoder,
    pre_skip: u64,
    granule: u64,
    pcm: Vec<i16>,
    packet: Vec<u8>,
    path: std::path::PathBuf,
}

impl OggOpusWriter {
    pub fn create(path: &Path, bitrate: u32) -> Result<Self, MediaError> {
        let file = File::create(path).map_err(|e| io_err(path, e))?;
        let mut encoder = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
            .map_err(|e| MediaError::Codec(e.to_string()))?;
        encoder
            .set_bitrate(opus::Bitrate::Bits(bitrate as i32))
            .map_err(|e| MediaError::Codec(e.to_string()))?;
        let pre_skip = encoder
            .get_lookahead()
            .map_err(|e| MediaError::Codec(e.to_string()))? as u64;
        let mut writer = PacketWriter::new(BufWriter::new(file));
        // OpusHead, RFC 7845 section 5.1: version 1, mono, pre-skip, input rate, gain 0, family 0.
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1);
        head.push(1);
        head.extend_from_slice(&(pre_skip as u16).to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes());
        head.push(0);
        writer
            .write_packet(head, SERIAL, PacketWriteEndInfo::EndPage, 0)
            .map_err(|e| io_err(path, e))?;
        // OpusTags, section 5.2: vendor string and no comments.
        let vendor = b"switchboard";
        let mut tags = Vec::new();
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes());
        writer
            .write_packet(tags, SERIAL, PacketWriteEndInfo::EndPage, 0)
            .map_err(|e| io_err(path, e))?;
        Ok(OggOpusWriter {
            writer,
            encoder,
            pre_skip,
            granule: pre_skip,
            pcm: vec![0; FRAME],
            packet: vec![0; 1500],
            path: path.to_path_buf(),
        })
    }

    /// Appends one 20 ms frame (960 samples, -1..1).
    pub fn write_frame(&mut self, frame: &[f32]) -> Result<(), MediaError> {
        for (o, s) in self.pcm.iter_mut().zip(frame) {
            *o = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
        }
        let n = self
            .encoder
            .encode(&self.pcm, &mut self.packet)
            .map_err(|e| MediaError::Codec(e.to_string()))?;
        self.granule += FRAME as u64;
        self.writer
            .write_packet(
                self.packet[..n].to_vec(),
                SERIAL,
                PacketWriteEndInfo::NormalPacket,
                self.granule,
            )
            .map_err(|e| io_err(&self.path, e))
    }

    /// Flushes the encoder's look-ahead and closes the stream, so the last audio is not lost.
    pub fn finish(mut self) -> Result<(), MediaError> {
        let silence = [0.0f32; FRAME];
        let mut left = self.pre_skip as i64;
        loop {
            for (o, s) in self.pcm.iter_mut().zip(silence.iter()) {
                *o = *s as i16;
            }
            let n = self
                .encoder
                .encode(&self.pcm, &mut self.packet)
                .map_err(|e| MediaError::Codec(e.to_string()))?;
            left -= FRAME as i64;
            // The final granule marks where real audio ends (section 4.4): trim the padding.
            let end = left <= 0;
            self.granule += if end {
                (left + FRAME as i64) as u64
            } else {
                FRAME as u64
            };
            let info = if end {
                PacketWriteEndInfo::EndStream
            } else {
                PacketWriteEndInfo::NormalPacket
            };
            self.writer
                .write_packet(self.packet[..n].to_vec(), SERIAL, info, self.granule)
                .map_err(|e| io_err(&self.path, e))?;
            if end {
                break;
            }
        }
        use std::io::Write;
        self.writer
            .inner_mut()
            .flush()
            .map_err(|e| io_err(&self.path, e))
    }
}

/// Writes `samples` (mono, -1..1, at `rate` Hz) to an Ogg Opus file: a voicemail fetched from
/// the PBX as 8 kHz WAV becomes a file the player and the transcriber read like the rest.
/// `rate` must be one the resampler takes in 20 ms frames (8, 16, 24, 32, 44.1 or 48 kHz).
pub fn write_pcm(path: &Path, rate: u32, samples: &[f32], bitrate: u32) -> Result<(), MediaError> {
    let mut resampler = crate::resample::Resampler::new(rate, 48_000, 20)?;
    let mut writer = OggOpusWriter::create(path, bitrate)?;
    let mut input = vec![0.0f32; resampler.input_len()];
    let mut output = vec![0.0f32; resampler.output_len()];
    // The filter's delay comes out first: skip it, and push the tail through with silence.
    let mut skip = resampler.delay();
    let chunks = samples.len().div_ceil(input.len()) + skip.div_ceil(input.len()) + 1;
    let mut pending: Vec<f32> = Vec::with_capacity(FRAME * 2);
    let wanted = samples.len() * 48_000 / rate as usize;
    let mut written = 0;
    for c in 0..chunks {
        input.fill(0.0);
        let from = c * input.len();
        if from < samples.len() {
            let to = (from + input.len()).min(samples.len());
            input[..to - from].copy_from_slice(&samples[from..to]);
        }
        resampler.process(&input, &mut output)?;
        let take = skip.min(output.len());
        skip -= take;
        pending.extend_from_slice(&output[take..]);
        while pending.len() >= FRAME && written < wanted {
            writer.write_frame(&pending[..FRAME])?;
            pending.drain(..FRAME);
            written += FRAME;
        }
    }
    if written < wanted && !pending.is_empty() {
        pending.resize(FRAME, 0.0);
        writer.write_frame(&pending)?;
    }
    writer.finish()
}

/// Decodes an Ogg Opus file frame by frame as 48 kHz mono.
pub struct OggOpusReader {
    reader: PacketReader<BufReader<File>>,
    decoder: opus::Decoder,
    channels: usize,
    to_skip: usize,
    /// Decoded samples not yet handed out, and where the unread part starts.
    pending: Vec<f32>,
    pos: usize,
    scratch: Vec<f32>,
    path: std::path::PathBuf,
}

impl OggOpusReader {
    pub fn open(path: &Path) -> Result<Self, MediaError> {
        let file = File::open(path).map_err(|e| io_err(path, e))?;
        let mut reader = PacketReader::new(BufReader::new(file));
        let head = reader
            .read_packet()
            .map_err(|e| io_err(path, e))?
            .ok_or_else(|| io_err(path, "empty file"))?;
        if head.data.len() < 19 || &head.data[..8] != b"OpusHead" {
            return Err(io_err(path, "not an Ogg Opus file"));
        }
        let channels = (head.data[9] as usize).clamp(1, 2);
        let pre_skip = u16::from_le_bytes([head.data[10], head.data[11]]) as usize;
        let _tags = reader.read_packet().map_err(|e| io_err(path, e))?;
        let ch = if channels == 2 {
            opus::Channels::Stereo
        } else {
            opus::Channels::Mono
        };
        let decoder =
            opus::Decoder::new(48_000, ch).map_err(|e| MediaError::Codec(e.to_string()))?;
        Ok(OggOpusReader {
            reader,
            decoder,
            channels,
            to_skip: pre_skip,
            pending: Vec::with_capacity(5760),
            pos: 0,
            scratch: vec![0.0; 5760 * 2],
            path: path.to_path_buf(),
        })
    }

    /// Fills `out` with the next samples. Returns how many were written; fewer than
    /// `out.len()` means the end of the file.
    pub fn read(&mut self, out: &mut [f32]) -> Result<usize, MediaError> {
        let mut written = 0;
        while written < out.len() {
            if self.pos < self.pending.len() {
                let n = (self.pending.len() - self.pos).min(out.len() - written);
                out[written..written + n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
                self.pos += n;
                written += n;
                continue;
            }
            let Some(packet) = self
                .reader
                .read_packet()
                .map_err(|e| io_err(&self.path, e))?
            else {
                break;
            };
            let n = self
                .decoder
                .decode_float(&packet.data, &mut self.scratch, false)
                .map_err(|e| MediaError::Codec(e.to_string()))?;
            self.pending.clear();
            self.pos = 0;
            for i in 0..n {
                let s = if self.channels == 2 {
                    0.5 * (self.scratch[2 * i] + self.scratch[2 * i + 1])
                } else {
                    self.scratch[i]
                };
                self.pending.push(s);
            }
            let skip = self.to_skip.min(n);
            self.pos = skip;
            self.to_skip -= skip;
        }
        Ok(written)
    }

    /// Skips `samples` samples (decoding them, as Opus needs its history to go on cleanly).
    /// Returns how many were skipped; fewer means the file ended first.
    pub fn skip(&mut self, samples: usize) -> Result<usize, MediaError> {
        let mut buf = [0.0f32; FRAME];
        let mut done = 0;
        while done < samples {
            let want = (samples - done).min(FRAME);
            let n = self.read(&mut buf[..want])?;
            done += n;
            if n < want {
                break;
            }
        }
        Ok(done)
    }

    /// Starts again from the beginning (for looped ringtones and music on hold).
    pub fn rewind(&mut self) -> Result<(), MediaError> {
        *self = OggOpusReader::open(&self.path.clone())?;
        Ok(())
    }

    /// Reads the whole file (for tests and previews).
    pub fn read_all(path: &Path) -> Result<Vec<f32>, MediaError> {
        let mut r = OggOpusReader::open(path)?;
        let mut all = Vec::new();
        let mut buf = [0.0f32; FRAME];
        loop {
            let n = r.read(&mut buf)?;
            all.extend_from_slice(&buf[..n]);
            if n < FRAME {
                return Ok(all);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::goertzel_power;

    #[test]
    fn a_recording_reads_back_with_its_tone_and_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.opus");
        let mut w = OggOpusWriter::create(&path, 32_000).unwrap();
        for f in 0..50 {
            let frame: Vec<f32> = (0..FRAME)
                .map(|i| {
                    0.5 * (2.0 * std::f32::consts::PI * 600.0 * (f * FRAME + i) as f32 / 48_000.0)
                        .sin()
                })
                .collect();
            w.write_frame(&frame).unwrap();
        }
        w.finish().unwrap();
        let all = OggOpusReader::read_all(&path).unwrap();
        // Exactly 1 s back, give or take a frame of encoder padding.
        assert!(
            (all.len() as i64 - 48_000).abs() <= FRAME as i64,
            "{} samples",
            all.len()
        );
        let mid = &all[12_000..36_000];
        assert!(goertzel_power(mid, 48_000, 600.0) > 1000.0 * goertzel_power(mid, 48_000, 900.0));
    }

    #[test]
    fn skipping_lands_where_asked_and_stops_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.opus");
        let mut w = OggOpusWriter::create(&path, 32_000).unwrap();
        for f in 0..50 {
            let frame: Vec<f32> = (0..FRAME)
                .map(|i| (f * FRAME + i) as f32 / 48_000.0)
                .collect();
            w.write_frame(&frame).unwrap();
        }
        w.finish().unwrap();
        let all = OggOpusReader::read_all(&path).unwrap();
        let mut r = OggOpusReader::open(&path).unwrap();
        assert_eq!(r.skip(24_000).unwrap(), 24_000);
        let mut rest = Vec::new();
        let mut buf = [0.0f32; FRAME];
        loop {
            let n = r.read(&mut buf).unwrap();
            rest.extend_from_slice(&buf[..n]);
            if n < FRAME {
                break;
            }
        }
        assert_eq!(rest.len(), all.len() - 24_000);
        assert_eq!(rest[..100], all[24_000..24_100]);
        let mut r = OggOpusReader::open(&path).unwrap();
        assert_eq!(r.skip(10 * 48_000).unwrap(), all.len());
    }

    #[test]
    fn the_shipped_ringtones_decode() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
        for f in [
            "ringtones/classic.opus",
            "ringtones/chime.opus",
            "ringtones/pulse.opus",
            "sounds/hold-music.opus",
        ] {
            let all = OggOpusReader::read_all(&root.join(f)).unwrap();
            assert!(all.len() > 4800, "{f}: {} samples", all.len());
            assert!(all.iter().any(|s| s.abs() > 0.05), "{f} is silent");
        }
    }

    #[test]
    fn a_file_that_is_not_ogg_opus_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.opus");
        std::fs::write(&path, b"hello").unwrap();
        assert!(matches!(
            OggOpusReader::open(&path),
            Err(MediaError::File { .. })
        ));
    }

    #[test]
    fn telephone_pcm_becomes_an_ogg_opus_file_of_the_same_length_and_pitch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vm.ogg");
        let tone: Vec<f32> = (0..16_000)
            .map(|i| (i as f32 / 8000.0 * 440.0 * std::f32::consts::TAU).sin() * 0.5)
            .collect();
        write_pcm(&path, 8000, &tone, 24_000).unwrap();
        let back = OggOpusReader::read_all(&path).unwrap();
        let secs = back.len() as f32 / 48_000.0;
        assert!((secs - 2.0).abs() < 0.03, "{secs} s");
        let mid = &back[24_000..72_000];
        let crossings = mid.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        assert!(
            (435..=445).contains(&crossings),
            "{crossings} rising crossings in 1 s"
        );
    }
}
