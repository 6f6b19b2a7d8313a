//! The backend thread: the one owner of the SIP engine, the media engine and the store. It turns
//! the window's commands into their work and reports back as events; it is the only code that
//! touches the network or the disk for the window. Nothing here runs on the UI thread.

use std::collections::HashMap;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Instant;

use sipcore::media_adapter::{AudioSource, MediaEngine};
use storage::{HistoryFilter as StoreFilter, Store};

use crate::command::{Command, SignIn, Transport};
use crate::event::Event;
use crate::model::ProfileFacts;
use crate::model::{self, CallId, CallState, Direction, HistoryFilter, HistoryKind, Registration};
use crate::settings::SettingsForm;
use crate::voicemail_player::Player;

mod contacts;
mod directory;
mod voicemail;

use directory::{directory_url, fetch_directory};

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
}

enum Input {
    Ui(Command),
    Sip(sipcore::Event),
    Media(media::MediaEvent),
    /// A directory fetch finished (it runs on its own thread: a slow server must not hold
    /// up calls).
    Directory {
        url: String,
        result: Result<Vec<crate::directory::Entry>, String>,
    },
    /// Time to fetch the directory again.
    RefreshDirectory,
}

/// Starts the backend; returns the command sender for the window and the event receiver.
pub fn start(config: BackendConfig, waker: Waker) -> (crate::command::Commands, Receiver<Event>) {
    let (cmd_tx, cmd_rx) = channel::<Command>();
    let (input_tx, input_rx) = channel::<Input>();
    let (event_tx, event_rx) = channel::<Event>();
    let forward = input_tx.clone();
    std::thread::Builder::new()
        .name("backend-commands".into())
        .spawn(move || {
            for c in cmd_rx {
                if forward.send(Input::Ui(c)).is_err() {
                    break;
                }
            }
        })
        .expect("spawning a thread");
    std::thread::Builder::new()
        .name("backend".into())
        .spawn(move || Backend::new(config, input_tx, event_tx, waker).run(input_rx))
        .expect("spawning a thread");
    (crate::command::Commands::new(cmd_tx), event_rx)
}

/// What the backend keeps about each call, beyond what the window shows.
struct CallRecord {
    call: model::Call,
    started_ms: i64,
    answered_ms: Option<i64>,
    /// When the backend took the dial command, for the set-up time it logs on answer.
    dialled_at: Option<Instant>,
}

struct Session {
    /// The desk-phone question was considered in this sign-in.
    asked_desk_phone: bool,
    store: Store,
    sip: sipcore::Handle,
    media: media::Engine,
    account: sipcore::Account,
    signed_in: bool,
    remember: bool,
    password: String,
    /// The devices the user chose, as saved; the engine may be on defaults after an unplug.
    audio: crate::settings::Audio,
    /// True after the engine fell back from a chosen device, until it is back in use.
    fell_back: bool,
}

struct Backend {
    config: BackendConfig,
    inputs: Sender<Input>,
    events: Sender<Event>,
    waker: Waker,
    session: Option<Session>,
    calls: HashMap<CallId, CallRecord>,
    next_call: u64,
    next_conference: u32,
    history_query: (HistoryFilter, String),
    /// The voicemail being listened to.
    player: Player,
    /// The last directory fetch failed (and the user was told).
    directory_failing: bool,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Backend {
    fn new(
        config: BackendConfig,
        inputs: Sender<Input>,
        events: Sender<Event>,
        waker: Waker,
    ) -> Self {
        Self {
            config,
            inputs,
            events,
            waker,
            session: None,
            calls: HashMap::new(),
            next_call: 1,
            next_conference: 1,
            history_query: (HistoryFilter::All, String::new()),
            player: Player::default(),
            directory_failing: false,
        }
    }

    fn emit(&self, e: Event) {
        if self.events.send(e).is_ok() {
            (self.waker)();
        }
    }

    fn notice(&self, text: impl Into<String>) {
        self.emit(Event::Notice(text.into()));
    }

    fn run(mut self, inputs: Receiver<Input>) {
        directory::start_refresh_timer(self.inputs.clone(), self.config.directory_refresh);
        self.sign_in_remembered();
        for input in inputs {
            match input {
                Input::Ui(c) => self.command(c),
                Input::Sip(e) => self.sip_event(e),
                Input::Media(e) => self.media_event(e),
                Input::Directory { url, result } => self.directory_fetched(url, result),
                Input::RefreshDirectory => self.load_contacts(),
            }
        }
        self.sign_out(false);
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::SignIn(form) => self.sign_in(form),
            Command::SignOut => self.sign_out(true),
            Command::Quit => {
                // Keep the remembered account: quitting is not logging out. Wait for the
                // engine so the PBX hears our BYEs and un-REGISTER before the process ends.
                if let Some(s) = self.session.take() {
                    s.sip.shutdown_and_wait(std::time::Duration::from_secs(3));
                    s.media.shutdown();
                }
                self.calls.clear();
                self.emit(Event::Stopped);
            }
            Command::Refresh => {
                self.load_contacts();
                self.send_history();
                self.send_voicemails();
            }
            other => self.call_command(other),
        }
    }

