//! Test material made on the spot: a speech-like sound file for the microphone, and a company
//! directory of made-up people seeded into a profile by storage's `seed_directory` example.

use std::path::Path;
use std::time::Duration;

/// A few harmonics of a gliding voice pitch with a syllable-rate envelope and short pauses,
/// 48 kHz mono 16-bit WAV: closer to speech than a steady sine for a codec.
pub fn write_speechlike_wav(path: &Path, length: Duration) -> anyhow::Result<()> {
    let rate = 48_000u32;
    let n = (length.as_secs_f64() * rate as f64) as usize;
    let mut data = Vec::with_capacity(n * 2);
    let mut phase = 0.0f64;
    for i in 0..n {
        let t = i as f64 / rate as f64;
        let pitch = 140.0 + 40.0 * (2.0 * std::f64::consts::PI * 0.7 * t).sin();
        phase += 2.0 * std::f64::consts::PI * pitch / rate as f64;
        let syllable = (0.5 + 0.5 * (2.0 * std::f64::consts::PI * 4.0 * t).sin()).powi(2);
        // A pause of 0.6 s in every 3 s, as between sentences.
        let talking = if t % 3.0 < 2.4 { 1.0 } else { 0.0 };
        let voice: f64 = (1..=8)
            .map(|h| (phase * h as f64).sin() / h as f64)
            .sum::<f64>();
        let s = 0.25 * talking * syllable * voice;
        data.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
    }
    let mut wav = Vec::with_capacity(44 + data.len());
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
    wav.extend_from_slice(&data);
    std::fs::write(path, wav)?;
    Ok(())
}

/// Writes `count` directory contacts into the profile the app opens for `user@server` under
/// `data_dir`, through storage's `seed_directory` example (built in release beside the app).
pub fn seed_contacts(
    root: &Path,
    data_dir: &Path,
    user: &str,
    server: &str,
    count: usize,
) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = std::process::Command::new(cargo)
        .current_dir(root)
        .args(["run", "--quiet", "--release", "-p", "storage", "--example"])
        .arg("seed_directory")
        .arg("--")
        .arg(data_dir)
        .args([user, server, &count.to_string()])
        .status()?
        .success();
    anyhow::ensure!(ok, "seeding {count} contacts failed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wav_has_the_promised_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wav");
        write_speechlike_wav(&path, Duration::from_millis(500)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 44 + 48_000);
    }
}
