//! `cargo xtask assets`: makes the sounds, icon and font under `assets/` again. Ringtones and
//! hold music are synthesised with sox and the voicemail greeting spoken by espeak-ng, all
//! encoded as Ogg Opus with opusenc; the UI font is copied from Debian's fonts-inter; the icon
//! is rendered from its SVG. The outputs are committed, and this file is the record of how
//! they were made.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

const TOOLS: &[&str] = &[
    "sox",
    "opus-tools",
    "espeak-ng",
    "fonts-inter",
    "librsvg2-bin",
];

/// What the app says when it takes a message for the user (client/src/backend/answering.rs).
const GREETING: &str = "Hello. I can't take your call right now. Please leave a message after \
                        the tone, and hang up when you are done.";

pub fn run() -> anyhow::Result<i32> {
    harness::host::ensure_packages(TOOLS)?;
    let root = harness::paths::workspace_root().join("assets");
    let work = tempfile::tempdir()?;
    let w = work.path();

    // Classic: the North American dual tone, 2 s on and 1 s off.
    sox(&[
        "-n",
        "-r",
        "48000",
        "-c",
        "1",
        "-b",
        "16",
        &p(w, "classic.wav"),
        "synth",
        "2",
        "sine",
        "440",
        "sine",
        "mix",
        "480",
        "gain",
        "-8",
        "fade",
        "0.02",
        "2",
        "0.05",
        "pad",
        "0",
        "1",
    ])?;
    // Chime: three plucked notes falling E6, C6, G5, then a pause.
    for (i, (note, len)) in [("E6", "0.6"), ("C6", "0.6"), ("G5", "1.2")]
        .iter()
        .enumerate()
    {
        sox(&[
            "-n",
            "-r",
            "48000",
            "-c",
            "1",
            "-b",
            "16",
            &p(w, &format!("chime{i}.wav")),
            "synth",
            len,
            "pluck",
            note,
            "fade",
            "0",
            len,
            "0.4",
            "gain",
            "-3",
        ])?;
    }
    sox(&[
        &p(w, "chime0.wav"),
        &p(w, "chime1.wav"),
        &p(w, "chime2.wav"),
        &p(w, "chime.wav"),
        "pad",
        "0",
        "1",
    ])?;
    // Pulse: four short 1 kHz beeps, then a pause.
    sox(&[
        "-n",
        "-r",
        "48000",
        "-c",
        "1",
        "-b",
        "16",
        &p(w, "beep.wav"),
        "synth",
        "0.12",
        "sine",
        "1000",
        "gain",
        "-10",
        "fade",
        "0.005",
        "0.12",
        "0.02",
        "pad",
        "0",
        "0.1",
    ])?;
    sox(&[
        &p(w, "beep.wav"),
        &p(w, "beep.wav"),
        &p(w, "beep.wav"),
        &p(w, "beep.wav"),
        &p(w, "pulse.wav"),
        "pad",
        "0",
        "1.5",
    ])?;
    // Hold music: an arpeggiated C - Am - F - G progression in plucked notes, played twice.
    let chords = [
        ["C4", "E4", "G4", "C5"],
        ["A3", "C4", "E4", "A4"],
        ["F3", "A3", "C4", "F4"],
        ["G3", "B3", "D4", "G4"],
    ];
    let mut notes = Vec::new();
    for round in 0..2 {
        for (c, chord) in chords.iter().enumerate() {
            for (n, note) in chord.iter().chain(chord.iter().rev()).enumerate() {
                let f = p(w, &format!("n{round}{c}{n}.wav"));
                sox(&[
                    "-n", "-r", "48000", "-c", "1", "-b", "16", &f, "synth", "0.25", "pluck", note,
                    "fade", "0", "0.25", "0.1", "gain", "-6",
                ])?;
                notes.push(f);
            }
        }
    }
    let mut args: Vec<&str> = notes.iter().map(String::as_str).collect();
    let hold = p(w, "hold.wav");
    args.extend([hold.as_str(), "reverb", "30", "gain", "-n", "-3"]);
    sox(&args)?;

    // The default voicemail greeting, spoken by espeak-ng, then the tone.
    check(
        Command::new("espeak-ng")
            .args(["-v", "en-us", "-s", "150", "-w"])
            .arg(w.join("voice.wav"))
            .arg(GREETING),
        "espeak-ng",
    )?;
    sox(&[
        &p(w, "voice.wav"),
        "-r",
        "48000",
        "-c",
        "1",
        "-b",
        "16",
        &p(w, "voice48.wav"),
        "pad",
        "0.3",
        "0.4",
    ])?;
    sox(&[
        "-n",
        "-r",
        "48000",
        "-c",
        "1",
        "-b",
        "16",
        &p(w, "tone.wav"),
        "synth",
        "0.4",
        "sine",
        "1000",
        "gain",
        "-12",
        "fade",
        "0.01",
        "0.4",
        "0.01",
        "pad",
        "0",
        "0.2",
    ])?;
    sox(&[
        &p(w, "voice48.wav"),
        &p(w, "tone.wav"),
        &p(w, "greeting.wav"),
    ])?;

    for (wav, out) in [
        ("greeting.wav", "sounds/greeting.opus"),
        ("classic.wav", "ringtones/classic.opus"),
        ("chime.wav", "ringtones/chime.opus"),
        ("pulse.wav", "ringtones/pulse.opus"),
        ("hold.wav", "sounds/hold-music.opus"),
    ] {
        let dest = root.join(out);
        std::fs::create_dir_all(dest.parent().context("parent")?)?;
        check(
            Command::new("opusenc")
                .args([
                    "--quiet",
                    "--bitrate",
                    "48",
                    "--comment",
                    "ARTIST=Switchboard",
                ])
                .arg(w.join(wav))
                .arg(&dest),
            "opusenc",
        )?;
    }

    std::fs::create_dir_all(root.join("fonts"))?;
    for face in ["Inter-Regular.otf", "Inter-SemiBold.otf"] {
        std::fs::copy(
            Path::new("/usr/share/fonts/opentype/inter").join(face),
            root.join("fonts").join(face),
        )
        .with_context(|| format!("copying {face} from fonts-inter"))?;
    }
    check(
        Command::new("rsvg-convert")
            .args(["-w", "256", "-h", "256", "-o"])
            .arg(root.join("icons/switchboard-256.png"))
            .arg(root.join("icons/switchboard.svg")),
        "rsvg-convert",
    )?;
    println!("assets written under {}", root.display());
    Ok(0)
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

fn sox(args: &[&str]) -> anyhow::Result<()> {
    check(Command::new("sox").args(args), "sox")
}

fn check(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}
