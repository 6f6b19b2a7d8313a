//! What the app asks sipcore to do. Commands never block the sender; results come back as
//! events.

use crate::account::Account;
use crate::event::CallId;

#[derive(Clone, Debug)]
pub enum Command {
    /// Register (replacing any account registered before).
    Register(Account),
    /// Unregister and forget the account.
    Unregister,
    /// Call a number or URI; the app chooses the id so it can show the call at once.
    Dial {
        call: CallId,
        target: String,
    },
    /// Another call while on one: every call we are talking on (merged ones too) goes on
    /// hold, then `target` is dialled.
    AddCall {
        call: CallId,
        target: String,
    },
    /// Answer a ringing call; every other call we are talking on goes on hold first (merged
    /// ones too).
    Answer(CallId),
    /// Answer a ringing call and leave the others as they are: for bots and services that talk
    /// to many callers side by side (the echo bot), not for a person's phone.
    AnswerAlongside(CallId),
    /// Answer a ringing call as an answering machine, leaving the others as they are: the
    /// caller hears `greeting` (Ogg Opus) once, and what they say is recorded to `record_to`
    /// until the call ends.
    TakeMessage {
        call: CallId,
        greeting: std::path::PathBuf,
        record_to: std::path::PathBuf,
    },
    /// 486 Busy Here, or 603 Decline when `decline` is set.
    Reject {
        call: CallId,
        decline: bool,
    },
    /// BYE when talking, CANCEL while ringing.
    HangUp(CallId),
    /// Hold and resume are idempotent: asking for what is already so, or on its way, does
    /// nothing.
    Hold(CallId),
    /// Take a call off hold; every other call we are talking on (not in its conference) goes on
    /// hold first.
    Resume(CallId),
    SetMute {
        call: CallId,
        muted: bool,
    },
    SendDtmf {
        call: CallId,
        digit: char,
    },
    /// Blind transfer (REFER).
    Transfer {
        call: CallId,
        target: String,
    },
    /// Attended transfer: hand `call` over to the party of `consult` (REFER with Replaces).
    AttendedTransfer {
        call: CallId,
        consult: CallId,
    },
    /// Mix these calls into a 3-way conference in our own media engine (no server conference),
    /// resuming any of them we hold. Hanging up any of them then ends them all.
    /// [`crate::Event::Conference`] tells its members.
    Merge(Vec<CallId>),
    /// Unmix the conference; its calls stay up, as separate lines, and all but `keep` go on
    /// hold.
    Split {
        keep: CallId,
    },
    SendMessage {
        id: u64,
        target: String,
        content_type: String,
        body: String,
    },
    /// How the account's next calls set up their media: encryption, and the STUN server that
    /// turns ICE on. Calls already up keep what they have.
    SetCallOptions {
        srtp: crate::sdes::SrtpPolicy,
        stun_server: Option<String>,
    },
    /// Our own presence for others to see (PUBLISH): `Offline` removes it.
    SetPresence(crate::bodies::pidf::Availability),
    /// Watch these extensions' phone status (busy lamp) and presence from now on; extensions
    /// no longer listed are unsubscribed. Subscribing waits for registration and is paced.
    Watch {
        extensions: Vec<String>,
    },
    /// Stop watching every extension.
    Unwatch,
    Shutdown,
}
