//! One run of each whole-app measurement, against the real PBX:
//! - a window run: start-up, idle memory and CPU, and frames while scrolling 10,000 contacts;
//! - an app call run: `--dial 9196`, set-up time, CPU and memory over a 30 s call, and frames of
//!   the fullscreen call view;
//! - a baresip call run: the same call placed by baresip on the same sound device.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use harness::Pbx;
use harness::peers::{Baresip, BaresipAudio};
use harness::process::ChildGuard;

use super::app_process::{App, Setup, field, screen_timings};
use super::proc_stat::{self, ThreadTimes};

/// How long calls are measured, and the idle window.
pub const CALL: Duration = Duration::from_secs(30);
pub const IDLE: Duration = Duration::from_secs(10);
/// Time for sign-in's follow-up work to finish before "idle" starts: history, the device list,
/// and the status subscriptions, paced at 8 a second: the seeded profile has 104 favourites
/// and a screenful of rows, about 240 subscriptions, so 30 s; the stack forgets each
/// transaction 5 s after its answer. What that work costs is its own figure.
pub const SETTLE: Duration = Duration::from_secs(36);
const TIMEOUT: Duration = Duration::from_secs(60);
/// Where the contact list is, in window coordinates: right of the 64-point left bar, in the
/// 300-point display bar, below its tabs.
const CONTACT_LIST: (u32, u32) = (210, 420);

pub struct WindowRun {
    pub first_frame_ms: f64,
    pub first_frame_bench_ms: f64,
    pub contacts_drawn_ms: f64,
    pub contacts: f64,
    pub rss_idle_kib: u64,
    /// CPU from the contacts drawn to the end of `SETTLE`.
    pub settle_cpu: Duration,
    pub idle_cpu: Duration,
    pub idle_frames: usize,
    pub idle_threads: ThreadTimes,
    pub scroll_update_us: Vec<f64>,
    pub scroll_whole_us: Vec<f64>,
}

pub fn window_run(setup: &Setup, n: usize) -> anyhow::Result<WindowRun> {
    let mut app = App::start(setup, &format!("window-{n}"), &[])?;
    let (at, line) = app.wait_line("first frame presented", TIMEOUT)?;
    let first_frame_ms =
        field(&line, "since_process_start_ms").context("since_process_start_ms")?;
    let first_frame_bench_ms = (at - app.spawned).as_secs_f64() * 1000.0;
    let (_, line) = app.wait_line("contacts drawn", TIMEOUT)?;
    let contacts_drawn_ms = field(&line, "since_process_start_ms").context("contacts drawn")?;
    let contacts = field(&line, "count").unwrap_or(0.0);
    let pid = app.pid();
    let settle_from = proc_stat::cpu_time(pid)?;
    std::thread::sleep(SETTLE);
    let settle_cpu = proc_stat::cpu_time(pid)?.saturating_sub(settle_from);

    let rss_idle_kib = proc_stat::status_kib(pid, "VmRSS")?;
    let frames_before = app.frames().len();
    let threads_before = proc_stat::threads(pid);
    let cpu_before = proc_stat::cpu_time(pid)?;
    std::thread::sleep(IDLE);
    let idle_cpu = proc_stat::cpu_time(pid)?.saturating_sub(cpu_before);
    let idle_threads = proc_stat::threads_delta(&threads_before, &proc_stat::threads(pid));
    let idle_frames = app.frames().len() - frames_before;

    // Scroll down and back up with the mouse wheel (buttons 5 and 4), 40 notches a second.
    let window = window_id(&setup.display)?;
    let from = app.frames().len();
    let (x, y) = CONTACT_LIST;
    xdotool(
        &setup.display,
        &format!(
            "mousemove --window {window} {x} {y} click --repeat 120 --delay 25 5 \
             click --repeat 120 --delay 25 4 sleep 0.5"
        ),
    )?;
    let (scroll_update_us, scroll_whole_us) = screen_timings(&app.frames(), from, "contacts");
    if scroll_update_us.len() < 50 {
        bail!(
            "scrolling drew only {} frames of the contact list",
            scroll_update_us.len()
        );
    }
    Ok(WindowRun {
        first_frame_ms,
        first_frame_bench_ms,
        contacts_drawn_ms,
        contacts,
        rss_idle_kib,
        settle_cpu,
        idle_cpu,
        idle_frames,
        idle_threads,
        scroll_update_us,
        scroll_whole_us,
    })
}

