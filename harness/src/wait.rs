//! Waiting for a condition with a deadline, instead of sleeping for a guessed time.

use std::time::{Duration, Instant};

/// Checks `probe` until it returns `Some`, or fails after `timeout` naming `what` was awaited.
/// The poll interval starts at 10 ms and doubles up to 200 ms, so fast conditions return fast.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    let mut interval = Duration::from_millis(10);
    loop {
        if let Some(v) = probe() {
            return Ok(v);
        }
        let now = Instant::now();
        if now >= deadline {
            anyhow::bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(interval.min(deadline - now));
        interval = (interval * 2).min(Duration::from_millis(200));
    }
}

/// The first message from `rx` that `pick` turns into a value, within `timeout`: for tests that
/// wait on an engine's event channel. Panics naming `what` when it does not come.
pub fn next_matching<E, T>(
    rx: &std::sync::mpsc::Receiver<E>,
    timeout: Duration,
    what: &str,
    mut pick: impl FnMut(&E) -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(e) => {
                if let Some(v) = pick(&e) {
                    return v;
                }
            }
            Err(_) => panic!("timed out after {timeout:?} waiting for {what}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_value_once_the_condition_holds() {
        let mut n = 0;
        let got = wait_for("n to reach 3", Duration::from_secs(5), || {
            n += 1;
            (n >= 3).then_some(n)
        })
        .unwrap();
        assert_eq!(got, 3);
    }

    #[test]
    fn names_what_it_waited_for_on_timeout() {
        let err = wait_for::<()>("never", Duration::from_millis(30), || None).unwrap_err();
        assert!(err.to_string().contains("waiting for never"), "{err}");
    }
}
