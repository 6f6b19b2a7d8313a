//! The backend thread: the one owner of the SIP engine, the media engine and the store. It turns
//! the window's commands into their work and reports back as events; it is the only code that
//! touches the network or the disk for the window. Nothing here runs on the UI thread.
//!
//! It has one inbox ([`Input`]): the window's commands, the SIP engine's events, the media
//! engine's events and finished background work arrive on it in order, and are handled one at a
//! time, so no state is shared and no thread forwards one channel into another.
//!
//! | file | what it owns |
//! |---|---|
//! | `session.rs` | signing in and out: the [`session::Session`] enum and the engines it holds |
//! | `lines.rs` | the calls, mirrored from the SIP engine, and their history entry at the end |
//! | `audio.rs` | devices, ringing, and the media engine's reports |
//! | `contacts.rs`, `directory.rs` | local contacts, and the company directory fetched off-thread |
//! | `history.rs`, `voicemail.rs` | My Calls and the Voicemails tab |
//! | `call_center.rs` | the queue tiles: the manager-interface client and the queue history |

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use crate::command::Command;
use crate::event::Event;
use crate::model::HistoryFilter;
use crate::voicemail_player::Player;

mod answering;
mod audio;
mod call_center;
mod contacts;
mod directory;
mod greeting;
mod history;
mod lines;
mod mailbox;
mod retention;
mod routing;
mod session;
mod transcription;
mod voicemail;
mod voicemail_email;

use lines::Lines;
use session::Session;

/// Wakes the window when events are waiting (egui's `request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The data directory the app starts with: `SWITCHBOARD_DATA_DIR`, or the XDG data directory.
pub use storage::paths::default_data_dir;

/// How the backend reaches the outside world; tests point these at temporary folders.
#[derive(Clone, Debug, Default)]
pub struct BackendConfig {
    /// Use no sound devices (tests, bots): the media clock still runs.
    pub headless_audio: bool,
    /// A company directory to load contacts from (XML phonebook or vCard over HTTP), unless
    /// the user sets one in Settings.
    pub directory_url: Option<String>,
    /// How often the directory is fetched again; `None` for every 15 minutes.
    pub directory_refresh: Option<std::time::Duration>,
    /// Where profiles and the remembered account live (`storage::paths::default_data_dir()`
    /// for the app; a temporary folder for a test).
    pub data_dir: std::path::PathBuf,
    /// A manager account for the call-center tiles, used until the user sets one in Settings
    /// (the demo's).
    pub call_center: Option<crate::settings::CallCenter>,
    /// The PBX's voicemail server (IMAP), used until the user sets one in Settings (the
    /// demo's).
    pub voicemail_server: Option<String>,
    /// The speech model for transcribing voicemail; `None` for the first installed one
    /// (`transcribe::model_paths`).
    pub speech_model: Option<std::path::PathBuf>,
}

/// Everything the backend reacts to, on its one inbox.
pub(crate) enum Input {
    Ui(Command),
    Sip(sipcore::Event),
    Media(media::MediaEvent),
    /// A directory fetch finished (it runs on its own thread: a slow server must not hold
    /// up calls).
    Directory {
        url: String,
        result: Result<Vec<crate::directory::Entry>, directory::FetchError>,
    },
    /// Time to fetch the directory again.
    RefreshDirectory,
    /// The call-center client's news.
    Ami(ami::Report),
    /// A voicemail sync with the PBX's mailbox finished ([`mailbox`]).
    MailboxSynced(Result<mailbox::Synced, ::mailbox::MailboxError>),
    /// Background work that has something to tell the user.
    Notice(String),
    /// Emails of voicemails were sent, or not, by voicemail id.
    EmailsSent(Vec<(i64, Result<(), ::mailbox::MailboxError>)>),
    /// Hourly: retention, and emails still to send.
    Housekeeping,
    /// A voicemail was transcribed, or a batch of them is over ([`transcription`]).
    Transcribed(transcription::Transcribed),
    /// A call has rung its ring duration here: the answering machine takes it if it still
    /// rings ([`answering`]).
    Unanswered(crate::model::CallId),
    /// A message has been recorded for the longest a message may be.
    MessageTooLong(crate::model::CallId),
    /// A message's recording was trimmed to what the caller said (`None`: nothing was said).
    MessageTaken(Result<Option<storage::voicemails::NewVoicemail>, String>),
}

/// Starts the backend; returns the command sender for the window and the event receiver.
pub fn start(config: BackendConfig, waker: Waker) -> (crate::command::Commands, Receiver<Event>) {
    let (input_tx, input_rx) = channel::<Input>();
    let (event_tx, event_rx) = channel::<Event>();
    let inbox = input_tx.clone();
    std::thread::Builder::new()
        .name("backend".into())
        .spawn(move || Backend::new(config, inbox, event_tx, waker).run(input_rx))
        .expect("spawning a thread");
    (crate::command::Commands::new(input_tx), event_rx)
}