/// Idle CPU of the app signed in without sound devices (`--headless-audio`): what the idle
/// figure would be without the open microphone and speaker streams.
pub fn headless_idle_run(setup: &Setup) -> anyhow::Result<(Duration, ThreadTimes)> {
    let mut app = App::start(setup, "headless-idle", &["--headless-audio"])?;
    app.wait_line("contacts drawn", TIMEOUT)?;
    std::thread::sleep(SETTLE);
    let pid = app.pid();
    let threads_before = proc_stat::threads(pid);
    let before = proc_stat::cpu_time(pid)?;
    std::thread::sleep(IDLE);
    let cpu = proc_stat::cpu_time(pid)?.saturating_sub(before);
    Ok((
        cpu,
        proc_stat::threads_delta(&threads_before, &proc_stat::threads(pid)),
    ))
}

pub struct CallRun {
    pub setup_ms: f64,
    pub codec: String,
    pub cpu: Duration,
    pub rss_kib: u64,
    pub hwm_kib: u64,
    pub threads: ThreadTimes,
    /// Frames the window drew in the 30 s (the app only).
    pub frames: usize,
    /// Frames of the fullscreen call view (the app only).
    pub view_update_us: Vec<f64>,
    pub view_whole_us: Vec<f64>,
}

pub fn app_call_run(setup: &Setup, pbx: &Pbx, n: usize) -> anyhow::Result<CallRun> {
    let _talk = Talker::start(setup)?;
    let mut app = App::start(setup, &format!("call-{n}"), &["--dial", "9196"])?;
    let mut hang_up = HangUpOnDrop::new(pbx, &setup.user.extension);
    let (_, line) = app.wait_line("call answered", TIMEOUT)?;
    let setup_ms = field(&line, "setup_ms").context("setup_ms")?;
    let pid = app.pid();
    let frames_before = app.frames().len();
    let (cpu, threads, codec) = measure_call(pid, &mut hang_up)?;
    let frames = app.frames().len() - frames_before;
    let rss_kib = proc_stat::status_kib(pid, "VmRSS")?;
    let hwm_kib = proc_stat::status_kib(pid, "VmHWM")?;

    // Open the fullscreen call view by clicking the caller's name in the call bar, then move
    // the pointer over it: every move draws a frame.
    let window = window_id(&setup.display)?;
    let opened = [(90, 20), (90, 26), (110, 20), (90, 14)]
        .into_iter()
        .any(|(x, y)| {
            let before = app.frames().len();
            xdotool(
                &setup.display,
                &format!("mousemove --window {window} {x} {y} click 1 sleep 0.3"),
            )
            .is_ok()
                && app.frames()[before..]
                    .iter()
                    .any(|f| f.screen == "call-view")
        });
    if !opened {
        bail!("clicking the call bar did not open the call view");
    }
    let from = app.frames().len();
    let moves: String = (0..150)
        .map(|i| {
            let x = 300 + (i * 37) % 600;
            let y = 150 + (i * 53) % 400;
            format!("mousemove --window {window} {x} {y} sleep 0.02 ")
        })
        .collect();
    xdotool(&setup.display, &moves)?;
    let (view_update_us, view_whole_us) = screen_timings(&app.frames(), from, "call-view");

    hang_up.now()?;
    app.wait_line("call ended", TIMEOUT)?;
    Ok(CallRun {
        setup_ms,
        codec,
        cpu,
        rss_kib,
        hwm_kib,
        threads,
        frames,
        view_update_us,
        view_whole_us,
    })
}

pub fn baresip_call_run(setup: &Setup, pbx: &Pbx) -> anyhow::Result<CallRun> {
    let _talk = Talker::start(setup)?;
    let mut phone = Baresip::start_with(
        &setup.user,
        BaresipAudio::SoundCard {
            env: setup.sound_env.clone(),
        },
    )?;
    let mut hang_up = HangUpOnDrop::new(pbx, &setup.user.extension);
    phone.wait_for_output("200 OK", TIMEOUT)?;
    let dialled = Instant::now();
    phone.command("/dial 9196")?;
    phone.wait_for_output("Call established", TIMEOUT)?;
    // Polled from baresip's output file, so only roughly comparable with the app's own figure.
    let setup_ms = dialled.elapsed().as_secs_f64() * 1000.0;
    let pid = phone.pid();
    let (cpu, threads, codec) = measure_call(pid, &mut hang_up)?;
    let rss_kib = proc_stat::status_kib(pid, "VmRSS")?;
    let hwm_kib = proc_stat::status_kib(pid, "VmHWM")?;
    phone.command("/hangup")?;
    hang_up.wait_gone()?;
    Ok(CallRun {
        setup_ms,
        codec,
        cpu,
        rss_kib,
        hwm_kib,
        threads,
        frames: 0,
        view_update_us: Vec::new(),
        view_whole_us: Vec::new(),
    })
}

