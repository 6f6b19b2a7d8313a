//! `cargo xtask bench [--full | --app-only] [--runs N]`: measures the whole release app against the real
//! PBX and prints one table, also written to `<target dir>/bench/report.md`. Every figure is the
//! median of N runs (3 by default); the app/baresip ratio compares calls placed alternately in
//! the same bench. Nothing here asserts a threshold.
//!
//! The app runs under a private Xvfb, on a private PulseAudio server (speaker: a null sink;
//! microphone: the monitor of a second null sink that plays speech-like sound during calls),
//! signed in as a leased test extension with a profile seeded with 10,000 directory contacts.
//! The PBX is brought up if it is down, and left running: other people's tests may use it.

mod app_process;
mod cargo_benches;
mod material;
mod proc_stat;
mod runs;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use harness::Pbx;
use harness::audio::VirtualSoundCard;
use harness::display::Xvfb;

use app_process::Setup;
use runs::{CallRun, WindowRun};

/// A figure, its value, and the goal set for it (empty when there is none).
type Row = (String, String, String);

/// The sink whose monitor is the microphone of the app and of baresip.
pub const MIC_SINK: &str = "sb_bench_mic";
const SPEAKER_SINK: &str = "sb_bench";
const CONTACTS: usize = 10_000;

/// How each figure is measured, for report.md.
const METHOD: &str = "
## How the figures are measured

- Start-up: the app logs `first frame presented` at the start of its second frame (eframe swaps
  the first frame's buffers after its update returns; the first frame asks for the second at
  once), with the time since the kernel's start of the process (`starttime` in
  `/proc/self/stat` against CLOCK_BOOTTIME, 10 ms ticks). In brackets, the bench's own clock
  from just before spawning to reading that log line. `contacts drawn` is logged after the first
  frame that drew the contact list with contacts in it: sign-in to the PBX and loading the
  profile's contacts come first.
- Memory: `VmRSS` (and the peak, `VmHWM`) from `/proc/PID/status`; idle is 36 s after the
  contacts were drawn.
- CPU: user + system time of the whole process from `/proc/PID/stat` (10 ms ticks) over the
  36 s after the contacts were drawn (the status subscriptions of 104 favourites and a
  screenful of rows go out at 8 a second), then over 10 s of idle, or over 30 s from the
  moment the call was answered; threads from
  `/proc/PID/task/*/schedstat`. Both phones use the same private PulseAudio server through ALSA's
  pulse plugin, speaker a null sink, microphone the monitor of a second null sink playing
  speech-like sound; the codec is what Asterisk reports for the caller's channel. App and
  baresip calls alternate.
- Call set-up: the app logs `call answered setup_ms=` from the backend taking the dial command to
  sipcore reporting the call active (the 200 OK).
- Frames: with `SWITCHBOARD_FRAME_LOG` the app appends, per frame, the screen it drew, the CPU
  time of its update (thread CPU clock around `Window::ui`) and eframe's timer for the whole
  previous frame (update, tessellation, painting with llvmpipe, no vsync wait). Scrolling is 120
  wheel notches down and 120 up at 40 a second from xdotool over the contact list; the call view
  is opened by clicking the call bar, then the pointer moves over it (150 moves, 50 a second).
";

const USAGE: &str = "usage: cargo xtask bench [--full | --app-only] [--runs N]
  --full       criterion's own warm-up and measurement times for the crates' benches
               (default: 1 s and 2 s per benchmark)
  --app-only   only the whole-app figures: skip `cargo bench` of media and storage
  --runs N     runs per whole-app figure (default 3)";