struct Backend {
    config: BackendConfig,
    /// The backend's own inbox, for the engines and background work to report to.
    inbox: Sender<Input>,
    events: Sender<Event>,
    waker: Waker,
    session: Session,
    lines: Lines,
    history_query: (HistoryFilter, String),
    /// The queue whose history the window shows.
    queue_history_query: call_center::HistoryQuery,
    /// The voicemail being listened to.
    player: Player,
    /// The last directory fetch failed (and the user was told).
    directory_failing: bool,
    /// The last voicemail sync failed (and the user was told): not again until one works.
    mailbox_failing: bool,
    /// The last voicemail email failed (and the user was told): not again until one works.
    email_failing: bool,
    /// The speech model could not be loaded (and the user was told): emails stop waiting for
    /// transcripts until a batch works again.
    transcription_failing: bool,
}

impl Backend {
    fn new(
        config: BackendConfig,
        inbox: Sender<Input>,
        events: Sender<Event>,
        waker: Waker,
    ) -> Self {
        Self {
            config,
            inbox,
            events,
            waker,
            session: Session::SignedOut,
            lines: Lines::default(),
            history_query: (HistoryFilter::All, String::new()),
            queue_history_query: None,
            player: Player::default(),
            directory_failing: false,
            mailbox_failing: false,
            email_failing: false,
            transcription_failing: false,
        }
    }

    fn emit(&self, e: Event) {
        if self.events.send(e).is_ok() {
            (self.waker)();
        }
    }

    /// Queues an event for the window's next frame without asking for one, for what is shown
    /// only while the window repaints anyway.
    fn emit_unhurried(&self, e: Event) {
        let _ = self.events.send(e);
    }

    fn notice(&self, text: impl Into<String>) {
        self.emit(Event::Notice(text.into()));
    }