/// CPU time of `pid` over [`CALL`], what each thread spent, and the codec Asterisk reports
/// for the call's channel.
fn measure_call(
    pid: u32,
    call: &mut HangUpOnDrop,
) -> anyhow::Result<(Duration, ThreadTimes, String)> {
    let threads_before = proc_stat::threads(pid);
    let before = proc_stat::cpu_time(pid)?;
    let started = Instant::now();
    let codec = call
        .channel()
        .and_then(|c| codec_of(call.pbx, &c))
        .unwrap_or_else(|| "unknown".into());
    std::thread::sleep(CALL.saturating_sub(started.elapsed()));
    let cpu = proc_stat::cpu_time(pid)?.saturating_sub(before);
    let threads = proc_stat::threads_delta(&threads_before, &proc_stat::threads(pid));
    Ok((cpu, threads, codec))
}

/// The extension's channels, as `core show channels concise` lists them.
fn channels_of(pbx: &Pbx, ext: &str) -> Vec<String> {
    let Ok(out) = pbx.cli("core show channels concise") else {
        return Vec::new();
    };
    out.lines()
        .filter(|l| l.starts_with(&format!("PJSIP/{ext}-")))
        .filter_map(|l| l.split('!').next())
        .map(str::to_string)
        .collect()
}

fn codec_of(pbx: &Pbx, channel: &str) -> Option<String> {
    let out = pbx.cli(&format!("core show channel {channel}")).ok()?;
    out.lines()
        .find_map(|l| l.trim().strip_prefix("NativeFormats:"))
        .map(|f| f.trim().trim_matches(['(', ')']).to_string())
}

/// The call a run places, found on the PBX as the extension's channel that was not there
/// before (an earlier, killed test may have left one). Ended on the PBX when dropped (as if
/// the far end hung up), so that a failed run never leaves an Echo channel behind.
struct HangUpOnDrop<'a> {
    pbx: &'a Pbx,
    ext: &'a str,
    before: Vec<String>,
}

impl<'a> HangUpOnDrop<'a> {
    fn new(pbx: &'a Pbx, ext: &'a str) -> Self {
        let before = channels_of(pbx, ext);
        Self { pbx, ext, before }
    }

    fn ours(&self) -> Vec<String> {
        channels_of(self.pbx, self.ext)
            .into_iter()
            .filter(|c| !self.before.contains(c))
            .collect()
    }

    fn channel(&self) -> Option<String> {
        self.ours().into_iter().next()
    }

    fn now(&mut self) -> anyhow::Result<()> {
        for c in self.ours() {
            self.pbx.cli(&format!("channel request hangup {c}"))?;
        }
        self.wait_gone()
    }

    fn wait_gone(&mut self) -> anyhow::Result<()> {
        harness::wait_for("the call's channel to go", Duration::from_secs(10), || {
            self.ours().is_empty().then_some(())
        })
    }
}

impl Drop for HangUpOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.now();
    }
}

/// Speech-like sound into the microphone's sink while a call runs, so both phones encode the
/// same real signal rather than digital silence.
struct Talker {
    _child: ChildGuard,
}

impl Talker {
    fn start(setup: &Setup) -> anyhow::Result<Self> {
        let wav = setup.work.join("talker.wav");
        if !wav.exists() {
            super::material::write_speechlike_wav(&wav, Duration::from_secs(90))?;
        }
        let mut cmd = Command::new("paplay");
        cmd.arg(format!("--device={}", super::MIC_SINK))
            .arg(&wav)
            .envs(setup.sound_env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Ok(Self {
            _child: ChildGuard::spawn("paplay", &mut cmd)?,
        })
    }
}

/// The app's window on the private display.
fn window_id(display: &str) -> anyhow::Result<String> {
    harness::wait_for("the app's window", Duration::from_secs(10), || {
        let out = run_xdotool(display, &["search", "--name", "^Switchboard$"]).ok()?;
        out.lines().next().map(str::to_string)
    })
}

/// Runs one xdotool command line (xdotool chains commands itself).
fn xdotool(display: &str, script: &str) -> anyhow::Result<String> {
    let args: Vec<&str> = script.split_whitespace().collect();
    run_xdotool(display, &args)
}

fn run_xdotool(display: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .context("running xdotool")?;
    if !out.status.success() {
        bail!(
            "xdotool {}: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