    // ── Signing in and out ──────────────────────────────────────────────

    /// At start: sign in with the account last signed in with "Remember me", when its password
    /// is still kept. Otherwise the window shows the empty form.
    fn sign_in_remembered(&mut self) {
        let Some(r) = storage::remembered::remembered(&self.config.data_dir) else {
            return;
        };
        let dir = storage::paths::profile_dir(&self.config.data_dir, &r.user, &r.server);
        let password = match storage::secrets::load_password(&dir) {
            Ok(Some((password, _))) => password,
            Ok(None) => return,
            Err(e) => {
                self.notice(format!("Your saved password could not be read: {e}"));
                return;
            }
        };
        self.emit(Event::SigningIn {
            identity: r.user.clone(),
            server: r.server.clone(),
        });
        self.sign_in(SignIn {
            identity: r.user,
            password,
            server: r.server,
            transport: match r.transport.as_str() {
                "tcp" => Transport::Tcp,
                "tls" => Transport::Tls,
                _ => Transport::Udp,
            },
            trusted_ca: None,
            remember: true,
        });
    }

    fn sign_in(&mut self, form: SignIn) {
        if self.session.is_some() {
            self.sign_out(false);
        }
        match self.try_sign_in(&form) {
            Ok(session) => self.session = Some(session),
            Err(why) => self.emit(Event::SignInFailed(why)),
        }
    }

    fn try_sign_in(&mut self, form: &SignIn) -> Result<Session, String> {
        let user = form.identity.trim();
        if user.contains('@') {
            return Err("Signing in with an email needs your company directory; enter your extension instead.".into());
        }
        let server = form.server.trim();
        let server_addr = server
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .or_else(|| {
                format!("{server}:5060")
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
            })
            .ok_or_else(|| format!("The server address “{server}” could not be found."))?;
        let bind_ip = sipcore::local_ip_towards(server_addr)
            .map_err(|e| format!("No network route to {server}: {e}."))?;
        let dir = storage::paths::profile_dir(&self.config.data_dir, user, server);
        let store = Store::open(&dir).map_err(|e| e.to_string())?;

        let (media_tx, media_rx) = channel();
        let audio = store
            .setting::<SettingsForm>("settings")
            .ok()
            .flatten()
            .unwrap_or_default()
            .audio;
        let devices = self.engine_config(&audio);
        let engine = match media::Engine::start(devices, media_tx.clone()) {
            Ok(e) => e,
            Err(e) => {
                self.notice(format!("The sound devices could not be opened ({e}); calls will have no audio until they are."));
                media::Engine::start(media::EngineConfig::headless(), media_tx)
                    .map_err(|e| e.to_string())?
            }
        }
        .with_hold_music(crate::assets::hold_music());
        let forward = self.inputs.clone();
        std::thread::spawn(move || {
            for e in media_rx {
                if forward.send(Input::Media(e)).is_err() {
                    break;
                }
            }
        });
        let adapter = Arc::new(MediaEngine {
            engine: engine.clone(),
            source: AudioSource::Devices,
            record_dir: None,
        });
        let config = sipcore::EngineConfig {
            bind_ip,
            ..Default::default()
        };
        let (sip, sip_events) = sipcore::start(config, adapter, None).map_err(|e| e.to_string())?;
        let forward = self.inputs.clone();
        std::thread::spawn(move || {
            for e in sip_events {
                if forward.send(Input::Sip(e)).is_err() {
                    break;
                }
            }
        });
        let mut account = sipcore::Account::new(user, &form.password, server);
        account.transport = match form.transport {
            Transport::Udp => sipcore::Transport::Udp,
            Transport::Tcp => sipcore::Transport::Tcp,
            Transport::Tls => sipcore::Transport::Tls,
        };
        let saved = store.account().ok().flatten();
        if let Some(saved) = &saved
            && !saved.display_name.is_empty()
        {
            account.display_name = Some(saved.display_name.clone());
        }
        account.trusted_ca = form.trusted_ca.clone().or_else(|| {
            saved
                .as_ref()
                .and_then(|s| s.transport_options.trusted_ca_file.clone())
                .map(std::path::PathBuf::from)
        });
        sip.send(sipcore::Command::Register(account.clone()));
        self.emit(Event::Registration(Registration::Connecting));
        Ok(Session {
            store,
            sip,
            media: engine,
            account,
            signed_in: false,
            remember: form.remember,
            password: form.password.clone(),
            audio,
            fell_back: false,
            asked_desk_phone: false,
        })
        .inspect(|s| self.send_devices(&s.media))
    }

