//! Every conversion between the engines' types (sipcore, storage) and the model's, once. The
//! window never sees an engine type; the engines never see a model type.

use std::sync::Arc;

use crate::command::Transport;
use crate::model::{self, CallState, HistoryFilter, HistoryKind, PhoneStatus, Presence};

/// The model's call state for the engine's, with whether the other side holds us.
pub fn call_state(state: &sipcore::CallState) -> (CallState, bool) {
    match state {
        sipcore::CallState::Dialing => (CallState::Dialing, false),
        sipcore::CallState::Ringing { early_media } => (
            CallState::Ringback {
                early_media: *early_media,
            },
            false,
        ),
        sipcore::CallState::Incoming => (CallState::Ringing, false),
        sipcore::CallState::Active { hold } => (
            if hold.local() {
                CallState::Held
            } else {
                CallState::Active
            },
            hold.remote(),
        ),
        sipcore::CallState::Ended(reason) => (
            CallState::Ended {
                reason: reason.to_string(),
            },
            false,
        ),
    }
}

pub fn transfer(target: String, state: sipcore::TransferState) -> model::TransferProgress {
    match state {
        sipcore::TransferState::Trying => model::TransferProgress::Trying { target },
        sipcore::TransferState::Done => model::TransferProgress::Done { target },
        sipcore::TransferState::Failed(reason) => model::TransferProgress::Failed {
            target,
            reason: reason.to_string(),
        },
    }
}

pub fn phone_status(status: sipcore::LineState) -> PhoneStatus {
    match status {
        sipcore::LineState::Idle => PhoneStatus::Idle,
        sipcore::LineState::Ringing => PhoneStatus::Ringing,
        sipcore::LineState::OnCall => PhoneStatus::OnCall,
    }
}

pub fn presence(availability: sipcore::Availability) -> Presence {
    match availability {
        sipcore::Availability::Online => Presence::Online,
        sipcore::Availability::Away => Presence::Away,
        sipcore::Availability::Busy => Presence::Busy,
        sipcore::Availability::Offline => Presence::Offline,
    }
}

/// What to publish for the user's own presence; nothing for "not reported".
pub fn availability(presence: Presence) -> Option<sipcore::Availability> {
    match presence {
        Presence::Online => Some(sipcore::Availability::Online),
        Presence::Away => Some(sipcore::Availability::Away),
        Presence::Busy => Some(sipcore::Availability::Busy),
        Presence::Offline => Some(sipcore::Availability::Offline),
        Presence::Unknown => None,
    }
}

pub fn sip_transport(t: Transport) -> sipcore::Transport {
    match t {
        Transport::Udp => sipcore::Transport::Udp,
        Transport::Tcp => sipcore::Transport::Tcp,
        Transport::Tls => sipcore::Transport::Tls,
    }
}

pub fn srtp_policy(e: crate::settings::Encryption) -> sipcore::SrtpPolicy {
    use crate::settings::Encryption;
    match e {
        Encryption::Off => sipcore::SrtpPolicy::Off,
        Encryption::WhenPossible => sipcore::SrtpPolicy::Optional,
        Encryption::Always => sipcore::SrtpPolicy::Required,
    }
}

/// The STUN server as Settings holds it: blank is none.
pub fn stun_server(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The transport's name as the store keeps it.
pub fn transport_name(t: sipcore::Transport) -> &'static str {
    match t {
        sipcore::Transport::Udp => "udp",
        sipcore::Transport::Tcp => "tcp",
        sipcore::Transport::Tls => "tls",
    }
}

pub fn transport_from_name(name: &str) -> Transport {
    match name {
        "tcp" => Transport::Tcp,
        "tls" => Transport::Tls,
        _ => Transport::Udp,
    }
}

pub fn history_filter(filter: HistoryFilter) -> storage::HistoryFilter {
    let kind = match filter {
        HistoryFilter::All => return storage::HistoryFilter::All,
        HistoryFilter::Missed => storage::CallKind::Missed,
        HistoryFilter::Incoming => storage::CallKind::Incoming,
        HistoryFilter::Outgoing => storage::CallKind::Outgoing,
        HistoryFilter::Voicemail => storage::CallKind::Voicemail,
    };
    storage::HistoryFilter::Kind(kind)
}

pub fn history_entry(r: storage::HistoryEntry) -> model::HistoryEntry {
    model::HistoryEntry {
        id: r.id,
        duration_secs: r.duration_secs(),
        kind: match r.entry.kind {
            storage::CallKind::Incoming => HistoryKind::Incoming,
            storage::CallKind::Outgoing => HistoryKind::Outgoing,
            storage::CallKind::Missed => HistoryKind::Missed,
            storage::CallKind::Voicemail => HistoryKind::Voicemail,
        },
        remote_name: r.entry.remote_name,
        remote_number: r.entry.remote_number,
        started_at_ms: r.entry.started_at,
        queue: r.entry.queue,
    }
}

/// A stored contact as the contact list shows it, its live status not yet reported.
pub fn contact(c: storage::Contact) -> model::Contact {
    model::Contact {
        id: c.id,
        name: c.name,
        extension: c.extension,
        number: c.numbers.first().cloned(),
        photo: c.avatar.map(Arc::from),
        presence: Presence::Unknown,
        phone: PhoneStatus::Unknown,
        can_text: false,
        email: c.email,
        local: c.source == storage::ContactSource::Local,
    }
}

/// A person from the directory or an imported file, as a stored contact from `source`.
pub fn stored_contact(
    e: crate::directory::Entry,
    source: storage::ContactSource,
) -> storage::Contact {
    storage::Contact {
        id: 0,
        name: e.name,
        extension: e.extension,
        numbers: e.numbers,
        email: e.email,
        avatar: None,
        source,
        favourite: false,
    }
}

pub fn voicemail(v: storage::Voicemail) -> model::Voicemail {
    model::Voicemail {
        id: v.id,
        caller_name: v.voicemail.caller_name,
        caller_number: v.voicemail.caller_number,
        received_at_ms: v.voicemail.received_at,
        duration_secs: v.voicemail.duration_ms.div_ceil(1000),
        transcript: v.voicemail.transcript,
        heard: v.heard,
    }
}

pub fn smtp_security(s: crate::settings::SmtpSecurity) -> mailbox::email::Security {
    use crate::settings::SmtpSecurity;
    match s {
        SmtpSecurity::StartTls => mailbox::email::Security::StartTls,
        SmtpSecurity::Tls => mailbox::email::Security::Tls,
        SmtpSecurity::Plain => mailbox::email::Security::Plain,
    }
}
