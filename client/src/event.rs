//! What the backend reports to the window. Each event is applied to the model by
//! [`crate::model::Model::apply`], and the window repaints once per batch of events.

use crate::model::ProfileFacts;
use crate::model::{
    Call, CallId, Contact, HistoryEntry, PhoneStatus, Playback, Presence, Registration, Voicemail,
};
use crate::settings::SettingsForm;

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    SignedIn {
        facts: ProfileFacts,
        photo: Option<Vec<u8>>,
        settings: Box<SettingsForm>,
        /// Set when the password could not go to the system keyring, in words.
        keyring_warning: Option<String>,
    },
    SignInFailed(SignInError),
    /// The backend is signing in with the remembered account (at start, without the form).
    SigningIn {
        identity: String,
        server: String,
    },
    SignedOut,
    /// The backend has finished after `Command::Quit`.
    Stopped,
    Registration(Registration),
    /// The user's name, email or number changed (their entry in the company directory).
    Profile(ProfileFacts),
    /// A call appeared or changed; replaces the call with the same id.
    Call(Box<Call>),
    /// A call is gone from the lines (it ended a moment ago).
    CallRemoved(CallId),
    Contacts(Vec<Contact>),
    /// Live status of a contact by extension.
    ContactStatus {
        extension: String,
        presence: Option<Presence>,
        phone: Option<PhoneStatus>,
    },
    History(Vec<HistoryEntry>),
    Voicemails(Vec<Voicemail>),
    Greeting(crate::model::Greeting),
    MessageWaiting {
        new: u32,
        old: u32,
    },
    Playback(Option<Playback>),
    SettingsSaved(Box<SettingsForm>),
    /// Another device (a desk phone) is registered on the user's line, and the user has not
    /// yet said which should carry calls.
    DeskPhoneFound,
    SettingsFailed(String),
    Photo(Option<Vec<u8>>),
    Devices {
        inputs: Vec<(String, String)>,
        outputs: Vec<(String, String)>,
    },
    MicLevel(f32),
    /// The call-center tiles; `None` when the account has no manager account configured.
    CallCenter(Option<Box<crate::call_center::CallCenterView>>),
    QueueHistory {
        queue: String,
        filter: storage::QueueCallFilter,
        calls: Vec<storage::QueueCall>,
    },
    /// Something the user should read: a device fell back, a save failed, the network dropped.
    Notice(String),
}

/// Why signing in did not work, in words the sign-in form shows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error("Signing in with an email needs your company directory; enter your extension instead.")]
    EmailNeedsDirectory,
    #[error("The server address “{0}” could not be found.")]
    ServerNotFound(String),
    #[error("No network route to {server}: {reason}.")]
    NoRoute { server: String, reason: String },
    /// The profile's store could not be opened (its own sentence).
    #[error("{0}")]
    Store(String),
    /// The SIP or media engine could not start (its own sentence).
    #[error("{0}")]
    Engine(String),
    /// The server refused or never answered the registration (the engine's sentence).
    #[error("{0}")]
    Refused(String),
}
