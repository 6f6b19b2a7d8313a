//! Subscriptions to event packages (RFC 6665). The busy lamp (`dialog`, RFC 4235), presence
//! (`presence`, PIDF RFC 3863) and message waiting (`message-summary`, RFC 3842) are three
//! packages of one machine, [`Subscriptions`]. It decides what to send and when: it paces new
//! SUBSCRIBEs so that a directory of 500 contacts does not flood the server, refreshes each
//! subscription before it expires, resubscribes with backoff after a failure or a terminated
//! NOTIFY, and turns NOTIFY bodies into events.
//!
//! It does no I/O: time comes in as an `Instant`, and what to do goes out as [`Action`]s that
//! the engine carries out (sending the requests, removing dialogs, emitting events). The
//! answers come back through [`Subscriptions::answered`], [`Subscriptions::refreshed`] and
//! [`Subscriptions::notified`]. So every rule here is tested without a network.
//!
//! Guarantees: at most `in_flight` requests outstanding and `per_second` sent on average
//! (refreshes and unsubscribes included); a malformed body never produces an event (it is
//! logged and the last state stays); every dialog a subscription used is handed back with
//! [`Action::Forget`] once it is over.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use rsipstack::dialog::DialogId;
use tracing::{debug, info, warn};

use crate::bodies::dialog_info;
use crate::bodies::message_summary;
use crate::bodies::pidf::{self, Availability};
use crate::event::Event;

/// An event package we subscribe to. The order is the order new subscriptions go out in:
/// the own mailbox first, then every contact's phone status, then presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Package {
    MessageSummary,
    Dialog,
    Presence,
}

impl Package {
    /// The `Event` header value.
    pub fn event(self) -> &'static str {
        match self {
            Package::MessageSummary => "message-summary",
            Package::Dialog => "dialog",
            Package::Presence => "presence",
        }
    }

    /// The body type we ask for (`Accept`) and read.
    pub fn body_type(self) -> &'static str {
        match self {
            Package::MessageSummary => "application/simple-message-summary",
            Package::Dialog => "application/dialog-info+xml",
            Package::Presence => "application/pidf+xml",
        }
    }
}

/// One subscription: a package for a resource (an extension, or our own user for the mailbox).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub package: Package,
    pub resource: String,
}

impl Key {
    fn new(package: Package, resource: &str) -> Self {
        Self {
            package,
            resource: resource.to_string(),
        }
    }
}

/// How hard we may press the server, and for how long we ask each subscription to last.
#[derive(Clone, Debug)]
pub struct Pacing {
    /// The lifetime asked for in each SUBSCRIBE, in seconds; the server may grant less.
    pub expires: u32,
    /// Requests per second on average (new subscriptions, refreshes and unsubscribes).
    pub per_second: f64,
    /// How many may go at once after a quiet spell.
    pub burst: f64,
    /// Requests waiting for their answer at most at once.
    pub in_flight: usize,
    /// Extensions watched at most; the rest of a longer list is left out, so the list's order
    /// says who comes first. Every one costs two subscriptions refreshed for ever: 10,000
    /// would need 33 refreshes a second at 600 s, more than `per_second`, and the engine
    /// would never rest.
    pub most_watched: usize,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            expires: 600,
            per_second: 8.0,
            burst: 4.0,
            in_flight: 4,
            most_watched: 200,
        }
    }
}

/// What the engine is to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send a new SUBSCRIBE outside any dialog with this Call-ID; its outcome comes back
    /// through [`Subscriptions::answered`].
    Subscribe {
        key: Key,
        call_id: String,
        expires: u32,
    },
    /// Refresh in the dialog; the outcome comes back through [`Subscriptions::refreshed`].
    Refresh {
        dialog: DialogId,
        package: Package,
        expires: u32,
    },
    /// SUBSCRIBE with `Expires: 0` in the dialog; the outcome comes back through
    /// [`Subscriptions::refreshed`], the final NOTIFY through [`Subscriptions::notified`].
    Unsubscribe {
        dialog: DialogId,
        package: Package,
    },
    /// The dialog is over: remove it from the dialog layer.
    Forget(DialogId),
    Emit(Event),
}

/// How the server answered a SUBSCRIBE.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// 2xx; `dialog` is the subscription's dialog (the engine has created it for a new one).
    Accepted {
        dialog: DialogId,
        expires: Option<u32>,
    },
    /// A final error response, with what it says about trying again.
    Refused {
        code: u16,
        min_expires: Option<u32>,
        retry_after: Option<u32>,
    },
    /// No answer at all (timeout, transport error), in words for the log.
    Unanswered(String),
}

/// The `Subscription-State` header (RFC 6665 §8.2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscriptionState {
    Active {
        expires: Option<u32>,
    },
    Pending {
        expires: Option<u32>,
    },
    Terminated {
        reason: Option<String>,
        retry_after: Option<u32>,
    },
}

impl SubscriptionState {
    /// `active;expires=599`, `terminated;reason=timeout`, … `None` for what is none of them.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split(';').map(str::trim);
        let state = parts.next()?.to_ascii_lowercase();
        let mut expires = None;
        let mut reason = None;
        let mut retry_after = None;
        for p in parts {
            let (name, v) = p.split_once('=').unwrap_or((p, ""));
            let v = v.trim().trim_matches('"');
            match name.trim().to_ascii_lowercase().as_str() {
                "expires" => expires = v.parse().ok(),
                "reason" => reason = Some(v.to_ascii_lowercase()),
                "retry-after" => retry_after = v.parse().ok(),
                _ => {}
            }
        }
        match state.as_str() {
            "active" => Some(Self::Active { expires }),
            "pending" => Some(Self::Pending { expires }),
            "terminated" => Some(Self::Terminated {
                reason,
                retry_after,
            }),
            _ => None,
        }
    }
}

