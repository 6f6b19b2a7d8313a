//! What the window knows, as last reported by the core: the signed-in account, its lines
//! (calls), contacts, history and voicemail. Events from the core update it through
//! [`Model::apply`]; screens only read it. Per-screen UI state (selection, half-typed text)
//! lives in the screens, not here.

use std::time::Instant;

use crate::event::Event;
use crate::settings::SettingsForm;

/// Everything the signed-in window shows, as last reported by the core.
#[derive(Default)]
pub struct Model {
    pub facts: ProfileFacts,
    pub photo: Option<Vec<u8>>,
    pub settings: SettingsForm,
    pub registration: Registration,
    pub calls: Vec<Call>,
    pub contacts: Vec<Contact>,
    pub history: Vec<HistoryEntry>,
    pub voicemails: Vec<Voicemail>,
    /// What callers hear when the app takes a message.
    pub greeting: Greeting,
    pub waiting: Option<(u32, u32)>,
    pub playback: Option<Playback>,
    pub inputs: Vec<(String, String)>,
    pub outputs: Vec<(String, String)>,
    pub mic_level: f32,
    /// Messages for the user, newest last; the window shows and dismisses them.
    pub notices: Vec<String>,
    /// Ask whether calls use the desk phone or this computer.
    pub ask_desk_phone: bool,
    /// The queue tiles; `None` when the account has no queue access.
    pub call_center: Option<crate::call_center::CallCenterView>,
    /// The history of the queue the user opened: which queue, which filter, newest first.
    pub queue_history: Option<QueueHistory>,
    /// Bumped whenever the contacts or the history are replaced.
    revision: u64,
}

impl Model {
    /// Changes whenever the contacts or the history are replaced (not when a status changes),
    /// so that a view can keep what it derives from them, such as the dial pad's suggestions
    /// over 10,000 contacts, until then.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Applies one event from the core. Events that belong to the sign-in flow or the settings
    /// page are handled by the window before they reach here.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::SignedIn {
                facts,
                photo,
                settings,
                keyring_warning,
            } => {
                self.facts = facts;
                self.photo = photo;
                self.settings = *settings;
                if let Some(w) = keyring_warning {
                    self.notices.push(w);
                }
            }
            Event::SignInFailed(_)
            | Event::SigningIn { .. }
            | Event::SignedOut
            | Event::Stopped => {}
            Event::Registration(r) => self.registration = r,
            Event::Profile(facts) => self.facts = facts,
            Event::Call(call) => match self.calls.iter_mut().find(|c| c.id == call.id) {
                Some(existing) => *existing = *call,
                None => self.calls.push(*call),
            },
            Event::CallRemoved(id) => self.calls.retain(|c| c.id != id),
            Event::Contacts(mut list) => {
                // A reloaded directory keeps the live status it already had: the core reports
                // changes, not the same state again for every reload.
                let known: std::collections::HashMap<&str, (Presence, PhoneStatus)> = self
                    .contacts
                    .iter()
                    .filter_map(|o| Some((o.extension.as_deref()?, (o.presence, o.phone))))
                    .collect();
                for c in &mut list {
                    if let Some(&(presence, phone)) =
                        c.extension.as_deref().and_then(|e| known.get(e))
                    {
                        c.presence = presence;
                        c.phone = phone;
                    }
                }
                self.contacts = list;
                self.revision += 1;
            }
            Event::ContactStatus {
                extension,
                presence,
                phone,
            } => {
                for c in self
                    .contacts
                    .iter_mut()
                    .filter(|c| c.extension.as_deref() == Some(extension.as_str()))
                {
                    if let Some(p) = presence {
                        c.presence = p;
                    }
                    if let Some(p) = phone {
                        c.phone = p;
                    }
                }
            }
            Event::History(rows) => {
                self.history = rows;
                self.revision += 1;
            }
            Event::Voicemails(list) => self.voicemails = list,
            Event::Greeting(g) => self.greeting = g,
            Event::MessageWaiting { new, old } => self.waiting = Some((new, old)),
            Event::Playback(p) => self.playback = p,
            Event::SettingsSaved(s) => {
                self.ask_desk_phone &= !s.call_strategy.desk_phone_asked;
                self.settings = *s
            }
            Event::DeskPhoneFound => {
                self.ask_desk_phone = !self.settings.call_strategy.desk_phone_asked
            }
            Event::SettingsFailed(why) => self.notices.push(why),
            Event::Photo(p) => self.photo = p,
            Event::Devices { inputs, outputs } => {
                self.inputs = inputs;
                self.outputs = outputs;
            }
            Event::MicLevel(l) => self.mic_level = l,
            Event::Notice(n) => self.notices.push(n),
            Event::CallCenter(v) => self.call_center = v.map(|v| *v),
            Event::QueueHistory {
                queue,
                filter,
                calls,
            } => {
                self.queue_history = Some(QueueHistory {
                    queue,
                    filter,
                    calls,
                })
            }
        }
    }

    pub fn on_a_call(&self) -> bool {
        self.calls.iter().any(|c| c.state.is_live())
    }
}