    /// The media engine's devices for the user's choice (`None` is the system default).
    fn engine_config(&self, audio: &crate::settings::Audio) -> media::EngineConfig {
        if self.config.headless_audio {
            return media::EngineConfig::headless();
        }
        media::EngineConfig {
            headless: false,
            microphone: audio.microphone.clone(),
            speaker: audio.speaker.clone(),
            ringer: audio.ringer.clone(),
        }
    }

    /// Tells the settings page which devices exist. Listing probes the sound system, which is
    /// why it happens here and not on the UI thread.
    fn send_devices(&self, engine: &media::Engine) {
        if self.config.headless_audio {
            return;
        }
        match engine.list_devices() {
            Ok(list) => {
                let of = |kind| {
                    list.iter()
                        .filter(|d| d.kind == kind)
                        .map(|d| (d.id.clone(), d.name.clone()))
                        .collect()
                };
                self.emit(Event::Devices {
                    inputs: of(media::DeviceKind::Input),
                    outputs: of(media::DeviceKind::Output),
                });
            }
            Err(e) => self.notice(format!("The sound devices could not be listed: {e}")),
        }
    }

    /// The first successful registration completes the sign-in.
    fn signed_in(&mut self) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if s.signed_in {
            return;
        }
        s.signed_in = true;
        let mut keyring_warning = None;
        let saved = s.store.account().ok().flatten();
        let mut record = saved.clone().unwrap_or_default();
        record.server = s.account.server.clone();
        record.username = s.account.username.clone();
        record.transport_options.trusted_ca_file = s
            .account
            .trusted_ca
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned());
        record.transport = match s.account.transport {
            sipcore::Transport::Udp => "udp",
            sipcore::Transport::Tcp => "tcp",
            sipcore::Transport::Tls => "tls",
        }
        .into();
        if s.remember {
            let remembered = storage::remembered::Remembered {
                user: s.account.username.clone(),
                server: s.account.server.clone(),
                transport: record.transport.clone(),
            };
            if let Err(e) = storage::remembered::remember(&self.config.data_dir, &remembered) {
                keyring_warning = Some(e.to_string());
            }
            if let Err(e) = s.store.save_account(&record) {
                keyring_warning = Some(e.to_string());
            }
            match storage::secrets::save_password(s.store.dir(), &s.password) {
                Ok(backend) => {
                    keyring_warning = backend.warning().map(str::to_string).or(keyring_warning)
                }
                Err(e) => keyring_warning = Some(e.to_string()),
            }
        }
        if let Some(url) = &self.config.directory_url
            && let Ok(entries) = fetch_directory(url)
            && let Some(me) = entries
                .iter()
                .find(|e| e.extension.as_deref() == Some(s.account.username.as_str()))
        {
            // The company directory knows our name and email; keep them with the account.
            record.display_name = me.name.clone();
            record.email = me.email.clone().unwrap_or_default();
            record.number = me.numbers.first().cloned().unwrap_or_default();
            if let Err(e) = s.store.save_account(&record) {
                keyring_warning = Some(e.to_string());
            }
        }
        let settings: SettingsForm = s
            .store
            .setting("settings")
            .ok()
            .flatten()
            .unwrap_or_default();
        let facts = ProfileFacts {
            name: if record.display_name.is_empty() {
                s.account.username.clone()
            } else {
                record.display_name.clone()
            },
            extension: s.account.username.clone(),
            number: record.number.clone(),
            email: record.email.clone(),
        };
        let photo = record.photo.clone();
        self.emit(Event::SignedIn {
            facts,
            photo,
            settings: Box::new(settings),
            keyring_warning,
        });
        // Colleagues see us online; the window reports away after idle time from here on.
        self.sip(sipcore::Command::SetPresence(sipcore::Availability::Online));
        self.load_contacts();
        self.send_history();
        self.send_voicemails();
    }

    /// Asks once per sign-in, and never again once the user has answered.
    fn desk_phone_found(&mut self) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if s.asked_desk_phone {
            return;
        }
        s.asked_desk_phone = true;
        let settings: SettingsForm = s
            .store
            .setting("settings")
            .ok()
            .flatten()
            .unwrap_or_default();
        if !settings.call_strategy.desk_phone_asked {
            self.emit(Event::DeskPhoneFound);
        }
    }

    fn sign_out(&mut self, forget: bool) {
        let Some(s) = self.session.take() else { return };
        s.sip.send(sipcore::Command::Shutdown);
        s.media.shutdown();
        if forget {
            // Logging out: the next start shows the sign-in form again.
            let _ = storage::secrets::forget_password(s.store.dir());
            let _ = storage::remembered::forget(&self.config.data_dir);
        }
        self.calls.clear();
        self.player = Player::default();
        self.emit(Event::SignedOut);
    }

    // ── Directory and history ───────────────────────────────────────────

    /// Sends the stored contacts (directory and local) to the window.
    fn send_contacts(&mut self) {
        let Some(s) = self.session.as_ref() else {
            return;
        };
        match s.store.contacts() {
            Ok(list) => {
                let contacts = list
                    .into_iter()
                    .map(|c| model::Contact {
                        id: c.id,
                        name: c.name,
                        extension: c.extension,
                        number: c.numbers.first().cloned(),
                        photo: c.avatar.map(Arc::from),
                        presence: model::Presence::Unknown,
                        phone: model::PhoneStatus::Unknown,
                        can_text: false,
                        email: c.email,
                        local: c.source == storage::ContactSource::Local,
                    })
                    .collect::<Vec<_>>();
                // Watch every contact with an extension: sipcore subscribes to their phone
                // status and presence (paced), and drops the ones no longer listed.
                let extensions = contacts
                    .iter()
                    .filter_map(|c| c.extension.clone())
                    .collect();
                self.emit(Event::Contacts(contacts));
                self.sip(sipcore::Command::Watch { extensions });
            }
            Err(e) => self.notice(e.to_string()),
        }
    }

    fn send_history(&self) {
        let Some(s) = self.session.as_ref() else {
            return;
        };
        let filter = match self.history_query.0 {
            HistoryFilter::All => StoreFilter::All,
            HistoryFilter::Missed => StoreFilter::Kind(storage::CallKind::Missed),
            HistoryFilter::Incoming => StoreFilter::Kind(storage::CallKind::Incoming),
            HistoryFilter::Outgoing => StoreFilter::Kind(storage::CallKind::Outgoing),
            HistoryFilter::Voicemail => StoreFilter::Kind(storage::CallKind::Voicemail),
        };
        match s
            .store
            .history_page(filter, &self.history_query.1, None, 200)
        {
            Ok(rows) => {
                let rows = rows
                    .into_iter()
                    .map(|r| model::HistoryEntry {
                        id: r.id,
                        duration_secs: r.duration_secs(),
                        kind: match r.entry.kind {
                            storage::CallKind::Incoming => HistoryKind::Incoming,
                            storage::CallKind::Outgoing => HistoryKind::Outgoing,
                            storage::CallKind::Missed => HistoryKind::Missed,
                            storage::CallKind::Voicemail => HistoryKind::Voicemail,
                        },
                        remote_name: r.entry.remote_name,
                        remote_number: r.entry.remote_number,
                        started_at_ms: r.entry.started_at,
                    })
                    .collect();
                self.emit(Event::History(rows));
            }
            Err(e) => self.notice(e.to_string()),
        }
    }

    // ── Calls ───────────────────────────────────────────────────────────

    fn sip(&self, c: sipcore::Command) {
        if let Some(s) = &self.session {
            s.sip.send(c);
        }
    }

    fn live_others(&self, except: CallId) -> Vec<CallId> {
        self.calls
            .values()
            .filter(|r| {
                r.call.id != except
                    && r.call.state == CallState::Active
                    && r.call.conference.is_none()
            })
            .map(|r| r.call.id)
            .collect()
    }

    fn call_command(&mut self, c: Command) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        match c {
            Command::Dial(target) => self.place_call(target, None),
            Command::SaveContact(draft) => self.save_contact(draft),
            Command::DeleteContact(id) => self.delete_contact(id),
            Command::ImportContacts(entries) => self.import_contacts(entries),
            Command::Answer(id) => {
                session.media.stop_ringing();
                for other in self.live_others(id) {
                    self.sip(sipcore::Command::Hold(sipcore::CallId(other.0)));
                }
                self.sip(sipcore::Command::Answer(sipcore::CallId(id.0)));
            }
            Command::Decline(id) => {
                session.media.stop_ringing();
                self.sip(sipcore::Command::Reject {
                    call: sipcore::CallId(id.0),
                    decline: false,
                });
            }
            Command::HangUp(id) => self.sip(sipcore::Command::HangUp(sipcore::CallId(id.0))),
            Command::Hold(id) => self.sip(sipcore::Command::Hold(sipcore::CallId(id.0))),
            Command::Resume(id) => {
                for other in self.live_others(id) {
                    self.sip(sipcore::Command::Hold(sipcore::CallId(other.0)));
                }
                self.sip(sipcore::Command::Resume(sipcore::CallId(id.0)));
            }
            Command::SwitchTo(id) => {
                for other in self.live_others(id) {
                    self.sip(sipcore::Command::Hold(sipcore::CallId(other.0)));
                }
                self.sip(sipcore::Command::Resume(sipcore::CallId(id.0)));
            }
            Command::SetMute(id, muted) => {
                self.sip(sipcore::Command::SetMute {
                    call: sipcore::CallId(id.0),
                    muted,
                });
                if let Some(r) = self.calls.get_mut(&id) {
                    r.call.muted = muted;
                    let call = r.call.clone();
                    self.emit(Event::Call(Box::new(call)));
                }
            }
            Command::SendDtmf(id, digit) => {
                // The user hears the key they pressed, as on a desk phone.
                session.media.play_tone(media::Tone::Dtmf(digit));
                self.sip(sipcore::Command::SendDtmf {
                    call: sipcore::CallId(id.0),
                    digit,
                })
            }
            Command::Transfer {
                call,
                target,
                attended: false,
            } => self.sip(sipcore::Command::Transfer {
                call: sipcore::CallId(call.0),
                target,
            }),
            // Attended: call the target first (the caller goes on hold); "Complete transfer"
            // on that consult call then hands the caller over.
            Command::Transfer {
                call,
                target,
                attended: true,
            } => self.place_call(target, Some(call)),
            Command::CompleteTransfer(consult) => {
                match self.calls.get(&consult).and_then(|r| r.call.consult_for) {
                    Some(call) => self.sip(sipcore::Command::AttendedTransfer {
                        call: sipcore::CallId(call.0),
                        consult: sipcore::CallId(consult.0),
                    }),
                    None => self.notice("That call is not a transfer consultation."),
                }
            }
            Command::Merge(a, b) => {
                let group = self.next_conference;
                self.next_conference += 1;
                self.sip(sipcore::Command::Resume(sipcore::CallId(a.0)));
                self.sip(sipcore::Command::Resume(sipcore::CallId(b.0)));
                self.sip(sipcore::Command::Merge(vec![
                    sipcore::CallId(a.0),
                    sipcore::CallId(b.0),
                ]));
                for id in [a, b] {
                    if let Some(r) = self.calls.get_mut(&id) {
                        r.call.conference = Some(group);
                        let call = r.call.clone();
                        self.emit(Event::Call(Box::new(call)));
                    }
                }
            }
            Command::Split(id) => {
                let group = self.calls.get(&id).and_then(|r| r.call.conference);
                let members: Vec<CallId> = self
                    .calls
                    .values()
                    .filter(|r| group.is_some() && r.call.conference == group)
                    .map(|r| r.call.id)
                    .collect();
                self.sip(sipcore::Command::Split {
                    keep: sipcore::CallId(id.0),
                });
                for m in &members {
                    if *m != id {
                        self.sip(sipcore::Command::Hold(sipcore::CallId(m.0)));
                    }
                    if let Some(r) = self.calls.get_mut(m) {
                        r.call.conference = None;
                        let call = r.call.clone();
                        self.emit(Event::Call(Box::new(call)));
                    }
                }
            }
            Command::LoadHistory { filter, search } => {
                self.history_query = (filter, search);
                self.send_history();
            }
            Command::SaveSettings(form) => {
                let old_directory = directory_url(&self.config, &session.store);
                match session.store.set_setting("settings", &*form) {
                    Ok(()) => {
                        if form.audio != session.audio {
                            session.audio = form.audio.clone();
                            session.fell_back = false;
                            let config = self.engine_config(&form.audio);
                            if let Some(s) = &self.session {
                                s.media.set_devices(config);
                            }
                        }
                        self.emit(Event::SettingsSaved(form));
                        let new_directory = self
                            .session
                            .as_ref()
                            .and_then(|s| directory_url(&self.config, &s.store));
                        if new_directory != old_directory {
                            self.load_contacts();
                        }
                    }
                    Err(e) => self.emit(Event::SettingsFailed(e.to_string())),
                }
            }
            Command::MicMeter(on) => session.media.set_mic_meter(on),
            Command::SetPhoto(png) => match session.store.set_photo(png.as_deref()) {
                Ok(()) => self.emit(Event::Photo(png)),
                Err(e) => self.notice(e.to_string()),
            },
            Command::PreviewRingtone { ringtone, volume } => {
                if let Err(e) = session
                    .media
                    .preview_ringtone(&crate::assets::ringtone(&ringtone), volume)
                {
                    self.notice(format!("The ringtone could not be played: {e}"));
                }
            }
            Command::PlayTestTone => session.media.play_tone(media::Tone::Test),
            c @ (Command::PlayVoicemail(_)
            | Command::PauseVoicemail
            | Command::SeekVoicemail(..)
            | Command::DeleteVoicemail(_)) => self.voicemail_command(c),
            Command::SetPresence(p) => {
                let availability = match p {
                    model::Presence::Online => Some(sipcore::Availability::Online),
                    model::Presence::Away => Some(sipcore::Availability::Away),
                    model::Presence::Busy => Some(sipcore::Availability::Busy),
                    model::Presence::Offline => Some(sipcore::Availability::Offline),
                    // Nothing to publish for "not reported".
                    model::Presence::Unknown => None,
                };
                if let Some(a) = availability {
                    self.sip(sipcore::Command::SetPresence(a));
                }
            }
            Command::SignIn(_) | Command::SignOut | Command::Quit | Command::Refresh => {}
        }
    }

    fn sip_event(&mut self, e: sipcore::Event) {
        match e {
            sipcore::Event::Registration(state) => {
                use sipcore::RegistrationState as R;
                let first = self.session.as_ref().is_some_and(|s| !s.signed_in);
                match state {
                    R::Registered { other_devices, .. } => {
                        self.signed_in();
                        self.emit(Event::Registration(Registration::Registered));
                        if other_devices > 0 {
                            self.desk_phone_found();
                        }
                    }
                    R::Failed { reason, .. } if first => {
                        self.sign_out(false);
                        self.emit(Event::SignInFailed(reason.to_string()));
                    }
                    R::Failed { reason, .. } => self.emit(Event::Registration(
                        Registration::Failed(reason.to_string()),
                    )),
                    R::Registering => self.emit(Event::Registration(Registration::Connecting)),
                    R::Unregistered => self.emit(Event::Registration(Registration::Offline)),
                }
            }
            sipcore::Event::IncomingCall { call, from } => {
                let mut c =
                    model::Call::new(CallId(call.0), Direction::Incoming, from.number.clone());
                c.remote_name = from.name.clone();
                c.state = CallState::Ringing;
                self.track_call(c.clone(), None);
                self.ring();
            }
            sipcore::Event::CallState { call, state } => self.call_state(CallId(call.0), state),
            sipcore::Event::MessageWaiting { new, old } => {
                self.emit(Event::MessageWaiting { new, old })
            }
            sipcore::Event::TransferredBy {
                call,
                new_call,
                target,
            } => {
                // The far end handed us on: the new call is ours, like one we dialled.
                let who = self
                    .calls
                    .get(&CallId(call.0))
                    .map(|r| r.call.display_name().to_string())
                    .unwrap_or_default();
                let mut c = model::Call::new(
                    CallId(new_call.0),
                    Direction::Outgoing,
                    target.number.clone(),
                );
                c.remote_name = target.name.clone();
                self.track_call(c, Some(Instant::now()));
                self.notice(format!("{who} transferred you to {}.", target.number));
            }
            sipcore::Event::Transfer {
                call,
                target,
                state,
            } => {
                if let Some(r) = self.calls.get_mut(&CallId(call.0)) {
                    r.call.transfer = Some(match state {
                        sipcore::TransferState::Trying => {
                            model::TransferProgress::Trying { target }
                        }
                        sipcore::TransferState::Done => model::TransferProgress::Done { target },
                        sipcore::TransferState::Failed(reason) => {
                            model::TransferProgress::Failed { target, reason }
                        }
                    });
                    let c = r.call.clone();
                    self.emit(Event::Call(Box::new(c)));
                }
            }
            sipcore::Event::PhoneStatus { extension, status } => self.emit(Event::ContactStatus {
                extension,
                presence: None,
                phone: Some(match status {
                    sipcore::LineState::Idle => model::PhoneStatus::Idle,
                    sipcore::LineState::Ringing => model::PhoneStatus::Ringing,
                    sipcore::LineState::OnCall => model::PhoneStatus::OnCall,
                }),
            }),
            sipcore::Event::Presence {
                extension,
                availability,
                ..
            } => self.emit(Event::ContactStatus {
                extension,
                presence: Some(match availability {
                    sipcore::Availability::Online => model::Presence::Online,
                    sipcore::Availability::Away => model::Presence::Away,
                    sipcore::Availability::Busy => model::Presence::Busy,
                    sipcore::Availability::Offline => model::Presence::Offline,
                }),
                phone: None,
            }),
            sipcore::Event::Error(e) => self.notice(e.to_string()),
            // Our presence is a courtesy to colleagues: a server without it is logged by the
            // engine, not put in front of the user.
            sipcore::Event::OwnPresence(state) => tracing::debug!(?state, "own presence"),
            sipcore::Event::Dtmf { .. }
            | sipcore::Event::SessionRefreshed { .. }
            | sipcore::Event::MessageReceived { .. }
            | sipcore::Event::MessageResult { .. }
            | sipcore::Event::Conference { .. } => {}
        }
    }

    /// The ringtone from the settings, unless notifications are muted.
    fn ring(&self) {
        let Some(s) = &self.session else { return };
        let settings: SettingsForm = s
            .store
            .setting("settings")
            .ok()
            .flatten()
            .unwrap_or_default();
        if settings.notifications.mute_all {
            return;
        }
        if let Err(e) = s.media.start_ringing(
            &crate::assets::ringtone(&settings.notifications.ringtone),
            settings.notifications.volume,
        ) {
            tracing::warn!("ringtone: {e}");
        }
    }

    fn call_state(&mut self, id: CallId, state: sipcore::CallState) {
        let Some(session) = self.session.as_ref() else {
            return;
        };
        let media = session.media.clone();
        let account = session.account.aor();
        let Some(r) = self.calls.get_mut(&id) else {
            return;
        };
        match state {
            sipcore::CallState::Dialing => r.call.state = CallState::Dialing,
            sipcore::CallState::Ringing { early_media } => {
                r.call.state = CallState::Ringback { early_media };
                if !early_media {
                    media.play_tone(media::Tone::Ringback);
                }
            }
            sipcore::CallState::Incoming => r.call.state = CallState::Ringing,
            sipcore::CallState::Active { hold } => {
                if r.answered_ms.is_none() {
                    media.stop_tone();
                    media.stop_ringing();
                    r.answered_ms = Some(now_ms());
                    r.call.answered_at = Some(Instant::now());
                    if let Some(dialled) = r.dialled_at {
                        tracing::info!(
                            call = id.0,
                            setup_ms = dialled.elapsed().as_secs_f64() * 1000.0,
                            "call answered"
                        );
                    }
                }
                r.call.state = if hold.local() {
                    CallState::Held
                } else {
                    CallState::Active
                };
                r.call.held_by_remote = hold.remote();
            }
            sipcore::CallState::Ended(reason) => {
                media.stop_tone();
                if r.call.direction == Direction::Incoming && r.answered_ms.is_none() {
                    media.stop_ringing();
                }
                let kind = match (r.call.direction, r.answered_ms) {
                    (Direction::Outgoing, _) => storage::CallKind::Outgoing,
                    (Direction::Incoming, Some(_)) => storage::CallKind::Incoming,
                    (Direction::Incoming, None) => storage::CallKind::Missed,
                };
                let entry = storage::NewHistoryEntry {
                    kind,
                    remote_name: r.call.remote_name.clone(),
                    remote_number: r.call.remote_number.clone(),
                    started_at: r.started_ms,
                    answered_at: r.answered_ms,
                    ended_at: now_ms(),
                    result: reason.to_string(),
                    account,
                    quality_mos: r.call.quality.map(|q| q.mos),
                };
                let outgoing_failed = r.call.direction == Direction::Outgoing
                    && r.answered_ms.is_none()
                    && !matches!(reason, sipcore::EndReason::Cancelled);
                let who = r.call.display_name().to_string();
                tracing::info!(call = id.0, %reason, "call ended");
                self.calls.remove(&id);
                self.emit(Event::CallRemoved(id));
                if outgoing_failed {
                    self.notice(format!("Call to {who}: {reason}"));
                }
                if let Some(s) = self.session.as_mut()
                    && let Err(e) = s.store.add_history(&entry)
                {
                    let msg = e.to_string();
                    self.notice(msg);
                }
                self.send_history();
                return;
            }
        }
        let c = r.call.clone();
        self.emit(Event::Call(Box::new(c)));
    }

    /// Starts keeping a call and shows it.
    fn track_call(&mut self, mut call: model::Call, dialled_at: Option<Instant>) {
        // A number dialled, or a caller who sent no name, is named after the contact with that
        // number, on every screen and in My Calls.
        if call.remote_name.is_none()
            && let Some(s) = self.session.as_ref()
        {
            match s.store.contact_for_number(&call.remote_number) {
                Ok(contact) => call.remote_name = contact.map(|c| c.name),
                Err(e) => tracing::warn!("cannot look up the caller's contact: {e}"),
            }
        }
        self.calls.insert(
            call.id,
            CallRecord {
                call: call.clone(),
                started_ms: now_ms(),
                answered_ms: None,
                dialled_at,
            },
        );
        self.emit(Event::Call(Box::new(call)));
    }

    /// Dials `target` as a new line; the others go on hold. `consult_for` marks the call as the
    /// consultation of an attended transfer of that call.
    fn place_call(&mut self, target: String, consult_for: Option<CallId>) {
        let id = CallId(self.next_call);
        self.next_call += 1;
        let mut call = model::Call::new(id, Direction::Outgoing, target.clone());
        call.consult_for = consult_for;
        self.track_call(call, Some(Instant::now()));
        // The engine puts the call we are on on hold first.
        self.sip(sipcore::Command::AddCall {
            call: sipcore::CallId(id.0),
            target,
        });
    }

    /// A device came or went: list them again, and when a chosen device that had gone is back
    /// (the headset plugged in again), use it again.
    fn devices_changed(&mut self) {
        let Some(s) = &self.session else { return };
        self.send_devices(&s.media);
        if !s.fell_back {
            return;
        }
        let Ok(list) = s.media.list_devices() else {
            return;
        };
        let chosen = [&s.audio.microphone, &s.audio.speaker, &s.audio.ringer];
        let back = chosen
            .iter()
            .filter_map(|c| c.as_ref())
            .all(|id| list.iter().any(|d| &d.id == id));
        if back {
            s.media.set_devices(self.engine_config(&s.audio));
            if let Some(s) = self.session.as_mut() {
                s.fell_back = false;
            }
        }
    }

    fn media_event(&mut self, e: media::MediaEvent) {
        match e {
            media::MediaEvent::Stats {
                stream,
                loss_pct,
                jitter_ms,
                rtt_ms,
                mos,
            } => {
                if let Some(r) = self.calls.get_mut(&CallId(stream.0)) {
                    r.call.quality = Some(model::Quality {
                        loss_pct,
                        jitter_ms,
                        rtt_ms,
                        mos,
                    });
                    let c = r.call.clone();
                    self.emit(Event::Call(Box::new(c)));
                }
            }
            media::MediaEvent::DeviceFallback { what, from, to } => {
                if let Some(s) = self.session.as_mut() {
                    s.fell_back = true;
                }
                let what = match what {
                    media::DeviceRole::Microphone => "microphone",
                    media::DeviceRole::Speaker => "speaker",
                    media::DeviceRole::Ringer => "ringing device",
                };
                self.notice(format!(
                    "The {what} “{from}” went away; switched to “{to}”."
                ))
            }
            // The ringer is the speaker unless chosen apart; one notice for both is enough.
            media::MediaEvent::DeviceMissing {
                what: media::DeviceRole::Ringer,
                reason,
            } => tracing::warn!("no ringing device: {reason}"),
            media::MediaEvent::DeviceMissing { what, reason } => {
                let what = match what {
                    media::DeviceRole::Microphone => "No microphone",
                    _ => "No speaker",
                };
                tracing::warn!("{what}: {reason}");
                self.notice(format!(
                    "{what} could be opened: calls will have no audio there until one is connected."
                ));
            }
            // The meter shows -60 dBFS (quiet room) to 0 dBFS (clipping) as empty to full.
            media::MediaEvent::MicLevel(dbfs) => {
                self.emit(Event::MicLevel(((dbfs + 60.0) / 60.0).clamp(0.0, 1.0)))
            }
            media::MediaEvent::DevicesChanged => self.devices_changed(),
            media::MediaEvent::StreamFailed { reason, .. } => {
                self.notice(format!("Call audio problem: {reason}"))
            }
            media::MediaEvent::FilePosition { secs } => self.voicemail_position(Some(secs)),
            media::MediaEvent::FileFinished => self.voicemail_position(None),
            media::MediaEvent::DtmfReceived { .. }
            | media::MediaEvent::StreamStopped { .. }
            | media::MediaEvent::PlaybackFinished { .. } => {}
        }
    }
}
