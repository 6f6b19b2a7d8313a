//! The top of the window: sign-in until the core says we are in, then the signed-in shell.
//! Each frame it drains the core's events into the model first, then draws.

use std::sync::mpsc::Receiver;

use crate::screens::login::Login;
use crate::shell::Shell;
use client::command::Commands;
use client::event::Event;
use client::idle::IdleWatch;
use client::model::Model;

pub enum Screen {
    SignedOut(Login),
    SignedIn(Box<Shell>),
}

pub struct Window {
    pub screen: Screen,
    pub model: Model,
    commands: Commands,
    events: Receiver<Event>,
    /// The server the sign-in form starts with (the demo PBX in the demo).
    default_server: Option<String>,
    /// Online or away from the user's input, while signed in.
    idle: Option<IdleWatch>,
    away_after: std::time::Duration,
}

impl Window {
    pub fn new(
        commands: Commands,
        events: Receiver<Event>,
        default_server: Option<String>,
    ) -> Self {
        Self {
            screen: Screen::SignedOut(Login::new(default_server.clone())),
            model: Model::default(),
            commands,
            events,
            default_server,
            idle: None,
            away_after: client::idle::AWAY_AFTER,
        }
    }

    /// How long without input before we show as away (tests shorten it).
    pub fn set_away_after(&mut self, after: std::time::Duration) {
        self.away_after = after;
        if let Some(idle) = &mut self.idle {
            *idle = IdleWatch::new(after, std::time::Instant::now());
        }
    }

    pub fn commands(&self) -> Commands {
        self.commands.clone()
    }

    /// Fills the sign-in form (and shows it busy) for a sign-in started outside the form.
    pub fn prefill(&mut self, identity: &str, server: &str) {
        if let Screen::SignedOut(login) = &mut self.screen {
            login.identity = identity.to_string();
            login.server = server.to_string();
            login.busy = true;
        }
    }

    /// Closing the window: asks the backend to hang up and unregister, and waits (a few
    /// seconds at most) until it has.
    pub fn quit(&mut self) {
        self.commands.send(client::command::Command::Quit);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(4);
        while let Ok(e) = self
            .events
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
        {
            if e == Event::Stopped {
                break;
            }
        }
    }