/// Read-only facts about the signed-in user.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileFacts {
    pub name: String,
    pub extension: String,
    pub number: String,
    pub email: String,
}

/// Identifies one call for as long as it exists, across the SIP engine, the backend and the
/// window: the engine's own id.
pub use sipcore::CallId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Incoming,
    Outgoing,
}

/// Where one call stands, as the user sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallState {
    /// We sent the INVITE; nothing back yet.
    Dialing,
    /// The far end rings (180/183); `early_media` when we already hear its audio.
    Ringback { early_media: bool },
    /// Someone calls us.
    Ringing,
    /// Talking.
    Active,
    /// We put it on hold.
    Held,
    /// Over, with the reason in words ("Busy", "Declined", "Ended").
    Ended { reason: String },
}

impl CallState {
    pub fn label(&self) -> &str {
        match self {
            CallState::Dialing => "Calling…",
            CallState::Ringback { .. } => "Ringing…",
            CallState::Ringing => "Incoming call",
            CallState::Active => "Talking",
            CallState::Held => "On hold",
            CallState::Ended { reason } => reason,
        }
    }

    pub fn is_live(&self) -> bool {
        !matches!(self, CallState::Ended { .. })
    }
}

/// A transfer in progress, from REFER's NOTIFY progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferProgress {
    Trying { target: String },
    Done { target: String },
    Failed { target: String, reason: String },
}

/// Call quality from the media statistics, about once a second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quality {
    pub loss_pct: f32,
    pub jitter_ms: f32,
    pub rtt_ms: Option<f32>,
    /// Estimated MOS, 1.0 to 4.5 (ITU-T G.107 E-model).
    pub mos: f32,
}

impl Quality {
    /// Bars for the meter: 0 to 3.
    pub fn bars(&self) -> u8 {
        match self.mos {
            m if m >= 4.0 => 3,
            m if m >= 3.6 => 2,
            m if m >= 3.1 => 1,
            _ => 0,
        }
    }
}

/// One line: a call the window shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub id: CallId,
    pub direction: Direction,
    pub remote_name: Option<String>,
    pub remote_number: String,
    pub state: CallState,
    pub answered_at: Option<Instant>,
    pub muted: bool,
    /// The far end put us on hold (its re-INVITE said sendonly or inactive).
    pub held_by_remote: bool,
    /// Merged into the 3-way conference (the SIP engine keeps at most one).
    pub merged: bool,
    pub quality: Option<Quality>,
    pub transfer: Option<TransferProgress>,
    /// This call consults the target of an attended transfer of that (held) call.
    pub consult_for: Option<CallId>,
    /// The call-center queue that put the caller through to us.
    pub queue: Option<String>,
}

impl Call {
    /// A new line in the dialling state (callers set Ringing for incoming ones), nothing else
    /// known yet.
    pub fn new(id: CallId, direction: Direction, remote_number: String) -> Self {
        Call {
            id,
            direction,
            remote_name: None,
            remote_number,
            state: CallState::Dialing,
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

    pub fn display_name(&self) -> &str {
        self.remote_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.remote_number)
    }

    /// Seconds since the call was answered, for the timer.
    pub fn talk_seconds(&self, now: Instant) -> Option<u64> {
        self.answered_at
            .map(|t| now.saturating_duration_since(t).as_secs())
    }
}

/// The timer text: `0:07`, `12:30`, `1:02:03`.
pub fn format_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Registration as the user sees it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Registration {
    #[default]
    Offline,
    Connecting,
    Registered,
    /// Failed, in words, e.g. "The server rejected the password for 1001".
    Failed(String),
}

/// The availability dot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Presence {
    Online,
    Away,
    /// Busy or do-not-disturb, as the person or their phone says.
    Busy,
    Offline,
    /// Not reported (yet): no dot.
    #[default]
    Unknown,
}

