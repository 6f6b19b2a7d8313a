//! Signing in and out. The session is one enum: signed out, signing in (REGISTER sent, the
//! first answer decides) or signed in; the engines and the store live inside it, so nothing can
//! use them while signed out, and the password is kept only until the sign-in is decided.
//!
//! The settings are read from the store once, here, and kept with the session; a saved row
//! that cannot be read is said to the user and left as it is until they save new settings,
//! when it is first set aside (`settings.damaged`), never silently replaced by defaults.

use std::net::ToSocketAddrs;
use std::sync::Arc;

use sipcore::media_adapter::{AudioSource, MediaEngine};
use storage::Store;

use super::{Backend, Input};
use crate::command::SignIn;
use crate::convert;
use crate::event::{Event, SignInError};
use crate::model::{ProfileFacts, Registration};
use crate::settings::SettingsForm;
use crate::voicemail_player::Player;
use storage::secrets::Secret;

/// The store key of the settings record.
const SETTINGS: &str = "settings";

pub(super) enum Session {
    SignedOut,
    /// REGISTER sent. The password stays only to be remembered once it is known to be right.
    SigningIn {
        engines: Engines,
        remember: bool,
        password: String,
    },
    SignedIn {
        engines: Engines,
        /// The desk-phone question was considered in this sign-in.
        asked_desk_phone: bool,
    },
}

/// What a signed-in (or signing-in) user has running.
pub(super) struct Engines {
    pub store: Store,
    pub sip: sipcore::Handle,
    pub media: media::Engine,
    pub account: sipcore::Account,
    /// The settings as saved (or the defaults, when there are none or they could not be read).
    pub settings: SettingsForm,
    /// Why the saved settings could not be read, in words: they are set aside before the
    /// next save.
    pub settings_unreadable: Option<String>,
    /// The engine fell back from a chosen device, until it is back in use.
    pub fell_back: bool,
    /// Whose phone status and presence sipcore is asked to watch.
    pub watching: crate::watching::Watching,
    /// The call-center client, when the settings name a manager account.
    pub queues: Option<super::call_center::Queues>,
    /// The voicemail sync with the PBX's mailbox.
    pub syncing: super::Batch,
    /// Voicemail emails being sent.
    pub sending: super::voicemail_email::Sending,
    /// Voicemails being transcribed.
    pub transcribing: super::Batch,
    /// The new greeting being recorded (a `.part` file until it is complete).
    pub recording_greeting: Option<std::path::PathBuf>,
    /// Messages being taken by the answering machine, by call.
    pub taking: std::collections::HashMap<crate::model::CallId, super::answering::Taking>,
}

impl Session {
    pub fn engines(&self) -> Option<&Engines> {
        match self {
            Session::SignedOut => None,
            Session::SigningIn { engines, .. } | Session::SignedIn { engines, .. } => Some(engines),
        }
    }

    pub fn engines_mut(&mut self) -> Option<&mut Engines> {
        match self {
            Session::SignedOut => None,
            Session::SigningIn { engines, .. } | Session::SignedIn { engines, .. } => Some(engines),
        }
    }

    fn take(&mut self) -> Option<Engines> {
        match std::mem::replace(self, Session::SignedOut) {
            Session::SignedOut => None,
            Session::SigningIn { engines, .. } | Session::SignedIn { engines, .. } => Some(engines),
        }
    }
}

