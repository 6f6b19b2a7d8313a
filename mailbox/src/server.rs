//! The IMAP side: one short session per request (log in, select, act, log out), blocking the
//! calling thread on a small runtime of its own, so the backend runs each on a worker thread
//! and nothing stays connected between syncs.
//!
//! A message is known by [`Reference`]: its folder (`INBOX` for new voicemail, `Old` where
//! Asterisk moves what was heard on the phone), the folder's UIDVALIDITY and its UID, which
//! together name it for as long as it exists.

use std::sync::Arc;
use std::time::Duration;

use async_imap::types::Flag;
use futures_util::TryStreamExt;
use futures_util::future::{BoxFuture, FutureExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::MailboxError;
use crate::message::{self, Voicemail};

/// Where the box is and whose it is.
#[derive(Clone)]
pub struct Account {
    /// `host:port`.
    pub addr: String,
    pub user: String,
    pub password: String,
    /// IMAP over TLS (port 993 as a rule) checked against these anchors; `None` for plain
    /// IMAP, which only a server on the same machine or network should be given.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Account {
    // The password stays out of every log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("addr", &self.addr)
            .field("user", &self.user)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// The folders Asterisk keeps a box in: new messages, and those heard on the phone.
const FOLDERS: [&str; 2] = ["INBOX", "Old"];

/// One message on the server, by folder, UIDVALIDITY and UID: `INBOX/1796647004/3`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    pub folder: String,
    pub validity: u32,
    pub uid: u32,
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.folder, self.validity, self.uid)
    }
}

impl std::str::FromStr for Reference {
    type Err = MailboxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || MailboxError::Protocol(format!("not a message reference: {s}"));
        let mut parts = s.rsplitn(3, '/');
        let uid = parts.next().and_then(|u| u.parse().ok()).ok_or_else(bad)?;
        let validity = parts.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let folder = parts.next().filter(|f| !f.is_empty()).ok_or_else(bad)?;
        Ok(Self {
            folder: folder.to_string(),
            validity,
            uid,
        })
    }
}

/// A voicemail as listed: where it is, whether it was heard, and what its headers say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub reference: Reference,
    pub seen: bool,
    pub voicemail: Voicemail,
}

const TIMEOUT: Duration = Duration::from_secs(15);

/// Every voicemail in the box, oldest first. Mail that is not a voicemail is left out.
pub fn list(account: &Account) -> Result<Vec<Listed>, MailboxError> {
    run(account, |s| {
        async move {
            let mut out = Vec::new();
            for folder in FOLDERS {
                let mailbox = match s.examine(folder).await {
                    Ok(m) => m,
                    // Asterisk makes `Old` only once something was heard on the phone.
                    Err(_) if folder != "INBOX" => continue,
                    Err(e) => return Err(protocol(e)),
                };
                let validity = mailbox.uid_validity.unwrap_or(0);
                if mailbox.exists == 0 {
                    continue;
                }
                let fetched: Vec<_> =
                    all(s.uid_fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER])").await).await?;
                for f in fetched {
                    let (Some(uid), Some(header)) = (f.uid, f.header()) else {
                        continue;
                    };
                    let Ok(voicemail) = message::parse_headers(header) else {
                        continue;
                    };
                    out.push(Listed {
                        reference: Reference {
                            folder: folder.to_string(),
                            validity,
                            uid,
                        },
                        seen: f.flags().any(|fl| fl == Flag::Seen),
                        voicemail,
                    });
                }
            }
            out.sort_by_key(|l| l.voicemail.received_at_ms);
            Ok(out)
        }
        .boxed()
    })
}

/// The recording of one voicemail: the bytes of its WAV attachment.
pub fn fetch_audio(account: &Account, reference: &Reference) -> Result<Vec<u8>, MailboxError> {
    let reference = reference.clone();
    run(account, move |s| {
        async move {
            same_folder(s, &reference, false).await?;
            let fetched: Vec<_> =
                all(s.uid_fetch(reference.uid.to_string(), "BODY.PEEK[]").await).await?;
            let body = fetched
                .first()
                .and_then(|f| f.body())
                .ok_or_else(|| MailboxError::Gone(reference.to_string()))?;
            message::audio(body)
        }
        .boxed()
    })
}

/// Marks a voicemail heard: the PBX's message-waiting count drops as its next poll sees it.
pub fn mark_heard(account: &Account, reference: &Reference) -> Result<(), MailboxError> {
    let reference = reference.clone();
    run(account, move |s| {
        async move {
            same_folder(s, &reference, true).await?;
            let _: Vec<_> = all(s
                .uid_store(reference.uid.to_string(), "+FLAGS (\\Seen)")
                .await)
            .await?;
            Ok(())
        }
        .boxed()
    })
}

