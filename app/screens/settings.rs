//! Settings: one page with its categories (profile, call strategy, business hours,
//! notifications, mailbox, call center, security, network, audio), a Save button at the bottom, and an "unsaved changes"
//! indication. The page edits a draft; Save sends it to the core, which stores it and reports
//! back. Refresh and Log out live in the profile menu at the top.

use crate::icons;
use crate::theme;
use crate::widgets::icon_button::IconButton;
pub use client::model::ProfileFacts;
use client::settings::{
    AfterHours, Appearance, Audio, BusinessHours, CallStrategy, CallStrategyMode, DayHours,
    Encryption, Mailbox, Notifications, RetentionDays, SettingsForm, SmtpSecurity, WEEKDAYS,
};

/// What the page asks of the window and the core.
#[derive(Clone, Debug, PartialEq)]
pub enum SettingsAction {
    Save(Box<SettingsForm>),
    PickPhoto,
    RemovePhoto,
    PreviewRingtone { ringtone: String, volume: f32 },
    PlayTestTone,
    RecordGreeting,
    StopRecordingGreeting,
    PlayGreeting,
    UseSpokenGreeting,
    Refresh,
    LogOut,
}

/// Choices the page offers that come from the system.
#[derive(Clone, Debug, Default)]
pub struct Choices {
    pub ringtones: Vec<String>,
    pub inputs: Vec<(String, String)>,
    pub outputs: Vec<(String, String)>,
    pub time_zones: Vec<&'static str>,
    /// What callers hear when a message is taken here.
    pub greeting: client::model::Greeting,
}

pub struct SettingsPage {
    /// What was last saved (or loaded); the draft is compared with it.
    saved: SettingsForm,
    pub draft: SettingsForm,
    /// A save failure in words, shown by the Save button.
    pub error: Option<String>,
}

impl SettingsPage {
    pub fn new(saved: SettingsForm) -> Self {
        Self {
            draft: saved.clone(),
            saved,
            error: None,
        }
    }

    pub fn has_unsaved_changes(&self) -> bool {
        self.draft != self.saved
    }

    /// The core stored the settings: they become the new baseline.
    pub fn saved(&mut self, form: SettingsForm) {
        self.saved = form;
        self.error = None;
    }