/// How long to wait before asking again after a refusal that may not last (no such hint yet).
const REFUSED_RETRY: Duration = Duration::from_secs(600);
/// The longest backoff after failures in a row.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long to wait for the final NOTIFY after an unsubscribe before forgetting the dialog.
const FINAL_NOTIFY_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, PartialEq)]
enum State {
    /// Waiting for its turn to send a new SUBSCRIBE.
    Queued,
    /// The first SUBSCRIBE is out with this Call-ID.
    Subscribing { call_id: String },
    Active {
        dialog: DialogId,
        refresh_at: Instant,
    },
    /// A refresh is out in the dialog.
    Refreshing { dialog: DialogId },
    /// Backing off after a failure.
    Waiting { until: Instant },
    /// The server will not serve it; not asked again until the next sign-in.
    Refused,
}

struct Entry {
    /// When it was asked for: earlier ones go first.
    seq: u64,
    state: State,
    /// The lifetime to ask for (raised by a 423's Min-Expires).
    expires: u32,
    /// Failures in a row, for the backoff.
    failures: u32,
    /// The last dialog-info version applied in this subscription (RFC 4235 §4.1).
    version: Option<u64>,
}

/// A dialog on its way out: unsubscribed (or about to be), waiting for the final NOTIFY.
struct Leaving {
    package: Package,
    sent: bool,
    /// Set once the unsubscribe was answered: forget the dialog then at the latest.
    give_up_at: Option<Instant>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Support {
    Unknown,
    Yes,
    No,
}

/// Every subscription of one account.
pub struct Subscriptions {
    pacing: Pacing,
    entries: HashMap<Key, Entry>,
    /// Call-ID of a first SUBSCRIBE still out → its subscription.
    pending: HashMap<String, Key>,
    /// Dialog of a live subscription → the subscription.
    by_dialog: HashMap<DialogId, Key>,
    leaving: HashMap<DialogId, Leaving>,
    /// The extensions to watch, in the order given.
    watched: Vec<String>,
    /// Our own user, whose mailbox we watch.
    mailbox: Option<String>,
    /// New SUBSCRIBEs need a registration: the server must know us and our credentials.
    ready: bool,
    /// Whether the server answers `Event: presence` at all (489 Bad Event says no).
    presence: Support,
    tokens: f64,
    refilled: Instant,
    next_seq: u64,
    call_id_prefix: u64,
    next_call_id: u64,
}

impl Subscriptions {
    pub fn new(pacing: Pacing, now: Instant) -> Self {
        Self {
            tokens: pacing.burst,
            pacing,
            entries: HashMap::new(),
            pending: HashMap::new(),
            by_dialog: HashMap::new(),
            leaving: HashMap::new(),
            watched: Vec::new(),
            mailbox: None,
            ready: false,
            presence: Support::Unknown,
            refilled: now,
            next_seq: 0,
            call_id_prefix: rand::random(),
            next_call_id: 0,
        }
    }

    /// Whether NOTIFYs in this dialog are ours to read.
    pub fn owns(&self, dialog: &DialogId) -> bool {
        self.by_dialog.contains_key(dialog) || self.leaving.contains_key(dialog)
    }

    /// Whether a first SUBSCRIBE with this Call-ID is still waiting for its answer (its first
    /// NOTIFY often comes before the 2xx).
    pub fn is_pending(&self, call_id: &str) -> bool {
        self.pending.contains_key(call_id)
    }

    /// Watch these extensions' phone status and presence from now on; the ones no longer
    /// listed are unsubscribed.
    pub fn watch(&mut self, extensions: Vec<String>, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut list: Vec<String> = Vec::new();
        for e in extensions {
            let e = e.trim();
            if !e.is_empty() && seen.insert(e.to_string()) {
                list.push(e.to_string());
            }
        }
        if list.len() > self.pacing.most_watched {
            info!(
                asked = list.len(),
                watched = self.pacing.most_watched,
                "watching only the first extensions of a long list"
            );
            list.truncate(self.pacing.most_watched);
            seen = list.iter().cloned().collect();
        }
        let gone: Vec<Key> = self
            .entries
            .keys()
            .filter(|k| k.package != Package::MessageSummary && !seen.contains(&k.resource))
            .cloned()
            .collect();
        for key in gone {
            self.drop_entry(&key);
        }
        self.watched = list;
        self.ensure_watched();
        self.pump(now, &mut out);
        out
    }

    /// Watch this user's mailbox (our own), or none.
    pub fn set_mailbox(&mut self, user: Option<String>, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.mailbox != user {
            if let Some(old) = self.mailbox.take() {
                self.drop_entry(&Key::new(Package::MessageSummary, &old));
            }
            self.mailbox = user;
            self.ensure_watched();
        }
        self.pump(now, &mut out);
        out
    }

    /// Registration lost (or not there yet): new subscriptions wait. Live ones go on.
    pub fn pause(&mut self) {
        self.ready = false;
    }

    /// Registered after being unregistered (the first time, or back after a loss): the
    /// server may have forgotten us, so every subscription starts afresh. The old dialogs are
    /// forgotten, not unsubscribed; a NOTIFY still sent in one gets a 481 and ends it.
    pub fn registered(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        self.ready = true;
        for (dialog, _) in self.by_dialog.drain() {
            out.push(Action::Forget(dialog));
        }
        // First SUBSCRIBEs still out become orphans: accepted, they are unsubscribed at once.
        self.entries.clear();
        self.presence = Support::Unknown;
        self.ensure_watched();
        self.pump(now, &mut out);
        out
    }

    /// Everything unsubscribed at once, unpaced: the engine is shutting down and has only a
    /// moment. No NOTIFY is waited for.
    pub fn stop_all(&mut self) -> Vec<Action> {
        self.watched.clear();
        self.mailbox = None;
        self.ready = false;
        let keys: Vec<Key> = self.entries.keys().cloned().collect();
        for key in keys {
            self.drop_entry(&key);
        }
        self.leaving
            .iter_mut()
            .filter(|(_, l)| !l.sent)
            .map(|(dialog, l)| {
                l.sent = true;
                Action::Unsubscribe {
                    dialog: dialog.clone(),
                    package: l.package,
                }
            })
            .collect()
    }

