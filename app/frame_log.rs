//! Timings that `cargo xtask bench` reads from the running app: how long since the kernel
//! started this process, the CPU time of this thread, and (with `SWITCHBOARD_FRAME_LOG=PATH`)
//! one line per frame appended to PATH. Nothing here changes what the window draws.
//!
//! Frame lines are tab-separated: `screen`, `update_cpu_us` (CPU time of this thread in the
//! window's update, [`crate::window::Window::ui`]), `prev_frame_us` (eframe's timer for the whole
//! previous frame: update, tessellation and painting, without waiting for vsync; `-` on the first).

use std::fs::File;
use std::io::{LineWriter, Write};
use std::path::Path;
use std::time::Duration;

/// Time since the kernel started this process (its `starttime` in `/proc/self/stat`), so it
/// includes exec, dynamic linking and everything before `main`. The kernel keeps the start in
/// clock ticks (10 ms on Linux), so this reads up to one tick long.
pub fn since_process_start() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let start_ticks = parse_starttime(&stat)?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz <= 0 {
        return None;
    }
    // `starttime` counts from boot on CLOCK_BOOTTIME (Linux 5.3 and later).
    let now = clock(libc::CLOCK_BOOTTIME)?;
    let start = Duration::from_nanos(start_ticks.saturating_mul(1_000_000_000) / hz as u64);
    now.checked_sub(start)
}

/// CPU time this thread has used (user and system).
pub fn thread_cpu_time() -> Duration {
    clock(libc::CLOCK_THREAD_CPUTIME_ID).unwrap_or_default()
}

fn clock(id: libc::clockid_t) -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we pass.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return None;
    }
    Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// Field 22 of a `/proc/PID/stat` line. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from its closing parenthesis.
fn parse_starttime(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    // `rest` starts at field 3 (state); starttime is field 22.
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// Per-frame timings appended to a file, when `SWITCHBOARD_FRAME_LOG` names one.
pub struct FrameLog {
    out: LineWriter<File>,
}

impl FrameLog {
    pub fn from_env() -> Option<Self> {
        let path = std::env::var_os("SWITCHBOARD_FRAME_LOG")?;
        match Self::create(Path::new(&path)) {
            Ok(log) => Some(log),
            Err(e) => {
                tracing::warn!("frame log {}: {e}", Path::new(&path).display());
                None
            }
        }
    }

    pub fn create(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            out: LineWriter::new(file),
        })
    }

    pub fn record(&mut self, screen: &str, update_cpu: Duration, prev_frame: Option<f32>) {
        let prev = prev_frame
            .map(|s| format!("{:.0}", s * 1e6))
            .unwrap_or_else(|| "-".into());
        // A full disk must not stop the window; the bench notices missing lines.
        let _ = writeln!(self.out, "{screen}\t{}\t{prev}", update_cpu.as_micros());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starttime_is_found_after_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (my (odd) app) S 1 4242 4242 0 -1 4194560 500 0 0 0 7 3 0 0 20 0 \
                    5 0 987654 123456 789 18446744073709551615";
        assert_eq!(parse_starttime(stat), Some(987654));
    }

    #[test]
    fn this_process_started_a_moment_ago_and_uses_cpu() {
        let since = since_process_start().unwrap();
        assert!(since < Duration::from_secs(3600), "{since:?}");
        let t0 = thread_cpu_time();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        assert!(thread_cpu_time() > t0);
    }

    #[test]
    fn frame_lines_are_appended_with_tabs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frames.tsv");
        let mut log = FrameLog::create(&path).unwrap();
        log.record("contacts", Duration::from_micros(1234), None);
        log.record("call-view", Duration::from_micros(56), Some(0.002));
        drop(log);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "contacts\t1234\t-\ncall-view\t56\t2000\n"
        );
    }
}
