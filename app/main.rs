//! The Switchboard desktop client.
//!
//! `switchboard` opens the window. For the demo and for scripted runs it also takes
//! `--server HOST:PORT --user EXT` (password from `SWITCHBOARD_PASSWORD`) to sign in at once,
//! and `SWITCHBOARD_DIRECTORY` for the company directory's URL.

use std::sync::Arc;

use switchboard::backend::{self, BackendConfig};
use switchboard::command::{Command, SignIn, Transport};
use switchboard::version;
use switchboard::window::Window;

struct Args {
    server: Option<String>,
    user: Option<String>,
    headless_audio: bool,
    tour: Option<std::path::PathBuf>,
}

fn parse_args() -> anyhow::Result<Option<Args>> {
    let mut args = Args {
        server: None,
        user: None,
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
            "--server" => args.server = it.next(),
            "--user" => args.user = it.next(),
            "--headless-audio" => args.headless_audio = true,
            "--screenshot-tour" => args.tour = it.next().map(Into::into),
            other => anyhow::bail!("unknown argument `{other}`; try `switchboard --version`"),
        }
    }
    Ok(Some(args))
}

struct App {
    window: Window,
    tour: Option<switchboard::tour::Tour>,
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.window.ui(ui);
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
    let started = std::time::Instant::now();
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
                    remember: false,
                }));
            }
            tracing::info!(ms = started.elapsed().as_millis() as u64, "first frame");
            // The tour photographs the sign-in screen first, then signs in.
            let tour = args
                .tour
                .as_ref()
                .map(|dir| switchboard::tour::Tour::new(dir.clone(), sign_in.take()));
            if let Some(c) = sign_in {
                commands.send(c);
            }
            Ok(Box::new(App { window, tour }))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window could not open: {e}"))
}
