//! The Switchboard desktop client.
//!
//! `switchboard` opens the window. For the demo and for scripted runs it also takes
//! `--server HOST:PORT --user EXT` (password from `SWITCHBOARD_PASSWORD`) to sign in at once,
//! `SWITCHBOARD_DIRECTORY` for the company directory's URL, `SWITCHBOARD_MANAGER` for the
//! queue tiles, and `--dial NUMBER` to place one call once signed in (what `cargo xtask bench`
//! uses). See `switchboard --help`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use client::backend::{self, BackendConfig};
use client::command::{Command, SignIn, Transport};
use client::model::Registration;
use switchboard::frame_log::{self, FrameLog};
use switchboard::version;
use switchboard::window::{Screen, Window};

const HELP: &str = "\
usage: switchboard [options]

options:
  --server HOST:PORT       sign in to this server at once (with --user)
  --user EXT               the extension to sign in as; the password is read from the
                           SWITCHBOARD_PASSWORD environment variable
  --dial NUMBER            once signed in, call NUMBER, as the dial pad's Call button does;
                           with --screenshot-tour, the number the tour calls (default 9196)
  --headless-audio         use no sound devices (calls still run, silently)
  --screenshot-tour DIR    photograph the main screens into DIR, then close
  --version, -V            print the version
  --help, -h               print this help

environment:
  SWITCHBOARD_PASSWORD     the password for --user
  SWITCHBOARD_DIRECTORY    URL of the company directory (XML phonebook or vCard)
  SWITCHBOARD_MANAGER      USER:SECRET@HOST:PORT of the PBX's manager interface, for the
                           call-center tiles until one is set in Settings
  SWITCHBOARD_QUEUES       queues to show besides those the user is a member of (commas)
  SWITCHBOARD_VOICEMAIL    host:port of the PBX's voicemail store (IMAP), as the demo sets it
  SWITCHBOARD_DATA_DIR     where profiles are kept (default: the XDG data directory)
  SWITCHBOARD_FRAME_LOG    append one line of timings per frame to this file
  RUST_LOG                 log filter (default: info)";

struct Args {
    server: Option<String>,
    user: Option<String>,
    dial: Option<String>,
    headless_audio: bool,
    tour: Option<std::path::PathBuf>,
}

fn parse_args() -> anyhow::Result<Option<Args>> {
    let mut args = Args {
        server: None,
        user: None,
        dial: None,
        headless_audio: false,
        tour: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--version" | "-V" => {
                println!("{}", version::long());
                return Ok(None);
            }
            "--help" | "-h" => {
                println!("{HELP}");
                return Ok(None);
            }
            "--server" => args.server = it.next(),
            "--user" => args.user = it.next(),
            "--dial" => {
                let typed = it.next().unwrap_or_default();
                let number = client::dial_string::normalize(&typed)
                    .ok_or_else(|| anyhow::anyhow!("--dial: “{typed}” is not a number to call"))?;
                args.dial = Some(number);
            }
            "--headless-audio" => args.headless_audio = true,
            "--screenshot-tour" => args.tour = it.next().map(Into::into),
            other => anyhow::bail!("unknown argument `{other}`; try `switchboard --help`"),
        }
    }
    Ok(Some(args))
}

/// Start-up milestones, logged once each for `cargo xtask bench`.
#[derive(Default)]
struct Milestones {
    frames: u64,
    presented: bool,
    contacts_drawn: bool,
}

impl Milestones {
    /// Called at the start of each frame's update. The first frame is on screen once eframe has
    /// swapped its buffers, which happens after its update returns: so the first frame is logged
    /// as presented at the start of the second, which the first asks for at once.
    fn frame_started(&mut self, ctx: &egui::Context, main_started: Instant) {
        self.frames += 1;
        if self.frames == 1 {
            ctx.request_repaint();
        } else if !self.presented {
            self.presented = true;
            tracing::info!(
                since_process_start_ms = ms(frame_log::since_process_start()),
                since_main_ms = main_started.elapsed().as_millis() as u64,
                "first frame presented"
            );
        }
    }