    /// The answer to a first SUBSCRIBE.
    pub fn answered(&mut self, call_id: &str, answer: Answer, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(key) = self.pending.remove(call_id) else {
            return out;
        };
        let current = self
            .entries
            .get(&key)
            .is_some_and(|e| matches!(&e.state, State::Subscribing { call_id: c } if c == call_id));
        if !current {
            // Unwatched (or restarted) while it was out: end what it started.
            if let Answer::Accepted { dialog, .. } = answer {
                self.leave(dialog, key.package);
            }
            self.pump(now, &mut out);
            return out;
        }
        match answer {
            Answer::Accepted { dialog, expires } => {
                debug!(package = key.package.event(), resource = %key.resource, "subscribed");
                if key.package == Package::Presence {
                    self.presence = Support::Yes;
                }
                self.activate(&key, dialog, expires, now);
            }
            Answer::Refused {
                code,
                min_expires,
                retry_after,
            } => self.refused(&key, code, min_expires, retry_after, now),
            Answer::Unanswered(why) => {
                warn!(package = key.package.event(), resource = %key.resource, "SUBSCRIBE not answered: {why}");
                self.back_off(&key, None, now);
            }
        }
        self.pump(now, &mut out);
        out
    }

    /// The answer to a refresh or an unsubscribe in `dialog`.
    pub fn refreshed(&mut self, dialog: &DialogId, answer: Answer, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(l) = self.leaving.get_mut(dialog) {
            if matches!(answer, Answer::Accepted { .. }) {
                l.give_up_at = Some(now + FINAL_NOTIFY_WAIT);
            } else {
                self.leaving.remove(dialog);
                out.push(Action::Forget(dialog.clone()));
            }
            self.pump(now, &mut out);
            return out;
        }
        let Some(key) = self.by_dialog.get(dialog).cloned() else {
            return out;
        };
        let refreshing = self
            .entries
            .get(&key)
            .is_some_and(|e| matches!(&e.state, State::Refreshing { dialog: d } if d == dialog));
        if !refreshing {
            return out;
        }
        match answer {
            Answer::Accepted { expires, .. } => self.activate(&key, dialog.clone(), expires, now),
            Answer::Refused {
                code: 423,
                min_expires: Some(min),
                ..
            } => {
                if let Some(e) = self.entries.get_mut(&key) {
                    e.expires = e.expires.max(min);
                    e.state = State::Active {
                        dialog: dialog.clone(),
                        refresh_at: now,
                    };
                }
            }
            other => {
                // 481 and kin: the server no longer has it. Start a new one.
                self.by_dialog.remove(dialog);
                out.push(Action::Forget(dialog.clone()));
                match other {
                    Answer::Refused { code: 481, .. } => {
                        info!(package = key.package.event(), resource = %key.resource, "subscription gone at the server; subscribing again");
                        self.requeue(&key);
                    }
                    Answer::Refused {
                        code, retry_after, ..
                    } => {
                        warn!(package = key.package.event(), resource = %key.resource, code, "refresh refused");
                        self.back_off(&key, retry_after, now);
                    }
                    Answer::Unanswered(why) => {
                        warn!(package = key.package.event(), resource = %key.resource, "refresh not answered: {why}");
                        self.back_off(&key, None, now);
                    }
                    Answer::Accepted { .. } => {}
                }
            }
        }
        self.pump(now, &mut out);
        out
    }

    /// A NOTIFY in `dialog` (the engine has answered it). `state` is its Subscription-State.
    pub fn notified(
        &mut self,
        dialog: &DialogId,
        state: &SubscriptionState,
        content_type: Option<&str>,
        body: &[u8],
        now: Instant,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if self.leaving.contains_key(dialog) {
            if matches!(state, SubscriptionState::Terminated { .. }) {
                self.leaving.remove(dialog);
                out.push(Action::Forget(dialog.clone()));
                self.pump(now, &mut out);
            }
            return out;
        }
        let Some(key) = self.by_dialog.get(dialog).cloned() else {
            return out;
        };
        if !body.is_empty() {
            self.read_body(&key, content_type, body, &mut out);
        }
        match state {
            SubscriptionState::Active { expires } | SubscriptionState::Pending { expires } => {
                // The notifier may shorten the subscription (RFC 6665 §4.1.2.4).
                if let (Some(granted), Some(e)) = (expires, self.entries.get_mut(&key))
                    && let State::Active { refresh_at, .. } = &mut e.state
                {
                    *refresh_at = (*refresh_at).min(now + refresh_after(*granted));
                }
            }
            SubscriptionState::Terminated {
                reason,
                retry_after,
            } => {
                self.by_dialog.remove(dialog);
                out.push(Action::Forget(dialog.clone()));
                let reason = reason.as_deref().unwrap_or("");
                info!(package = key.package.event(), resource = %key.resource, reason, "subscription ended by the server");
                // RFC 6665 §4.1.3: what each reason says about trying again.
                match reason {
                    "deactivated" | "timeout" => self.requeue(&key),
                    "rejected" | "noresource" | "invariant" => {
                        self.refused(&key, 403, None, None, now)
                    }
                    _ => self.back_off(&key, *retry_after, now),
                }
            }
        }
        self.pump(now, &mut out);
        out
    }

    /// Time has passed: whatever is due goes out.
    pub fn tick(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        for e in self.entries.values_mut() {
            if matches!(e.state, State::Waiting { until } if until <= now) {
                e.state = State::Queued;
            }
        }
        let expired: Vec<DialogId> = self
            .leaving
            .iter()
            .filter(|(_, l)| l.give_up_at.is_some_and(|t| t <= now))
            .map(|(d, _)| d.clone())
            .collect();
        for d in expired {
            debug!(dialog = %d, "no final NOTIFY after unsubscribing; forgetting the dialog");
            self.leaving.remove(&d);
            out.push(Action::Forget(d));
        }
        self.pump(now, &mut out);
        out
    }

