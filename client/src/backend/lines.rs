//! The calls, as the window shows them. The SIP engine owns each call's state, which calls are
//! held when another is answered or resumed, and the 3-way conference; this side mirrors what
//! it reports, adds what only the app knows (the contact's name, when the call started for My
//! Calls, mute, quality), and writes the history entry when a call ends.

use std::collections::HashMap;
use std::time::Instant;

use super::{Backend, now_ms};
use crate::command::Command;
use crate::convert;
use crate::event::Event;
use crate::model::{self, CallId, CallState, Direction};

/// The calls the window shows, by id; ids of calls we place are ours to choose.
pub(super) struct Lines {
    calls: HashMap<CallId, Line>,
    next_call: u64,
}

impl Default for Lines {
    fn default() -> Self {
        Self {
            calls: HashMap::new(),
            next_call: 1,
        }
    }
}

impl Lines {
    pub fn clear(&mut self) {
        self.calls.clear();
    }

    fn get(&self, id: CallId) -> Option<&model::Call> {
        self.calls.get(&id).map(|l| &l.call)
    }
}

/// One call: the window's copy, and when it started and was answered, for My Calls.
struct Line {
    call: model::Call,
    started_ms: i64,
    answered_ms: Option<i64>,
    /// When the backend took the dial command, for the set-up time it logs on answer.
    dialled_at: Option<Instant>,
}

impl Backend {
    pub(super) fn line_command(&mut self, c: Command) {
        let Some(s) = self.session.engines() else {
            return;
        };
        let media = s.media.clone();
        match c {
            Command::Answer(id) => {
                media.stop_ringing();
                self.sip(sipcore::Command::Answer(id));
            }
            Command::Decline(id) => {
                media.stop_ringing();
                self.sip(sipcore::Command::Reject {
                    call: id,
                    decline: false,
                });
            }
            Command::HangUp(id) => self.sip(sipcore::Command::HangUp(id)),
            Command::Hold(id) => self.sip(sipcore::Command::Hold(id)),
            Command::Resume(id) | Command::SwitchTo(id) => self.sip(sipcore::Command::Resume(id)),
            Command::SetMute(id, muted) => {
                self.sip(sipcore::Command::SetMute { call: id, muted });
                self.update_call(id, |c| c.muted = muted);
            }
            Command::SendDtmf(id, digit) => {
                // The user hears the key they pressed, as on a desk phone.
                media.play_tone(media::Tone::Dtmf(digit));
                self.sip(sipcore::Command::SendDtmf { call: id, digit })
            }
            Command::Transfer {
                call,
                target,
                attended: false,
            } => self.sip(sipcore::Command::Transfer { call, target }),
            // Attended: call the target first (the caller goes on hold); "Complete transfer"
            // on that consult call then hands the caller over.
            Command::Transfer {
                call,
                target,
                attended: true,
            } => self.place_call(target, Some(call)),
            Command::CompleteTransfer(consult) => {
                match self.lines.get(consult).and_then(|c| c.consult_for) {
                    Some(call) => self.sip(sipcore::Command::AttendedTransfer { call, consult }),
                    None => self.notice("That call is not a transfer consultation."),
                }
            }
            Command::Merge(a, b) => self.sip(sipcore::Command::Merge(vec![a, b])),
            Command::Split(keep) => self.sip(sipcore::Command::Split { keep }),
            _ => {}
        }
    }

    /// Dials `target` as a new line; the engine puts the call we are on on hold first.
    /// `consult_for` marks the call as the consultation of an attended transfer of that call.
    pub(super) fn place_call(&mut self, target: String, consult_for: Option<CallId>) {
        if self.session.engines().is_none() {
            return;
        }
        let id = CallId(self.lines.next_call);
        self.lines.next_call += 1;
        let mut call = model::Call::new(id, Direction::Outgoing, target.clone());
        call.consult_for = consult_for;
        self.track_call(call, Some(Instant::now()));
        self.sip(sipcore::Command::AddCall { call: id, target });
    }

