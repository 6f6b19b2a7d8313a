//! Sign in: an extension, phone number or email, the password, the server and how to reach it
//! (over TLS, optionally with a company CA certificate to trust). Errors come back from the
//! core in words and are shown under the form; nothing typed is cleared by a failure.

use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use crate::theme;
use client::command::{Command, Commands, SignIn, Transport};

pub struct Login {
    pub identity: String,
    pub password: String,
    pub server: String,
    pub transport: Transport,
    /// Over TLS: a CA certificate file to trust besides the system's.
    pub trusted_ca: Option<PathBuf>,
    /// The file dialog choosing `trusted_ca`, while it is open (it runs on its own thread).
    ca_pick: Option<Receiver<PathBuf>>,
    pub remember: bool,
    /// Set while the core is trying; the button is disabled meanwhile.
    pub busy: bool,
    /// The last failure in words, from the core or from checking the form.
    pub error: Option<String>,
}

impl Login {
    /// `server` pre-fills the server field (the demo PBX's address in the demo).
    pub fn new(server: Option<String>) -> Self {
        Self {
            identity: String::new(),
            password: String::new(),
            server: server.unwrap_or_default(),
            transport: Transport::Udp,
            trusted_ca: None,
            ca_pick: None,
            remember: true,
            busy: false,
            error: None,
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, commands: &Commands) {
        ui.vertical_centered(|ui| {
            ui.add_space((ui.available_height() * 0.12).min(80.0));
            ui.add(
                egui::Image::new(egui::include_image!(
                    "../../assets/icons/switchboard-256.png"
                ))
                .fit_to_exact_size(egui::vec2(72.0, 72.0))
                .alt_text("Switchboard"),
            );
            ui.heading("Sign in to Switchboard");
            ui.add_space(theme::SPACING * 2.0);
            ui.scope(|ui| {
                ui.set_max_width(340.0);
                let mut submit = false;
                submit |= field(
                    ui,
                    "Extension, phone number or email",
                    &mut self.identity,
                    false,
                );
                submit |= field(ui, "Password", &mut self.password, true);
                submit |= field(ui, "Server", &mut self.server, false);
                ui.horizontal(|ui| {
                    ui.label("Transport");
                    for t in [Transport::Udp, Transport::Tcp, Transport::Tls] {
                        ui.radio_value(&mut self.transport, t, t.label());
                    }
                });
                if self.transport == Transport::Tls {
                    self.trusted_ca_row(ui);
                }
                ui.checkbox(&mut self.remember, "Remember me");
                ui.add_space(theme::SPACING);
                let button = egui::Button::new(if self.busy {
                    "Signing in…"
                } else {
                    "Sign in"
                })
                .fill(theme::ACCENT)
                .min_size(egui::vec2(340.0, 36.0));
                if ui.add_enabled(!self.busy, button).clicked() || submit {
                    self.submit(commands);
                }
                if let Some(error) = &self.error {
                    ui.add_space(theme::SPACING);
                    ui.colored_label(theme::BUSY, error);
                }
            });
        });
    }

    /// The optional CA certificate: its file name, a button to choose one and one to clear it.
    fn trusted_ca_row(&mut self, ui: &mut egui::Ui) {
        if let Some(Ok(path)) = self.ca_pick.as_ref().map(|rx| rx.try_recv()) {
            self.trusted_ca = Some(path);
            self.ca_pick = None;
        }
        ui.horizontal(|ui| {
            ui.label("Trusted CA certificate");
            let shown = self
                .trusted_ca
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "None (the system's authorities only)".into());
            ui.label(shown)
                .on_hover_text("For a phone system whose certificate comes from your company's own certificate authority.");
            let choose = ui.add_enabled(self.ca_pick.is_none(), egui::Button::new("Choose…"));
            if choose.clicked() {
                self.pick_trusted_ca(ui.ctx());
            }
            if self.trusted_ca.is_some() && ui.button("Clear").clicked() {
                self.trusted_ca = None;
            }
        });
    }

