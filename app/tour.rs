//! A scripted walk through the real, signed-in window that saves a screenshot of each main
//! screen (`--screenshot-tour DIR`): sign-in, contacts, dial pad, a call in the fullscreen view,
//! the call-center tiles with the first queue open, and settings. It only changes what a user could change by clicking, and it reads the real
//! model; the README's pictures come from it. The contacts picture waits for the contacts' live
//! phone status and presence.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::screens::left_bar::Section;
use crate::shell::VoiceTab;
use crate::window::{Screen, Window};
use client::command::Command;
use client::model::{CallState, PhoneStatus, Presence};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Login,
    Contacts,
    DialPad,
    Call,
    CallCenter,
    Settings,
    Done,
}

pub struct Tour {
    dir: PathBuf,
    step: Step,
    /// When the current step's screen was set up; shots wait for it to settle.
    since: Instant,
    requested: bool,
    /// Screenshots arrive through egui's callback; the tour learns of each one here.
    shots: std::sync::mpsc::Receiver<Result<PathBuf, String>>,
    shots_tx: std::sync::mpsc::Sender<Result<PathBuf, String>>,
    /// Sent once the sign-in screen has been photographed.
    sign_in: Option<Command>,
    /// The number the call step dials.
    call: String,
}

impl Tour {
    /// `sign_in` is sent after the sign-in screen's picture is taken; the call step dials
    /// `call`.
    pub fn new(dir: PathBuf, sign_in: Option<Command>, call: String) -> Self {
        let (shots_tx, shots) = std::sync::mpsc::channel();
        Self {
            dir,
            step: Step::Login,
            since: Instant::now(),
            requested: false,
            shots,
            shots_tx,
            sign_in,
            call,
        }
    }

    fn name(&self) -> &'static str {
        match self.step {
            Step::Login => "login",
            Step::Contacts => "contacts",
            Step::DialPad => "dial-pad",
            Step::Call => "call",
            Step::CallCenter => "call-center",
            Step::Settings => "settings",
            Step::Done => "",
        }
    }

    /// Advances the tour; true when it is finished and the window may close.
    pub fn step(&mut self, ctx: &egui::Context, window: &mut Window) -> bool {
        // Keep frames coming while touring: the tour itself is what changes the screen.
        ctx.request_repaint_after(Duration::from_millis(100));
        if let Ok(saved) = self.shots.try_recv() {
            match saved {
                Ok(path) => tracing::info!("screenshot saved: {}", path.display()),
                Err(e) => tracing::warn!("screenshot failed: {e}"),
            }
            self.requested = false;
            self.advance(window);
            return self.step == Step::Done;
        }
        if self.requested
            || !self.ready(window)
            || self.since.elapsed() < Duration::from_millis(800)
        {
            return false;
        }
        let path = self.dir.join(format!("{}.png", self.name()));
        let tx = self.shots_tx.clone();
        let wake = ctx.clone();
        ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(
            egui::ScreenshotCallback::new(move |image| {
                let _ = tx.send(save(&image, &path).map(|()| path));
                wake.request_repaint();
            }),
        ));
        self.requested = true;
        false
    }

    fn ready(&self, window: &Window) -> bool {
        match (&window.screen, self.step) {
            (Screen::SignedOut(_), Step::Login) => true,
            // The contacts with their live status (the busy lamp subscriptions take a moment
            // to come in); if some never do, the picture is taken anyway after a while.
            (Screen::SignedIn(_), Step::Contacts) => {
                let contacts = &window.model.contacts;
                let known = contacts.iter().all(|c| {
                    c.extension.is_none()
                        || (c.phone != PhoneStatus::Unknown && c.presence != Presence::Unknown)
                });
                !contacts.is_empty() && (known || self.since.elapsed() > Duration::from_secs(15))
            }
            (Screen::SignedIn(_), Step::Call) => window
                .model
                .calls
                .iter()
                .any(|c| c.state == CallState::Active && c.quality.is_some()),
            // The tiles once the queue service answered (or said why not).
            (Screen::SignedIn(_), Step::CallCenter) => {
                use client::call_center::Link;
                window
                    .model
                    .call_center
                    .as_ref()
                    .is_none_or(|v| v.link != Link::Connecting)
                    || self.since.elapsed() > Duration::from_secs(10)
            }
            (Screen::SignedIn(_), _) => true,
            _ => false,
        }
    }

    fn advance(&mut self, window: &mut Window) {
        self.since = Instant::now();
        let commands = window.commands();
        if self.step == Step::Login {
            if let Some(c) = self.sign_in.take() {
                commands.send(c);
            }
            self.step = Step::Contacts;
            return;
        }
        let Screen::SignedIn(shell) = &mut window.screen else {
            return;
        };
        self.step = match self.step {
            Step::Login => Step::Contacts,
            Step::Contacts => {
                shell.section = Section::Voice;
                shell.tab = VoiceTab::Contacts;
                shell.dial_pad.text = self.call.clone();
                Step::DialPad
            }
            Step::DialPad => {
                shell.dial_pad.text.clear();
                commands.send(Command::Dial(self.call.clone()));
                shell.fullscreen = true;
                Step::Call
            }
            Step::Call => {
                for c in &window.model.calls {
                    commands.send(Command::HangUp(c.id));
                }
                shell.fullscreen = false;
                shell.section = Section::CallCenter;
                // The queue with callers waiting, if any, is the one worth a picture.
                let first = window.model.call_center.as_ref().and_then(|v| {
                    v.tiles
                        .iter()
                        .find(|t| !t.waiting.is_empty())
                        .or(v.tiles.first())
                });
                if let Some(t) = first {
                    shell.call_center.open(&t.queue, &commands);
                }
                Step::CallCenter
            }
            Step::CallCenter => {
                shell.section = Section::Settings;
                Step::Settings
            }
            Step::Settings | Step::Done => Step::Done,
        };
    }
}

fn save(image: &egui::ColorImage, path: &std::path::Path) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let [w, h] = image.size;
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|p| p.to_array()).collect();
    let buf = image::RgbaImage::from_raw(w as u32, h as u32, bytes).ok_or("bad image size")?;
    buf.save(path).map_err(|e| e.to_string())
}