impl Backend {
    /// At start: sign in with the account last signed in with "Remember me", when its password
    /// is still kept. Otherwise the window shows the empty form.
    pub(super) fn sign_in_remembered(&mut self) {
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
            transport: convert::transport_from_name(&r.transport),
            trusted_ca: None,
            remember: true,
        });
    }

    pub(super) fn sign_in(&mut self, form: SignIn) {
        if self.session.engines().is_some() {
            self.sign_out(false);
        }
        match self.start_engines(&form) {
            Ok(engines) => {
                self.send_devices(&engines.media);
                self.session = Session::SigningIn {
                    engines,
                    remember: form.remember,
                    password: form.password,
                };
            }
            Err(why) => self.emit(Event::SignInFailed(why)),
        }
    }

    /// Opens the profile's store, starts the media and SIP engines, and sends the REGISTER.
    fn start_engines(&mut self, form: &SignIn) -> Result<Engines, SignInError> {
        let user = form.identity.trim();
        if user.contains('@') {
            return Err(SignInError::EmailNeedsDirectory);
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
            .ok_or_else(|| SignInError::ServerNotFound(server.to_string()))?;
        let bind_ip = sipcore::local_ip_towards(server_addr).map_err(|e| SignInError::NoRoute {
            server: server.to_string(),
            reason: e.to_string(),
        })?;
        let dir = storage::paths::profile_dir(&self.config.data_dir, user, server);
        let store = Store::open(&dir).map_err(|e| SignInError::Store(e.to_string()))?;
        let (mut settings, settings_unreadable) = match store.setting::<SettingsForm>(SETTINGS) {
            Ok(saved) => (saved.unwrap_or_default(), None),
            Err(e) => (SettingsForm::default(), Some(e.to_string())),
        };
        if let Ok(Some((secret, _))) = storage::secrets::load(&dir, Secret::ManagerSecret) {
            settings.call_center.manager_secret = secret;
        }
        if let Ok(Some((password, _))) = storage::secrets::load(&dir, Secret::SmtpPassword) {
            settings.mailbox.smtp.password = password;
        }
        if !settings.call_center.configured()
            && let Some(given) = &self.config.call_center
        {
            settings.call_center = given.clone();
        }
        if settings.mailbox.voicemail_server.trim().is_empty()
            && let Some(given) = &self.config.voicemail_server
        {
            settings.mailbox.voicemail_server = given.clone();
        }

        let events = media::Events::to(self.inbox.clone(), Input::Media);
        let media = match media::Engine::start(self.engine_config(&settings.audio), events.clone())
        {
            Ok(e) => e,
            Err(e) => {
                self.notice(format!("The sound devices could not be opened ({e}); calls will have no audio until they are."));
                media::Engine::start(media::EngineConfig::headless(), events)
                    .map_err(|e| SignInError::Engine(e.to_string()))?
            }
        }
        .with_hold_music(crate::assets::hold_music());
        let adapter = Arc::new(MediaEngine {
            engine: media.clone(),
            source: AudioSource::Devices,
            record_dir: None,
        });
        let config = sipcore::EngineConfig {
            bind_ip,
            ..Default::default()
        };
        let inbox = self.inbox.clone();
        let sip = sipcore::start_with(config, adapter, move |e| {
            let _ = inbox.send(Input::Sip(e));
        })
        .map_err(|e| SignInError::Engine(e.to_string()))?;
        let mut account = self.account(&store, user, server, form);
        account.srtp = convert::srtp_policy(settings.encryption);
        account.stun_server = convert::stun_server(&settings.stun_server);
        sip.send(sipcore::Command::Register(account.clone()));
        self.emit(Event::Registration(Registration::Connecting));
        Ok(Engines {
            store,
            sip,
            media,
            account,
            settings,
            settings_unreadable,
            fell_back: false,
            watching: Default::default(),
            queues: None,
            syncing: Default::default(),
            transcribing: Default::default(),
            taking: Default::default(),
            recording_greeting: None,
            sending: Default::default(),
        })
    }

    /// The SIP account for the form, with what the profile saved (name, company CA).
    fn account(&self, store: &Store, user: &str, server: &str, form: &SignIn) -> sipcore::Account {
        let mut account = sipcore::Account::new(user, &form.password, server);
        account.transport = convert::sip_transport(form.transport);
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
        account
    }

    /// What the SIP engine says of the registration; the first answer decides the sign-in.
    pub(super) fn registration(&mut self, state: sipcore::RegistrationState) {
        use sipcore::RegistrationState as R;
        let signing_in = matches!(self.session, Session::SigningIn { .. });
        match state {
            R::Registered { other_devices, .. } => {
                if signing_in {
                    self.signed_in();
                }
                self.emit(Event::Registration(Registration::Registered));
                if other_devices > 0 {
                    self.desk_phone_found();
                }
            }
            R::Failed { reason, .. } if signing_in => {
                self.sign_out(false);
                self.emit(Event::SignInFailed(SignInError::Refused(
                    reason.to_string(),
                )));
            }
            R::Failed { reason, .. } => self.emit(Event::Registration(Registration::Failed(
                reason.to_string(),
            ))),
            R::Registering => self.emit(Event::Registration(Registration::Connecting)),
            R::Unregistered => self.emit(Event::Registration(Registration::Offline)),
        }
    }

    /// The first successful registration completes the sign-in: the account is remembered
    /// when asked, and the window gets the profile, settings, contacts, history and voicemail.
    fn signed_in(&mut self) {
        let Session::SigningIn {
            engines,
            remember,
            password,
        } = std::mem::replace(&mut self.session, Session::SignedOut)
        else {
            return;
        };
        let mut s = engines;
        let record = account_record(&s);
        let keyring_warning = remember
            .then(|| remember_account(&self.config.data_dir, &mut s, &record, &password))
            .flatten();
        let facts = profile_facts(&s.account, &record);
        self.emit(Event::SignedIn {
            facts,
            photo: record.photo.clone(),
            settings: Box::new(s.settings.clone()),
            keyring_warning,
        });
        if let Some(why) = &s.settings_unreadable {
            self.notice(format!(
                "Your saved settings could not be read, so the defaults are in use; they are \
                 kept as they were until you save settings again. ({why})"
            ));
        }
        let dnd = s.settings.do_not_disturb;
        self.session = Session::SignedIn {
            engines: s,
            asked_desk_phone: false,
        };
        // Colleagues see us online (busy under do-not-disturb); the window reports away after
        // idle time from here on.
        self.sip(sipcore::Command::SetPresence(own_availability(dnd)));
        self.load_contacts();
        self.send_history();
        self.apply_retention();
        self.send_voicemails();
        self.send_greeting();
        self.sync_mailbox();
        self.transcribe_voicemails();
        self.send_pending_emails();
        self.start_call_center();
    }

    /// The company directory lists the user too: their name, email and number are kept with
    /// the account and shown on their profile.
    pub(super) fn found_self_in_directory(&mut self, me: &crate::directory::Entry) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        let mut record = account_record(s);
        let number = me.numbers.first().cloned().unwrap_or_default();
        let email = me.email.clone().unwrap_or_default();
        if record.display_name == me.name && record.email == email && record.number == number {
            return;
        }
        record.display_name = me.name.clone();
        record.email = email;
        record.number = number;
        let saved = s.store.save_account(&record);
        let facts = profile_facts(&s.account, &record);
        if let Err(e) = saved {
            self.notice(format!("Your profile could not be saved: {e}"));
        }
        self.emit(Event::Profile(facts));
    }

    /// Asks once per sign-in, and never again once the user has answered.
    fn desk_phone_found(&mut self) {
        let Session::SignedIn {
            engines,
            asked_desk_phone,
        } = &mut self.session
        else {
            return;
        };
        if std::mem::replace(asked_desk_phone, true) {
            return;
        }
        if !engines.settings.call_strategy.desk_phone_asked {
            self.emit(Event::DeskPhoneFound);
        }
    }

    pub(super) fn save_settings(&mut self, form: Box<SettingsForm>) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        if s.settings_unreadable.is_some()
            && let Err(e) = s.store.set_aside_setting(SETTINGS)
        {
            return self.emit(Event::SettingsFailed(format!(
                "Your earlier settings could not be set aside, so nothing was saved: {e}"
            )));
        }
        if let Err(e) = s.store.set_setting(SETTINGS, &*form) {
            return self.emit(Event::SettingsFailed(e.to_string()));
        }
        // Secrets go to the keyring, never to the settings file.
        let secrets = [
            (
                &form.call_center.manager_secret,
                s.settings.call_center.manager_secret != form.call_center.manager_secret,
                Secret::ManagerSecret,
            ),
            (
                &form.mailbox.smtp.password,
                s.settings.mailbox.smtp.password != form.mailbox.smtp.password,
                Secret::SmtpPassword,
            ),
        ];
        for (secret, changed, which) in secrets {
            if !changed {
                continue;
            }
            let kept = if secret.is_empty() {
                storage::secrets::forget(s.store.dir(), which)
            } else {
                storage::secrets::save(s.store.dir(), which, secret).map(|_| ())
            };
            if let Err(e) = kept {
                return self.emit(Event::SettingsFailed(e.to_string()));
            }
        }
        s.settings_unreadable = None;
        let old = std::mem::replace(&mut s.settings, (*form).clone());
        if form.encryption != old.encryption || form.stun_server != old.stun_server {
            s.account.srtp = convert::srtp_policy(form.encryption);
            s.account.stun_server = convert::stun_server(&form.stun_server);
            s.sip.send(sipcore::Command::SetCallOptions {
                srtp: s.account.srtp,
                stun_server: s.account.stun_server.clone(),
            });
        }
        if form.do_not_disturb != old.do_not_disturb {
            s.sip.send(sipcore::Command::SetPresence(own_availability(
                form.do_not_disturb,
            )));
        }
        if form.audio != old.audio {
            s.fell_back = false;
            let media = s.media.clone();
            media.set_devices(self.engine_config(&form.audio));
        }
        let directory_changed = super::directory::directory_url(&self.config, &old)
            != super::directory::directory_url(&self.config, &form);
        let call_center_changed = form.call_center != old.call_center;
        let voicemail_server_changed =
            form.mailbox.voicemail_server != old.mailbox.voicemail_server;
        let mailbox_changed = form.mailbox != old.mailbox;
        let routing_changed = super::routing::routing_changed(&old, &form);
        self.emit(Event::SettingsSaved(form));
        if directory_changed {
            self.load_contacts();
        }
        if voicemail_server_changed {
            self.sync_mailbox();
        }
        if mailbox_changed {
            // A shorter retention applies now; a fixed mail server gets what waited for it.
            self.apply_retention();
            self.email_failing = false;
            self.transcription_failing = false;
            self.transcribe_voicemails();
            self.send_pending_emails();
        }
        if call_center_changed {
            // A new manager connection writes the routing once it is up.
            self.start_call_center();
        } else if routing_changed {
            self.push_routing();
        }
    }

    pub(super) fn set_photo(&mut self, png: Option<Vec<u8>>) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        match s.store.set_photo(png.as_deref()) {
            Ok(()) => self.emit(Event::Photo(png)),
            Err(e) => self.notice(e.to_string()),
        }
    }

    pub(super) fn sign_out(&mut self, forget: bool) {
        let Some(s) = self.session.take() else { return };
        s.sip.send(sipcore::Command::Shutdown);
        s.media.shutdown();
        if forget {
            // Logging out: the next start shows the sign-in form again.
            let _ = storage::secrets::forget_password(s.store.dir());
            let _ = storage::remembered::forget(&self.config.data_dir);
        }
        self.lines.clear();
        self.player = Player::default();
        self.emit(Event::SignedOut);
    }

    /// The window is closing. The remembered account stays (quitting is not logging out); the
    /// engine is waited for so the PBX hears our BYEs and un-REGISTER before the process ends.
    pub(super) fn quit(&mut self) {
        if let Some(s) = self.session.take() {
            s.sip.shutdown_and_wait(std::time::Duration::from_secs(3));
            s.media.shutdown();
        }
        self.lines.clear();
        self.emit(Event::Stopped);
    }
}