    /// Applies every event waiting in the channel.
    pub fn drain_events(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            self.route(event);
        }
    }

    fn route(&mut self, event: Event) {
        match (&mut self.screen, &event) {
            (Screen::SignedOut(login), Event::SignInFailed(why)) => login.failed(why.to_string()),
            (Screen::SignedOut(_), Event::SigningIn { identity, server }) => {
                let (identity, server) = (identity.clone(), server.clone());
                self.prefill(&identity, &server);
                return;
            }
            (Screen::SignedOut(_), Event::SignedIn { .. }) => {
                self.idle = Some(IdleWatch::new(self.away_after, std::time::Instant::now()));
                self.model = Model::default();
                self.model.apply(event);
                self.screen =
                    Screen::SignedIn(Box::new(Shell::new(self.commands.clone(), &self.model)));
                return;
            }
            (Screen::SignedIn(_), Event::SignedOut) => {
                self.idle = None;
                self.model = Model::default();
                self.screen = Screen::SignedOut(Login::new(self.default_server.clone()));
                return;
            }
            (Screen::SignedIn(shell), Event::SettingsSaved(form)) => {
                shell.settings.saved((**form).clone())
            }
            (Screen::SignedIn(shell), Event::SettingsFailed(why)) => {
                shell.settings.error = Some(why.clone())
            }
            _ => {}
        }
        self.model.apply(event);
    }

    /// The signed-in window's shell, for a file picked outside egui (a dropped file, a test).
    pub fn shell_mut(&mut self) -> Option<&mut Shell> {
        match &mut self.screen {
            Screen::SignedIn(shell) => Some(shell),
            Screen::SignedOut(_) => None,
        }
    }

    /// Away after a while without input, online again on the next: sends the changes, and
    /// asks for a frame at the moment the user would turn away, since an idle window draws none.
    fn watch_idle(&mut self, ctx: &egui::Context) {
        let Some(idle) = &mut self.idle else { return };
        let input = ctx.input(|i| {
            i.events.iter().any(|e| {
                matches!(
                    e,
                    egui::Event::Key { .. }
                        | egui::Event::Text(_)
                        | egui::Event::Paste(_)
                        | egui::Event::PointerButton { .. }
                        | egui::Event::PointerMoved(_)
                        | egui::Event::MouseWheel { .. }
                        | egui::Event::Touch { .. }
                )
            })
        });
        let now = std::time::Instant::now();
        if let Some(presence) = idle.frame(input, now) {
            self.commands
                .send(client::command::Command::SetPresence(presence));
        }
        if let Some(wait) = idle.next_check(now) {
            ctx.request_repaint_after(wait);
        }
    }

    /// What the window shows, in a word: `sign-in`, or the signed-in shell's screen.
    pub fn screen_name(&self) -> &'static str {
        match &self.screen {
            Screen::SignedOut(_) => "sign-in",
            Screen::SignedIn(shell) => shell.screen_name(),
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.drain_events();
        self.watch_idle(ui.ctx());
        // The saved appearance takes effect at once (and follows the account at sign-in).
        let wanted = crate::theme::preference(self.model.settings.appearance);
        if ui.ctx().options(|o| o.theme_preference) != wanted {
            ui.ctx().set_theme(wanted);
        }
        match &mut self.screen {
            Screen::SignedOut(login) => {
                egui::CentralPanel::default().show(ui, |ui| login.ui(ui, &self.commands));
            }
            Screen::SignedIn(shell) => shell.ui(ui, &mut self.model),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screens::settings::ProfileFacts;
    use client::command::Command;
    use client::model::{Call, CallId, CallState, Direction, Registration};
    use egui_kittest::kittest::Queryable;
    use std::sync::mpsc::Sender;

    fn harness() -> (
        egui_kittest::Harness<'static, Window>,
        std::sync::mpsc::Receiver<Command>,
        Sender<Event>,
    ) {
        let (commands, rx) = Commands::channel();
        let (tx, events) = std::sync::mpsc::channel();
        let h = egui_kittest::Harness::builder()
            .with_context_setup(|ctx| {
                crate::theme::install(ctx);
                egui_extras::install_image_loaders(ctx);
            })
            .with_size(egui::vec2(1000.0, 720.0))
            .build_ui_state(
                |ui, w: &mut Window| w.ui(ui),
                Window::new(commands, events, Some("127.0.0.1:25060".into())),
            );
        (h, rx, tx)
    }

    fn signed_in() -> Event {
        Event::SignedIn {
            facts: ProfileFacts {
                name: "Ada Lovelace".into(),
                extension: "1001".into(),
                ..Default::default()
            },
            photo: None,
            settings: Box::default(),
            keyring_warning: Some(
                "No system keyring: your password is kept in a private file.".into(),
            ),
        }
    }

    #[test]
    fn signing_in_switches_to_the_shell_and_a_call_shows_the_call_bar() {
        let (mut h, _rx, tx) = harness();
        h.run();
        assert!(h.query_by_label("Sign in to Switchboard").is_some());
        tx.send(signed_in()).unwrap();
        tx.send(Event::Registration(Registration::Registered))
            .unwrap();
        h.run();
        assert!(h.query_by_label("Hello, Ada").is_some());
        assert!(
            h.query_by_label("Extension 1001 is ready for calls.")
                .is_some()
        );
        assert!(
            h.query_by_label("No system keyring: your password is kept in a private file.")
                .is_some()
        );
        assert!(h.query_by_label("Ada Lovelace, available").is_some());
        tx.send(Event::Call(Box::new(Call {
            id: CallId(1),
            direction: Direction::Outgoing,
            remote_name: None,
            remote_number: "9196".into(),
            state: CallState::Active,
            answered_at: Some(std::time::Instant::now()),
            muted: false,
            held_by_remote: false,
            merged: false,
            quality: None,
            transfer: None,
            consult_for: None,
            queue: None,
        })))
        .unwrap();
        h.run();
        assert!(h.query_by_label("Ada Lovelace, on the phone").is_some());
        assert!(h.query_by_label_contains("Talking 0:0").is_some());
        h.get_by_label("Open the call view").click();
        h.run();
        assert!(h.query_by_label("Merge calls").is_some());
        h.get_by_label("Back").click();
        h.run();
        assert!(h.query_by_label("Merge calls").is_none());
    }

    /// How long the window asked to wait before its next frame, after the last one.
    fn repaint_delay(h: &egui_kittest::Harness<'static, Window>) -> std::time::Duration {
        h.output().viewport_output[&egui::ViewportId::ROOT].repaint_delay
    }

    #[test]
    fn an_idle_window_asks_for_no_frame_and_a_call_for_one_a_second() {
        let (mut h, _rx, tx) = harness();
        tx.send(signed_in()).unwrap();
        h.run();
        // Idle, the window waits for input or an event; the one frame it plans is the check
        // that turns the user away after ten idle minutes.
        let idle = repaint_delay(&h);
        assert!(
            idle > std::time::Duration::from_secs(9 * 60),
            "an idle window asks for a frame after {idle:?}"
        );
        for state in [CallState::Ringing, CallState::Active] {
            let mut call = Call::new(CallId(1), Direction::Incoming, "1002".into());
            call.answered_at = (state == CallState::Active).then(std::time::Instant::now);
            call.state = state.clone();
            tx.send(Event::Call(Box::new(call))).unwrap();
            h.run();
            let delay = repaint_delay(&h);
            assert!(
                delay >= std::time::Duration::from_millis(500)
                    && delay <= std::time::Duration::from_secs(1),
                "{state:?}: next frame after {delay:?}, not about a second"
            );
        }
    }

    #[test]
    fn every_main_control_fits_an_800_by_600_window() {
        let (mut h, _rx, tx) = harness();
        h.set_size(egui::vec2(800.0, 600.0));
        tx.send(signed_in()).unwrap();
        h.run();
        let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(800.0, 600.0));
        let inside = |h: &egui_kittest::Harness<'static, Window>, label: &str| {
            let r = h.get_by_label(label).rect();
            assert!(
                screen.contains_rect(r),
                "{label} at {r:?} is outside 800×600"
            );
        };
        for label in [
            "Voice",
            "Messaging",
            "Call Center",
            "Fax",
            "Marketplace",
            "Settings",
        ] {
            inside(&h, label);
        }
        inside(&h, "Call");
        h.get_by_label("Settings").click();
        h.run();
        inside(&h, "Save");
    }

    #[test]
    fn the_chosen_appearance_applies_once_saved() {
        use client::settings::Appearance;
        let (mut h, rx, tx) = harness();
        tx.send(signed_in()).unwrap();
        h.run();
        h.get_by_label("Settings").click();
        h.run();
        for (choice, appearance, theme) in [
            ("Light", Appearance::Light, egui::Theme::Light),
            ("Dark", Appearance::Dark, egui::Theme::Dark),
        ] {
            h.get_by_label("Appearance").click();
            h.run();
            h.get_by_label(choice).click();
            h.run();
            h.get_by_label("Save").click();
            h.run();
            let Some(Command::SaveSettings(form)) = rx
                .try_iter()
                .find(|c| matches!(c, Command::SaveSettings(_)))
            else {
                panic!("Save sends the settings")
            };
            assert_eq!(form.appearance, appearance);
            tx.send(Event::SettingsSaved(form)).unwrap();
            h.run();
            assert_eq!(h.ctx.theme(), theme, "{choice}");
        }
    }

    #[test]
    fn a_remembered_sign_in_shows_the_account_signing_in() {
        let (mut h, _rx, tx) = harness();
        tx.send(Event::SigningIn {
            identity: "1001".into(),
            server: "pbx.example.com".into(),
        })
        .unwrap();
        h.run();
        assert!(h.query_by_label("Signing in…").is_some());
        assert_eq!(
            h.get_by_label("Extension, phone number or email")
                .value()
                .as_deref(),
            Some("1001")
        );
        tx.send(Event::SignInFailed(client::event::SignInError::Refused(
            "The server rejected the password for 1001.".into(),
        )))
        .unwrap();
        h.run();
        assert!(
            h.query_by_label("Sign in").is_some(),
            "the form is usable again"
        );
    }

    /// Steps the window until `label` shows (a photo is read on a thread of its own).
    fn run_until(h: &mut egui_kittest::Harness<'static, Window>, label: &str) {
        for _ in 0..250 {
            // Step, not run: the crop dialog opening animates for a few frames.
            h.step();
            if h.query_by_label_contains(label).is_some() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("'{label}' never showed");
    }

    /// A file dropped on the window, as eframe hands it over.
    #[derive(Debug)]
    struct Dropped(std::path::PathBuf);

    impl egui::DroppedFile for Dropped {
        fn path(&self) -> &std::path::Path {
            &self.0
        }
        fn bytes(&self) -> Result<Vec<u8>, String> {
            std::fs::read(&self.0).map_err(|e| e.to_string())
        }
    }

    fn drop_file(h: &mut egui_kittest::Harness<'static, Window>, path: &std::path::Path) {
        h.input_mut()
            .dropped_files
            .push(std::sync::Arc::new(Dropped(path.to_path_buf())));
        h.step();
    }

    #[test]
    fn a_damaged_photo_dropped_on_settings_is_refused_in_words_and_a_good_one_opens_the_crop() {
        let (mut h, _rx, tx) = harness();
        tx.send(signed_in()).unwrap();
        h.run();
        h.get_by_label("Settings").click();
        h.run();
        let dir = tempfile::tempdir().unwrap();
        let damaged = dir.path().join("me.png");
        std::fs::write(&damaged, b"\x89PNG\r\n\x1a\n not really a picture").unwrap();
        drop_file(&mut h, &damaged);
        run_until(&mut h, "could not be read as a picture");
        assert!(h.query_by_label("Use photo").is_none());

        let good = dir.path().join("holiday.png");
        image::RgbaImage::from_pixel(400, 300, image::Rgba([200, 80, 40, 255]))
            .save(&good)
            .unwrap();
        drop_file(&mut h, &good);
        run_until(&mut h, "Use photo");
    }

    #[test]
    fn every_section_has_a_screen_and_log_out_returns_to_sign_in() {
        let (mut h, rx, tx) = harness();
        tx.send(signed_in()).unwrap();
        h.run();
        use crate::screens::empty_state;
        for (section, state) in [
            ("Messaging", &empty_state::MESSAGING),
            ("Fax", &empty_state::FAX),
            ("Marketplace", &empty_state::MARKETPLACE),
        ] {
            h.get_by_label(section).click();
            h.run();
            assert!(
                h.query_all_by_label(state.title).count() >= 2,
                "{section} shows its own screen"
            );
            // What will be there, in words; no sample data.
            assert!(
                h.query_by_label(state.body).is_some(),
                "{section} says what comes"
            );
        }
        // Without a manager account, Call Center says what to ask the administrator for.
        h.get_by_label("Call Center").click();
        h.run();
        assert!(
            h.query_by_label(crate::screens::call_center::NO_ACCESS)
                .is_some()
        );
        // The dial pad's gear opens Settings too.
        h.get_by_label("Voice").click();
        h.run();
        h.get_by_label("Open settings").click();
        h.run();
        assert!(h.query_by_label("Call Strategy").is_some());
        h.get_by_label("Voice").click();
        h.run();
        let _ = rx.try_iter().count();
        h.get_by_label("Settings").click();
        h.run();
        assert!(h.query_by_label("Call Strategy").is_some());
        assert_eq!(
            rx.try_iter()
                .filter(|c| matches!(c, Command::MicMeter(_)))
                .collect::<Vec<_>>(),
            vec![Command::MicMeter(true)],
            "the microphone meter runs while Settings is open"
        );
        h.get_by_label(&format!("{} Ada Lovelace", crate::icons::PERSON))
            .click();
        h.run();
        h.get_by_label_contains("Log out").click();
        h.run();
        assert_eq!(rx.try_iter().last(), Some(Command::SignOut));
        h.get_by_label("Fax").click();
        h.run();
        assert!(
            rx.try_iter().any(|c| c == Command::MicMeter(false)),
            "and stops when the user leaves it"
        );
        tx.send(Event::SignedOut).unwrap();
        h.run();
        assert!(h.query_by_label("Sign in to Switchboard").is_some());
    }
}
