//! The one connection to the manager interface, on its own thread and runtime so that a slow
//! or vanished PBX never holds up the backend: connect, MD5 challenge login (the secret never
//! crosses the wire), a full `QueueStatus`, then events and action replies until the
//! connection drops; then again after a backoff that doubles up to 30 s. A refused login is
//! final until the caller starts a new client with new settings.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use md5::{Digest, Md5};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::event::Event;
use crate::frame::{Decoder, Message};

/// Where and as whom to log in.
#[derive(Clone)]
pub struct Config {
    /// `host:port`.
    pub addr: String,
    pub user: String,
    pub secret: String,
    /// Over TLS, checking the server against these anchors (Asterisk's `tlsenable`, usually
    /// port 5039); `None` for plain TCP.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl PartialEq for Config {
    // The same server, account and transport; the anchors are the account's either way.
    fn eq(&self, other: &Self) -> bool {
        (&self.addr, &self.user, &self.secret, self.tls.is_some())
            == (&other.addr, &other.user, &other.secret, other.tls.is_some())
    }
}

impl std::fmt::Debug for Config {
    // The secret stays out of every log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("user", &self.user)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// The byte stream to the server, plain or TLS.
trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for T {}

/// What the client can ask of the queues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Every queue (or one) with its members and waiting callers, as events.
    QueueStatus { queue: Option<String> },
    /// The dialplan, to learn which number reaches which queue.
    ShowDialPlan,
    /// Log a member in.
    QueueAdd {
        queue: String,
        interface: String,
        member_name: String,
    },
    /// Log a member out.
    QueueRemove { queue: String, interface: String },
    QueuePause {
        queue: String,
        interface: String,
        paused: bool,
        reason: String,
    },
    /// Writes a value to the PBX's database, which its dialplan reads (the user's routing).
    DbPut {
        family: String,
        key: String,
        value: String,
    },
}

impl Action {
    /// Asks only: its answer comes as events, and a refusal changes nothing the user did.
    fn is_query(&self) -> bool {
        matches!(self, Action::QueueStatus { .. } | Action::ShowDialPlan)
    }

    fn message(&self, id: &str) -> Message {
        match self {
            Action::QueueStatus { queue } => {
                let mut f = vec![("Action", "QueueStatus"), ("ActionID", id)];
                if let Some(q) = queue {
                    f.push(("Queue", q));
                }
                Message::new(&f)
            }
            Action::ShowDialPlan => Message::new(&[("Action", "ShowDialPlan"), ("ActionID", id)]),
            Action::QueueAdd {
                queue,
                interface,
                member_name,
            } => Message::new(&[
                ("Action", "QueueAdd"),
                ("ActionID", id),
                ("Queue", queue),
                ("Interface", interface),
                ("MemberName", member_name),
                // Asterisk watches this for the member's state (ringing, in use).
                ("StateInterface", interface),
            ]),
            Action::QueueRemove { queue, interface } => Message::new(&[
                ("Action", "QueueRemove"),
                ("ActionID", id),
                ("Queue", queue),
                ("Interface", interface),
            ]),
            Action::QueuePause {
                queue,
                interface,
                paused,
                reason,
            } => Message::new(&[
                ("Action", "QueuePause"),
                ("ActionID", id),
                ("Queue", queue),
                ("Interface", interface),
                ("Paused", if *paused { "true" } else { "false" }),
                ("Reason", reason),
            ]),
            Action::DbPut { family, key, value } => Message::new(&[
                ("Action", "DBPut"),
                ("ActionID", id),
                ("Family", family),
                ("Key", key),
                ("Val", value),
            ]),
        }
    }
}

/// Why the client is not connected, in the words the tiles show.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmiError {
    #[error("The queue service at {addr} refused the manager login.")]
    LoginRefused { addr: String },
    #[error("The queue service at {addr} cannot be reached: {reason}.")]
    Unreachable { addr: String, reason: String },
    #[error("The queue service at {addr} closed the connection.")]
    Closed { addr: String },
    #[error("{addr} does not answer as an Asterisk manager interface.")]
    NotAmi { addr: String },
    #[error("The queue service at {addr} stopped answering.")]
    Silent { addr: String },
    #[error("The queue service at {addr} could not be reached securely: {reason}.")]
    Tls { addr: String, reason: String },
}