    pub(super) fn incoming_call(&mut self, id: CallId, from: sipcore::Party) {
        if self.refused_by_do_not_disturb(id) {
            return;
        }
        let mut c = model::Call::new(id, Direction::Incoming, from.number.clone());
        c.remote_name = from.name.clone();
        c.queue = self.queue_ringing_me(&from.number);
        c.state = CallState::Ringing;
        self.track_call(c, None);
        self.answer_unanswered_later(id);
        // With calls handled on the desk phone, it rings; the app only shows the call.
        let desk = self
            .session
            .engines()
            .is_some_and(|s| s.settings.call_strategy.use_desk_phone);
        if !desk {
            self.ring();
        }
    }

    /// The far end of `call` handed us on: the new call is ours, like one we dialled.
    pub(super) fn transferred_by(
        &mut self,
        call: CallId,
        new_call: CallId,
        target: sipcore::Party,
    ) {
        let who = self
            .lines
            .get(call)
            .map(|c| c.display_name().to_string())
            .unwrap_or_default();
        let mut c = model::Call::new(new_call, Direction::Outgoing, target.number.clone());
        c.remote_name = target.name.clone();
        self.track_call(c, Some(Instant::now()));
        self.notice(format!("{who} transferred you to {}.", target.number));
    }

    pub(super) fn transfer_progress(&mut self, id: CallId, progress: model::TransferProgress) {
        self.update_call(id, |c| c.transfer = Some(progress));
    }

    /// The engine's conference changed: these calls are now the merged ones (none: no
    /// conference).
    pub(super) fn conference(&mut self, members: Vec<CallId>) {
        let changed: Vec<CallId> = self
            .lines
            .calls
            .values_mut()
            .filter_map(|l| {
                let merged = members.contains(&l.call.id);
                (l.call.merged != merged).then(|| {
                    l.call.merged = merged;
                    l.call.id
                })
            })
            .collect();
        for id in changed {
            self.update_call(id, |_| {});
        }
    }

    /// A call's quality, about once a second. The window repaints every second while a call
    /// is live (its timer), so it reads this then rather than being woken for a second frame
    /// a second.
    pub(super) fn quality(&mut self, id: CallId, quality: model::Quality) {
        if let Some(l) = self.lines.calls.get_mut(&id) {
            l.call.quality = Some(quality);
            let c = l.call.clone();
            self.emit_unhurried(Event::Call(Box::new(c)));
        }
    }

    /// The manager interface says a queue is ringing the user with a call from this number:
    /// the ringing call from it, if it came first, is marked with the queue.
    pub(super) fn tag_queue_call(&mut self, caller_number: &str) {
        let Some(queue) = self.queue_ringing_me(caller_number) else {
            return;
        };
        let ringing = self.lines.calls.values().find(|l| {
            l.call.direction == Direction::Incoming
                && l.call.state == CallState::Ringing
                && l.call.remote_number == caller_number
                && l.call.queue.is_none()
        });
        if let Some(id) = ringing.map(|l| l.call.id) {
            self.update_call(id, |c| c.queue = Some(queue));
        }
    }

    /// Changes one call and shows it again.
    fn update_call(&mut self, id: CallId, change: impl FnOnce(&mut model::Call)) {
        if let Some(l) = self.lines.calls.get_mut(&id) {
            change(&mut l.call);
            let c = l.call.clone();
            self.emit(Event::Call(Box::new(c)));
        }
    }

    pub(super) fn call_state(&mut self, id: CallId, state: sipcore::CallState) {
        let Some(media) = self.session.engines().map(|s| s.media.clone()) else {
            return;
        };
        let Some(l) = self.lines.calls.get_mut(&id) else {
            return;
        };
        match state {
            sipcore::CallState::Ringing { early_media: false } => {
                media.play_tone(media::Tone::Ringback)
            }
            sipcore::CallState::Active { .. } if l.answered_ms.is_none() => {
                media.stop_tone();
                media.stop_ringing();
                l.answered_ms = Some(now_ms());
                l.call.answered_at = Some(Instant::now());
                if let Some(dialled) = l.dialled_at {
                    tracing::info!(
                        call = id.0,
                        setup_ms = dialled.elapsed().as_secs_f64() * 1000.0,
                        "call answered"
                    );
                }
            }
            sipcore::CallState::Ended(reason) => return self.call_ended(id, reason),
            _ => {}
        }
        let (state, held_by_remote) = convert::call_state(&state);
        self.update_call(id, |c| {
            c.state = state;
            c.held_by_remote = held_by_remote;
        });
    }