    /// When [`Subscriptions::tick`] should run next, if anything waits for time.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut earliest = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for e in self.entries.values() {
            match e.state {
                State::Active { refresh_at, .. } => earliest(refresh_at),
                State::Waiting { until } => earliest(until),
                _ => {}
            }
        }
        for l in self.leaving.values() {
            if let Some(t) = l.give_up_at {
                earliest(t);
            }
        }
        if self.tokens < 1.0 && self.in_flight() < self.pacing.in_flight && self.has_work() {
            let wait = (1.0 - self.tokens) / self.pacing.per_second.max(0.001);
            earliest(self.refilled + Duration::from_secs_f64(wait) + Duration::from_millis(1));
        }
        next
    }

    // ── Inside ──────────────────────────────────────────────────────────

    /// Adds entries for what is watched and not yet subscribed.
    fn ensure_watched(&mut self) {
        let mut keys = Vec::new();
        if let Some(user) = &self.mailbox {
            keys.push(Key::new(Package::MessageSummary, user));
        }
        for ext in &self.watched {
            keys.push(Key::new(Package::Dialog, ext));
            if self.presence != Support::No {
                keys.push(Key::new(Package::Presence, ext));
            }
        }
        for key in keys {
            if !self.entries.contains_key(&key) {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.entries.insert(
                    key,
                    Entry {
                        seq,
                        state: State::Queued,
                        expires: self.pacing.expires,
                        failures: 0,
                        version: None,
                    },
                );
            }
        }
    }

    /// Stops one subscription: its dialog, if any, is unsubscribed.
    fn drop_entry(&mut self, key: &Key) {
        let Some(e) = self.entries.remove(key) else {
            return;
        };
        match e.state {
            State::Active { dialog, .. } | State::Refreshing { dialog } => {
                self.by_dialog.remove(&dialog);
                self.leave(dialog, key.package);
            }
            // Its answer finds no entry and unsubscribes what it started.
            State::Subscribing { .. } => {}
            State::Queued | State::Waiting { .. } | State::Refused => {}
        }
    }

    fn leave(&mut self, dialog: DialogId, package: Package) {
        self.leaving.insert(
            dialog,
            Leaving {
                package,
                sent: false,
                give_up_at: None,
            },
        );
    }

    fn activate(&mut self, key: &Key, dialog: DialogId, expires: Option<u32>, now: Instant) {
        let Some(e) = self.entries.get_mut(key) else {
            return;
        };
        let granted = expires.unwrap_or(e.expires).max(1);
        if !matches!(&e.state, State::Refreshing { dialog: d } if *d == dialog) {
            e.version = None;
        }
        e.failures = 0;
        e.state = State::Active {
            dialog: dialog.clone(),
            refresh_at: now + refresh_after(granted),
        };
        self.by_dialog.insert(dialog, key.clone());
    }

    fn requeue(&mut self, key: &Key) {
        if let Some(e) = self.entries.get_mut(key) {
            e.state = State::Queued;
        }
    }

    /// Waits before trying again: `retry_after` when the server said, else doubling from 2 s
    /// up to five minutes, with ±20 % jitter so that many subscriptions do not return as one.
    fn back_off(&mut self, key: &Key, retry_after: Option<u32>, now: Instant) {
        let Some(e) = self.entries.get_mut(key) else {
            return;
        };
        e.failures = e.failures.saturating_add(1);
        let wait = match retry_after {
            Some(s) => Duration::from_secs(u64::from(s)),
            None => {
                let base = Duration::from_secs(2) * 2u32.saturating_pow(e.failures.min(16) - 1);
                base.min(MAX_BACKOFF)
                    .mul_f64(0.8 + 0.4 * rand::random::<f64>())
            }
        };
        e.state = State::Waiting { until: now + wait };
    }

    /// A final refusal of a first SUBSCRIBE (or a NOTIFY that ended it for good).
    fn refused(
        &mut self,
        key: &Key,
        code: u16,
        min_expires: Option<u32>,
        retry_after: Option<u32>,
        now: Instant,
    ) {
        let resource = key.resource.as_str();
        match (code, key.package) {
            (423, _) => {
                // Interval Too Brief: ask again at once for what the server wants.
                if let Some(e) = self.entries.get_mut(key) {
                    e.expires = e.expires.max(min_expires.unwrap_or(e.expires * 2));
                    e.state = State::Queued;
                }
            }
            (489, Package::Presence) => {
                info!(
                    "the server has no presence (489 Bad Event); availability follows the phone status"
                );
                self.presence = Support::No;
                let unasked: Vec<Key> = self
                    .entries
                    .iter()
                    .filter(|(k, e)| {
                        k.package == Package::Presence
                            && matches!(e.state, State::Queued | State::Waiting { .. })
                    })
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in unasked {
                    self.entries.remove(&k);
                }
                if let Some(e) = self.entries.get_mut(key) {
                    e.state = State::Refused;
                }
            }
            (401 | 403 | 404 | 405 | 488 | 501 | 603, Package::Presence) => {
                info!(
                    resource,
                    code,
                    "presence refused for this contact; availability follows the phone status"
                );
                if let Some(e) = self.entries.get_mut(key) {
                    e.state = State::Refused;
                }
            }
            (401 | 403 | 404 | 405 | 488 | 489 | 501 | 603, Package::MessageSummary) => {
                info!(
                    resource,
                    code,
                    "message-waiting subscription refused; counts come only when the server sends them unasked"
                );
                if let Some(e) = self.entries.get_mut(key) {
                    e.state = State::Refused;
                }
            }
            (401 | 403 | 404 | 405 | 488 | 489 | 501 | 603, Package::Dialog) => {
                info!(
                    resource,
                    code, "phone status refused (no hint for it?); asking again in 10 minutes"
                );
                if let Some(e) = self.entries.get_mut(key) {
                    e.failures = e.failures.saturating_add(1);
                    e.state = State::Waiting {
                        until: now + REFUSED_RETRY,
                    };
                }
            }
            _ => {
                warn!(
                    package = key.package.event(),
                    resource, code, "SUBSCRIBE failed; trying again later"
                );
                self.back_off(key, retry_after, now);
            }
        }
    }

    /// Turns a NOTIFY body into an event; a body that cannot be read is logged and dropped, so
    /// the last known state stays on screen.
    fn read_body(
        &mut self,
        key: &Key,
        content_type: Option<&str>,
        body: &[u8],
        out: &mut Vec<Action>,
    ) {
        let resource = key.resource.clone();
        if let Some(ct) = content_type {
            let media = ct.split(';').next().unwrap_or("").trim();
            if !media.eq_ignore_ascii_case(key.package.body_type()) {
                warn!(package = key.package.event(), %resource, media, "NOTIFY body of an unexpected type ignored");
                return;
            }
        }
        match key.package {
            Package::Dialog => match dialog_info::parse(body) {
                Ok(info) => {
                    let Some(e) = self.entries.get_mut(key) else {
                        return;
                    };
                    if e.version.is_some_and(|v| info.version < v) {
                        debug!(%resource, version = info.version, "stale dialog-info ignored");
                        return;
                    }
                    e.version = Some(info.version);
                    out.push(Action::Emit(Event::PhoneStatus {
                        extension: resource.clone(),
                        status: info.state,
                    }));
                    if self.presence_follows_phone(&resource) {
                        // A phone the server reports on is there.
                        out.push(Action::Emit(Event::Presence {
                            extension: resource,
                            availability: Availability::Online,
                            note: None,
                        }));
                    }
                }
                Err(e) => warn!(%resource, "dialog-info NOTIFY ignored: {e}"),
            },
            Package::Presence => match pidf::parse(body) {
                Ok(p) => out.push(Action::Emit(Event::Presence {
                    extension: resource,
                    availability: p.availability,
                    note: p.note,
                })),
                Err(e) => warn!(%resource, "PIDF NOTIFY ignored: {e}"),
            },
            Package::MessageSummary => match message_summary::parse(body) {
                Ok(m) => out.push(Action::Emit(Event::MessageWaiting {
                    new: m.new,
                    old: m.old,
                })),
                Err(e) => warn!("message-summary NOTIFY ignored: {e}"),
            },
        }
    }

    /// Whether this extension's availability comes from its phone status: the server has no
    /// presence for it.
    fn presence_follows_phone(&self, extension: &str) -> bool {
        self.presence == Support::No
            || self
                .entries
                .get(&Key::new(Package::Presence, extension))
                .is_some_and(|e| e.state == State::Refused)
    }

    fn in_flight(&self) -> usize {
        let subscriptions = self
            .entries
            .values()
            .filter(|e| {
                matches!(
                    e.state,
                    State::Subscribing { .. } | State::Refreshing { .. }
                )
            })
            .count();
        let leaving = self
            .leaving
            .values()
            .filter(|l| l.sent && l.give_up_at.is_none())
            .count();
        subscriptions + leaving
    }

    /// Whether a request was due when the bucket was last drawn from: then only tokens hold
    /// it back. (Refreshes due later have their own deadline.)
    fn has_work(&self) -> bool {
        self.next_job(self.refilled).is_some()
    }

    /// The next request to send as of `now`: due refreshes first, then unsubscribes, then new
    /// subscriptions by package and age.
    fn next_job(&self, now: Instant) -> Option<Job> {
        let refresh = self
            .entries
            .iter()
            .filter_map(|(k, e)| match &e.state {
                State::Active { refresh_at, .. } if *refresh_at <= now => Some((*refresh_at, k)),
                _ => None,
            })
            .min_by_key(|(t, _)| *t)
            .map(|(_, k)| Job::Refresh(k.clone()));
        if refresh.is_some() {
            return refresh;
        }
        if let Some(d) = self.leaving.iter().find(|(_, l)| !l.sent).map(|(d, _)| d) {
            return Some(Job::Unsubscribe(d.clone()));
        }
        if !self.ready {
            return None;
        }
        self.entries
            .iter()
            .filter(|(_, e)| e.state == State::Queued)
            .min_by_key(|(k, e)| (k.package, e.seq))
            .map(|(k, _)| Job::Subscribe(k.clone()))
    }

    fn take_token(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.pacing.per_second).min(self.pacing.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Sends what may go now, within the pacing.
    fn pump(&mut self, now: Instant, out: &mut Vec<Action>) {
        while self.in_flight() < self.pacing.in_flight {
            let Some(job) = self.next_job(now) else {
                return;
            };
            if !self.take_token(now) {
                return;
            }
            match job {
                Job::Refresh(key) => {
                    let Some(e) = self.entries.get_mut(&key) else {
                        continue;
                    };
                    let State::Active { dialog, .. } = e.state.clone() else {
                        continue;
                    };
                    e.state = State::Refreshing {
                        dialog: dialog.clone(),
                    };
                    out.push(Action::Refresh {
                        dialog,
                        package: key.package,
                        expires: e.expires,
                    });
                }
                Job::Unsubscribe(dialog) => {
                    let Some(l) = self.leaving.get_mut(&dialog) else {
                        continue;
                    };
                    l.sent = true;
                    out.push(Action::Unsubscribe {
                        dialog,
                        package: l.package,
                    });
                }
                Job::Subscribe(key) => {
                    let call_id = format!(
                        "{:016x}-{}@switchboard",
                        self.call_id_prefix, self.next_call_id
                    );
                    self.next_call_id += 1;
                    let Some(e) = self.entries.get_mut(&key) else {
                        continue;
                    };
                    e.state = State::Subscribing {
                        call_id: call_id.clone(),
                    };
                    self.pending.insert(call_id.clone(), key.clone());
                    out.push(Action::Subscribe {
                        expires: e.expires,
                        key,
                        call_id,
                    });
                }
            }
        }
    }
}