/// The phone-status colour (busy lamp).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PhoneStatus {
    Idle,
    OnCall,
    Ringing,
    #[default]
    Unknown,
}

/// A person in the contact list (interoffice contacts by extension).
#[derive(Clone, Debug, PartialEq)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    pub extension: Option<String>,
    pub number: Option<String>,
    pub photo: Option<std::sync::Arc<[u8]>>,
    pub presence: Presence,
    pub phone: PhoneStatus,
    /// Whether the contact can receive texts (has messaging on this system).
    pub can_text: bool,
    pub email: Option<String>,
    /// Added by the user (editable), not from the company directory.
    pub local: bool,
}

impl Contact {
    /// What to dial for this contact: the extension, else the number.
    pub fn dial_target(&self) -> Option<&str> {
        self.extension.as_deref().or(self.number.as_deref())
    }
}

/// The editor's fields; `id` is `None` for a new contact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactDraft {
    pub id: Option<i64>,
    pub name: String,
    pub extension: String,
    pub number: String,
    pub email: String,
}

impl ContactDraft {
    pub fn from_contact(c: &Contact) -> Self {
        Self {
            id: Some(c.id),
            name: c.name.clone(),
            extension: c.extension.clone().unwrap_or_default(),
            number: c.number.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
        }
    }

    /// What is wrong, in words, or `None` when it can be saved.
    pub fn problem(&self) -> Option<&'static str> {
        let dialable = |s: &str| {
            let s = s.trim();
            s.is_empty() || crate::dial_string::normalize(s).is_some()
        };
        if self.name.trim().is_empty() {
            Some("Give the contact a name.")
        } else if self.extension.trim().is_empty() && self.number.trim().is_empty() {
            Some("Give an extension or a phone number to call.")
        } else if !dialable(&self.extension) || !dialable(&self.number) {
            Some("That extension or phone number has characters a phone cannot dial.")
        } else if !self.email.trim().is_empty() && !self.email.contains('@') {
            Some("That email address has no @.")
        } else {
            None
        }
    }
}

/// The contact on the other end of a call, by extension or number, for their picture.
pub fn contact_for<'a>(contacts: &'a [Contact], number: &str) -> Option<&'a Contact> {
    contacts
        .iter()
        .find(|c| c.extension.as_deref() == Some(number) || c.number.as_deref() == Some(number))
}

/// The kinds My Calls can filter by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HistoryFilter {
    #[default]
    All,
    Missed,
    Incoming,
    Outgoing,
    Voicemail,
}

impl HistoryFilter {
    pub const ALL: [HistoryFilter; 5] = [
        HistoryFilter::All,
        HistoryFilter::Missed,
        HistoryFilter::Incoming,
        HistoryFilter::Outgoing,
        HistoryFilter::Voicemail,
    ];

    pub fn label(self) -> &'static str {
        match self {
            HistoryFilter::All => "All",
            HistoryFilter::Missed => "Missed",
            HistoryFilter::Incoming => "Incoming",
            HistoryFilter::Outgoing => "Outgoing",
            HistoryFilter::Voicemail => "Voicemail",
        }
    }
}

/// What kind of entry a history row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryKind {
    Incoming,
    Outgoing,
    Missed,
    Voicemail,
}

/// One row of My Calls.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    pub id: i64,
    pub kind: HistoryKind,
    pub remote_name: Option<String>,
    pub remote_number: String,
    /// Unix time in milliseconds, shown in the user's time zone.
    pub started_at_ms: i64,
    pub duration_secs: u64,
    /// The call-center queue the call came through.
    pub queue: Option<String>,
}

impl HistoryEntry {
    pub fn display_name(&self) -> &str {
        self.remote_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.remote_number)
    }

    pub fn matches(&self, filter: HistoryFilter) -> bool {
        match filter {
            HistoryFilter::All => true,
            HistoryFilter::Missed => self.kind == HistoryKind::Missed,
            HistoryFilter::Incoming => self.kind == HistoryKind::Incoming,
            HistoryFilter::Outgoing => self.kind == HistoryKind::Outgoing,
            HistoryFilter::Voicemail => self.kind == HistoryKind::Voicemail,
        }
    }
}

