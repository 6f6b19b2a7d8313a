//! Transcription of a 30-second spoken voicemail: real-time factor (time to transcribe over
//! the audio's length) and word error rate, at 16 kHz (a wideband call) and through the phone
//! band (8 kHz, as Asterisk records most voicemail), for the project's model (Whisper base)
//! and, when its file is there, Whisper tiny.en (`.cache/models/ggml-tiny.en.bin`).
//!
//! The voice is espeak-ng's: synthetic speech, harder in the phone band than most people.
//! Prints `row: NAME = VALUE` lines for `cargo xtask bench`; asserts nothing.

use std::time::Instant;

use transcribe::{Transcriber, score};

const VOICEMAIL: &str = "Hi, this is Grace Hopper from accounting. I am calling about the \
    quarterly budget review that we moved to Friday afternoon. Could you send me the updated \
    numbers for the support team before the meeting, and let me know whether the new hires \
    are included? If it is easier to talk it through, call me back on my mobile any time \
    after three. Otherwise I will see you on Friday. Thanks, and have a good day.";

fn main() {
    let model_dir = harness::paths::cache_dir().join("models");
    let models = [
        (
            "Whisper base",
            harness::paths::ensure_speech_model().unwrap(),
        ),
        ("Whisper tiny.en", model_dir.join("ggml-tiny.en.bin")),
    ];
    let wideband = speech(16_000);
    let phone = speech(8_000);
    let secs = wideband.len() as f64 / 16_000.0;
    println!("row: transcription audio = {secs:.1} s of espeak-ng speech");
    for (name, path) in models {
        if !path.is_file() {
            println!("row: {name} = not measured (no {})", path.display());
            continue;
        }
        let started = Instant::now();
        let t = Transcriber::load(&path).unwrap();
        println!(
            "row: {name} load = {:.2} s",
            started.elapsed().as_secs_f64()
        );
        for (band, audio) in [("16 kHz", &wideband), ("8 kHz", &phone)] {
            let started = Instant::now();
            let heard = t.transcribe(audio).unwrap();
            let rtf = started.elapsed().as_secs_f64() / secs;
            let wer = score::word_errors(VOICEMAIL, &heard).rate();
            println!(
                "row: {name} {band} = real-time factor {rtf:.2}, word error rate {:.0} %",
                wer * 100.0
            );
            eprintln!("{name} {band}: {heard}");
        }
    }
    println!("row: transcription peak memory = {} MiB", peak_rss_mib());
}

/// The voicemail spoken, through a `rate` Hz channel, as 16 kHz samples.
fn speech(rate: u32) -> Vec<f32> {
    let wav = harness::audio::spoken_wav(VOICEMAIL, &[rate, transcribe::SAMPLE_RATE]).unwrap();
    harness::audio::wav_samples(&wav).unwrap()
}

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib / 1024)
}