enum Job {
    Refresh(Key),
    Unsubscribe(DialogId),
    Subscribe(Key),
}

/// When to refresh a subscription granted for `expires` seconds: at four fifths of a short
/// one, a minute before the end of a long one.
fn refresh_after(expires: u32) -> Duration {
    let secs = if expires >= 300 {
        expires - 60
    } else {
        (expires * 4 / 5).max(1)
    };
    Duration::from_secs(u64::from(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bodies::dialog_info::LineState;

    fn dialog(n: u32) -> DialogId {
        DialogId {
            call_id: format!("c{n}"),
            local_tag: "ours".into(),
            remote_tag: format!("theirs{n}"),
        }
    }

    fn subscribes(actions: &[Action]) -> Vec<(Key, String)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Subscribe { key, call_id, .. } => Some((key.clone(), call_id.clone())),
                _ => None,
            })
            .collect()
    }

    fn events(actions: &[Action]) -> Vec<Event> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Emit(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    fn quick() -> Pacing {
        Pacing {
            expires: 600,
            per_second: 1000.0,
            burst: 1000.0,
            in_flight: 1000,
            most_watched: 10_000,
        }
    }

    const IDLE: &[u8] = br#"<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:2002@pbx"><dialog id="2002"><state>terminated</state></dialog></dialog-info>"#;

    fn body_at(version: u64, state: &str) -> Vec<u8> {
        String::from_utf8_lossy(IDLE)
            .replace("version=\"3\"", &format!("version=\"{version}\""))
            .replace("terminated", state)
            .into_bytes()
    }

    fn active() -> SubscriptionState {
        SubscriptionState::Active { expires: Some(600) }
    }

    /// One accepted dialog subscription for 2002, with the dialog it got.
    fn subscribed(now: Instant) -> (Subscriptions, DialogId) {
        let mut s = Subscriptions::new(quick(), now);
        s.registered(now);
        let out = s.watch(vec!["2002".into()], now);
        let (_, call_id) = subscribes(&out)
            .into_iter()
            .find(|(k, _)| k.package == Package::Dialog)
            .unwrap();
        let d = dialog(1);
        s.answered(
            &call_id,
            Answer::Accepted {
                dialog: d.clone(),
                expires: Some(600),
            },
            now,
        );
        (s, d)
    }

    #[test]
    fn subscription_state_headers_parse() {
        assert_eq!(
            SubscriptionState::parse("active;expires=599"),
            Some(SubscriptionState::Active { expires: Some(599) })
        );
        assert_eq!(
            SubscriptionState::parse("Terminated; reason=timeout ;retry-after=30"),
            Some(SubscriptionState::Terminated {
                reason: Some("timeout".into()),
                retry_after: Some(30)
            })
        );
        assert_eq!(
            SubscriptionState::parse("pending"),
            Some(SubscriptionState::Pending { expires: None })
        );
        assert_eq!(SubscriptionState::parse("whatever;expires=1"), None);
        assert_eq!(SubscriptionState::parse(""), None);
    }

    #[test]
    fn nothing_goes_before_registration_then_mailbox_first_then_phones_then_presence() {
        let now = Instant::now();
        let mut s = Subscriptions::new(quick(), now);
        assert!(s.set_mailbox(Some("2001".into()), now).is_empty());
        assert!(s.watch(vec!["2003".into(), "2002".into()], now).is_empty());
        let keys: Vec<Key> = subscribes(&s.registered(now))
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            vec![
                Key::new(Package::MessageSummary, "2001"),
                Key::new(Package::Dialog, "2003"),
                Key::new(Package::Dialog, "2002"),
                Key::new(Package::Presence, "2003"),
                Key::new(Package::Presence, "2002"),
            ]
        );
    }

    #[test]
    fn a_list_longer_than_the_most_watched_keeps_its_first_extensions() {
        let t0 = Instant::now();
        let mut s = Subscriptions::new(
            Pacing {
                most_watched: 3,
                ..quick()
            },
            t0,
        );
        s.registered(t0);
        let list = ["2001", "2002", "2001", "2003", "2004", "2005"];
        let sent = subscribes(&s.watch(list.map(String::from).to_vec(), t0));
        let mut resources: Vec<&str> = sent.iter().map(|(k, _)| k.resource.as_str()).collect();
        resources.sort();
        resources.dedup();
        assert_eq!(resources, ["2001", "2002", "2003"], "duplicates count once");
        // A new first extension takes a place: the last one goes.
        let again = s.watch(
            ["2009", "2001", "2002", "2003"].map(String::from).to_vec(),
            t0,
        );
        let new = subscribes(&again);
        assert_eq!(new.len(), 2, "its phone status and presence");
        assert!(new.iter().all(|(k, _)| k.resource == "2009"));
        assert!(!s.entries.keys().any(|k| k.resource == "2003"));
    }

    #[test]
    fn five_hundred_contacts_go_out_paced_and_never_more_than_the_limit_at_once() {
        let t0 = Instant::now();
        let pacing = Pacing {
            expires: 600,
            per_second: 8.0,
            burst: 4.0,
            in_flight: 4,
            most_watched: 500,
        };
        let mut s = Subscriptions::new(pacing, t0);
        s.registered(t0);
        let contacts: Vec<String> = (0..500).map(|n| format!("{}", 3000 + n)).collect();
        let first = subscribes(&s.watch(contacts, t0));
        assert_eq!(first.len(), 4, "a burst of four, then wait");
        // Nothing more until one is answered, however much time passes.
        assert!(subscribes(&s.tick(t0 + Duration::from_secs(5))).is_empty());
        // Answer as they go, with a fast server; count what went out in the first 10 s.
        let mut sent = first.len();
        let mut outstanding: Vec<String> = first.into_iter().map(|(_, c)| c).collect();
        let mut n = 0;
        let mut now = t0;
        while now < t0 + Duration::from_secs(10) {
            now += Duration::from_millis(10);
            let mut out = s.tick(now);
            for call_id in outstanding.drain(..) {
                n += 1;
                out.extend(s.answered(
                    &call_id,
                    Answer::Accepted {
                        dialog: dialog(n),
                        expires: Some(600),
                    },
                    now,
                ));
            }
            let new = subscribes(&out);
            assert!(new.len() <= 4);
            sent += new.len();
            outstanding.extend(new.into_iter().map(|(_, c)| c));
        }
        // 8 a second after the first 4 (the 5 s pause above refilled the bucket too).
        assert!((80..=90).contains(&sent), "{sent} SUBSCRIBEs in 10 s");
        let next = s.next_deadline().unwrap();
        assert!(next > now && next <= now + Duration::from_millis(200));
    }

    #[test]
    fn refreshes_before_expiry_and_takes_the_granted_time() {
        let t0 = Instant::now();
        let mut s = Subscriptions::new(quick(), t0);
        s.registered(t0);
        let (_, call_id) = subscribes(&s.watch(vec!["2002".into()], t0))[0].clone();
        let d = dialog(1);
        s.answered(
            &call_id,
            Answer::Accepted {
                dialog: d.clone(),
                expires: Some(120),
            },
            t0,
        );
        // 120 s granted: refreshed at 96 s, not before.
        assert!(
            !s.tick(t0 + Duration::from_secs(95))
                .iter()
                .any(|a| matches!(a, Action::Refresh { .. }))
        );
        let out = s.tick(t0 + Duration::from_secs(96));
        assert!(out.contains(&Action::Refresh {
            dialog: d.clone(),
            package: Package::Dialog,
            expires: 600
        }));
        // The refresh's answer grants 3600: the next is a minute before its end.
        s.refreshed(
            &d,
            Answer::Accepted {
                dialog: d.clone(),
                expires: Some(3600),
            },
            t0 + Duration::from_secs(96),
        );
        let d2 = s.next_deadline().unwrap();
        assert_eq!(d2, t0 + Duration::from_secs(96 + 3540));
    }

    #[test]
    fn dialog_notifies_become_phone_status_and_stale_or_bad_ones_are_ignored() {
        let now = Instant::now();
        let (mut s, d) = subscribed(now);
        let ct = Some("application/dialog-info+xml");
        let out = s.notified(&d, &active(), ct, &body_at(3, "confirmed"), now);
        assert_eq!(
            events(&out),
            vec![Event::PhoneStatus {
                extension: "2002".into(),
                status: LineState::OnCall
            }]
        );
        // An older version arriving late changes nothing.
        assert!(events(&s.notified(&d, &active(), ct, &body_at(2, "terminated"), now)).is_empty());
        // Neither does a body that is not dialog-info, nor one of another type.
        assert!(events(&s.notified(&d, &active(), ct, b"<dialog-info", now)).is_empty());
        assert!(
            events(&s.notified(
                &d,
                &active(),
                Some("application/pidf+xml"),
                &body_at(9, "early"),
                now
            ))
            .is_empty()
        );
        let out = s.notified(&d, &active(), ct, &body_at(4, "early"), now);
        assert_eq!(
            events(&out),
            vec![Event::PhoneStatus {
                extension: "2002".into(),
                status: LineState::Ringing
            }]
        );
    }

    #[test]
    fn presence_and_message_summary_bodies_become_events() {
        let now = Instant::now();
        let mut s = Subscriptions::new(quick(), now);
        s.registered(now);
        let mut out = s.set_mailbox(Some("2001".into()), now);
        out.extend(s.watch(vec!["2002".into()], now));
        let mut dialogs = HashMap::new();
        for (n, (key, call_id)) in subscribes(&out).into_iter().enumerate() {
            let d = dialog(n as u32);
            dialogs.insert(key.package, d.clone());
            s.answered(
                &call_id,
                Answer::Accepted {
                    dialog: d,
                    expires: None,
                },
                now,
            );
        }
        let pidf = crate::bodies::pidf::render("sip:2002@pbx", Availability::Away, Some("lunch"));
        let out = s.notified(
            &dialogs[&Package::Presence],
            &active(),
            Some("application/pidf+xml"),
            pidf.as_bytes(),
            now,
        );
        assert_eq!(
            events(&out),
            vec![Event::Presence {
                extension: "2002".into(),
                availability: Availability::Away,
                note: Some("lunch".into())
            }]
        );
        let out = s.notified(
            &dialogs[&Package::MessageSummary],
            &active(),
            Some("application/simple-message-summary"),
            b"Messages-Waiting: yes\r\nVoice-Message: 2/5\r\n",
            now,
        );
        assert_eq!(events(&out), vec![Event::MessageWaiting { new: 2, old: 5 }]);
        // Garbage in any of them: no event, the subscription goes on.
        for (package, ct) in [
            (Package::Presence, "application/pidf+xml"),
            (
                Package::MessageSummary,
                "application/simple-message-summary",
            ),
        ] {
            let out = s.notified(
                &dialogs[&package],
                &active(),
                Some(ct),
                b"\xff<garbage",
                now,
            );
            assert!(events(&out).is_empty());
            assert!(s.owns(&dialogs[&package]));
        }
    }

    #[test]
    fn a_server_without_presence_falls_back_to_the_phone_status() {
        let now = Instant::now();
        let mut s = Subscriptions::new(quick(), now);
        s.registered(now);
        let out = s.watch(vec!["2002".into(), "2003".into()], now);
        let mut dialog_sub = None;
        let mut first_presence = true;
        for (key, call_id) in subscribes(&out) {
            match key.package {
                Package::Dialog if key.resource == "2002" => {
                    dialog_sub = Some(dialog(7));
                    s.answered(
                        &call_id,
                        Answer::Accepted {
                            dialog: dialog(7),
                            expires: None,
                        },
                        now,
                    );
                }
                Package::Presence if first_presence => {
                    first_presence = false;
                    s.answered(
                        &call_id,
                        Answer::Refused {
                            code: 489,
                            min_expires: None,
                            retry_after: None,
                        },
                        now,
                    );
                }
                _ => {}
            }
        }
        let out = s.notified(
            &dialog_sub.unwrap(),
            &active(),
            None,
            &body_at(1, "confirmed"),
            now,
        );
        assert_eq!(
            events(&out),
            vec![
                Event::PhoneStatus {
                    extension: "2002".into(),
                    status: LineState::OnCall
                },
                Event::Presence {
                    extension: "2002".into(),
                    availability: Availability::Online,
                    note: None
                }
            ]
        );
        // Watching someone new asks for no presence from this server.
        let out = s.watch(vec!["2002".into(), "2003".into(), "2004".into()], now);
        assert_eq!(
            subscribes(&out)
                .into_iter()
                .map(|(k, _)| k)
                .collect::<Vec<_>>(),
            vec![Key::new(Package::Dialog, "2004")]
        );
    }

    #[test]
    fn failures_back_off_and_terminated_notifies_resubscribe() {
        let t0 = Instant::now();
        let (mut s, d) = subscribed(t0);
        // The server ends it (timeout): subscribe again at once, in a new dialog.
        let out = s.notified(
            &d,
            &SubscriptionState::Terminated {
                reason: Some("timeout".into()),
                retry_after: None,
            },
            None,
            b"",
            t0,
        );
        assert!(out.contains(&Action::Forget(d.clone())));
        let (key, call_id) = subscribes(&out)[0].clone();
        assert_eq!(key, Key::new(Package::Dialog, "2002"));
        assert!(!s.owns(&d));
        // It times out: wait 1.6–2.4 s, then 3.2–4.8 s after the next one.
        let out = s.answered(&call_id, Answer::Unanswered("timeout".into()), t0);
        assert!(subscribes(&out).is_empty());
        let wait = s.next_deadline().unwrap() - t0;
        assert!(
            wait >= Duration::from_millis(1600) && wait <= Duration::from_millis(2400),
            "{wait:?}"
        );
        let t1 = t0 + wait;
        let (_, call_id) = subscribes(&s.tick(t1))[0].clone();
        s.answered(
            &call_id,
            Answer::Refused {
                code: 503,
                min_expires: None,
                retry_after: None,
            },
            t1,
        );
        let wait = s.next_deadline().unwrap() - t1;
        assert!(
            wait >= Duration::from_millis(3200) && wait <= Duration::from_millis(4800),
            "{wait:?}"
        );
        // A 404 (no hint) waits ten minutes.
        let t2 = t1 + wait;
        let (_, call_id) = subscribes(&s.tick(t2))[0].clone();
        s.answered(
            &call_id,
            Answer::Refused {
                code: 404,
                min_expires: None,
                retry_after: None,
            },
            t2,
        );
        assert_eq!(s.next_deadline(), Some(t2 + REFUSED_RETRY));
    }

    #[test]
    fn a_refresh_answered_481_subscribes_again() {
        let t0 = Instant::now();
        let (mut s, d) = subscribed(t0);
        let t1 = s.next_deadline().unwrap();
        assert!(matches!(&s.tick(t1)[..], [Action::Refresh { .. }]));
        let out = s.refreshed(
            &d,
            Answer::Refused {
                code: 481,
                min_expires: None,
                retry_after: None,
            },
            t1,
        );
        assert!(out.contains(&Action::Forget(d.clone())));
        assert_eq!(subscribes(&out).len(), 1);
    }

    #[test]
    fn unwatching_unsubscribes_and_forgets_the_dialog_after_the_final_notify() {
        let t0 = Instant::now();
        let (mut s, d) = subscribed(t0);
        let out = s.watch(vec![], t0);
        assert!(out.contains(&Action::Unsubscribe {
            dialog: d.clone(),
            package: Package::Dialog
        }));
        assert!(s.owns(&d), "the final NOTIFY is still ours to answer");
        s.refreshed(
            &d,
            Answer::Accepted {
                dialog: d.clone(),
                expires: Some(0),
            },
            t0,
        );
        let out = s.notified(
            &d,
            &SubscriptionState::Terminated {
                reason: None,
                retry_after: None,
            },
            Some("application/dialog-info+xml"),
            IDLE,
            t0,
        );
        assert_eq!(
            out,
            vec![Action::Forget(d.clone())],
            "no event, no resubscribe"
        );
        assert!(!s.owns(&d));
        assert_eq!(s.next_deadline(), None, "idle: no timer at all");
    }

    #[test]
    fn an_answer_after_unwatching_unsubscribes_what_it_started() {
        let t0 = Instant::now();
        let mut s = Subscriptions::new(quick(), t0);
        s.registered(t0);
        let out = s.watch(vec!["2002".into()], t0);
        s.watch(vec![], t0);
        let d = dialog(3);
        let mut unsubscribed = Vec::new();
        for (_, call_id) in subscribes(&out) {
            unsubscribed.extend(s.answered(
                &call_id,
                Answer::Accepted {
                    dialog: d.clone(),
                    expires: None,
                },
                t0,
            ));
        }
        assert!(unsubscribed.contains(&Action::Unsubscribe {
            dialog: d,
            package: Package::Dialog
        }));
    }

    #[test]
    fn registering_again_starts_every_subscription_afresh() {
        let t0 = Instant::now();
        let (mut s, d) = subscribed(t0);
        s.pause();
        let out = s.registered(t0 + Duration::from_secs(1));
        assert!(out.contains(&Action::Forget(d)));
        assert_eq!(subscribes(&out).len(), 2, "dialog and presence for 2002");
    }

    #[test]
    fn stop_all_unsubscribes_everything_at_once() {
        let t0 = Instant::now();
        let (mut s, d) = subscribed(t0);
        let out = s.stop_all();
        assert_eq!(
            out,
            vec![Action::Unsubscribe {
                dialog: d,
                package: Package::Dialog
            }]
        );
    }
}