/// Deletes a voicemail on the server (flagged and expunged at once). One already gone is not
/// an error: what the user wanted is done.
pub fn delete(account: &Account, reference: &Reference) -> Result<(), MailboxError> {
    let reference = reference.clone();
    run(account, move |s| {
        async move {
            match same_folder(s, &reference, true).await {
                Ok(()) => {}
                Err(MailboxError::Gone(_)) => return Ok(()),
                Err(e) => return Err(e),
            }
            let uid = reference.uid.to_string();
            let _: Vec<_> = all(s.uid_store(&uid, "+FLAGS (\\Deleted)").await).await?;
            let _: Vec<_> = all(s.uid_expunge(&uid).await).await?;
            Ok(())
        }
        .boxed()
    })
}

/// Opens the reference's folder (read-write when `write`), and checks it is still the folder
/// the reference was made in.
async fn same_folder(s: &mut Session, r: &Reference, write: bool) -> Result<(), MailboxError> {
    let mailbox = if write {
        s.select(&r.folder).await
    } else {
        s.examine(&r.folder).await
    }
    .map_err(|_| MailboxError::Gone(r.to_string()))?;
    if mailbox.uid_validity.unwrap_or(0) != r.validity {
        return Err(MailboxError::Gone(r.to_string()));
    }
    Ok(())
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Stream for T {}

type Session = async_imap::Session<Box<dyn Stream>>;

/// Connects, logs in, runs `work` and logs out, within [`TIMEOUT`] for each step.
fn run<T>(
    account: &Account,
    work: impl for<'a> FnOnce(&'a mut Session) -> BoxFuture<'a, Result<T, MailboxError>>,
) -> Result<T, MailboxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| MailboxError::Protocol(e.to_string()))?;
    let silent = || MailboxError::Silent {
        addr: account.addr.clone(),
    };
    runtime.block_on(async {
        let mut session = tokio::time::timeout(TIMEOUT, log_in(account))
            .await
            .map_err(|_| silent())??;
        let result = tokio::time::timeout(TIMEOUT, work(&mut session))
            .await
            .map_err(|_| silent())?;
        let _ = tokio::time::timeout(Duration::from_secs(2), session.logout()).await;
        result
    })
}

async fn log_in(account: &Account) -> Result<Session, MailboxError> {
    let unreachable = |reason: String| MailboxError::Unreachable {
        addr: account.addr.clone(),
        reason,
    };
    let tcp = TcpStream::connect(&account.addr)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let stream: Box<dyn Stream> = match &account.tls {
        None => Box::new(tcp),
        Some(config) => {
            let host = account
                .addr
                .rsplit_once(':')
                .map_or(account.addr.as_str(), |(h, _)| h)
                .trim_matches(['[', ']']);
            let name = rustls::pki_types::ServerName::try_from(host.to_string())
                .map_err(|e| unreachable(e.to_string()))?;
            let tls = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| MailboxError::Tls {
                    addr: account.addr.clone(),
                    reason: e.to_string(),
                })?;
            Box::new(tls)
        }
    };
    let mut client = async_imap::Client::new(stream);
    match client.read_response().await {
        Ok(Some(_greeting)) => {}
        _ => {
            return Err(MailboxError::NotImap {
                addr: account.addr.clone(),
            });
        }
    }
    client
        .login(&account.user, &account.password)
        .await
        .map_err(|(e, _)| match e {
            async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_) => {
                MailboxError::LoginRefused {
                    addr: account.addr.clone(),
                }
            }
            other => unreachable(other.to_string()),
        })
}

/// Reads a command's responses to the end, as IMAP needs before the next command.
async fn all<T, S>(started: Result<S, async_imap::error::Error>) -> Result<Vec<T>, MailboxError>
where
    S: futures_util::Stream<Item = Result<T, async_imap::error::Error>>,
{
    started
        .map_err(protocol)?
        .try_collect()
        .await
        .map_err(protocol)
}

fn protocol(e: async_imap::error::Error) -> MailboxError {
    MailboxError::Protocol(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_reads_back_as_written() {
        let r = Reference {
            folder: "INBOX".into(),
            validity: 1_796_647_004,
            uid: 3,
        };
        assert_eq!(r.to_string(), "INBOX/1796647004/3");
        assert_eq!("INBOX/1796647004/3".parse::<Reference>().unwrap(), r);
        for bad in ["", "INBOX", "INBOX/1", "/1/2", "INBOX/x/2", "INBOX/1/-2"] {
            assert!(bad.parse::<Reference>().is_err(), "{bad}");
        }
    }
}
