//! What the kernel reports about a running process: its CPU time and resident memory from
//! `/proc/PID/stat` and `/proc/PID/status`, and each thread's CPU time from
//! `/proc/PID/task/TID/schedstat`, to say which thread spent it.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as u64 } else { 100 }
}

/// Fields of a `/proc/.../stat` line from field 3 (state) on: the command name before it may
/// hold spaces and parentheses.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().collect())
}

/// User plus system CPU time of the whole process (every thread, live or exited), in the
/// kernel's clock ticks (10 ms).
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("process {pid} is gone"))?;
    let f = stat_fields(&stat).context("unreadable /proc stat line")?;
    // utime and stime are fields 14 and 15.
    let ticks: u64 = f[14 - 3].parse::<u64>()? + f[15 - 3].parse::<u64>()?;
    Ok(Duration::from_millis(
        ticks * 1000 / clock_ticks_per_second(),
    ))
}

/// A `kB` line of `/proc/PID/status`, such as `VmRSS` (resident now) or `VmHWM` (its peak).
pub fn status_kib(pid: u32, key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid} is gone"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {key} in /proc/{pid}/status"))
}

/// CPU time of each live thread (by thread id, with its name), in nanoseconds.
pub fn threads(pid: u32) -> HashMap<u32, (String, u64)> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let path = entry.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        out.insert(tid, (name.trim().to_string(), ns));
    }
    out
}

/// CPU time by thread name, largest first.
pub type ThreadTimes = Vec<(String, Duration)>;

/// CPU spent between two [`threads`] snapshots, summed by thread name, largest first.
pub fn threads_delta(
    before: &HashMap<u32, (String, u64)>,
    after: &HashMap<u32, (String, u64)>,
) -> ThreadTimes {
    let mut by_name: HashMap<String, u64> = HashMap::new();
    for (tid, (name, ns)) in after {
        let was = before.get(tid).map(|(_, ns)| *ns).unwrap_or(0);
        *by_name.entry(name.clone()).or_default() += ns.saturating_sub(was);
    }
    let mut v: Vec<(String, Duration)> = by_name
        .into_iter()
        .filter(|(_, ns)| *ns > 0)
        .map(|(n, ns)| (n, Duration::from_nanos(ns)))
        .collect();
    v.sort_by_key(|t| std::cmp::Reverse(t.1));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        assert!(status_kib(me, "VmRSS").unwrap() > 0);
        let t0 = cpu_time(me).unwrap();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(60) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(cpu_time(me).unwrap() > t0);
        assert!(!threads(me).is_empty());
    }

    #[test]
    fn thread_deltas_are_summed_by_name() {
        let before = HashMap::from([(1, ("ui".to_string(), 100)), (2, ("w".to_string(), 0))]);
        let after = HashMap::from([
            (1, ("ui".to_string(), 600)),
            (2, ("w".to_string(), 50)),
            (3, ("w".to_string(), 70)),
        ]);
        let d = threads_delta(&before, &after);
        assert_eq!(
            d,
            vec![
                ("ui".to_string(), Duration::from_nanos(500)),
                ("w".to_string(), Duration::from_nanos(120)),
            ]
        );
    }
}
