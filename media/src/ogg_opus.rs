//! Ogg Opus files (RFC 7845): written for voicemail and call recordings, read for those and for
//! the ringtones and hold music in `assets/`. Mono, 48 kHz, 20 ms packets.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use ogg::{PacketReader, PacketWriteEndInfo, PacketWriter};

#[derive(Debug, thiserror::Error)]
pub enum OggOpusError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} is not an Ogg Opus file")]
    NotOpus(String),
    #[error("{path} is damaged: {reason}")]
    Damaged { path: String, reason: String },
    #[error("Opus: {0}")]
    Opus(#[from] opus::Error),
}

const SERIAL: u32 = 0x5357_4244; // "SWBD"
const PRE_SKIP: u16 = 312;

/// Writes 20 ms frames of 48 kHz mono audio to an Ogg Opus file.
pub struct Writer {
    packets: PacketWriter<'static, BufWriter<File>>,
    encoder: opus::Encoder,
    granule: u64,
    buf: Vec<u8>,
    path: String,
}

impl Writer {
    pub fn create(path: &Path) -> Result<Self, OggOpusError> {
        let p = path.display().to_string();
        let file = File::create(path).map_err(|e| OggOpusError::Io {
            path: p.clone(),
            source: e,
        })?;
        let mut packets = PacketWriter::new(BufWriter::new(file));
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(1); // mono
        head.extend_from_slice(&PRE_SKIP.to_le_bytes());
        head.extend_from_slice(&48000u32.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // mapping family
        let io = |e: std::io::Error| OggOpusError::Io {
            path: p.clone(),
            source: e,
        };
        packets
            .write_packet(head, SERIAL, PacketWriteEndInfo::EndPage, 0)
            .map_err(io)?;
        let vendor = b"Switchboard";
        let mut tags = Vec::new();
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes());
        packets
            .write_packet(tags, SERIAL, PacketWriteEndInfo::EndPage, 0)
            .map_err(io)?;
        let mut encoder = opus::Encoder::new(48000, opus::Channels::Mono, opus::Application::Voip)?;
        encoder.set_bitrate(opus::Bitrate::Bits(32_000))?;
        Ok(Self {
            packets,
            encoder,
            granule: PRE_SKIP as u64,
            buf: vec![0; 1500],
            path: p,
        })
    }

    /// Appends one 20 ms frame (960 samples).
    pub fn write_frame(&mut self, pcm: &[i16]) -> Result<(), OggOpusError> {
        let n = self.encoder.encode(pcm, &mut self.buf)?;
        self.granule += pcm.len() as u64;
        self.packets
            .write_packet(
                self.buf[..n].to_vec(),
                SERIAL,
                PacketWriteEndInfo::NormalPacket,
                self.granule,
            )
            .map_err(|e| OggOpusError::Io {
                path: self.path.clone(),
                source: e,
            })
    }

    /// Ends the stream, so that players see the whole length.
    pub fn finish(mut self) -> Result<(), OggOpusError> {
        let n = self.encoder.encode(&[0i16; 960], &mut self.buf)?;
        self.granule += 960;
        self.packets
            .write_packet(
                self.buf[..n].to_vec(),
                SERIAL,
                PacketWriteEndInfo::EndStream,
                self.granule,
            )
            .map_err(|e| OggOpusError::Io {
                path: self.path.clone(),
                source: e,
            })
    }
}

/// Reads a whole Ogg Opus file into 48 kHz mono samples (stereo files are mixed down).
pub fn read(path: &Path) -> Result<Vec<i16>, OggOpusError> {
    let p = path.display().to_string();
    let file = File::open(path).map_err(|e| OggOpusError::Io {
        path: p.clone(),
        source: e,
    })?;
    let mut reader = PacketReader::new(BufReader::new(file));
    let damaged = |reason: String| OggOpusError::Damaged {
        path: p.clone(),
        reason,
    };
    let head = reader
        .read_packet()
        .map_err(|e| damaged(e.to_string()))?
        .ok_or_else(|| OggOpusError::NotOpus(p.clone()))?;
    if head.data.len() < 19 || &head.data[..8] != b"OpusHead" {
        return Err(OggOpusError::NotOpus(p.clone()));
    }
    let channels = head.data[9].clamp(1, 2);
    let pre_skip = u16::from_le_bytes([head.data[10], head.data[11]]) as usize;
    let mut decoder = opus::Decoder::new(
        48000,
        if channels == 2 {
            opus::Channels::Stereo
        } else {
            opus::Channels::Mono
        },
    )?;
    let mut out = Vec::new();
    let mut frame = vec![0i16; 5760 * 2];
    let mut first = true;
    while let Some(packet) = reader.read_packet().map_err(|e| damaged(e.to_string()))? {
        if first {
            first = false;
            if packet.data.starts_with(b"OpusTags") {
                continue;
            }
        }
        let n = decoder
            .decode(&packet.data, &mut frame, false)
            .map_err(|e| damaged(e.to_string()))?;
        if channels == 2 {
            out.extend(
                frame[..n * 2]
                    .chunks(2)
                    .map(|lr| ((lr[0] as i32 + lr[1] as i32) / 2) as i16),
            );
        } else {
            out.extend_from_slice(&frame[..n]);
        }
    }
    Ok(out.split_off(pre_skip.min(out.len())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{Sine, goertzel_level};

    #[test]
    fn a_recording_reads_back_with_its_tone_and_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vm.opus");
        let mut w = Writer::create(&path).unwrap();
        let mut sine = Sine::new(800.0, 48000, 10000.0);
        let mut frame = vec![0i16; 960];
        for _ in 0..100 {
            sine.fill(&mut frame);
            w.write_frame(&frame).unwrap();
        }
        w.finish().unwrap();
        let pcm = read(&path).unwrap();
        assert!(
            (pcm.len() as i64 - 101 * 960).abs() <= 960,
            "{} samples",
            pcm.len()
        );
        assert!(goertzel_level(&pcm[24000..72000], 800.0, 48000) > 0.2);
    }

    #[test]
    fn reads_the_bundled_ringtones() {
        let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
        let classic = read(&assets.join("ringtones/classic.opus")).unwrap();
        // Three seconds: 2 s of 440+480 Hz, then silence.
        assert!(
            (classic.len() as i64 - 144_000).abs() < 4800,
            "{}",
            classic.len()
        );
        assert!(goertzel_level(&classic[0..48000], 440.0, 48000) > 0.05);
        let hold = read(&assets.join("sounds/hold-music.opus")).unwrap();
        assert!(hold.len() > 48000 * 10);
    }

    #[test]
    fn refuses_files_that_are_not_ogg_opus() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.opus");
        std::fs::write(&path, b"hello").unwrap();
        assert!(read(&path).is_err());
        assert!(matches!(
            read(&dir.path().join("missing.opus")),
            Err(OggOpusError::Io { .. })
        ));
    }
}