/// One voicemail in the list.
#[derive(Clone, Debug, PartialEq)]
pub struct Voicemail {
    pub id: i64,
    pub caller_name: Option<String>,
    pub caller_number: String,
    pub received_at_ms: i64,
    pub duration_secs: u64,
    pub transcript: Option<String>,
    pub heard: bool,
}

impl Voicemail {
    /// Whether each word of `query` is in the caller's name or number or in the transcript,
    /// case aside: search by who called or by what they said.
    pub fn matches(&self, query: &str) -> bool {
        let text = format!(
            "{} {} {}",
            self.caller_name.as_deref().unwrap_or_default(),
            self.caller_number,
            self.transcript.as_deref().unwrap_or_default()
        )
        .to_lowercase();
        query
            .to_lowercase()
            .split_whitespace()
            .all(|word| text.contains(word))
    }
}

/// The greeting callers hear when the app takes a message for the user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Greeting {
    /// The spoken default ("I can't take your call right now…").
    #[default]
    Spoken,
    /// The microphone is being recorded as the new greeting.
    Recording,
    /// The user's own recording, this long.
    Own { secs: u64 },
}

/// The voicemail being played, as the media engine reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct Playback {
    pub voicemail: i64,
    pub position_secs: f32,
    pub duration_secs: f32,
    pub playing: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desk_phone_question_is_asked_until_answered() {
        let mut m = Model::default();
        m.apply(Event::DeskPhoneFound);
        assert!(m.ask_desk_phone);
        let mut answered = m.settings.clone();
        answered.call_strategy.desk_phone_asked = true;
        m.apply(Event::SettingsSaved(Box::new(answered)));
        assert!(!m.ask_desk_phone);
        m.apply(Event::DeskPhoneFound);
        assert!(!m.ask_desk_phone, "asked again after an answer");
    }

    fn call(id: u64, state: CallState) -> Call {
        Call {
            id: CallId(id),
            direction: Direction::Outgoing,
            remote_name: None,
            remote_number: "9196".into(),
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
    fn call_events_add_replace_and_remove_lines() {
        let mut m = Model::default();
        m.apply(Event::Call(Box::new(call(1, CallState::Dialing))));
        m.apply(Event::Call(Box::new(call(1, CallState::Active))));
        assert_eq!(m.calls.len(), 1);
        assert_eq!(m.calls[0].state, CallState::Active);
        assert!(m.on_a_call());
        m.apply(Event::CallRemoved(CallId(1)));
        assert!(m.calls.is_empty());
    }

    #[test]
    fn contact_status_updates_only_what_it_names() {
        let mut m = Model::default();
        m.apply(Event::Contacts(vec![Contact {
            id: 1,
            name: "Grace Hopper".into(),
            extension: Some("1002".into()),
            number: None,
            photo: None,
            presence: Presence::Online,
            phone: PhoneStatus::Unknown,
            can_text: false,
            email: None,
            local: false,
        }]));
        m.apply(Event::ContactStatus {
            extension: "1002".into(),
            presence: None,
            phone: Some(PhoneStatus::OnCall),
        });
        assert_eq!(m.contacts[0].phone, PhoneStatus::OnCall);
        assert_eq!(m.contacts[0].presence, Presence::Online);
        m.apply(Event::ContactStatus {
            extension: "1003".into(),
            presence: Some(Presence::Away),
            phone: None,
        });
        assert_eq!(m.contacts[0].presence, Presence::Online);
    }

    #[test]
    fn a_reloaded_directory_keeps_the_live_status() {
        let grace = |phone| Contact {
            id: 1,
            name: "Grace Hopper".into(),
            extension: Some("1002".into()),
            number: None,
            photo: None,
            presence: Presence::Unknown,
            phone,
            can_text: false,
            email: None,
            local: false,
        };
        let mut m = Model::default();
        m.apply(Event::Contacts(vec![grace(PhoneStatus::Unknown)]));
        m.apply(Event::ContactStatus {
            extension: "1002".into(),
            presence: Some(Presence::Online),
            phone: Some(PhoneStatus::Ringing),
        });
        m.apply(Event::Contacts(vec![grace(PhoneStatus::Unknown)]));
        assert_eq!(m.contacts[0].phone, PhoneStatus::Ringing);
        assert_eq!(m.contacts[0].presence, Presence::Online);
    }
}

/// One queue's history as the window shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueHistory {
    pub queue: String,
    pub filter: storage::QueueCallFilter,
    pub calls: Vec<storage::QueueCall>,
}