    /// Settings changed elsewhere (Refresh): keep the user's edits if any, else follow.
    pub fn reloaded(&mut self, form: SettingsForm) {
        if !self.has_unsaved_changes() {
            self.draft = form.clone();
        }
        self.saved = form;
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        facts: &ProfileFacts,
        photo: Option<&[u8]>,
        mic_level: f32,
        choices: &Choices,
    ) -> Option<SettingsAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            ui.heading("Settings");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.menu_button(format!("{} {}", icons::PERSON, facts.name), |ui| {
                    if ui.button(format!("{} Refresh", icons::REFRESH)).clicked() {
                        action = Some(SettingsAction::Refresh);
                    }
                    if ui.button(format!("{} Log out", icons::SIGN_OUT)).clicked() {
                        action = Some(SettingsAction::LogOut);
                    }
                });
            });
        });
        ui.separator();
        let bottom = 56.0;
        egui::ScrollArea::vertical()
            .auto_shrink(false)
            .max_height(ui.available_height() - bottom)
            .show(ui, |ui| {
                let d = &mut self.draft;
                category(ui, "Profile", |ui| {
                    if let Some(a) = profile(ui, facts, photo, &mut d.time_zone, choices) {
                        action = Some(a);
                    }
                    let looks = every_value(&Appearance::ALL, Appearance::label);
                    combo(ui, "Appearance", &mut d.appearance, &looks);
                    labelled(
                        ui,
                        "Company directory (phonebook or vCard URL)",
                        egui::TextEdit::singleline(&mut d.directory_url)
                            .hint_text("https://pbx.example.com/phonebook.xml")
                            .desired_width(f32::INFINITY),
                    );
                });
                let at_pbx = d.call_center.configured();
                category(ui, "Call Strategy", |ui| {
                    routing_note(ui, at_pbx);
                    call_strategy(ui, &mut d.call_strategy)
                });
                category(ui, "Business Hours", |ui| {
                    routing_note(ui, at_pbx);
                    business_hours(ui, &mut d.business_hours, &d.time_zone)
                });
                category(ui, "Notifications", |ui| {
                    if let Some(a) = notifications(ui, &mut d.notifications, choices) {
                        action = Some(a);
                    }
                });
                category(ui, "Mailbox", |ui| {
                    if let Some(a) = mailbox(ui, &mut d.mailbox, &choices.greeting) {
                        action = Some(a);
                    }
                });
                category(ui, "Call Center", |ui| call_center(ui, &mut d.call_center));
                category(ui, "Security", |ui| {
                    let choices = every_value(&Encryption::ALL, Encryption::label);
                    combo(ui, "Encrypt calls (SRTP)", &mut d.encryption, &choices);
                    ui.weak(
                        "Calls already under way keep their setting. The keys travel in the call \
                         setup: sign in over TLS for them to stay private.",
                    );
                });
                category(ui, "Network", |ui| {
                    labelled(
                        ui,
                        "STUN server (calls through NAT)",
                        egui::TextEdit::singleline(&mut d.stun_server)
                            .hint_text("stun.example.com:3478")
                            .desired_width(320.0),
                    );
                    ui.weak(
                        "With a STUN server, calls find a path through routers and firewalls (ICE); \
                         leave it empty when the phone system relays all audio.",
                    );
                });
                category(ui, "Audio", |ui| {
                    if let Some(a) = audio(ui, &mut d.audio, mic_level, choices) {
                        action = Some(a);
                    }
                });
            });
        ui.separator();
        ui.horizontal(|ui| {
            let dirty = self.has_unsaved_changes();
            let save = egui::Button::new("Save").fill(if dirty {
                theme::ACCENT
            } else {
                ui.visuals().widgets.inactive.weak_bg_fill
            });
            if ui.add_enabled(dirty, save).clicked() {
                action = Some(SettingsAction::Save(Box::new(self.draft.clone())));
            }
            if dirty && ui.button("Discard changes").clicked() {
                self.draft = self.saved.clone();
            }
            if dirty {
                ui.colored_label(theme::RINGING, "Unsaved changes");
            }
            if let Some(e) = &self.error {
                ui.colored_label(theme::BUSY, e);
            }
        });
        action
    }
}

fn category(ui: &mut egui::Ui, title: &str, body: impl FnOnce(&mut egui::Ui)) {
    ui.add_space(theme::SPACING);
    ui.label(egui::RichText::new(title).heading());
    ui.add_space(theme::SPACING / 2.0);
    ui.indent(title, body);
    ui.add_space(theme::SPACING);
    ui.separator();
}

/// The manager account for the queue tiles, as the administrator gives it.
fn call_center(ui: &mut egui::Ui, c: &mut client::settings::CallCenter) {
    ui.label("Your administrator gives these when your account may see call-center queues.");
    let field = |ui: &mut egui::Ui, caption: &str, value: &mut String, hint: &str, secret: bool| {
        labelled(
            ui,
            caption,
            egui::TextEdit::singleline(value)
                .hint_text(hint)
                .password(secret)
                .desired_width(320.0),
        );
    };
    field(
        ui,
        "Manager address",
        &mut c.manager_address,
        "pbx.example.com:5038, or tls://pbx.example.com:5039",
        false,
    );
    field(ui, "Manager user", &mut c.manager_user, "", false);
    field(ui, "Manager secret", &mut c.manager_secret, "", true);
    field(
        ui,
        "Queues you may log in to",
        &mut c.queues,
        "support, sales",
        false,
    );
}

/// `widget` after its caption, which gives it its accessible name.
fn labelled(ui: &mut egui::Ui, label: &str, widget: impl egui::Widget) -> egui::Response {
    let caption = ui.label(label);
    ui.add(widget).labelled_by(caption.id)
}