pub fn run(args: &[&str]) -> anyhow::Result<i32> {
    let mut full = false;
    let mut app_only = false;
    let mut runs = 3usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--full" => full = true,
            "--app-only" => app_only = true,
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .context("--runs needs a number above 0")?
            }
            _ => {
                eprintln!("{USAGE}");
                return Ok(2);
            }
        }
    }
    let started = Instant::now();
    let mut packages = crate::test::PACKAGES.to_vec();
    packages.push("xdotool");
    if !app_only {
        // The quality bench's reference: libopus alone, through its own command-line tools.
        packages.push("opus-tools");
    }
    harness::host::ensure_packages(&packages)?;
    if !app_only {
        ensure_pesq()?;
    }
    let pbx = Pbx::new();
    crate::pbx::up(&pbx)?;

    let root = harness::paths::workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    eprintln!("bench: building the release app…");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(&cargo)
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "switchboard",
            "--bin",
        ])
        .arg("switchboard")
        .status()?
        .success();
    anyhow::ensure!(built, "the release build failed");

    let lease = pbx.lease_any()?;
    let display = Xvfb::start((1280, 800))?;
    let card = VirtualSoundCard::start(SPEAKER_SINK)?;
    card.pactl(&[
        "load-module",
        "module-null-sink",
        &format!("sink_name={MIC_SINK}"),
        "rate=48000",
    ])?;
    let sound_env = card
        .env()
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "PULSE_SOURCE" => (k, format!("{MIC_SINK}.monitor")),
            _ => (k, v),
        })
        .collect();
    let data = tempfile::Builder::new()
        .prefix("sb-bench-data-")
        .tempdir()?;
    let work = tempfile::Builder::new().prefix("sb-bench-").tempdir()?;
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);
    material::seed_contacts(&root, data.path(), &lease.user.extension, &server, CONTACTS)?;
    let setup = Setup {
        binary: target.join("release/switchboard"),
        display: display.display.clone(),
        data_dir: data.path().to_path_buf(),
        sound_env,
        user: lease.user.clone(),
        work: work.path().to_path_buf(),
    };

    let mut windows = Vec::new();
    for i in 0..runs {
        eprintln!(
            "bench: window run {}/{runs} (start-up, idle, scrolling)",
            i + 1
        );
        windows.push(runs::window_run(&setup, i)?);
    }
    eprintln!("bench: idle without sound devices (--headless-audio), once");
    let headless_idle = runs::headless_idle_run(&setup)?;
    let mut app_calls = Vec::new();
    let mut peer_calls = Vec::new();
    for i in 0..runs {
        eprintln!("bench: call run {}/{runs}: the app calls 9196", i + 1);
        app_calls.push(runs::app_call_run(&setup, &pbx, i)?);
        eprintln!("bench: call run {}/{runs}: baresip calls 9196", i + 1);
        peer_calls.push(runs::baresip_call_run(&setup, &pbx)?);
    }
    drop(card);
    drop(display);
    drop(lease);

    let mut rows = app_rows(&windows, &app_calls, &peer_calls);
    if !app_only {
        // Run one after the other, after the app runs, so they do not disturb each other.
        let results = [
            (
                "media: frames bench",
                cargo_benches::media_frames(&root, full),
            ),
            ("media: quality bench", cargo_benches::media_quality(&root)),
            ("storage benchmarks", cargo_benches::storage(&root, full)),
            (
                "call-center bench",
                cargo_benches::rows_of(&root, "switchboard", "queue_tiles"),
            ),
            (
                "transcription bench",
                cargo_benches::rows_of(&root, "transcribe", "transcription"),
            ),
        ];
        for (what, result) in results {
            match result {
                Ok(r) => rows.extend(r.into_iter().map(|(f, v)| (f, v, String::new()))),
                Err(e) => rows.push((what.into(), format!("failed: {e:#}"), String::new())),
            }
        }
    }

    let table = table(&rows, runs);
    println!("{table}");
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir)?;
    let report = dir.join("report.md");
    let details = details(&windows, &headless_idle, &app_calls, &peer_calls);
    std::fs::write(
        &report,
        format!(
            "# Switchboard bench\n\n{}\n\n{table}\n{METHOD}{details}",
            machine_line()
        ),
    )?;
    eprintln!(
        "bench: done in {:.0} s; report in {}",
        started.elapsed().as_secs_f64(),
        report.display()
    );
    Ok(0)
}

