//! What sipcore tells the app. Every failure carries words a user can act on.

use std::fmt;

pub use crate::bodies::dialog_info::LineState;
pub use crate::bodies::pidf::Availability;

/// One call, for as long as it lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// Who is on the other end.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Party {
    pub name: Option<String>,
    /// The user part (number or extension), or the whole URI when there is none.
    pub number: String,
    pub uri: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrationState {
    Registering,
    Registered {
        expires_secs: u32,
        /// Other devices registered on the same line (a desk phone), as the registrar listed
        /// them in its answer.
        other_devices: usize,
    },
    /// Retrying after a failure; its `Display` is the words ("The server rejected the password
    /// for 1001").
    Failed {
        reason: crate::error::RegistrationError,
        retrying: bool,
    },
    Unregistered,
}

/// Why a call ended, in the words the UI shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// Someone hung up after talking.
    HungUp {
        by_us: bool,
    },
    Busy,
    Declined,
    NotFound,
    NoAnswer,
    /// We cancelled before an answer.
    Cancelled,
    /// The caller gave up before we answered.
    Missed,
    /// Anything else: the status and words.
    Failed(String),
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::HungUp { .. } => write!(f, "Call ended"),
            EndReason::Busy => write!(f, "Busy"),
            EndReason::Declined => write!(f, "Declined"),
            EndReason::NotFound => write!(f, "Number not found"),
            EndReason::NoAnswer => write!(f, "No answer"),
            EndReason::Cancelled => write!(f, "Cancelled"),
            EndReason::Missed => write!(f, "Missed call"),
            EndReason::Failed(w) => write!(f, "{w}"),
        }
    }
}

/// Which way the audio of a held call is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Hold {
    #[default]
    None,
    /// We put them on hold.
    Local,
    /// They put us on hold.
    Remote,
    Both,
}

impl Hold {
    pub fn with_local(self, on: bool) -> Hold {
        match (self, on) {
            (Hold::None | Hold::Local, true) => Hold::Local,
            (Hold::Remote | Hold::Both, true) => Hold::Both,
            (Hold::None | Hold::Local, false) => Hold::None,
            (Hold::Remote | Hold::Both, false) => Hold::Remote,
        }
    }

    pub fn with_remote(self, on: bool) -> Hold {
        match (self, on) {
            (Hold::None | Hold::Remote, true) => Hold::Remote,
            (Hold::Local | Hold::Both, true) => Hold::Both,
            (Hold::None | Hold::Remote, false) => Hold::None,
            (Hold::Local | Hold::Both, false) => Hold::Local,
        }
    }

    pub fn local(self) -> bool {
        matches!(self, Hold::Local | Hold::Both)
    }

    pub fn remote(self) -> bool {
        matches!(self, Hold::Remote | Hold::Both)
    }
}

/// One call's state as the app sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallState {
    /// INVITE sent, nothing back yet.
    Dialing,
    /// The far end rings (180/183); `early_media` when audio already flows.
    Ringing {
        early_media: bool,
    },
    /// Someone calls us and we ring.
    Incoming,
    /// Talking (or on hold, one way or both).
    Active {
        hold: Hold,
    },
    Ended(EndReason),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferState {
    Trying,
    Done,
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Registration(RegistrationState),
    IncomingCall {
        call: CallId,
        from: Party,
    },
    CallState {
        call: CallId,
        state: CallState,
    },
    Dtmf {
        call: CallId,
        digit: char,
    },
    Transfer {
        call: CallId,
        target: String,
        state: TransferState,
    },
    /// A watched extension's phone (busy lamp): idle, ringing or on a call (RFC 4235).
    PhoneStatus {
        extension: String,
        status: LineState,
    },
    /// A watched extension's presence (PIDF, RFC 3863). Where the server has no presence, it
    /// follows the phone status: online while the server reports on the phone.
    Presence {
        extension: String,
        availability: Availability,
        note: Option<String>,
    },
    /// Voicemail counts from the PBX (RFC 3842 message-summary NOTIFY).
    MessageWaiting {
        new: u32,
        old: u32,
    },
    /// The far end of `call` transferred us (an incoming REFER): we are placing `new_call` to
    /// `target`, whose progress follows as ordinary call states.
    TransferredBy {
        call: CallId,
        new_call: CallId,
        target: Party,
    },
    MessageReceived {
        from: Party,
        content_type: String,
        body: String,
    },
    MessageResult {
        id: u64,
        result: Result<(), crate::message::MessageError>,
    },
    /// A session refresh (RFC 4028) went through: ours was answered, or theirs arrived.
    SessionRefreshed {
        call: CallId,
        by_us: bool,
    },
    /// How publishing our own presence went.
    OwnPresence(crate::publish::PublishState),
    /// Our 3-way conference's members, each time they change; empty when there is none.
    Conference {
        members: Vec<CallId>,
    },
    /// Something went wrong that belongs to no call's end; its `Display` is the words.
    Error(crate::error::EngineError),
}