/// A combo box's options: every value of a settings enum, named by its label.
fn every_value<T: Copy>(all: &[T], label: fn(T) -> &'static str) -> Vec<(T, String)> {
    all.iter().map(|v| (*v, label(*v).to_string())).collect()
}

/// A labelled combo box whose accessible name is `label`.
fn combo<T: PartialEq + Clone>(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut T,
    options: &[(T, String)],
) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        let caption = ui.label(label);
        let current = options
            .iter()
            .find(|(v, _)| v == value)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| "—".into());
        egui::ComboBox::from_id_salt(label)
            .selected_text(current)
            .width(240.0)
            .show_ui(ui, |ui| {
                for (v, text) in options {
                    if ui.selectable_label(v == value, text).clicked() && v != value {
                        *value = v.clone();
                        changed = true;
                    }
                }
            })
            .response
            .labelled_by(caption.id);
    });
    changed
}

fn profile(
    ui: &mut egui::Ui,
    facts: &ProfileFacts,
    photo: Option<&[u8]>,
    time_zone: &mut String,
    choices: &Choices,
) -> Option<SettingsAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        let face = match photo {
            Some(bytes) => crate::widgets::avatar::Face::Photo {
                uri: "bytes://me/photo-settings.png".into(),
                bytes,
            },
            None => crate::widgets::avatar::Face::Person,
        };
        ui.add(crate::widgets::avatar::Avatar {
            face,
            size: theme::AVATAR_LARGE,
            presence: None,
            phone: None,
            label: "Your photo".into(),
        });
        ui.vertical(|ui| {
            if ui.button("Upload photo…").clicked() {
                action = Some(SettingsAction::PickPhoto);
            }
            if photo.is_some() && ui.button("Remove photo").clicked() {
                action = Some(SettingsAction::RemovePhoto);
            }
            ui.small("GIF, PNG or JPEG; you crop it to a square.");
        });
    });
    egui::Grid::new("profile-facts")
        .num_columns(2)
        .show(ui, |ui| {
            for (k, v) in [
                ("Name", &facts.name),
                ("Extension", &facts.extension),
                ("Number", &facts.number),
                ("Email", &facts.email),
            ] {
                ui.label(k);
                ui.label(if v.is_empty() { "—" } else { v.as_str() });
                ui.end_row();
            }
        });
    let zones: Vec<(String, String)> = choices
        .time_zones
        .iter()
        .map(|z| (z.to_string(), z.replace('_', " ")))
        .collect();
    combo(ui, "Time zone", time_zone, &zones);
    action
}

/// Where the routing is carried out, in one line: the PBX follows it even while the app is
/// closed, and without the manager access the PBX keeps its default.
fn routing_note(ui: &mut egui::Ui, at_pbx: bool) {
    ui.small(if at_pbx {
        ROUTING_AT_PBX
    } else {
        ROUTING_NEEDS_PBX
    });
}

/// What "Take messages on this computer" is for, and when it works.
pub const TAKE_MESSAGES_NOTE: &str = "For a phone system without voicemail: while the app runs, \
     a call left ringing for the ring duration hears a greeting and leaves a message here.";

/// What "Transcribe voicemail" does, and what it does not.
pub const TRANSCRIPTION_NOTE: &str = "Voicemails are transcribed on this computer (Whisper); \
     no audio leaves it. Emails wait for the transcript.";

pub const ROUTING_AT_PBX: &str = "Your phone system follows this, also while the app is closed.";
pub const ROUTING_NEEDS_PBX: &str = "Needs the phone system's manager access (Call Center, below); \
     until then your line rings 20 s, then voicemail, and only do-not-disturb works, while the \
     app runs.";

