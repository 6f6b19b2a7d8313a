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
    SignInFailed(String),
    /// The backend is signing in with the remembered account (at start, without the form).
    SigningIn {
        identity: String,
        server: String,
    },
    SignedOut,
    /// The backend has finished after `Command::Quit`.
    Stopped,
    Registration(Registration),
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
    /// Something the user should read: a device fell back, a save failed, the network dropped.
    Notice(String),
}