    fn pick_trusted_ca(&mut self, ctx: &egui::Context) {
        let (tx, rx) = std::sync::mpsc::channel();
        let ctx = ctx.clone();
        // The native dialog blocks until closed: off the UI thread, which it wakes when done.
        std::thread::spawn(move || {
            let picked = rfd::FileDialog::new()
                .set_title("Choose your company's CA certificate")
                .add_filter("Certificates (PEM)", &["pem", "crt", "cer"])
                .pick_file();
            if let Some(path) = picked {
                let _ = tx.send(path);
            }
            ctx.request_repaint();
        });
        self.ca_pick = Some(rx);
    }

    fn submit(&mut self, commands: &Commands) {
        if self.busy {
            return;
        }
        match check(&self.identity, &self.password, &self.server) {
            Ok(()) => {
                self.error = None;
                self.busy = true;
                commands.send(Command::SignIn(SignIn {
                    identity: self.identity.trim().to_string(),
                    password: self.password.clone(),
                    server: self.server.trim().to_string(),
                    transport: self.transport,
                    trusted_ca: match self.transport {
                        Transport::Tls => self.trusted_ca.clone(),
                        _ => None,
                    },
                    remember: self.remember,
                }));
            }
            Err(why) => self.error = Some(why),
        }
    }

    /// The core's answer: failure keeps every field as typed.
    pub fn failed(&mut self, why: String) {
        self.busy = false;
        self.error = Some(why);
    }
}