fn call_strategy(ui: &mut egui::Ui, s: &mut CallStrategy) {
    let modes = every_value(&CallStrategyMode::ALL, CallStrategyMode::label);
    combo(ui, "When someone calls", &mut s.mode, &modes);
    ui.horizontal(|ui| {
        labelled(
            ui,
            "Ring for (seconds)",
            egui::DragValue::new(&mut s.ring_seconds).range(5..=120),
        );
    });
    ui.horizontal(|ui| {
        labelled(
            ui,
            "Mobile number",
            egui::TextEdit::singleline(&mut s.mobile_number).desired_width(200.0),
        );
    });
    ui.horizontal(|ui| {
        ui.label("Handle calls");
        ui.radio_value(&mut s.use_desk_phone, false, "In the app");
        ui.radio_value(&mut s.use_desk_phone, true, "On the desk phone");
    });
}

fn business_hours(ui: &mut egui::Ui, b: &mut BusinessHours, time_zone: &str) {
    ui.checkbox(&mut b.enabled, "Use business hours");
    if b.enabled {
        // As the PBX reads them at each call: in the user's time zone.
        let open = client::routing::open_at(b, time_zone, chrono::Utc::now());
        ui.small(if open {
            format!("Open now ({time_zone}).")
        } else {
            format!("Closed now ({time_zone}): the after-hours choice applies.")
        });
    }
    ui.add_enabled_ui(b.enabled, |ui| {
        egui::Grid::new("business-days")
            .num_columns(3)
            .show(ui, |ui| {
                for (i, day) in WEEKDAYS.iter().enumerate() {
                    let hours: &mut DayHours = &mut b.days[i];
                    ui.label(*day);
                    let (icon, color, words) = if hours.open {
                        (icons::OPEN_DAY, theme::OPEN_DAY, "open")
                    } else {
                        (icons::CLOSED_DAY, theme::OFFLINE, "closed")
                    };
                    let label = format!("{day}: {words}");
                    if ui
                        .add(IconButton::new(icon, &label).size(30.0).fill(color))
                        .clicked()
                    {
                        hours.open = !hours.open;
                    }
                    ui.add_enabled_ui(hours.open, |ui| {
                        ui.horizontal(|ui| {
                            time_field(ui, &format!("{day} opens"), &mut hours.open_minute);
                            ui.label("to");
                            time_field(ui, &format!("{day} closes"), &mut hours.close_minute);
                        });
                    });
                    ui.end_row();
                }
            });
        let modes = every_value(&AfterHours::ALL, AfterHours::label);
        combo(ui, "Outside business hours", &mut b.after_hours, &modes);
        ui.horizontal(|ui| {
            labelled(
                ui,
                "Ring for, after hours (seconds)",
                egui::DragValue::new(&mut b.after_hours_ring_seconds).range(5..=120),
            );
        });
    });
}

/// Minutes since midnight, edited as hours and minutes.
fn time_field(ui: &mut egui::Ui, label: &str, minute: &mut u16) {
    let mut h = *minute / 60;
    let mut m = *minute % 60;
    let a = ui.add(
        egui::DragValue::new(&mut h)
            .range(0..=23)
            .custom_formatter(|v, _| format!("{v:02}")),
    );
    a.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::SpinButton, true, format!("{label}, hour"))
    });
    ui.label(":");
    let b = ui.add(
        egui::DragValue::new(&mut m)
            .range(0..=59)
            .speed(0.5)
            .custom_formatter(|v, _| format!("{v:02}")),
    );
    b.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::SpinButton, true, format!("{label}, minute"))
    });
    *minute = h * 60 + m;
}