    fn run(mut self, inbox: Receiver<Input>) {
        let directory_every = self.config.directory_refresh;
        every(
            &self.inbox,
            "directory-refresh",
            directory::refresh_period(directory_every),
            || Input::RefreshDirectory,
        );
        every(
            &self.inbox,
            "housekeeping",
            retention::HOUSEKEEPING_EVERY,
            || Input::Housekeeping,
        );
        self.sign_in_remembered();
        for input in inbox {
            match input {
                Input::Ui(c) => self.command(c),
                Input::Sip(e) => self.sip_event(e),
                Input::Media(e) => self.media_event(e),
                Input::Directory { url, result } => self.directory_fetched(url, result),
                Input::RefreshDirectory => self.load_contacts(),
                Input::Ami(r) => self.ami_report(r),
                Input::MailboxSynced(result) => self.mailbox_synced(result),
                Input::Notice(text) => self.notice(text),
                Input::EmailsSent(results) => self.emails_sent(results),
                Input::Housekeeping => {
                    self.apply_retention();
                    self.transcribe_voicemails();
                    self.send_pending_emails();
                }
                Input::Transcribed(news) => self.transcribed(news),
                Input::Unanswered(call) => self.unanswered(call),
                Input::MessageTooLong(call) => self.message_too_long(call),
                Input::MessageTaken(result) => self.message_taken(result),
            }
        }
        self.sign_out(false);
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::SignIn(form) => self.sign_in(form),
            Command::SignOut => self.sign_out(true),
            Command::Quit => self.quit(),
            Command::Refresh => {
                self.load_contacts();
                self.send_history();
                self.send_voicemails();
                self.sync_mailbox();
            }
            Command::Dial(target) => self.place_call(target, None),
            Command::SaveContact(draft) => self.save_contact(draft),
            Command::DeleteContact(id) => self.delete_contact(id),
            Command::ImportContacts(entries) => self.import_contacts(entries),
            Command::ContactsOnScreen(extensions) => self.contacts_on_screen(extensions),
            c @ (Command::Answer(_)
            | Command::Decline(_)
            | Command::HangUp(_)
            | Command::Hold(_)
            | Command::Resume(_)
            | Command::SwitchTo(_)
            | Command::SetMute(..)
            | Command::SendDtmf(..)
            | Command::Transfer { .. }
            | Command::CompleteTransfer(_)
            | Command::Merge(..)
            | Command::Split(_)) => self.line_command(c),
            Command::LoadHistory { filter, search } => {
                self.history_query = (filter, search);
                self.send_history();
            }
            Command::SaveSettings(form) => self.save_settings(form),
            Command::SetPhoto(png) => self.set_photo(png),
            c
            @ (Command::MicMeter(_) | Command::PreviewRingtone { .. } | Command::PlayTestTone) => {
                self.audio_command(c)
            }
            c @ (Command::RecordGreeting
            | Command::StopRecordingGreeting
            | Command::PlayGreeting
            | Command::UseSpokenGreeting) => self.greeting_command(c),
            c @ (Command::PlayVoicemail(_)
            | Command::PauseVoicemail
            | Command::SeekVoicemail(..)
            | Command::DeleteVoicemail(_)) => self.voicemail_command(c),
            c @ (Command::QueueLogIn(_)
            | Command::QueueLogOut(_)
            | Command::QueuePause { .. }
            | Command::LoadQueueHistory { .. }) => self.call_center_command(c),
            Command::SetDoNotDisturb(on) => self.set_do_not_disturb(on),
            Command::SetPresence(p) => {
                let dnd = self
                    .session
                    .engines()
                    .is_some_and(|s| s.settings.do_not_disturb);
                // Back from idle under do-not-disturb is still busy to colleagues.
                let p = match p {
                    crate::model::Presence::Online if dnd => crate::model::Presence::Busy,
                    p => p,
                };
                if let Some(a) = crate::convert::availability(p) {
                    self.sip(sipcore::Command::SetPresence(a));
                }
            }
        }
    }

    /// Sends a command to the SIP engine, when signed in.
    fn sip(&self, c: sipcore::Command) {
        if let Some(e) = self.session.engines() {
            e.sip.send(c);
        }
    }

    fn sip_event(&mut self, e: sipcore::Event) {
        use crate::convert;
        match e {
            sipcore::Event::Registration(state) => self.registration(state),
            sipcore::Event::IncomingCall { call, from } => self.incoming_call(call, from),
            sipcore::Event::CallState { call, state } => self.call_state(call, state),
            sipcore::Event::TransferredBy {
                call,
                new_call,
                target,
            } => self.transferred_by(call, new_call, target),
            sipcore::Event::Transfer {
                call,
                target,
                state,
            } => self.transfer_progress(call, convert::transfer(target, state)),
            sipcore::Event::Conference { members } => self.conference(members),
            sipcore::Event::MessageWaiting { new, old } => {
                self.emit(Event::MessageWaiting { new, old });
                // The count moved: a voicemail came, or went elsewhere.
                self.sync_mailbox();
            }
            sipcore::Event::PhoneStatus { extension, status } => self.emit(Event::ContactStatus {
                extension,
                presence: None,
                phone: Some(convert::phone_status(status)),
            }),
            sipcore::Event::Presence {
                extension,
                availability,
                ..
            } => self.emit(Event::ContactStatus {
                extension,
                presence: Some(convert::presence(availability)),
                phone: None,
            }),
            sipcore::Event::Error(e) => self.notice(e.to_string()),
            // Our presence is a courtesy to colleagues: a server without it is logged by the
            // engine, not put in front of the user.
            sipcore::Event::OwnPresence(state) => tracing::debug!(?state, "own presence"),
            sipcore::Event::Dtmf { .. }
            | sipcore::Event::SessionRefreshed { .. }
            | sipcore::Event::MessageReceived { .. }
            | sipcore::Event::MessageResult { .. } => {}
        }
    }
}

/// Background work that runs one batch at a time (a voicemail sync, a round of
/// transcriptions): asked for while a batch runs, it runs once more when that one ends.
#[derive(Debug, Default)]
pub(super) enum Batch {
    #[default]
    Idle,
    Running {
        /// Asked again while running.
        again: bool,
    },
}

impl Batch {
    /// Whether a batch is running; if so, it is asked to run once more after.
    fn busy(&mut self) -> bool {
        match self {
            Batch::Running { again } => {
                *again = true;
                true
            }
            Batch::Idle => false,
        }
    }

    fn start(&mut self) {
        *self = Batch::Running { again: false };
    }

    /// The batch is over: whether it was asked for again meanwhile.
    fn finish(&mut self) -> bool {
        matches!(std::mem::take(self), Batch::Running { again: true })
    }
}

/// Sends `input()` to the backend's inbox every `period`, for as long as the backend runs.
fn every(inbox: &Sender<Input>, name: &str, period: std::time::Duration, input: fn() -> Input) {
    let inbox = inbox.clone();
    let _ = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            loop {
                std::thread::sleep(period);
                if inbox.send(input()).is_err() {
                    return;
                }
            }
        });
}

/// Sends `input` to the backend's inbox once, after `delay`.
fn after(inbox: &Sender<Input>, delay: std::time::Duration, input: Input) {
    let inbox = inbox.clone();
    let _ = std::thread::Builder::new()
        .name("timer".into())
        .spawn(move || {
            std::thread::sleep(delay);
            let _ = inbox.send(input);
        });
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
