//! Test material made on the spot: a speech-like sound file for the microphone, and a company
//! directory of made-up people seeded into a profile through the storage crate.

use std::path::Path;
use std::time::Duration;

use storage::{Contact, ContactSource, Store};

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

const FIRST: [&str; 20] = [
    "Ada", "Alan", "Barbara", "Claude", "Dennis", "Donald", "Edsger", "Frances", "Grace", "Hedy",
    "John", "Ken", "Leslie", "Margaret", "Niklaus", "Radia", "Shafi", "Sophie", "Tim", "Yukihiro",
];
const LAST: [&str; 25] = [
    "Allen",
    "Backus",
    "Cerf",
    "Dijkstra",
    "Engelbart",
    "Floyd",
    "Goldwasser",
    "Hamilton",
    "Hoare",
    "Iverson",
    "Kahn",
    "Knuth",
    "Lamport",
    "Liskov",
    "McCarthy",
    "Naur",
    "Perlman",
    "Ritchie",
    "Shannon",
    "Thompson",
    "Turing",
    "Wilson",
    "Wirth",
    "Wozniak",
    "Zuse",
];

/// Writes `count` directory contacts into the profile the app opens for `user@server` under
/// `data_dir`, as a directory sync would.
pub fn seed_contacts(
    data_dir: &Path,
    user: &str,
    server: &str,
    count: usize,
) -> anyhow::Result<()> {
    let dir = storage::paths::profile_dir_in(data_dir, user, server);
    let mut store = Store::open(&dir)?;
    let contacts: Vec<Contact> = (0..count)
        .map(|i| {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i / FIRST.len()) % LAST.len()];
            let ext = 30_000 + i;
            Contact {
                id: 0,
                name: format!("{first} {last} {}", i / (FIRST.len() * LAST.len()) + 1),
                extension: Some(ext.to_string()),
                numbers: vec![format!("+1555{:07}", i)],
                email: Some(format!("{}.{}{i}@example.com", first, last).to_lowercase()),
                avatar: None,
                source: ContactSource::Directory,
                favourite: i % 97 == 0,
            }
        })
        .collect();
    store.replace_contacts(ContactSource::Directory, &contacts)?;
    anyhow::ensure!(
        store.contacts()?.len() == count,
        "the seeded profile does not hold {count} contacts"
    );
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

    #[test]
    fn seeds_a_profile_the_app_would_open() {
        let dir = tempfile::tempdir().unwrap();
        seed_contacts(dir.path(), "2001", "127.0.0.1:25060", 600).unwrap();
        let store = Store::open(&dir.path().join("profiles/2001@127.0.0.1_25060")).unwrap();
        let all = store.contacts().unwrap();
        assert_eq!(all.len(), 600);
        let mut names: Vec<_> = all.iter().map(|c| &c.name).collect();
        names.dedup();
        assert_eq!(names.len(), 600, "every name is different");
    }
}