fn notifications(
    ui: &mut egui::Ui,
    n: &mut Notifications,
    choices: &Choices,
) -> Option<SettingsAction> {
    let mut action = None;
    ui.checkbox(&mut n.mute_all, "Mute all notifications");
    let tones: Vec<(String, String)> = choices
        .ringtones
        .iter()
        .map(|t| (t.clone(), title_case(t)))
        .collect();
    if combo(ui, "Ringtone", &mut n.ringtone, &tones) {
        action = Some(SettingsAction::PreviewRingtone {
            ringtone: n.ringtone.clone(),
            volume: n.volume,
        });
    }
    ui.horizontal(|ui| {
        labelled(
            ui,
            "Volume",
            egui::Slider::new(&mut n.volume, 0.0..=1.0).show_value(false),
        );
        if ui.button(format!("{} Preview", icons::PLAY)).clicked() {
            action = Some(SettingsAction::PreviewRingtone {
                ringtone: n.ringtone.clone(),
                volume: n.volume,
            });
        }
    });
    action
}

fn mailbox(
    ui: &mut egui::Ui,
    m: &mut Mailbox,
    greeting: &client::model::Greeting,
) -> Option<SettingsAction> {
    ui.horizontal(|ui| {
        labelled(
            ui,
            "Voicemail server (IMAP)",
            egui::TextEdit::singleline(&mut m.voicemail_server)
                .hint_text("host:port, or imaps://host:port")
                .desired_width(240.0),
        );
    });
    ui.small("Voicemails left on the phone system are listed, played and deleted from there.");
    let options: Vec<(RetentionDays, String)> = RetentionDays::CHOICES
        .iter()
        .map(|r| (*r, r.label()))
        .collect();
    combo(ui, "Delete voicemail after", &mut m.delete_after, &options);
    ui.checkbox(
        &mut m.email_notification,
        "Email me when a voicemail arrives",
    );
    ui.add_enabled_ui(m.email_notification, |ui| {
        ui.horizontal(|ui| {
            labelled(
                ui,
                "Email address",
                egui::TextEdit::singleline(&mut m.email_address).desired_width(240.0),
            );
        });
        ui.checkbox(&mut m.attach_audio, "Attach the voicemail to the email");
        let s = &mut m.smtp;
        ui.horizontal(|ui| {
            labelled(
                ui,
                "Outgoing mail server",
                egui::TextEdit::singleline(&mut s.host)
                    .hint_text("smtp.example.com")
                    .desired_width(200.0),
            );
            labelled(
                ui,
                "Port",
                egui::DragValue::new(&mut s.port).range(1..=65535),
            );
        });
        let choices = every_value(&SmtpSecurity::ALL, SmtpSecurity::label);
        combo(ui, "Mail server security", &mut s.security, &choices);
        ui.horizontal(|ui| {
            labelled(
                ui,
                "Mail user",
                egui::TextEdit::singleline(&mut s.user).desired_width(160.0),
            );
            labelled(
                ui,
                "Mail password",
                egui::TextEdit::singleline(&mut s.password)
                    .password(true)
                    .desired_width(160.0),
            );
        });
    });
    ui.checkbox(&mut m.transcription, "Transcribe voicemail");
    ui.small(TRANSCRIPTION_NOTE);
    ui.checkbox(&mut m.take_messages, "Take messages on this computer");
    ui.small(TAKE_MESSAGES_NOTE);
    greeting_row(ui, greeting)
}

/// The greeting callers hear here: which one, and record, stop, play or go back to the default.
fn greeting_row(ui: &mut egui::Ui, greeting: &client::model::Greeting) -> Option<SettingsAction> {
    use client::model::Greeting;
    let mut action = None;
    ui.horizontal(|ui| {
        match greeting {
            Greeting::Spoken => ui.label("Greeting: the spoken default"),
            Greeting::Recording => ui.label("Recording your greeting… speak now"),
            Greeting::Own { secs } => ui.label(format!(
                "Greeting: your own, {}",
                client::model::format_duration(*secs)
            )),
        };
        if matches!(greeting, Greeting::Recording) {
            if ui.button("Stop recording").clicked() {
                action = Some(SettingsAction::StopRecordingGreeting);
            }
            return;
        }
        if ui.button("Record greeting").clicked() {
            action = Some(SettingsAction::RecordGreeting);
        }
        if ui.button("Play greeting").clicked() {
            action = Some(SettingsAction::PlayGreeting);
        }
        if matches!(greeting, Greeting::Own { .. }) && ui.button("Use the spoken default").clicked()
        {
            action = Some(SettingsAction::UseSpokenGreeting);
        }
    });
    action
}