/// The quality bench scores speech with PESQ from the `pesq` Python package (the ITU-T P.862
/// reference code), which Debian does not package: installed from PyPI when missing.
fn ensure_pesq() -> anyhow::Result<()> {
    let importable = || {
        Command::new("python3")
            .args(["-c", "import pesq, numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if importable() {
        return Ok(());
    }
    eprintln!("bench: installing the pesq and numpy Python packages for the quality bench…");
    let installed = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "pesq", "numpy"])
        .status()?
        .success();
    anyhow::ensure!(
        installed && importable(),
        "could not install the pesq Python package (pip install pesq numpy)"
    );
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Nearest-rank percentile.
fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

fn pct_of_core(cpu: f64) -> f64 {
    100.0 * cpu / runs::CALL.as_secs_f64()
}

/// Median and p99 of each run's frames, each the median over runs.
fn frame_cell(per_run: &[Vec<f64>]) -> String {
    let med = median(per_run.iter().map(|v| median(v.clone())).collect());
    let p99 = median(
        per_run
            .iter()
            .map(|v| percentile(v.clone(), 99.0))
            .collect(),
    );
    let n: usize = per_run.iter().map(Vec::len).sum();
    format!("{:.0} µs / {:.0} µs ({n} frames)", med, p99)
}

fn app_rows(w: &[WindowRun], a: &[CallRun], b: &[CallRun]) -> Vec<Row> {
    let m = |f: &dyn Fn(&WindowRun) -> f64| median(w.iter().map(f).collect());
    let c = |runs: &[CallRun], f: &dyn Fn(&CallRun) -> f64| median(runs.iter().map(f).collect());
    let app_cpu = c(a, &|r| r.cpu.as_secs_f64());
    let peer_cpu = c(b, &|r| r.cpu.as_secs_f64());
    let codecs = |runs: &[CallRun]| {
        let mut v: Vec<&str> = runs.iter().map(|r| r.codec.as_str()).collect();
        v.dedup();
        v.join(", ")
    };
    let contacts = m(&|r| r.contacts);
    vec![
        (
            "start-up: process start → first frame presented".into(),
            format!(
                "{:.0} ms (bench's spawn → log line: {:.0} ms)",
                m(&|r| r.first_frame_ms),
                m(&|r| r.first_frame_bench_ms)
            ),
            "≤ 150 ms".into(),
        ),
        (
            format!("start-up: process start → {contacts:.0} contacts drawn (after sign-in)"),
            format!("{:.0} ms", m(&|r| r.contacts_drawn_ms)),
            String::new(),
        ),
        (
            "memory: RSS idle after start, signed in".into(),
            mib(m(&|r| r.rss_idle_kib as f64)),
            "≤ 60 MiB".into(),
        ),
        (
            "memory: RSS at the end of a 30 s call (peak)".into(),
            format!(
                "{} ({})",
                mib(c(a, &|r| r.rss_kib as f64)),
                mib(c(a, &|r| r.hwm_kib as f64))
            ),
            String::new(),
        ),
        (
            format!(
                "CPU after sign-in: the {} s of paced status subscriptions",
                runs::SETTLE.as_secs()
            ),
            format!("{:.0} ms", m(&|r| r.settle_cpu.as_secs_f64() * 1000.0)),
            String::new(),
        ),
        (
            "CPU idle: app over 10 s, window open, after those".into(),
            format!(
                "{:.0} ms ({:.0} frames drawn)",
                m(&|r| r.idle_cpu.as_secs_f64() * 1000.0),
                m(&|r| r.idle_frames as f64)
            ),
            "≤ 20 ms".into(),
        ),
        (
            format!("CPU in a 30 s call to 9196, app ({})", codecs(a)),
            format!("{:.1} % of a core ({app_cpu:.2} s)", pct_of_core(app_cpu)),
            String::new(),
        ),
        (
            format!("CPU in the same call, baresip ({})", codecs(b)),
            format!("{:.1} % of a core ({peer_cpu:.2} s)", pct_of_core(peer_cpu)),
            String::new(),
        ),
        (
            "CPU in a call, app / baresip".into(),
            format!("{:.2}×", app_cpu / peer_cpu),
            "≤ 1.00×".into(),
        ),
        (
            "call set-up: dial command → answered, 9196".into(),
            format!("{:.0} ms", c(a, &|r| r.setup_ms)),
            "≤ 20 ms".into(),
        ),
        (
            format!("frame, contacts scrolling ({contacts:.0}): update CPU median / p99"),
            frame_cell(
                &w.iter()
                    .map(|r| r.scroll_update_us.clone())
                    .collect::<Vec<_>>(),
            ),
            "≤ 1000 µs / 3000 µs".into(),
        ),
        (
            "frame, contacts scrolling: whole frame median / p99".into(),
            frame_cell(
                &w.iter()
                    .map(|r| r.scroll_whole_us.clone())
                    .collect::<Vec<_>>(),
            ),
            String::new(),
        ),
        (
            "frame, fullscreen call view: update CPU median / p99".into(),
            frame_cell(
                &a.iter()
                    .map(|r| r.view_update_us.clone())
                    .collect::<Vec<_>>(),
            ),
            "≤ 1000 µs median".into(),
        ),
        (
            "frame, fullscreen call view: whole frame median / p99".into(),
            frame_cell(
                &a.iter()
                    .map(|r| r.view_whole_us.clone())
                    .collect::<Vec<_>>(),
            ),
            String::new(),
        ),
    ]
}

fn table(rows: &[Row], runs: usize) -> String {
    let width = |f: &dyn Fn(&Row) -> &String, header: &str| {
        rows.iter()
            .map(|r| f(r).chars().count())
            .chain([header.chars().count()])
            .max()
            .unwrap_or(0)
    };
    let value_header = format!("value (median of {runs} runs for the app figures)");
    let widths = [
        width(&|r| &r.0, "figure"),
        width(&|r| &r.1, &value_header),
        width(&|r| &r.2, "goal"),
    ];
    let line = |cells: [&str; 3]| {
        let mut l = String::from("|");
        for (cell, w) in cells.iter().zip(widths) {
            let pad = w - cell.chars().count();
            let _ = write!(l, " {cell}{} |", " ".repeat(pad));
        }
        l
    };
    let mut out = line(["figure", &value_header, "goal"]);
    out.push('\n');
    out.push('|');
    for w in widths {
        let _ = write!(out, "{}|", "-".repeat(w + 2));
    }
    out.push('\n');
    for (figure, value, goal) in rows {
        out.push_str(&line([figure, value, goal]));
        out.push('\n');
    }
    out
}

fn machine_line() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!(
        "{cores} cores, load average at the end {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

fn threads_line(threads: &[(String, std::time::Duration)]) -> String {
    threads
        .iter()
        .take(6)
        .map(|(n, d)| format!("{n} {:.0} ms", d.as_secs_f64() * 1000.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Run by run, and where the CPU went, for report.md.
fn details(
    w: &[WindowRun],
    headless_idle: &(std::time::Duration, proc_stat::ThreadTimes),
    a: &[CallRun],
    b: &[CallRun],
) -> String {
    let mut s = String::from("\n## Run by run\n\n");
    let _ = writeln!(
        s,
        "- idle with `--headless-audio` (no sound devices open), once: {:.0} ms CPU in 10 s; \
         threads: {}",
        headless_idle.0.as_secs_f64() * 1000.0,
        threads_line(&headless_idle.1)
    );
    for (i, r) in w.iter().enumerate() {
        let _ = writeln!(
            s,
            "- window run {}: first frame {:.0} ms (bench {:.0} ms), contacts drawn {:.0} ms, \
             RSS {}, idle CPU {:.0} ms in {} frames; idle threads: {}",
            i + 1,
            r.first_frame_ms,
            r.first_frame_bench_ms,
            r.contacts_drawn_ms,
            mib(r.rss_idle_kib as f64),
            r.idle_cpu.as_secs_f64() * 1000.0,
            r.idle_frames,
            threads_line(&r.idle_threads)
        );
    }
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let _ = writeln!(
            s,
            "- call run {}: app {:.2} s CPU, {} frames drawn, set-up {:.0} ms, RSS {}, codec {}; \
             threads: {}\n  baresip {:.2} s CPU, RSS {}, codec {}; threads: {}",
            i + 1,
            x.cpu.as_secs_f64(),
            x.frames,
            x.setup_ms,
            mib(x.rss_kib as f64),
            x.codec,
            threads_line(&x.threads),
            y.cpu.as_secs_f64(),
            mib(y.rss_kib as f64),
            y.codec,
            threads_line(&y.threads)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        let v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(percentile(v.clone(), 99.0), 198.0);
        assert_eq!(percentile(v, 50.0), 100.0);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn the_table_lines_up() {
        let row = |f: &str, v: &str, g: &str| (f.to_string(), v.to_string(), g.to_string());
        let t = table(&[row("a", "1", "≤ 2"), row("bbb", "2", "")], 3);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[2].starts_with("| a      | 1 "), "{t}");
        assert!(lines[2].ends_with("| ≤ 2  |"), "{t}");
        assert!(lines[3].starts_with("| bbb    | 2 "), "{t}");
        let widths: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{t}");
    }
}
