//! What the window asks the core to do. Screens send these over a channel and return at once;
//! the backend carries them out off the UI thread and reports back as events.

use crate::model::CallId;

/// How to reach the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn label(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }
}

/// The sign-in form as submitted.
#[derive(Clone, PartialEq)]
pub struct SignIn {
    pub identity: String,
    pub password: String,
    pub server: String,
    pub transport: Transport,
    /// Over TLS: a CA certificate (PEM) to trust besides the system's, for a PBX with a
    /// company CA. `None` keeps the one saved with the account, if any.
    pub trusted_ca: Option<std::path::PathBuf>,
    pub remember: bool,
}

impl std::fmt::Debug for SignIn {
    // Never print the password, not even in a debug log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("identity", &self.identity)
            .field("server", &self.server)
            .field("transport", &self.transport)
            .field("trusted_ca", &self.trusted_ca)
            .field("remember", &self.remember)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    SignIn(SignIn),
    SignOut,
    /// Call a number or SIP address, as typed (already normalised by [`crate::dial_string`]).
    Dial(String),
    /// Add (no id) or change a local contact.
    SaveContact(crate::model::ContactDraft),
    DeleteContact(i64),
    /// Add these people from an imported vCard or CSV file as local contacts.
    ImportContacts(Vec<crate::directory::Entry>),
    /// The contact list shows the people with these extensions now (their status is watched
    /// when the directory is too large to watch whole).
    ContactsOnScreen(Vec<String>),
    Answer(CallId),
    /// Decline an incoming call (486 Busy Here).
    Decline(CallId),
    HangUp(CallId),
    Hold(CallId),
    Resume(CallId),
    SetMute(CallId, bool),
    SendDtmf(CallId, char),
    /// Transfer now; `attended` consults the target first.
    Transfer {
        call: CallId,
        target: String,
        attended: bool,
    },
    /// Hand the held caller of an attended transfer over to the party of this consult call.
    CompleteTransfer(CallId),
    /// Make `call` the line we talk on; others go on hold.
    SwitchTo(CallId),
    Merge(CallId, CallId),
    Split(CallId),
    /// Reload My Calls with this filter and search text (newest first).
    LoadHistory {
        filter: crate::model::HistoryFilter,
        search: String,
    },
    SaveSettings(Box<crate::settings::SettingsForm>),
    /// Store this cropped square PNG as the profile photo (`None` removes it).
    SetPhoto(Option<Vec<u8>>),
    PreviewRingtone {
        ringtone: String,
        volume: f32,
    },
    PlayTestTone,
    /// Record the microphone as the greeting for messages taken here (until
    /// `StopRecordingGreeting`), play it back, or go back to the spoken default.
    RecordGreeting,
    StopRecordingGreeting,
    PlayGreeting,
    UseSpokenGreeting,
    /// The microphone level meter, on while the settings page is open.
    MicMeter(bool),
    /// Our own presence as colleagues see it (online or away; the backend says offline itself
    /// on sign-out and quit).
    SetPresence(crate::model::Presence),
    /// Do-not-disturb on or off: kept with the settings, written to the PBX's routing.
    SetDoNotDisturb(bool),
    /// The window is closing: hang up, unregister and stop, then say `Event::Stopped`.
    Quit,
    /// Reload contacts, history, voicemail and settings from their sources.
    Refresh,
    PlayVoicemail(i64),
    PauseVoicemail,
    SeekVoicemail(i64, f32),
    DeleteVoicemail(i64),
    /// Join this call-center queue as an agent.
    QueueLogIn(String),
    QueueLogOut(String),
    /// Pause with a reason (`None`: take calls again).
    QueuePause {
        queue: String,
        reason: Option<String>,
    },
    /// Show this queue's history, newest first.
    LoadQueueHistory {
        queue: String,
        filter: storage::QueueCallFilter,
    },
}

/// The sending half the screens hold: straight into the backend's one inbox, or into a plain
/// channel for a screen's test. Sending never blocks; a closed backend is logged.
#[derive(Clone)]
pub struct Commands {
    tx: Inbox,
}

#[derive(Clone)]
enum Inbox {
    Backend(std::sync::mpsc::Sender<crate::backend::Input>),
    Channel(std::sync::mpsc::Sender<Command>),
}

impl Commands {
    pub(crate) fn new(tx: std::sync::mpsc::Sender<crate::backend::Input>) -> Self {
        Self {
            tx: Inbox::Backend(tx),
        }
    }

    /// A channel pair, for a test to read what a screen sends.
    pub fn channel() -> (Self, std::sync::mpsc::Receiver<Command>) {
        let (tx, rx) = std::sync::mpsc::channel();
        (
            Self {
                tx: Inbox::Channel(tx),
            },
            rx,
        )
    }

    pub fn send(&self, command: Command) {
        let sent = match &self.tx {
            Inbox::Backend(tx) => tx.send(crate::backend::Input::Ui(command)).is_ok(),
            Inbox::Channel(tx) => tx.send(command).is_ok(),
        };
        if !sent {
            tracing::warn!("the backend has stopped; a command was dropped");
        }
    }
}
