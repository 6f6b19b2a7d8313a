//! Several calls at once: which ones we are talking on, and the 3-way conference our media
//! engine mixes.

use super::Core;
use crate::event::CallId;

impl Core {
    /// The calls we are talking on: answered and not held by us (nor on the way to it).
    pub(super) fn talking(&self) -> Vec<CallId> {
        self.calls
            .iter()
            .filter(|(_, c)| c.phase.is_active() && !c.phase.holding())
            .map(|(id, _)| *id)
            .collect()
    }

    /// Mixes these calls into one conference, replacing any earlier one.
    pub(super) fn merge(&mut self, mut calls: Vec<CallId>) {
        calls.sort();
        calls.dedup();
        calls.retain(|c| self.calls.contains_key(c));
        if calls.len() < 2 {
            return;
        }
        self.merged = calls;
        self.media.conference(&self.merged);
    }

    pub(super) fn split(&mut self) {
        let members = std::mem::take(&mut self.merged);
        if !members.is_empty() {
            self.media.split(&members);
        }
    }
}
