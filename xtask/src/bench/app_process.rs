//! The release app as a benchmark runs it: signed in to the harness PBX as the leased
//! extension, on the private X display and virtual sound card, with its log lines read as they
//! come (each stamped with when it arrived) and its per-frame log in a file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use harness::process::ChildGuard;

/// Everything a run of the app needs from the machine, set up once per bench.
pub struct Setup {
    pub binary: PathBuf,
    pub display: String,
    /// `SWITCHBOARD_DATA_DIR`, with the seeded profile in it.
    pub data_dir: PathBuf,
    /// PulseAudio variables: the app's (and baresip's) speaker and microphone.
    pub sound_env: Vec<(String, String)>,
    pub user: harness::User,
    /// Where frame logs go.
    pub work: PathBuf,
}

impl Setup {
    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", harness::pbx::SIP_PORT)
    }
}

pub struct App {
    child: ChildGuard,
    /// Just before the spawn (fork and exec) of the process.
    pub spawned: Instant,
    lines: Receiver<(Instant, String)>,
    seen: Vec<String>,
    pub frame_log: PathBuf,
}

impl App {
    pub fn start(setup: &Setup, name: &str, args: &[&str]) -> anyhow::Result<Self> {
        let frame_log = setup.work.join(format!("frames-{name}.tsv"));
        let _ = std::fs::remove_file(&frame_log);
        let mut cmd = Command::new(&setup.binary);
        cmd.args(["--server", &setup.server(), "--user", &setup.user.extension])
            .args(args)
            .env("DISPLAY", &setup.display)
            .env("SWITCHBOARD_PASSWORD", &setup.user.password)
            .env("SWITCHBOARD_DATA_DIR", &setup.data_dir)
            .env("SWITCHBOARD_FRAME_LOG", &frame_log)
            .env("RUST_LOG", "info,rsipstack=warn")
            .env("NO_COLOR", "1")
            .env_remove("SWITCHBOARD_DIRECTORY")
            .envs(setup.sound_env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let spawned = Instant::now();
        let mut child = ChildGuard::spawn("switchboard", &mut cmd)?;
        let out = child.take_stdout().context("the app's output")?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            child,
            spawned,
            lines,
            seen: Vec::new(),
            frame_log,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Waits for a log line containing `needle`; returns when it arrived and the line.
    pub fn wait_line(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> anyhow::Result<(Instant, String)> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) => {
                    let line = strip_ansi(&line);
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return Ok((at, line));
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    bail!(
                        "timed out waiting for the app to log {needle:?}; {}",
                        self.tail()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    bail!("the app exited before logging {needle:?}; {}", self.tail())
                }
            }
        }
    }

    fn tail(&self) -> String {
        let n = self.seen.len().saturating_sub(15);
        format!("its last lines:\n{}", self.seen[n..].join("\n"))
    }

    /// The frame log so far.
    pub fn frames(&self) -> Vec<Frame> {
        read_frames(&self.frame_log)
    }
}

/// One line of the app's frame log (see `app/frame_log.rs`).
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub screen: String,
    pub update_us: u64,
    /// eframe's timer for the whole frame before this one.
    pub prev_frame_us: Option<u64>,
}

pub fn read_frames(path: &Path) -> Vec<Frame> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some(Frame {
                screen: f.next()?.to_string(),
                update_us: f.next()?.parse().ok()?,
                prev_frame_us: f.next().and_then(|v| v.parse().ok()),
            })
        })
        .collect()
}

/// Timings of frames `from..` that drew `screen`: the update's CPU time of each, and eframe's
/// whole-frame time of each whose next frame reports it (that next frame drew `screen` too).
pub fn screen_timings(frames: &[Frame], from: usize, screen: &str) -> (Vec<f64>, Vec<f64>) {
    let mut update = Vec::new();
    let mut whole = Vec::new();
    for i in from..frames.len() {
        if frames[i].screen != screen {
            continue;
        }
        update.push(frames[i].update_us as f64);
        if let Some(next) = frames.get(i + 1)
            && next.screen == screen
            && let Some(us) = next.prev_frame_us
        {
            whole.push(us as f64);
        }
    }
    (update, whole)
}

/// The number after `key=` in a log line.
pub fn field(line: &str, key: &str) -> Option<f64> {
    let at = line.find(&format!("{key}="))? + key.len() + 1;
    line[at..]
        .split(|c: char| c.is_whitespace() || c == ',')
        .next()?
        .parse()
        .ok()
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ ... final byte in @..~
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_from_plain_and_coloured_lines() {
        let plain = "2025-01-01T00:00:00Z  INFO switchboard: first frame presented since_process_start_ms=231 since_main_ms=200";
        assert_eq!(field(plain, "since_process_start_ms"), Some(231.0));
        assert_eq!(field(plain, "since_main_ms"), Some(200.0));
        let coloured = "\u{1b}[32m INFO\u{1b}[0m call answered \u{1b}[3msetup_ms\u{1b}[0m\u{1b}[2m=\u{1b}[0m41.5";
        assert_eq!(field(&strip_ansi(coloured), "setup_ms"), Some(41.5));
        assert_eq!(field(plain, "missing"), None);
    }

    #[test]
    fn whole_frame_times_come_from_the_next_frame_of_the_same_screen() {
        let f = |s: &str, u, p| Frame {
            screen: s.into(),
            update_us: u,
            prev_frame_us: p,
        };
        let frames = vec![
            f("sign-in", 5, None),
            f("contacts", 10, Some(6)),
            f("contacts", 11, Some(20)),
            f("call-view", 12, Some(21)),
        ];
        let (update, whole) = screen_timings(&frames, 0, "contacts");
        assert_eq!(update, vec![10.0, 11.0]);
        assert_eq!(whole, vec![20.0]);
    }
}