/// A labelled single-line field; true when Enter was pressed in it.
fn field(ui: &mut egui::Ui, label: &str, value: &mut String, password: bool) -> bool {
    let caption = ui.label(label);
    let response = ui
        .add(
            egui::TextEdit::singleline(value)
                .password(password)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(caption.id);
    response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
}

/// What is wrong with the form before anything is sent, in words.
pub fn check(identity: &str, password: &str, server: &str) -> Result<(), String> {
    if identity.trim().is_empty() {
        return Err("Enter your extension, phone number or email.".into());
    }
    if password.is_empty() {
        return Err("Enter your password.".into());
    }
    let server = server.trim();
    if server.is_empty() {
        return Err("Enter your phone system's server address.".into());
    }
    if server.contains(char::is_whitespace) || server.contains('/') {
        return Err(format!(
            "“{server}” is not a server address; use a host name or host:port."
        ));
    }
    if let Some((_, port)) = server.rsplit_once(':')
        && !server.ends_with(']')
        && port.parse::<u16>().is_err()
    {
        return Err(format!("“{port}” is not a port number."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::kittest::Queryable;

    #[test]
    fn checks_the_form_in_words() {
        assert!(check("", "pw", "pbx").unwrap_err().contains("extension"));
        assert!(check("1001", "", "pbx").unwrap_err().contains("password"));
        assert!(check("1001", "pw", " ").unwrap_err().contains("server"));
        assert!(check("1001", "pw", "pbx:50x").unwrap_err().contains("port"));
        assert!(check("1001", "pw", "http://pbx").is_err());
        assert!(check("1001", "pw", "127.0.0.1:25060").is_ok());
        assert!(check("ada@example.com", "pw", "pbx.example.com").is_ok());
    }

    fn type_into(h: &mut egui_kittest::Harness<'_, Login>, label: &str, text: &str) {
        h.get_by_label(label).focus();
        h.run();
        h.event(egui::Event::Text(text.into()));
        h.run();
    }

    #[test]
    fn tls_is_a_choice_and_brings_the_trusted_ca_with_it() {
        let (commands, rx) = Commands::channel();
        let mut h = egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(800.0, 600.0))
            .build_ui_state(
                move |ui, login: &mut Login| {
                    egui_extras::install_image_loaders(ui.ctx());
                    login.ui(ui, &commands)
                },
                Login::new(Some("pbx.example.com".into())),
            );
        h.run();
        assert!(
            h.query_by_label("Trusted CA certificate").is_none(),
            "no CA row over UDP"
        );
        h.get_by_label("TLS").click();
        h.run();
        assert_eq!(h.state().transport, Transport::Tls);
        assert!(h.query_by_label("Trusted CA certificate").is_some());
        assert!(h.query_by_label("Choose…").is_some());
        // The native file dialog cannot be driven from here; what it returns lands here.
        h.state_mut().trusted_ca = Some(PathBuf::from("/etc/company/pbx-ca.pem"));
        h.run();
        assert!(h.query_by_label("pbx-ca.pem").is_some());
        type_into(&mut h, "Extension, phone number or email", "1001");
        type_into(&mut h, "Password", "secret");
        h.get_by_label("Sign in").click();
        h.run();
        match rx.try_recv() {
            Ok(Command::SignIn(s)) => {
                assert_eq!(s.transport, Transport::Tls);
                assert_eq!(
                    s.trusted_ca.as_deref(),
                    Some(std::path::Path::new("/etc/company/pbx-ca.pem"))
                );
            }
            other => panic!("expected SignIn, got {other:?}"),
        }
        h.state_mut().failed("x".into());
        h.get_by_label("Clear").click();
        h.run();
        assert_eq!(h.state().trusted_ca, None);
    }

    #[test]
    fn signing_in_sends_the_form_and_a_failure_keeps_what_was_typed() {
        let (commands, rx) = Commands::channel();
        let mut h = egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(800.0, 600.0))
            .build_ui_state(
                move |ui, login: &mut Login| {
                    egui_extras::install_image_loaders(ui.ctx());
                    login.ui(ui, &commands)
                },
                Login::new(Some("127.0.0.1:25060".into())),
            );
        h.run();
        h.get_by_label("Sign in").click();
        h.run();
        assert!(h.query_by_label_contains("Enter your extension").is_some());
        type_into(&mut h, "Extension, phone number or email", "1001");
        type_into(&mut h, "Password", "secret");
        h.get_by_label("Sign in").click();
        h.run();
        match rx.try_recv() {
            Ok(Command::SignIn(s)) => {
                assert_eq!(
                    (s.identity.as_str(), s.password.as_str()),
                    ("1001", "secret")
                );
                assert_eq!(s.server, "127.0.0.1:25060");
                assert!(s.remember);
            }
            other => panic!("expected SignIn, got {other:?}"),
        }
        h.state_mut()
            .failed("The server rejected the password for 1001.".into());
        h.run();
        assert!(
            h.query_by_label("The server rejected the password for 1001.")
                .is_some()
        );
        assert_eq!(h.state().identity, "1001");
        assert_eq!(h.state().password, "secret");
    }

    #[test]
    fn tab_moves_through_the_form_and_enter_signs_in() {
        let (commands, rx) = Commands::channel();
        let mut h = egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(800.0, 600.0))
            .build_ui_state(
                move |ui, login: &mut Login| {
                    egui_extras::install_image_loaders(ui.ctx());
                    login.ui(ui, &commands)
                },
                Login::new(Some("127.0.0.1:25060".into())),
            );
        h.run();
        h.get_by_label("Extension, phone number or email").focus();
        h.run();
        h.event(egui::Event::Text("1001".into()));
        h.run();
        // No mouse from here: Tab to the password, type it, Enter.
        h.key_press(egui::Key::Tab);
        h.run();
        h.event(egui::Event::Text("secret".into()));
        h.run();
        assert_eq!(
            h.state().password,
            "secret",
            "Tab did not reach the password"
        );
        h.key_press(egui::Key::Enter);
        h.run();
        match rx.try_recv() {
            Ok(Command::SignIn(s)) => assert_eq!(
                (s.identity.as_str(), s.password.as_str()),
                ("1001", "secret")
            ),
            other => panic!("expected SignIn, got {other:?}"),
        }
    }
}
