//! Our own presence from what the user does: online while they use the computer, away after a
//! while without input, online again on the next input. The window feeds it each frame and
//! sends the changes it returns; the backend publishes them (and online at sign-in, offline on
//! sign-out and quit).

use std::time::{Duration, Instant};

use crate::model::Presence;

/// How long without input before colleagues see "away": long enough that reading a long message
/// or listening on a call without touching anything does not flip it, short enough that nobody
/// rings an empty desk for long. Ten minutes is what common chat and softphone clients use.
pub const AWAY_AFTER: Duration = Duration::from_secs(10 * 60);

/// The presence to show for someone signed in whose last input was `idle` ago.
pub fn presence_after_idle(idle: Duration, away_after: Duration) -> Presence {
    if idle >= away_after {
        Presence::Away
    } else {
        Presence::Online
    }
}

/// Tracks the last input and what was last sent.
#[derive(Clone, Debug)]
pub struct IdleWatch {
    away_after: Duration,
    last_input: Instant,
    /// What the backend publishes now: online from sign-in.
    sent: Presence,
}

impl IdleWatch {
    /// Starts at sign-in (the backend publishes online then).
    pub fn new(away_after: Duration, now: Instant) -> Self {
        Self {
            away_after,
            last_input: now,
            sent: Presence::Online,
        }
    }

    /// One frame: `input` says whether the user did anything in it. Returns the presence to
    /// send when it changed.
    pub fn frame(&mut self, input: bool, now: Instant) -> Option<Presence> {
        if input {
            self.last_input = now;
        }
        let wanted = presence_after_idle(
            now.saturating_duration_since(self.last_input),
            self.away_after,
        );
        (wanted != self.sent).then(|| {
            self.sent = wanted;
            wanted
        })
    }

    /// When the window must draw again, even without input, to notice the user went away.
    pub fn next_check(&self, now: Instant) -> Option<Duration> {
        (self.sent == Presence::Online)
            .then(|| (self.last_input + self.away_after).saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn away_only_after_the_idle_time() {
        let ten = AWAY_AFTER;
        assert_eq!(presence_after_idle(Duration::ZERO, ten), Presence::Online);
        assert_eq!(
            presence_after_idle(ten - Duration::from_secs(1), ten),
            Presence::Online
        );
        assert_eq!(presence_after_idle(ten, ten), Presence::Away);
        assert_eq!(
            presence_after_idle(Duration::from_secs(3600), ten),
            Presence::Away
        );
    }

    #[test]
    fn goes_away_once_and_comes_back_on_input() {
        let t0 = Instant::now();
        let minute = Duration::from_secs(60);
        let mut w = IdleWatch::new(10 * minute, t0);
        assert_eq!(w.frame(false, t0), None);
        assert_eq!(w.next_check(t0), Some(10 * minute));
        assert_eq!(w.frame(true, t0 + 5 * minute), None);
        assert_eq!(w.next_check(t0 + 6 * minute), Some(9 * minute));
        assert_eq!(w.frame(false, t0 + 14 * minute), None);
        assert_eq!(w.frame(false, t0 + 15 * minute), Some(Presence::Away));
        assert_eq!(w.frame(false, t0 + 16 * minute), None, "said once");
        assert_eq!(w.next_check(t0 + 16 * minute), None, "nothing to wait for");
        assert_eq!(w.frame(true, t0 + 20 * minute), Some(Presence::Online));
        assert_eq!(w.frame(true, t0 + 21 * minute), None);
    }
}
