//! The user's voicemail box on the PBX, over IMAP: visual voicemail as OMTP and carriers do
//! it. Asterisk's IMAP storage keeps each voicemail as an email in the user's mailbox, with
//! `X-Asterisk-VM-*` headers for the caller, time and duration and the recording attached as
//! WAV; heard means `\Seen`, and a message deleted here is gone from the PBX, whose
//! message-waiting count follows at its next poll.
//!
//! # The API in one screen
//! ```text
//! Account { addr, user, password, tls }         who and where; `tls: None` for plain IMAP
//! list(&Account) -> Vec<Listed>                 every voicemail, oldest first
//!     Listed { reference: Reference, seen, voicemail: Voicemail }
//!     Reference  "INBOX/<uidvalidity>/<uid>": Display and FromStr, kept by the app
//!     Voicemail  { caller_number, caller_name, received_at_ms, duration_ms }
//! fetch_audio(&Account, &Reference) -> Vec<u8>  the WAV attachment
//! mark_heard · delete (&Account, &Reference)
//! wav::decode(&[u8]) -> Pcm { rate, samples }   the attachment as samples, -1..1
//! message::parse_headers · message::audio       the email itself, no network
//! email::send(&SmtpServer, &VoicemailEmail)     a voicemail emailed to the user (lettre),
//!     email::render without the network; Security StartTls · Tls · Plain
//! MailboxError  Unreachable · LoginRefused · Tls · NotImap · Silent · Gone · NotVoicemail ·
//!               BadAudio · Protocol · BadAddress · SmtpLoginRefused · SmtpRefused — each a
//!               sentence
//! ```
//!
//! Every call is one short session (connect, log in, act, log out) that blocks the calling
//! thread: the app runs them on a worker, so nothing stays connected between syncs.

pub mod email;
pub mod message;
mod server;
pub mod wav;

pub use message::Voicemail;
pub use server::{Account, Listed, Reference, delete, fetch_audio, list, mark_heard};

/// Why the box could not be read or changed, in the words the app shows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MailboxError {
    #[error("The voicemail server at {addr} cannot be reached: {reason}.")]
    Unreachable { addr: String, reason: String },
    #[error("The voicemail server at {addr} refused the login.")]
    LoginRefused { addr: String },
    #[error("The voicemail server at {addr} could not be reached securely: {reason}.")]
    Tls { addr: String, reason: String },
    #[error("{addr} does not answer as a mail (IMAP) server.")]
    NotImap { addr: String },
    #[error("The voicemail server at {addr} stopped answering.")]
    Silent { addr: String },
    #[error("This voicemail is no longer on the server ({0}).")]
    Gone(String),
    #[error("This message is not a voicemail: {0}.")]
    NotVoicemail(String),
    #[error("The voicemail's recording cannot be read: {0}.")]
    BadAudio(String),
    #[error("The voicemail server answered unexpectedly: {0}.")]
    Protocol(String),
    #[error("The email address is not valid: {0}.")]
    BadAddress(String),
    #[error(
        "The mail server at {addr} refused the login: check the user and password in Settings → Mailbox."
    )]
    SmtpLoginRefused { addr: String },
    #[error("The mail server at {addr} did not take the email: {reason}.")]
    SmtpRefused { addr: String, reason: String },
}
