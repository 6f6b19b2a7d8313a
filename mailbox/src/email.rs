//! Voicemail by email: a message to the user with the caller, time, duration and transcript,
//! and the recording attached when asked, sent through the user's SMTP server (`lettre`).
//! [`render`] builds the message without a network; [`send`] delivers it.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use crate::MailboxError;

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Security {
    /// Plain first, then STARTTLS, required (port 587 as a rule).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a server on this machine or a trusted network.
    Plain,
}

/// The user's outgoing mail server.
#[derive(Clone)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// Empty for a server that takes mail without a login.
    pub user: String,
    pub password: String,
    /// A company CA to trust besides the system's, PEM.
    pub extra_root_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for SmtpServer {
    // The password stays out of every log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// One voicemail, as the email tells it. Times and durations come already in the user's words
/// (their time zone, their format).
#[derive(Clone, Debug)]
pub struct VoicemailEmail {
    pub from: String,
    pub to: String,
    /// "Grace Hopper (1002)".
    pub caller: String,
    pub received: String,
    pub duration: String,
    pub transcript: Option<String>,
    /// The recording (Ogg Opus) to attach, when the user asked for it.
    pub attachment: Option<PathBuf>,
}

/// The email, ready to send.
pub fn render(v: &VoicemailEmail) -> Result<Message, MailboxError> {
    let address = |a: &str| {
        a.parse::<Mailbox>()
            .map_err(|e| MailboxError::BadAddress(format!("{a}: {e}")))
    };
    let mut text = format!(
        "{} left you a voicemail on {} ({}).\n",
        v.caller, v.received, v.duration
    );
    match &v.transcript {
        Some(t) => text.push_str(&format!("\nWhat they said:\n{t}\n")),
        None => text.push_str("\nNo transcript.\n"),
    }
    let body = SinglePart::plain(text);
    let builder = Message::builder()
        .from(address(&v.from)?)
        .to(address(&v.to)?)
        .subject(format!("Voicemail from {} ({})", v.caller, v.duration));
    let message = match &v.attachment {
        None => builder.singlepart(body),
        Some(path) => {
            let audio = std::fs::read(path)
                .map_err(|e| MailboxError::BadAudio(format!("{}: {e}", path.display())))?;
            let content_type = ContentType::parse("audio/ogg").expect("a valid MIME type");
            builder.multipart(
                MultiPart::mixed()
                    .singlepart(body)
                    .singlepart(Attachment::new("voicemail.ogg".into()).body(audio, content_type)),
            )
        }
    };
    message.map_err(|e| MailboxError::BadAddress(e.to_string()))
}

/// Sends one email, logging in when the server has a user.
pub fn send(server: &SmtpServer, email: &VoicemailEmail) -> Result<(), MailboxError> {
    let message = render(email)?;
    let at = format!("{}:{}", server.host, server.port);
    let tls = || {
        let mut b = TlsParameters::builder(server.host.clone());
        if let Some(pem) = &server.extra_root_pem {
            let cert =
                lettre::transport::smtp::client::Certificate::from_pem(pem).map_err(|e| {
                    MailboxError::Tls {
                        addr: at.clone(),
                        reason: e.to_string(),
                    }
                })?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls().map_err(|e| MailboxError::Tls {
            addr: at.clone(),
            reason: e.to_string(),
        })
    };
    let mut transport = SmtpTransport::builder_dangerous(&server.host)
        .port(server.port)
        .timeout(Some(Duration::from_secs(15)))
        .tls(match server.security {
            Security::Plain => Tls::None,
            Security::StartTls => Tls::Required(tls()?),
            Security::Tls => Tls::Wrapper(tls()?),
        });
    if !server.user.is_empty() {
        transport = transport.credentials(Credentials::new(
            server.user.clone(),
            server.password.clone(),
        ));
    }
    transport.build().send(&message).map(|_| ()).map_err(|e| {
        if e.is_permanent() && e.status().is_some_and(|c| c.to_string().starts_with("535")) {
            MailboxError::SmtpLoginRefused { addr: at.clone() }
        } else if e.is_permanent() || e.is_transient() {
            MailboxError::SmtpRefused {
                addr: at.clone(),
                reason: e.to_string(),
            }
        } else {
            MailboxError::Unreachable {
                addr: at.clone(),
                reason: e.to_string(),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(attachment: Option<PathBuf>) -> VoicemailEmail {
        VoicemailEmail {
            from: "Switchboard <switchboard@example.com>".into(),
            to: "ada@example.com".into(),
            caller: "Grace Hopper (1002)".into(),
            received: "Mon 7 Dec, 14:05".into(),
            duration: "0:12".into(),
            transcript: Some("Call me back about the release.".into()),
            attachment,
        }
    }

    #[test]
    fn the_email_says_who_when_how_long_and_what() {
        let raw = String::from_utf8(render(&email(None)).unwrap().formatted()).unwrap();
        assert!(raw.contains("Subject: Voicemail from Grace Hopper (1002) (0:12)"));
        assert!(raw.contains("To: ada@example.com"));
        assert!(raw.contains("Call me back about the release."));
        assert!(!raw.contains("voicemail.ogg"));
    }

    #[test]
    fn the_recording_is_attached_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vm.ogg");
        std::fs::write(&path, b"OggS-recording").unwrap();
        let raw = String::from_utf8(render(&email(Some(path))).unwrap().formatted()).unwrap();
        assert!(raw.contains("Content-Type: audio/ogg"));
        assert!(raw.contains("filename=\"voicemail.ogg\""));
    }

    #[test]
    fn a_missing_recording_or_a_bad_address_is_said_in_words() {
        let gone = render(&email(Some("/nonexistent/vm.ogg".into()))).unwrap_err();
        assert!(gone.to_string().contains("/nonexistent/vm.ogg"));
        let mut bad = email(None);
        bad.to = "not an address".into();
        assert!(matches!(render(&bad), Err(MailboxError::BadAddress(_))));
    }
}