fn audio(
    ui: &mut egui::Ui,
    a: &mut Audio,
    mic_level: f32,
    choices: &Choices,
) -> Option<SettingsAction> {
    let mut action = None;
    let with_default = |list: &[(String, String)]| {
        let mut v = vec![(None, "System default".to_string())];
        v.extend(
            list.iter()
                .map(|(id, name)| (Some(id.clone()), name.clone())),
        );
        v
    };
    combo(
        ui,
        "Microphone",
        &mut a.microphone,
        &with_default(&choices.inputs),
    );
    combo(
        ui,
        "Speaker",
        &mut a.speaker,
        &with_default(&choices.outputs),
    );
    combo(
        ui,
        "Ringing device",
        &mut a.ringer,
        &with_default(&choices.outputs),
    );
    ui.horizontal(|ui| {
        if ui
            .button(format!("{} Play a test tone", icons::SPEAKER))
            .clicked()
        {
            action = Some(SettingsAction::PlayTestTone);
        }
    });
    ui.horizontal(|ui| {
        ui.label(format!("{} Microphone level", icons::MICROPHONE));
        let bar = egui::ProgressBar::new(mic_level.clamp(0.0, 1.0)).desired_width(200.0);
        let r = ui.add(bar);
        r.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Meter,
                true,
                format!(
                    "Microphone level {:.0} %",
                    mic_level.clamp(0.0, 1.0) * 100.0
                ),
            )
        });
    });
    action
}

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::kittest::{NodeT, Queryable};

    type State = (SettingsPage, Vec<SettingsAction>);

    fn harness() -> egui_kittest::Harness<'static, State> {
        harness_with(client::model::Greeting::Spoken)
    }

    fn harness_with(greeting: client::model::Greeting) -> egui_kittest::Harness<'static, State> {
        let choices = Choices {
            ringtones: vec!["classic".into(), "chime".into(), "pulse".into()],
            inputs: vec![("in-1".into(), "Null Input".into())],
            outputs: vec![("out-1".into(), "Null Output".into())],
            time_zones: vec!["UTC", "Europe/Paris", "America/New_York"],
            greeting,
        };
        let facts = ProfileFacts {
            name: "Ada Lovelace".into(),
            extension: "1001".into(),
            number: "+1 555 0100".into(),
            email: "ada@switchboard.test".into(),
        };
        egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(800.0, 3000.0))
            .build_ui_state(
                move |ui, (page, actions): &mut State| {
                    if let Some(a) = page.ui(ui, &facts, None, 0.25, &choices) {
                        actions.push(a);
                    }
                },
                (SettingsPage::new(SettingsForm::default()), Vec::new()),
            )
    }

    #[test]
    fn choosing_a_ringtone_previews_it_and_marks_the_page_unsaved_until_saved() {
        let mut h = harness();
        h.run();
        assert!(h.query_by_label("Unsaved changes").is_none());
        assert!(
            h.query_by_label("Ada Lovelace").is_some()
                || h.query_by_label_contains("Ada Lovelace").is_some()
        );
        h.get_by_label("Ringtone").click();
        h.run();
        h.get_by_label("Chime").click();
        h.run();
        assert_eq!(
            h.state().1.last(),
            Some(&SettingsAction::PreviewRingtone {
                ringtone: "chime".into(),
                volume: 0.8
            })
        );
        assert!(h.query_by_label("Unsaved changes").is_some());
        h.get_by_label("Save").click();
        h.run();
        let Some(SettingsAction::Save(form)) = h.state().1.last().cloned() else {
            panic!("expected Save, got {:?}", h.state().1);
        };
        assert_eq!(form.notifications.ringtone, "chime");
        h.state_mut().0.saved(*form);
        h.run();
        assert!(h.query_by_label("Unsaved changes").is_none());
    }

    #[test]
    fn business_days_toggle_between_open_and_closed() {
        let mut h = harness();
        h.get_by_label("Use business hours").click();
        h.run();
        assert!(h.query_by_label("Saturday: closed").is_some());
        h.get_by_label("Saturday: closed").click();
        h.run();
        assert!(h.query_by_label("Saturday: open").is_some());
        assert!(h.state().0.draft.business_hours.enabled);
        assert!(h.state().0.draft.business_hours.days[5].open);
        h.get_by_label("Discard changes").click();
        h.run();
        assert_eq!(h.state().0.draft, SettingsForm::default());
    }

    #[test]
    fn the_profile_menu_offers_refresh_and_log_out() {
        let mut h = harness();
        h.get_by_label(&format!("{} Ada Lovelace", icons::PERSON))
            .click();
        h.run();
        h.get_by_label_contains("Log out").click();
        h.run();
        assert_eq!(h.state().1.last(), Some(&SettingsAction::LogOut));
    }

    #[test]
    fn devices_are_chosen_by_name_and_the_test_tone_and_meter_are_there() {
        let mut h = harness();
        h.run();
        h.get_by_label("Microphone").click();
        h.run();
        h.get_by_label("Null Input").click();
        h.run();
        h.get_by_label("Ringing device").click();
        h.run();
        h.get_by_label("Null Output").click();
        h.run();
        let audio = &h.state().0.draft.audio;
        assert_eq!(audio.microphone.as_deref(), Some("in-1"));
        assert_eq!(audio.speaker, None, "the speaker stays the system default");
        assert_eq!(audio.ringer.as_deref(), Some("out-1"));
        assert!(h.query_by_label("Microphone level 25 %").is_some());
        h.get_by_label_contains("Play a test tone").click();
        h.run();
        assert_eq!(h.state().1.last(), Some(&SettingsAction::PlayTestTone));
    }

    #[test]
    fn opening_hours_are_edited_as_hours_and_minutes_and_closed_days_lock_theirs() {
        let mut h = harness();
        h.get_by_label("Use business hours").click();
        h.run();
        h.get_by_label("Monday opens, hour")
            .set_value_accesskit(8.0);
        h.run();
        h.get_by_label("Monday opens, minute")
            .set_value_accesskit(15.0);
        h.run();
        h.get_by_label("Monday closes, hour")
            .set_value_accesskit(18.0);
        h.run();
        let monday = h.state().0.draft.business_hours.days[0];
        assert_eq!(
            (monday.open_minute, monday.close_minute),
            (8 * 60 + 15, 18 * 60)
        );
        assert!(h.query_by_label("Monday opens, hour").is_some());
        assert_eq!(
            h.get_by_label("Monday opens, minute").value().as_deref(),
            Some("15")
        );
        // A closed day keeps its times, locked until it opens again.
        assert!(
            h.get_by_label("Sunday opens, hour")
                .accesskit_node()
                .is_disabled()
        );
        h.get_by_label("Sunday: closed").click();
        h.run();
        assert!(
            !h.get_by_label("Sunday opens, hour")
                .accesskit_node()
                .is_disabled()
        );
    }

    #[test]
    fn the_volume_slider_and_preview_play_the_chosen_ringtone_at_that_volume() {
        let mut h = harness();
        h.get_by_label("Volume").set_value_accesskit(0.3);
        h.run();
        h.get_by_label_contains("Preview").click();
        h.run();
        assert_eq!(
            h.state().1.last(),
            Some(&SettingsAction::PreviewRingtone {
                ringtone: "classic".into(),
                volume: 0.3
            })
        );
    }

    #[test]
    fn refresh_asks_the_core_and_a_reload_keeps_edits_not_yet_saved() {
        let mut h = harness();
        h.get_by_label(&format!("{} Ada Lovelace", icons::PERSON))
            .click();
        h.run();
        h.get_by_label_contains("Refresh").click();
        h.run();
        assert_eq!(h.state().1.last(), Some(&SettingsAction::Refresh));

        h.get_by_label("Transcribe voicemail").click();
        h.run();
        let elsewhere = SettingsForm {
            time_zone: "Europe/Paris".into(),
            ..Default::default()
        };
        h.state_mut().0.reloaded(elsewhere.clone());
        h.run();
        let page = &h.state().0;
        assert!(page.draft.mailbox.transcription, "the edit is kept");
        assert_eq!(page.draft.time_zone, "UTC", "and not overwritten");
        assert!(h.query_by_label("Unsaved changes").is_some());
        // With nothing unsaved, a reload shows what came in.
        h.get_by_label("Discard changes").click();
        h.run();
        assert_eq!(h.state().0.draft, elsewhere);
    }

    #[test]
    fn the_mailbox_takes_the_voicemail_server_and_the_outgoing_mail_server() {
        let mut h = harness();
        h.run();
        h.get_by_label("Email me when a voicemail arrives").click();
        h.run();
        for label in [
            "Voicemail server (IMAP)",
            "Email address",
            "Attach the voicemail to the email",
            "Outgoing mail server",
            "Mail server security",
            "Mail user",
            "Mail password",
        ] {
            assert!(h.query_by_label(label).is_some(), "{label}");
        }
        h.get_by_label("Mail user").click();
        h.get_by_label("Mail user").type_text("ada");
        h.run();
        let draft = &h.state().0.draft.mailbox;
        assert!(draft.email_notification);
        assert_eq!(draft.smtp.user, "ada");
    }

    #[test]
    fn business_hours_say_whether_they_are_open_now_in_the_users_time_zone() {
        let mut h = harness();
        h.run();
        assert!(h.query_by_label_contains("now (UTC)").is_none());
        h.get_by_label("Use business hours").click();
        h.run();
        assert!(
            h.query_by_label_contains("Open now (UTC)").is_some()
                || h.query_by_label_contains("Closed now (UTC)").is_some()
        );
    }

    #[test]
    fn the_settings_that_work_only_in_part_say_so_in_one_line() {
        let mut h = harness();
        h.run();
        assert!(h.query_by_label(TRANSCRIPTION_NOTE).is_some());
        assert!(h.query_by_label(TAKE_MESSAGES_NOTE).is_some());
        // The routing says where it is carried out, for both its pages.
        assert_eq!(h.query_all_by_label(ROUTING_NEEDS_PBX).count(), 2);
        assert!(h.query_by_label(ROUTING_AT_PBX).is_none());
    }

    #[test]
    fn the_greeting_is_recorded_played_and_dropped_from_the_mailbox_page() {
        use client::model::Greeting;
        let mut h = harness();
        h.run();
        assert!(h.query_by_label("Greeting: the spoken default").is_some());
        assert!(h.query_by_label("Use the spoken default").is_none());
        h.get_by_label("Record greeting").click();
        h.run();
        assert_eq!(h.state().1.last(), Some(&SettingsAction::RecordGreeting));

        let mut h = harness_with(Greeting::Recording);
        h.run();
        assert!(
            h.query_by_label("Recording your greeting… speak now")
                .is_some()
        );
        assert!(h.query_by_label("Record greeting").is_none());
        h.get_by_label("Stop recording").click();
        h.run();
        assert_eq!(
            h.state().1.last(),
            Some(&SettingsAction::StopRecordingGreeting)
        );

        let mut h = harness_with(Greeting::Own { secs: 7 });
        h.run();
        assert!(h.query_by_label("Greeting: your own, 0:07").is_some());
        h.get_by_label("Play greeting").click();
        h.run();
        assert_eq!(h.state().1.last(), Some(&SettingsAction::PlayGreeting));
        h.get_by_label("Use the spoken default").click();
        h.run();
        assert_eq!(h.state().1.last(), Some(&SettingsAction::UseSpokenGreeting));
    }
}
