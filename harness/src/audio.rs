//! A real sound device for tests on machines without a sound card: a private PulseAudio server
//! with a null sink, whose monitor source records what is played to it. Programs reach it
//! through ALSA's `pulse` plugin (the path cpal's ALSA backend takes). Also a Goertzel detector
//! to find a tone in recorded samples.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use crate::process::ChildGuard;
use crate::wait::wait_for;

/// A running private PulseAudio server, stopped by its PID when dropped.
pub struct VirtualSoundCard {
    _server: ChildGuard,
    _dir: tempfile::TempDir,
    socket: PathBuf,
    sink: String,
}

impl VirtualSoundCard {
    /// Starts `pulseaudio` with a null sink called `sink` in a fresh runtime directory.
    pub fn start(sink: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("sb-pulse-").tempdir()?;
        // PulseAudio refuses a runtime directory that others can read.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )?;
        let socket = dir.path().join("pulse/native");
        let mut cmd = Command::new("pulseaudio");
        cmd.env("XDG_RUNTIME_DIR", dir.path())
            .env("HOME", dir.path())
            .args([
                "--daemonize=no",
                "--exit-idle-time=-1",
                "-n",
                "--disallow-exit",
                "--log-target=stderr",
            ])
            .arg(format!(
                "--load=module-native-protocol-unix socket={}",
                socket.display()
            ))
            .arg(format!(
                "--load=module-null-sink sink_name={sink} rate=48000"
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut server = spawn_tied_to_process(cmd)?;
        let ready = wait_for("the PulseAudio socket", Duration::from_secs(10), || {
            if !server.is_running() {
                return Some(false);
            }
            socket.exists().then_some(true)
        })?;
        anyhow::ensure!(ready, "pulseaudio exited at start (is it installed?)");
        let card = VirtualSoundCard {
            _server: server,
            _dir: dir,
            socket,
            sink: sink.to_string(),
        };
        // The socket appears before the sink is loaded; wait until the server answers.
        wait_for("PulseAudio to answer", Duration::from_secs(10), || {
            let out = Command::new("pactl")
                .envs(card.env())
                .args(["list", "short", "sinks"])
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout)
                .contains(&card.sink)
                .then_some(())
        })
        .context("pactl never listed the null sink")?;
        Ok(card)
    }

    /// Environment for clients: the server, the null sink and its monitor as defaults.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "PULSE_SERVER".into(),
                format!("unix:{}", self.socket.display()),
            ),
            ("PULSE_SINK".into(), self.sink.clone()),
            ("PULSE_SOURCE".into(), format!("{}.monitor", self.sink)),
        ]
    }

    /// Runs `pactl` against this server, e.g. to load a second sink (a headset being plugged
    /// in) or unload it (pulled out). Returns its standard output.
    pub fn pactl(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new("pactl").envs(self.env()).args(args).output()?;
        anyhow::ensure!(
            out.status.success(),
            "pactl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Sets [`env`](Self::env) in this process. Env vars are process-wide: call this once,
    /// before any thread opens a sound device.
    pub fn export_env(&self) {
        for (k, v) in self.env() {
            // SAFETY: called during test setup before sound threads exist (see above).
            unsafe { std::env::set_var(k, v) };
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

/// Spawns `cmd` so that it also dies when this process exits without dropping the guard (a
/// guard kept in a `static` for a whole test binary is never dropped). `PR_SET_PDEATHSIG` fires
/// when the spawning *thread* ends, so the spawn happens on a thread that lives as long as the
/// process.
fn spawn_tied_to_process(mut cmd: Command) -> anyhow::Result<ChildGuard> {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("pulseaudio-parent".into())
        .spawn(move || {
            let _ = tx.send(ChildGuard::spawn("pulseaudio", &mut cmd));
            loop {
                std::thread::park();
            }
        })?;
    rx.recv().context("the spawning thread died")?
}

/// Power of `freq` in `samples`, normalised by length (the Goertzel algorithm).
pub fn goertzel_power(samples: &[f32], rate: u32, freq: f32) -> f32 {
    let w = 2.0 * std::f32::consts::PI * freq / rate as f32;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for x in samples {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (samples.len().max(1) as f32).powi(2)
}

/// True if `freq` stands at least 20 dB above `reference` frequencies in `samples`.
pub fn has_tone(samples: &[f32], rate: u32, freq: f32, reference: &[f32]) -> bool {
    let on = goertzel_power(samples, rate, freq);
    on > 1e-6
        && reference
            .iter()
            .all(|r| on > 100.0 * goertzel_power(samples, rate, *r))
}

/// `text` spoken by espeak-ng, as 16-bit mono WAV, passed through each of `rates` in turn:
/// `&[8000]` as Asterisk records a voicemail, `&[8000, 16000]` the phone band heard at 16 kHz.
pub fn spoken_wav(text: &str, rates: &[u32]) -> anyhow::Result<Vec<u8>> {
    let dir = tempfile::tempdir()?;
    let mut wav = dir.path().join("espeak.wav");
    let spoke = Command::new("espeak-ng")
        .args(["-s", "150", "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .context("running espeak-ng")?;
    anyhow::ensure!(spoke.success(), "espeak-ng failed ({spoke})");
    for rate in rates {
        let next = dir.path().join(format!("{rate}.wav"));
        let converted = Command::new("sox")
            .arg(&wav)
            // No dither: sox's default adds random noise, and a test's speech must be the
            // same on every run (Whisper's words in the phone band turn on less than that).
            .args(["-D", "-r", &rate.to_string(), "-c", "1", "-b", "16"])
            .arg(&next)
            .status()
            .context("running sox")?;
        anyhow::ensure!(converted.success(), "sox failed ({converted})");
        wav = next;
    }
    Ok(std::fs::read(wav)?)
}

/// A 16-bit WAV's samples, -1..1.
pub fn wav_samples(wav: &[u8]) -> anyhow::Result<Vec<f32>> {
    let reader = hound::WavReader::new(std::io::Cursor::new(wav))?;
    Ok(reader
        .into_samples::<i16>()
        .map(|s| s.map(|v| v as f32 / 32768.0))
        .collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goertzel_finds_the_tone_and_not_its_neighbours() {
        let s: Vec<f32> = (0..4800)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 48_000.0).sin())
            .collect();
        assert!(has_tone(&s, 48_000, 1000.0, &[600.0, 1500.0]));
        assert!(!has_tone(&s, 48_000, 600.0, &[1000.0]));
    }
}