    /// A call is over: it leaves the lines and enters My Calls.
    fn call_ended(&mut self, id: CallId, reason: sipcore::EndReason) {
        if let Some(l) = self.lines.calls.remove(&id) {
            self.close_line(l, &reason.to_string(), Some(&reason));
        }
    }

    /// A call still ringing here goes to the answering machine: it leaves the lines (the
    /// ringing stops) and enters My Calls as missed. The call as it was shown, if it rang.
    pub(super) fn line_to_voicemail(&mut self, id: CallId) -> Option<model::Call> {
        let ringing = self
            .lines
            .calls
            .get(&id)
            .is_some_and(|l| l.call.state == CallState::Ringing && l.answered_ms.is_none());
        let l = self.lines.calls.remove(&id).filter(|_| ringing)?;
        let call = l.call.clone();
        self.close_line(l, "Sent to voicemail", None);
        Some(call)
    }

    /// Writes a line that left into My Calls, and tells the window. `failed` is why a call we
    /// placed ended, to be said when it never got through.
    fn close_line(&mut self, l: Line, result: &str, failed: Option<&sipcore::EndReason>) {
        let id = l.call.id;
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        s.media.stop_tone();
        if l.call.direction == Direction::Incoming && l.answered_ms.is_none() {
            s.media.stop_ringing();
        }
        let kind = match (l.call.direction, l.answered_ms) {
            (Direction::Outgoing, _) => storage::CallKind::Outgoing,
            (Direction::Incoming, Some(_)) => storage::CallKind::Incoming,
            (Direction::Incoming, None) => storage::CallKind::Missed,
        };
        let entry = storage::NewHistoryEntry {
            kind,
            remote_name: l.call.remote_name.clone(),
            remote_number: l.call.remote_number.clone(),
            started_at: l.started_ms,
            answered_at: l.answered_ms,
            ended_at: now_ms(),
            result: result.to_string(),
            account: s.account.aor(),
            quality_mos: l.call.quality.map(|q| q.mos),
            queue: l.call.queue.clone(),
        };
        let saved = s.store.add_history(&entry);
        tracing::info!(call = id.0, %result, "call ended");
        self.emit(Event::CallRemoved(id));
        if let Some(reason) = failed {
            let outgoing_failed = l.call.direction == Direction::Outgoing
                && l.answered_ms.is_none()
                && !matches!(reason, sipcore::EndReason::Cancelled);
            if outgoing_failed {
                self.notice(format!("Call to {}: {reason}", l.call.display_name()));
            }
        }
        if let Err(e) = saved {
            self.notice(e.to_string());
        }
        self.send_history();
    }

    /// Starts keeping a call and shows it.
    fn track_call(&mut self, mut call: model::Call, dialled_at: Option<Instant>) {
        // A number dialled, or a caller who sent no name, is named after the contact with that
        // number, on every screen and in My Calls.
        if call.remote_name.is_none()
            && let Some(s) = self.session.engines()
        {
            match s.store.contact_for_number(&call.remote_number) {
                Ok(contact) => call.remote_name = contact.map(|c| c.name),
                Err(e) => tracing::warn!("cannot look up the caller's contact: {e}"),
            }
        }
        self.lines.calls.insert(
            call.id,
            Line {
                call: call.clone(),
                started_ms: now_ms(),
                answered_ms: None,
                dialled_at,
            },
        );
        self.emit(Event::Call(Box::new(call)));
    }
}