    /// Called after a frame's update: the first frame that drew the contact list with contacts.
    fn frame_drawn(&mut self, window: &Window) {
        if !self.contacts_drawn
            && window.screen_name() == "contacts"
            && !window.model.contacts.is_empty()
        {
            self.contacts_drawn = true;
            tracing::info!(
                count = window.model.contacts.len(),
                since_process_start_ms = ms(frame_log::since_process_start()),
                "contacts drawn"
            );
        }
    }
}

fn ms(d: Option<Duration>) -> u64 {
    d.map(|d| d.as_millis() as u64).unwrap_or(0)
}

struct App {
    window: Window,
    tour: Option<switchboard::tour::Tour>,
    /// `--dial`: sent once the account is registered.
    dial: Option<String>,
    frame_log: Option<FrameLog>,
    milestones: Milestones,
    main_started: Instant,
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.milestones.frame_started(ui.ctx(), self.main_started);
        let cpu = frame_log::thread_cpu_time();
        self.window.ui(ui);
        let cpu = frame_log::thread_cpu_time().saturating_sub(cpu);
        if let Some(log) = self.frame_log.as_mut() {
            log.record(self.window.screen_name(), cpu, frame.info().cpu_usage);
        }
        self.milestones.frame_drawn(&self.window);
        if matches!(self.window.screen, Screen::SignedIn(_))
            && self.window.model.registration == Registration::Registered
            && let Some(number) = self.dial.take()
        {
            self.window.commands().send(Command::Dial(number));
        }
        if let Some(t) = self.tour.as_mut()
            && t.step(ui.ctx(), &mut self.window)
        {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.window.quit();
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rsipstack=warn".into()),
        )
        .init();
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    let main_started = Instant::now();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Switchboard")
            .with_inner_size([1100.0, 720.0])
            .with_min_inner_size(switchboard::theme::MIN_WINDOW),
        ..Default::default()
    };
    eframe::run_native(
        "Switchboard",
        options,
        Box::new(move |cc| {
            switchboard::theme::install(&cc.egui_ctx);
            egui_extras::install_image_loaders(&cc.egui_ctx);
            let ctx = cc.egui_ctx.clone();
            let waker: backend::Waker = Arc::new(move || ctx.request_repaint());
            let config = BackendConfig {
                headless_audio: args.headless_audio,
                directory_url: std::env::var("SWITCHBOARD_DIRECTORY").ok(),
                directory_refresh: None,
                data_dir: backend::default_data_dir(),
                call_center: call_center_from_env(),
                voicemail_server: std::env::var("SWITCHBOARD_VOICEMAIL").ok(),
                speech_model: None,
            };
            let (commands, events) = backend::start(config, waker);
            let mut window = Window::new(commands.clone(), events, args.server.clone());
            let mut sign_in = None;
            if let (Some(server), Some(user)) = (&args.server, &args.user) {
                window.prefill(user, server);
                sign_in = Some(Command::SignIn(SignIn {
                    identity: user.clone(),
                    password: std::env::var("SWITCHBOARD_PASSWORD").unwrap_or_default(),
                    server: server.clone(),
                    transport: Transport::Udp,
                    trusted_ca: None,
                    remember: false,
                }));
            }
            // The tour photographs the sign-in screen first, then signs in.
            let mut dial = args.dial.clone();
            let tour = args.tour.as_ref().map(|dir| {
                let call = dial.take().unwrap_or_else(|| "9196".into());
                switchboard::tour::Tour::new(dir.clone(), sign_in.take(), call)
            });
            if let Some(c) = sign_in {
                commands.send(c);
            }
            Ok(Box::new(App {
                window,
                tour,
                dial,
                frame_log: FrameLog::from_env(),
                milestones: Milestones::default(),
                main_started,
            }))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window could not open: {e}"))
}

/// `SWITCHBOARD_MANAGER` (`user:secret@host:port`) and `SWITCHBOARD_QUEUES`, as the demo sets
/// them.
fn call_center_from_env() -> Option<client::settings::CallCenter> {
    let manager = std::env::var("SWITCHBOARD_MANAGER").ok()?;
    let (login, addr) = manager.rsplit_once('@')?;
    let (user, secret) = login.split_once(':')?;
    Some(client::settings::CallCenter {
        manager_address: addr.into(),
        manager_user: user.into(),
        manager_secret: secret.into(),
        queues: std::env::var("SWITCHBOARD_QUEUES").unwrap_or_default(),
    })
}
