//! A flood at the agent (the demo bots' program, a real process): 5,000 calls (INVITE, answer,
//! ACK, BYE) and 5,000 OPTIONS, 500 requests a second from two sipp instances, after 20 calls
//! that bring a call's code and buffers into memory for the starting figure. The agent keeps
//! answering every one, a real call placed in the middle of the flood carries audio both ways,
//! and the agent's memory comes back to where it started within a minute. The figures
//! (answered, peak and final memory) are printed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use harness::audio::has_tone;
use sipcore::media_adapter::{AudioSource, MediaEngine};
use sipcore::{CallId, CallState, Command};

const EACH: u32 = 5_000;
const RATE: u32 = 250;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// sipp running `scenario` `EACH` times at `RATE` a second at `target`.
fn flood(scenario: &str, target: std::net::SocketAddr, dir: &Path) -> harness::process::ChildGuard {
    let port = harness::peers::free_udp_port().unwrap();
    let mut cmd = Process::new("sipp");
    cmd.current_dir(dir)
        .arg(target.to_string())
        .arg("-sf")
        .arg(harness::peers::sipp_scenario(scenario))
        .args(["-s", "agent", "-i", "127.0.0.1", "-p", &port.to_string()])
        .args([
            "-m",
            &EACH.to_string(),
            "-r",
            &RATE.to_string(),
            "-l",
            "2000",
        ])
        .args([
            "-nostdin",
            "-trace_stat",
            "-stf",
            &format!("{scenario}.csv"),
        ])
        .args(["-fd", "1", "-timeout", "120s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    harness::process::ChildGuard::spawn("sipp", &mut cmd).unwrap()
}

/// (successful, failed) from the last line of sipp's statistics file.
fn outcome(file: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(';').collect();
    let last: Vec<&str> = lines.last().unwrap_or("").split(';').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .and_then(|i| last.get(i)?.trim().parse().ok())
            .unwrap_or(0)
    };
    (column("SuccessfulCall(C)"), column("FailedCall(C)"))
}

#[test]
fn a_flood_of_calls_and_options_is_answered_and_a_real_call_still_works() {
    let pbx = pbx();
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", harness::peers::free_udp_port().unwrap());
    let mut cmd = Process::new(harness::paths::built_example("agent"));
    cmd.args(["--listen", &listen, "--auto-answer", "--echo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut agent = harness::process::ChildGuard::spawn("agent", &mut cmd).unwrap();
    let stdout = agent.take_stdout().unwrap();
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    // Its JSON lines are drained all along, so that its output never blocks it.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    lines
        .iter()
        .find(|l| l.contains(r#""event":"listening""#))
        .expect("the agent listens");
    let target: std::net::SocketAddr = listen.parse().unwrap();
    let pid = agent.pid();
    // A few calls first, so that "the start" has the code and buffers of a call in memory.
    let warm = harness::peers::SippServer::calling_with(
        &harness::peers::sipp_scenario("uac-flood-call"),
        target,
        "agent",
        &["-m", "20", "-r", "20"],
    )
    .unwrap();
    warm.finish(TIMEOUT).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let start_kib = rss_kib(pid);

    // Our own engine places a real call to the agent in the middle of the flood.
    let (mtx, _media_events) = std::sync::mpsc::channel();
    let engine = media::Engine::start(media::EngineConfig::headless(), mtx).unwrap();
    let media = Arc::new(MediaEngine {
        engine,
        source: AudioSource::Tone(852.0),
        record_dir: Some(dir.path().to_path_buf()),
    });
    let (handle, events) =
        sipcore::start(sipcore::EngineConfig::default(), media.clone(), None).unwrap();
    let mut ua = Ua::from_parts(handle, events);
    ua.register(&pbx);

    let started = Instant::now();
    let mut calls = flood("uac-flood-call", target, dir.path());
    let mut options = flood("uac-flood-options", target, dir.path());
    let mut peak_kib = start_kib;
    let sample = |peak: &mut u64| *peak = (*peak).max(rss_kib(pid));
    while started.elapsed() < Duration::from_secs(8) {
        sample(&mut peak_kib);
        std::thread::sleep(Duration::from_millis(100));
    }
    let id = CallId(1);
    ua.handle.send(Command::Dial {
        call: id,
        target: format!("sip:agent@{target}"),
    });
    ua.wait("the agent to answer during the flood", |e| {
        matches!(state_of(e, id), Some(CallState::Active { .. }))
    });
    let talk = Instant::now();
    while talk.elapsed() < Duration::from_secs(3) {
        sample(&mut peak_kib);
        std::thread::sleep(Duration::from_millis(100));
    }
    ua.handle.send(Command::HangUp(id));
    ua.wait("hung up", |e| {
        matches!(state_of(e, id), Some(CallState::Ended(_)))
    });
    for sipp in [&mut calls, &mut options] {
        while sipp.is_running() {
            sample(&mut peak_kib);
            std::thread::sleep(Duration::from_millis(100));
            assert!(
                started.elapsed() < Duration::from_secs(150),
                "the flood did not finish"
            );
        }
    }
    let flood_secs = started.elapsed().as_secs_f64();
    let (calls_ok, calls_failed) = outcome(&dir.path().join("uac-flood-call.csv"));
    let (options_ok, options_failed) = outcome(&dir.path().join("uac-flood-options.csv"));

    // Memory: back to where it started (a little slack for the allocator's own caches).
    // A minute after the flood, by which the stack's finished transactions (kept 32 s to
    // absorb retransmissions) are gone too.
    let settled = Instant::now();
    std::thread::sleep(Duration::from_secs(60));
    let end_kib = rss_kib(pid);
    println!(
        "flood: {calls_ok}/{EACH} calls and {options_ok}/{EACH} OPTIONS answered in {flood_secs:.1} s; \
         agent RSS start {start} KiB, peak {peak} KiB, after {after:.1} s {end} KiB",
        start = start_kib,
        peak = peak_kib,
        end = end_kib,
        after = settled.elapsed().as_secs_f64(),
    );
    assert_eq!(
        (calls_ok, calls_failed, options_ok, options_failed),
        (EACH as u64, 0, EACH as u64, 0),
        "every request of the flood answered"
    );
    assert!(
        end_kib <= start_kib + start_kib / 10 + 4096,
        "memory came back: {start_kib} KiB at the start, {end_kib} KiB a minute after"
    );
    let path = media.recording_path(id).unwrap();
    let pcm = harness::wait_for("the recording", TIMEOUT, || {
        media::ogg_opus::OggOpusReader::read_all(&path).ok()
    })
    .unwrap();
    assert!(
        has_tone(&pcm[pcm.len() / 2..], 48000, 852.0, &[440.0, 1000.0]),
        "the real call's audio came back from the echoing agent during the flood"
    );
    drop(lines);
}