/// What the client tells its owner, from its own thread.
#[derive(Clone, Debug, PartialEq)]
pub enum Report {
    /// Logged in; a full queue status follows as events.
    Connected,
    Event(Event),
    /// The server's answer to an action other than `QueueStatus`: its message when refused.
    Reply {
        action: Action,
        result: Result<(), String>,
    },
    /// Not connected; trying again in `retry_in` (`None`: not trying, as after a refused login).
    Down {
        error: AmiError,
        retry_in: Option<Duration>,
    },
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Asterisk says nothing on a quiet connection; a ping this often finds a dead one.
const PING_EVERY: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A running client. Dropping it logs off and stops the thread.
pub struct Client {
    actions: mpsc::UnboundedSender<Action>,
}

impl Client {
    pub fn start(
        config: Config,
        report: impl Fn(Report) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("ami".into())
            .spawn(move || runtime.block_on(run(config, rx, report)))?;
        Ok(Self { actions: tx })
    }

    pub fn send(&self, action: Action) {
        let _ = self.actions.send(action);
    }
}

enum Ended {
    /// The owner dropped the client.
    Stopped,
    Lost {
        error: AmiError,
        logged_in: bool,
    },
}

async fn run(
    config: Config,
    mut actions: mpsc::UnboundedReceiver<Action>,
    report: impl Fn(Report),
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let (error, logged_in) = match session(&config, &mut actions, &report).await {
            Ended::Stopped => return,
            Ended::Lost { error, logged_in } => (error, logged_in),
        };
        if let AmiError::LoginRefused { .. } = error {
            report(Report::Down {
                error,
                retry_in: None,
            });
            while let Some(action) = actions.recv().await {
                refuse(
                    &report,
                    action,
                    "You are not signed in to the queue service.",
                );
            }
            return;
        }
        if logged_in {
            backoff = Duration::from_secs(1);
        }
        tracing::info!(%error, ?backoff, "manager interface down");
        report(Report::Down {
            error,
            retry_in: Some(backoff),
        });
        let wake = tokio::time::sleep(backoff);
        tokio::pin!(wake);
        loop {
            tokio::select! {
                _ = &mut wake => break,
                action = actions.recv() => match action {
                    Some(a) => refuse(&report, a, "The queue service is reconnecting; try again in a moment."),
                    None => return,
                },
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn refuse(report: &impl Fn(Report), action: Action, why: &str) {
    if !action.is_query() {
        report(Report::Reply {
            action,
            result: Err(why.into()),
        });
    }
}

async fn session(
    config: &Config,
    actions: &mut mpsc::UnboundedReceiver<Action>,
    report: &impl Fn(Report),
) -> Ended {
    let addr = config.addr.clone();
    let lost = |error: AmiError, logged_in: bool| Ended::Lost { error, logged_in };
    let unreachable = |e: &dyn std::fmt::Display| AmiError::Unreachable {
        addr: addr.clone(),
        reason: e.to_string(),
    };
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return lost(unreachable(&e), false),
        Err(_) => return lost(unreachable(&"no answer within 5 seconds"), false),
    };
    let _ = stream.set_nodelay(true);
    let stream: Box<dyn Stream> = match &config.tls {
        None => Box::new(stream),
        Some(tls) => {
            let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let Ok(name) = rustls::pki_types::ServerName::try_from(host.to_string()) else {
                let reason = format!("“{host}” is not a host name");
                return lost(AmiError::Tls { addr, reason }, false);
            };
            let connector = tokio_rustls::TlsConnector::from(tls.clone());
            match tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, stream)).await {
                Ok(Ok(s)) => Box::new(s),
                Ok(Err(e)) => {
                    let reason = e.to_string();
                    return lost(AmiError::Tls { addr, reason }, false);
                }
                Err(_) => return lost(AmiError::Silent { addr }, false),
            }
        }
    };
    let (read, mut write) = tokio::io::split(stream);
    let mut read = BufReader::new(read);
    let mut decoder = Decoder::default();

    let mut banner = String::new();
    match tokio::time::timeout(CONNECT_TIMEOUT, read.read_line(&mut banner)).await {
        Ok(Ok(n)) if n > 0 && banner.starts_with("Asterisk Call Manager") => {}
        _ => return lost(AmiError::NotAmi { addr }, false),
    }

    // Login: challenge, then the MD5 of challenge and secret.
    let login = async {
        let challenge = Message::new(&[
            ("Action", "Challenge"),
            ("ActionID", "challenge"),
            ("AuthType", "md5"),
        ]);
        write.write_all(&challenge.encode()).await?;
        let reply = reply_to(&mut read, &mut decoder, "challenge").await?;
        let Some(challenge) = reply.get("Challenge") else {
            return Ok(false);
        };
        let key: String = Md5::digest(format!("{challenge}{}", config.secret).as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let login = Message::new(&[
            ("Action", "Login"),
            ("ActionID", "login"),
            ("AuthType", "md5"),
            ("Username", &config.user),
            ("Key", &key),
            // Queue events are in the agent class; nothing else is needed.
            ("Events", "agent"),
        ]);
        write.write_all(&login.encode()).await?;
        let reply = reply_to(&mut read, &mut decoder, "login").await?;
        Ok::<bool, std::io::Error>(reply.response() == Some("Success"))
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, login).await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => return lost(AmiError::LoginRefused { addr }, false),
        Ok(Err(e)) => return lost(unreachable(&e), false),
        Err(_) => return lost(AmiError::Silent { addr }, false),
    }
    tracing::info!(addr = %config.addr, user = %config.user, "manager interface logged in");
    report(Report::Connected);

    let mut next_id: u64 = 0;
    let mut pending: HashMap<String, Action> = HashMap::new();
    let mut send = |action: Action, pending: &mut HashMap<String, Action>| {
        next_id += 1;
        let id = next_id.to_string();
        let bytes = action.message(&id).encode();
        pending.insert(id, action);
        bytes
    };
    // The numbers first: a server that refuses the dialplan to this account still lists queues.
    for action in [Action::ShowDialPlan, Action::QueueStatus { queue: None }] {
        let bytes = send(action, &mut pending);
        if let Err(e) = write.write_all(&bytes).await {
            return lost(unreachable(&e), true);
        }
    }

    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut heard_since_ping = true;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            n = read.read(&mut buf) => {
                let n = match n {
                    Ok(0) => return lost(AmiError::Closed { addr }, true),
                    Ok(n) => n,
                    Err(e) => return lost(unreachable(&e), true),
                };
                heard_since_ping = true;
                decoder.push(&buf[..n]);
                while let Some(m) = decoder.next_message() {
                    if m.event().is_some() {
                        if let Some(e) = Event::parse(&m) {
                            report(Report::Event(e));
                        }
                        continue;
                    }
                    // Replies to list actions come before their events; only the others are told.
                    let Some(action) = m.action_id().and_then(|id| pending.remove(id)) else {
                        continue;
                    };
                    if action.is_query() {
                        continue;
                    }
                    let result = match m.response() {
                        Some("Success") => Ok(()),
                        _ => Err(m.get("Message").unwrap_or("refused").to_string()),
                    };
                    report(Report::Reply { action, result });
                }
            }
            action = actions.recv() => {
                let Some(action) = action else {
                    let _ = write.write_all(&Message::new(&[("Action", "Logoff")]).encode()).await;
                    return Ended::Stopped;
                };
                let bytes = send(action, &mut pending);
                if let Err(e) = write.write_all(&bytes).await {
                    return lost(unreachable(&e), true);
                }
            }
            _ = ping.tick() => {
                if !std::mem::replace(&mut heard_since_ping, false) {
                    return lost(AmiError::Silent { addr }, true);
                }
                let ping = Message::new(&[("Action", "Ping"), ("ActionID", "ping")]);
                if let Err(e) = write.write_all(&ping.encode()).await {
                    return lost(unreachable(&e), true);
                }
            }
        }
    }
}

/// Reads until the response with `id`, skipping events (none come before login).
async fn reply_to<R: tokio::io::AsyncRead + Unpin>(
    read: &mut R,
    decoder: &mut Decoder,
    id: &str,
) -> std::io::Result<Message> {
    let mut buf = [0u8; 4096];
    loop {
        while let Some(m) = decoder.next_message() {
            if m.action_id() == Some(id) {
                return Ok(m);
            }
        }
        let n = read.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        decoder.push(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_not_in_debug_output() {
        let c = Config {
            addr: "127.0.0.1:5038".into(),
            user: "desk".into(),
            secret: "hunter2".into(),
            tls: None,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn a_pause_reason_is_one_header() {
        let a = Action::QueuePause {
            queue: "600".into(),
            interface: "PJSIP/1001".into(),
            paused: true,
            reason: "Lunch".into(),
        };
        let wire = String::from_utf8(a.message("7").encode()).unwrap();
        assert!(wire.contains("Paused: true\r\nReason: Lunch\r\n"));
        assert!(wire.contains("ActionID: 7\r\n"));
    }
}