/// What colleagues see while the user is at the computer: busy under do-not-disturb.
fn own_availability(do_not_disturb: bool) -> sipcore::Availability {
    if do_not_disturb {
        sipcore::Availability::Busy
    } else {
        sipcore::Availability::Online
    }
}

pub(super) fn profile_facts(
    account: &sipcore::Account,
    record: &storage::SavedAccount,
) -> ProfileFacts {
    ProfileFacts {
        name: if record.display_name.is_empty() {
            account.username.clone()
        } else {
            record.display_name.clone()
        },
        extension: account.username.clone(),
        number: record.number.clone(),
        email: record.email.clone(),
    }
}

/// The stored account record, brought up to date with how we signed in.
pub(super) fn account_record(s: &Engines) -> storage::SavedAccount {
    let mut record = s.store.account().ok().flatten().unwrap_or_default();
    record.server = s.account.server.clone();
    record.username = s.account.username.clone();
    record.transport_options.trusted_ca_file = s
        .account
        .trusted_ca
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    record.transport = convert::transport_name(s.account.transport).into();
    record
}

/// Keeps the account, its record and its password for the next start; returns what could
/// not be kept, in words.
fn remember_account(
    data_dir: &std::path::Path,
    s: &mut Engines,
    record: &storage::SavedAccount,
    password: &str,
) -> Option<String> {
    let mut warning = None;
    let remembered = storage::remembered::Remembered {
        user: s.account.username.clone(),
        server: s.account.server.clone(),
        transport: record.transport.clone(),
    };
    if let Err(e) = storage::remembered::remember(data_dir, &remembered) {
        warning = Some(e.to_string());
    }
    if let Err(e) = s.store.save_account(record) {
        warning = Some(e.to_string());
    }
    match storage::secrets::save_password(s.store.dir(), password) {
        Ok(backend) => backend.warning().map(str::to_string).or(warning),
        Err(e) => Some(e.to_string()),
    }
}
