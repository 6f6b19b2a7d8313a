//! Which line is which: the current call, the ringing ones, and the merged groups. Plain
//! functions over the model so both call screens agree, and tests can call them.

use client::model::{Call, CallId, CallState, Direction};

/// Incoming calls still ringing, oldest first.
pub fn ringing(calls: &[Call]) -> impl Iterator<Item = &Call> {
    calls
        .iter()
        .filter(|c| c.direction == Direction::Incoming && c.state == CallState::Ringing)
}

/// The call the user is on: the active one, else the newest live outgoing or held one.
pub fn current(calls: &[Call]) -> Option<&Call> {
    calls
        .iter()
        .find(|c| c.state == CallState::Active)
        .or_else(|| {
            calls
                .iter()
                .rev()
                .find(|c| c.state.is_live() && c.state != CallState::Ringing)
        })
}

/// Live calls that are not ringing at us: the lines of the call view.
pub fn lines(calls: &[Call]) -> Vec<&Call> {
    calls
        .iter()
        .filter(|c| c.state.is_live() && c.state != CallState::Ringing)
        .collect()
}

/// Two lines that can be merged: the current one and another live line, both unmerged.
pub fn merge_pair(calls: &[Call]) -> Option<(CallId, CallId)> {
    let cur = current(calls)?;
    if cur.merged {
        return None;
    }
    let other = lines(calls)
        .into_iter()
        .find(|c| c.id != cur.id && !c.merged)?;
    Some((cur.id, other.id))
}

/// Every call merged with `id` (itself included), or just `id`.
pub fn merged_with(calls: &[Call], id: CallId) -> Vec<CallId> {
    if calls.iter().any(|c| c.id == id && c.merged) {
        calls
            .iter()
            .filter(|c| c.merged && c.state.is_live())
            .map(|c| c.id)
            .collect()
    } else {
        vec![id]
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn call(id: u64, state: CallState) -> Call {
        Call {
            id: CallId(id),
            direction: Direction::Outgoing,
            remote_name: None,
            remote_number: format!("10{id:02}"),
            state,
            answered_at: None,
            muted: false,
            held_by_remote: false,
            merged: false,
            quality: None,
            transfer: None,
            consult_for: None,
            queue: None,
        }
    }

    #[test]
    fn the_active_call_is_current_and_ringing_ones_are_not_lines() {
        let mut ring = call(3, CallState::Ringing);
        ring.direction = Direction::Incoming;
        let calls = vec![call(1, CallState::Held), call(2, CallState::Active), ring];
        assert_eq!(current(&calls).unwrap().id, CallId(2));
        assert_eq!(lines(&calls).len(), 2);
        assert_eq!(ringing(&calls).count(), 1);
        assert_eq!(merge_pair(&calls), Some((CallId(2), CallId(1))));
    }

    #[test]
    fn merged_calls_hang_up_together_and_cannot_merge_again() {
        let mut a = call(1, CallState::Active);
        let mut b = call(2, CallState::Active);
        a.merged = true;
        b.merged = true;
        let calls = vec![
            a,
            b,
            call(
                3,
                CallState::Ended {
                    reason: "Ended".into(),
                },
            ),
        ];
        assert_eq!(merged_with(&calls, CallId(2)), vec![CallId(1), CallId(2)]);
        assert_eq!(merged_with(&calls, CallId(3)), vec![CallId(3)]);
        assert_eq!(merge_pair(&calls), None);
    }
}
