//! Several calls at once, with one owner for the policy: which calls we are talking on, which
//! go on hold when another line gets our attention ([`to_hold`], the only place that decides
//! it), and the 3-way conference our media engine mixes, reported to the app as
//! [`Event::Conference`] whenever its members change.

use super::Core;
use crate::event::{CallId, Event};

/// The calls to put on hold so that we talk only on `focus` (and the conference it is in):
/// every call in `talking` except those. With no focus (a new call about to be dialled), all
/// of them.
pub(super) fn to_hold(
    talking: &[CallId],
    conference: &[CallId],
    focus: Option<CallId>,
) -> Vec<CallId> {
    let with_focus = |c: &CallId| {
        focus.is_some_and(|f| *c == f || (conference.contains(&f) && conference.contains(c)))
    };
    let mut hold: Vec<CallId> = talking.iter().copied().filter(|c| !with_focus(c)).collect();
    hold.sort();
    hold
}

impl Core {
    /// The calls we are talking on: answered and not held by us (nor on the way to it).
    pub(super) fn talking(&self) -> Vec<CallId> {
        self.calls
            .iter()
            .filter(|(_, c)| c.phase.is_active() && !c.phase.holding())
            .map(|(id, _)| *id)
            .collect()
    }

    /// Puts on hold every call that would talk over `focus` (see [`to_hold`]).
    pub(super) fn hold_others(&mut self, focus: Option<CallId>) {
        for other in to_hold(&self.talking(), &self.merged, focus) {
            self.set_hold(other, true);
        }
    }

    /// Mixes these calls into one conference, replacing any earlier one; a member we hold is
    /// resumed first, as the user expects to talk to all of them.
    pub(super) fn merge(&mut self, mut calls: Vec<CallId>) {
        calls.sort();
        calls.dedup();
        calls.retain(|c| self.calls.contains_key(c));
        if calls.len() < 2 {
            return;
        }
        for &c in &calls {
            self.set_hold(c, false);
        }
        self.merged = calls;
        self.media.conference(&self.merged);
        self.conference_changed();
    }

    /// Unmixes the conference: `keep` stays the line we talk on, the other former members go
    /// on hold.
    pub(super) fn split(&mut self, keep: CallId) {
        let members = std::mem::take(&mut self.merged);
        if members.is_empty() {
            return;
        }
        self.media.split(&members);
        self.conference_changed();
        for m in members {
            if m != keep {
                self.set_hold(m, true);
            }
        }
    }

    /// The conference's members, if `call` is one of them; the conference is then over.
    pub(super) fn end_conference_of(&mut self, call: CallId) -> Option<Vec<CallId>> {
        if !self.merged.contains(&call) {
            return None;
        }
        let members = std::mem::take(&mut self.merged);
        self.media.split(&members);
        self.conference_changed();
        Some(members)
    }

    /// `call` has ended: a conference of one is no conference, the other party stays, unmixed.
    pub(super) fn leave_conference(&mut self, call: CallId) {
        if !self.merged.contains(&call) {
            return;
        }
        self.merged.retain(|c| *c != call);
        if self.merged.len() < 2 {
            let rest = std::mem::take(&mut self.merged);
            self.media.split(&rest);
        }
        self.conference_changed();
    }

    fn conference_changed(&self) {
        self.events.emit(Event::Conference {
            members: self.merged.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: CallId = CallId(1);
    const B: CallId = CallId(2);
    const C: CallId = CallId(3);

    #[test]
    fn answering_or_resuming_a_line_holds_every_other_one() {
        assert_eq!(to_hold(&[A, B], &[], Some(C)), vec![A, B]);
        // The line itself is never held.
        assert_eq!(to_hold(&[B, A], &[], Some(A)), vec![B]);
        assert_eq!(to_hold(&[], &[], Some(A)), Vec::<CallId>::new());
    }

    #[test]
    fn the_conference_of_the_focus_stays_together() {
        // Resuming A, merged with B: B stays; C, talking alone, goes on hold.
        assert_eq!(to_hold(&[A, B, C], &[A, B], Some(A)), vec![C]);
        // Focus on C, outside the conference: both members go on hold.
        assert_eq!(to_hold(&[A, B], &[A, B], Some(C)), vec![A, B]);
    }

    #[test]
    fn a_new_call_holds_everyone_merged_or_not() {
        assert_eq!(to_hold(&[C, A, B], &[A, B], None), vec![A, B, C]);
    }
}
