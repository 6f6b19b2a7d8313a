//! What can go wrong, as types the app can match on. Each `Display` is the sentence the user
//! reads, word for word what the engine said before these were types.

use crate::media_control::StreamError;
use crate::tls::TlsError;

/// Something that went wrong outside any call's end, as [`crate::Event::Error`] reports it:
/// one variant per situation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Answering: no RTP port could be bound.
    #[error("No audio port is free ({0}).")]
    NoAudioPort(String),
    /// Answering: nothing in the caller's offer can be answered.
    #[error("The call's audio cannot be used: {0}")]
    UnusableOffer(String),
    /// Answering: the stack would not send our 200 OK.
    #[error("The call could not be answered: {0}")]
    AnswerFailed(String),
    /// Our hold (or resume) re-INVITE was refused, or never answered.
    #[error("The call could not be put on {}: {why}.", if *hold { "hold" } else { "resume" })]
    HoldRefused { hold: bool, why: String },
    /// Our hold or resume re-INVITE could not be sent.
    #[error("Hold failed: {0}")]
    HoldFailed(String),
    #[error("“{0}” cannot be a transfer target.")]
    BadTransferTarget(String),
    /// Attended transfer asked on a consultation call that is not up.
    #[error("Talk to the person you are transferring to before completing the transfer.")]
    ConsultNotActive,
    #[error("The call's audio could not start: {0}")]
    AudioStart(StreamError),
    #[error("The call's audio could not change: {0}")]
    AudioChange(StreamError),
    /// The local address changed and no SIP socket could be opened on the new one.
    #[error("The network changed and Switchboard could not follow it: {0}.")]
    NetworkChange(String),
}

/// Why signing in failed, as [`crate::RegistrationState::Failed`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error("“{server}” is not a server address ({reason}).")]
    BadServer { server: String, reason: String },
    #[error("“{aor}” is not an address ({reason}).")]
    BadAddress { aor: String, reason: String },
    #[error("The outbound proxy “{0}” could not be found.")]
    ProxyNotFound(String),
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// 401, 403 or 407 after our answer to the challenge.
    #[error("The server rejected the password for {user}.")]
    WrongPassword { user: String },
    #[error("The server does not know the user {user}.")]
    UnknownUser { user: String },
    /// rsipstack reports its own transaction timeout (64*T1, no answer at all) as a 408, as
    /// RFC 3261 §8.1.3.1 says a UA should; to the user that is one thing.
    #[error("The server {server} is not reachable (no answer).")]
    NoAnswer { server: String },
    #[error("The server {server} is unavailable right now.")]
    Unavailable { server: String },
    /// Any other final answer, with its status line.
    #[error("The server refused to sign in {user} ({status}).")]
    Refused { user: String, status: String },
    /// A challenge we cannot answer (an unknown algorithm, a malformed header).
    #[error("Cannot sign in to {server}: {reason}.")]
    Challenge { server: String, reason: String },
    /// No route or no transport to the server.
    #[error("The server {server} is not reachable ({reason}).")]
    Unreachable { server: String, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_are_the_ones_users_already_read() {
        assert_eq!(
            EngineError::HoldRefused {
                hold: false,
                why: "488 Not Acceptable Here".into()
            }
            .to_string(),
            "The call could not be put on resume: 488 Not Acceptable Here."
        );
        assert_eq!(
            EngineError::NoAudioPort("Address in use".into()).to_string(),
            "No audio port is free (Address in use)."
        );
        assert_eq!(
            RegistrationError::WrongPassword {
                user: "1001".into()
            }
            .to_string(),
            "The server rejected the password for 1001."
        );
        assert_eq!(
            RegistrationError::NoAnswer {
                server: "pbx".into()
            }
            .to_string(),
            "The server pbx is not reachable (no answer)."
        );
    }
}
