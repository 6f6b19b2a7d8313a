//! The signed-in window: left bar, display bar with the dial pad, the section's content, the
//! active-call bar, the fullscreen call view and incoming-call popups. It reads the model and
//! turns clicks into commands; it never waits on the core.

use std::collections::HashSet;
use std::time::Instant;

use crate::job::Job;
use crate::photo::{PhotoError, Picked};
use crate::screens::call_bar::{self, CallBarAction};
use crate::screens::call_center::CallCenter;
use crate::screens::call_view::{CallView, CallViewAction};
use crate::screens::contact_editor::{self, ContactDraft, EditorOutcome};
use crate::screens::contact_import::{self, ImportOutcome, ImportPreview};
use crate::screens::contacts::{Contacts, ContactsAction};
use crate::screens::dial_pad::{DialPad, DialPadAction, Suggestion};
use crate::screens::empty_state;
use crate::screens::history::History;
use crate::screens::incoming;
use crate::screens::left_bar::{self, Section};
use crate::screens::photo_crop::{CropOutcome, PhotoCrop};
use crate::screens::settings::{Choices, SettingsAction, SettingsPage};
use crate::screens::voicemails;
use crate::theme;
use crate::time_format;
use client::command::{Command, Commands};
use client::model::Model;
use client::settings::SettingsForm;

/// The tabs of the Voice section's display bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum VoiceTab {
    #[default]
    Contacts,
    MyCalls,
    Voicemails,
}

pub struct Shell {
    pub section: Section,
    pub tab: VoiceTab,
    pub dial_pad: DialPad,
    pub contacts: Contacts,
    pub history: History,
    /// What the Voicemails tab is searched for.
    pub voicemail_search: String,
    pub settings: SettingsPage,
    pub call_view: CallView,
    pub call_center: CallCenter,
    pub fullscreen: bool,
    pub photo_crop: Option<PhotoCrop>,
    /// A picked photo being read on a helper thread.
    photo_job: Option<Job<Result<Picked, PhotoError>>>,
    /// The contact being added or edited.
    pub contact_editor: Option<ContactDraft>,
    /// A picked address book being read, then its preview.
    import_job: Option<Job<Result<ImportPreview, String>>>,
    pub import_preview: Option<ImportPreview>,
    ringtones: Vec<String>,
    /// Whether we asked for the microphone meter; it runs only while Settings is shown, so an
    /// idle window is not repainted ten times a second.
    meter_on: bool,
    offers: Offers,
    commands: Commands,
}

impl Shell {
    pub fn new(commands: Commands, model: &Model) -> Self {
        Self {
            section: Section::default(),
            tab: VoiceTab::default(),
            dial_pad: DialPad::default(),
            contacts: Contacts::default(),
            history: History::default(),
            voicemail_search: String::new(),
            settings: SettingsPage::new(model.settings.clone()),
            call_view: CallView::default(),
            call_center: CallCenter::default(),
            fullscreen: false,
            photo_crop: None,
            meter_on: false,
            offers: Offers::default(),
            photo_job: None,
            contact_editor: None,
            import_job: None,
            import_preview: None,
            ringtones: client::assets::ringtone_names(),
            commands,
        }
    }

    /// Reads a picked or dropped photo off the UI thread; the crop dialog opens when it is
    /// decoded, or a notice says why it cannot be used.
    pub fn photo_picked(&mut self, ctx: &egui::Context, path: std::path::PathBuf) {
        self.photo_job = Some(Job::spawn(ctx, move || Some(crate::photo::load(&path))));
    }

    /// Reads and parses a picked address book off the UI thread; the preview opens when done.
    pub fn contacts_file_picked(&mut self, ctx: &egui::Context, path: std::path::PathBuf) {
        self.import_job = Some(Job::spawn(ctx, move || Some(contact_import::read(&path))));
    }

    fn pick_contacts_file(&mut self, ctx: &egui::Context) {
        self.import_job = Some(Job::spawn(ctx, || {
            let path = rfd::FileDialog::new()
                .set_title("Import contacts")
                .add_filter("vCard or CSV", &contact_import::ACCEPTED_EXTENSIONS)
                .pick_file()?;
            Some(contact_import::read(&path))
        }));
    }

    fn pick_photo(&mut self, ctx: &egui::Context) {
        self.photo_job = Some(Job::spawn(ctx, || {
            let path = rfd::FileDialog::new()
                .set_title("Choose a profile photo")
                .add_filter("Pictures", &crate::photo::ACCEPTED_EXTENSIONS)
                .pick_file()?;
            Some(crate::photo::load(&path))
        }));
    }

    /// The screen shown, in a word: `call-view`, `contacts`, `my-calls`, `settings`…
    pub fn screen_name(&self) -> &'static str {
        if self.fullscreen {
            return "call-view";
        }
        match (self.section, self.tab) {
            (Section::Voice, VoiceTab::Contacts) => "contacts",
            (Section::Voice, VoiceTab::MyCalls) => "my-calls",
            (Section::Voice, VoiceTab::Voicemails) => "voicemails",
            (Section::Messaging, _) => "messaging",
            (Section::CallCenter, _) => "call-center",
            (Section::Fax, _) => "fax",
            (Section::Marketplace, _) => "marketplace",
            (Section::Settings, _) => "settings",
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, model: &mut Model) {
        let now = Instant::now();
        let now_ms = chrono::Utc::now().timestamp_millis();
        let tz = time_format::zone(&model.settings.time_zone);
        if let Some(result) = Job::take(&mut self.photo_job) {
            match result {
                Ok(picked) => self.photo_crop = Some(PhotoCrop::new(picked)),
                Err(e) => model.notices.push(e.to_string()),
            }
        }
        // A picture dropped on the Settings page is offered as the profile photo.
        if self.section == Section::Settings
            && let Some(path) = ui
                .ctx()
                .input(|i| i.raw.dropped_files.first().map(|f| f.path().to_path_buf()))
        {
            self.photo_picked(ui.ctx(), path);
        }
        if model.calls.iter().any(|c| c.state.is_live()) {
            // The call timer ticks once a second; nothing else repaints while idle.
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_secs(1));
        }

        egui::Panel::left("left-bar")
            .exact_size(theme::LEFT_BAR_WIDTH)
            .resizable(false)
            .show(ui, |ui| {
                let me = left_bar::Me {
                    name: &model.facts.name,
                    photo: model.photo.as_deref(),
                    can_message: true,
                    registration: &model.registration,
                    on_a_call: model.on_a_call(),
                    do_not_disturb: model.settings.do_not_disturb,
                };
                if let Some(on) = left_bar::show(ui, &me, &mut self.section) {
                    self.commands.send(Command::SetDoNotDisturb(on));
                }
            });
        let want_meter = self.section == Section::Settings;
        if want_meter != self.meter_on {
            self.meter_on = want_meter;
            self.commands.send(Command::MicMeter(want_meter));
        }

        if let Some(current) = crate::screens::calls::current(&model.calls)
            && !self.fullscreen
        {
            let others = crate::screens::calls::lines(&model.calls)
                .len()
                .saturating_sub(1);
            egui::Panel::top("call-bar").show(ui, |ui| {
                ui.add_space(4.0);
                if call_bar::show(ui, current, others, &self.commands, now)
                    == Some(CallBarAction::OpenFullscreen)
                {
                    self.fullscreen = true;
                }
                ui.add_space(4.0);
            });
        }

        if model.ask_desk_phone {
            egui::Panel::top("desk-phone").show(ui, |ui| {
                if let Some(form) = desk_phone_question(ui, &model.settings) {
                    model.ask_desk_phone = false;
                    self.commands.send(Command::SaveSettings(Box::new(form)));
                }
            });
        }

        if !model.notices.is_empty() {
            egui::Panel::bottom("notices").show(ui, |ui| {
                let mut dismiss = None;
                for (i, n) in model.notices.iter().enumerate() {
                    ui.horizontal(|ui| {
                        ui.colored_label(theme::RINGING, crate::icons::WARNING);
                        ui.label(n);
                        if ui.small_button("Dismiss").clicked() {
                            dismiss = Some(i);
                        }
                    });
                }
                if let Some(i) = dismiss {
                    model.notices.remove(i);
                }
            });
        }

        if self.fullscreen {
            egui::CentralPanel::default().show(ui, |ui| {
                self.offers.refresh(model);
                if self.call_view.ui(
                    ui,
                    &model.calls,
                    &model.contacts,
                    &self.offers.suggestions,
                    &self.commands,
                    now,
                ) == Some(CallViewAction::Leave)
                {
                    self.fullscreen = false;
                }
            });
        } else {
            if self.section == Section::Voice {
                self.display_bar(ui, model, tz, now_ms);
            }
            egui::CentralPanel::default().show(ui, |ui| self.content(ui, model, tz, now_ms));
        }
        incoming::show(ui.ctx(), &model.calls, &model.contacts, &self.commands);
        self.crop_dialog(ui.ctx(), &mut model.notices);
        self.contact_dialogs(ui.ctx(), model);
    }

    fn display_bar(
        &mut self,
        ui: &mut egui::Ui,
        model: &mut Model,
        tz: chrono_tz::Tz,
        now_ms: i64,
    ) {
        egui::Panel::left("display-bar")
            .default_size(theme::DISPLAY_BAR_WIDTH)
            .resizable(false)
            .show(ui, |ui| {
                egui::Panel::bottom("dial-pad")
                    .resizable(false)
                    .show(ui, |ui| {
                        ui.add_space(theme::SPACING);
                        self.offers.refresh(model);
                        let offers = &self.offers;
                        if let Some(DialPadAction::OpenSettings) =
                            self.dial_pad
                                .ui(ui, &self.commands, &offers.suggestions, &offers.book)
                        {
                            self.section = Section::Settings;
                        }
                    });
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut self.tab, VoiceTab::Contacts, "Contacts");
                    ui.selectable_value(&mut self.tab, VoiceTab::MyCalls, "My Calls");
                    let vm = match model.waiting {
                        Some((new, _)) if new > 0 => format!("Voicemails ({new})"),
                        _ => "Voicemails".to_string(),
                    };
                    ui.selectable_value(&mut self.tab, VoiceTab::Voicemails, vm);
                });
                ui.separator();
                match self.tab {
                    VoiceTab::Contacts => {
                        match self.contacts.ui(
                            ui,
                            &model.contacts,
                            model.revision(),
                            &self.commands,
                        ) {
                            Some(ContactsAction::Add) => {
                                self.contact_editor = Some(ContactDraft::default())
                            }
                            Some(ContactsAction::Edit(id)) => {
                                self.contact_editor = model
                                    .contacts
                                    .iter()
                                    .find(|c| c.id == id)
                                    .map(ContactDraft::from_contact)
                            }
                            Some(ContactsAction::Import) => self.pick_contacts_file(ui.ctx()),
                            None => {}
                        }
                    }
                    VoiceTab::MyCalls => self.history.ui(
                        ui,
                        &model.history,
                        model.revision(),
                        tz,
                        now_ms,
                        &self.commands,
                    ),
                    VoiceTab::Voicemails => voicemails::show(
                        ui,
                        &model.voicemails,
                        &mut self.voicemail_search,
                        model.waiting,
                        model.playback.as_ref(),
                        tz,
                        now_ms,
                        &self.commands,
                    ),
                }
            });
    }

    fn content(&mut self, ui: &mut egui::Ui, model: &mut Model, tz: chrono_tz::Tz, now_ms: i64) {
        match self.section {
            Section::Voice => {
                ui.vertical_centered(|ui| {
                    ui.add_space(ui.available_height() * 0.3);
                    ui.heading(format!("Hello, {}", first_name(&model.facts.name)));
                    ui.label(match &model.registration {
                        client::model::Registration::Registered => {
                            format!("Extension {} is ready for calls.", model.facts.extension)
                        }
                        client::model::Registration::Connecting => {
                            "Connecting to your phone system…".into()
                        }
                        client::model::Registration::Offline => "Not connected.".into(),
                        client::model::Registration::Failed(why) => why.clone(),
                    });
                });
            }
            Section::Messaging => empty_state::show(ui, &empty_state::MESSAGING),
            Section::CallCenter => self.call_center.ui(
                ui,
                model.call_center.as_ref(),
                model.queue_history.as_ref(),
                tz,
                now_ms,
                &self.commands,
            ),
            Section::Fax => empty_state::show(ui, &empty_state::FAX),
            Section::Marketplace => empty_state::show(ui, &empty_state::MARKETPLACE),
            Section::Settings => {
                let choices = Choices {
                    ringtones: self.ringtones.clone(),
                    inputs: model.inputs.clone(),
                    outputs: model.outputs.clone(),
                    time_zones: time_format::zone_names().collect(),
                    greeting: model.greeting.clone(),
                };
                let action = self.settings.ui(
                    ui,
                    &model.facts,
                    model.photo.as_deref(),
                    model.mic_level,
                    &choices,
                );
                match action {
                    Some(SettingsAction::Save(form)) => {
                        self.commands.send(Command::SaveSettings(form))
                    }
                    Some(SettingsAction::PickPhoto) => self.pick_photo(ui.ctx()),
                    Some(SettingsAction::RemovePhoto) => {
                        self.commands.send(Command::SetPhoto(None))
                    }
                    Some(SettingsAction::PreviewRingtone { ringtone, volume }) => self
                        .commands
                        .send(Command::PreviewRingtone { ringtone, volume }),
                    Some(SettingsAction::PlayTestTone) => self.commands.send(Command::PlayTestTone),
                    Some(SettingsAction::RecordGreeting) => {
                        self.commands.send(Command::RecordGreeting)
                    }
                    Some(SettingsAction::StopRecordingGreeting) => {
                        self.commands.send(Command::StopRecordingGreeting)
                    }
                    Some(SettingsAction::PlayGreeting) => self.commands.send(Command::PlayGreeting),
                    Some(SettingsAction::UseSpokenGreeting) => {
                        self.commands.send(Command::UseSpokenGreeting)
                    }
                    Some(SettingsAction::Refresh) => self.commands.send(Command::Refresh),
                    Some(SettingsAction::LogOut) => self.commands.send(Command::SignOut),
                    None => {}
                }
            }
        }
    }

    fn contact_dialogs(&mut self, ctx: &egui::Context, model: &mut Model) {
        if let Some(result) = Job::take(&mut self.import_job) {
            match result {
                Ok(preview) => self.import_preview = Some(preview),
                Err(why) => model.notices.push(why),
            }
        }
        if let Some(preview) = &self.import_preview {
            match contact_import::show(ctx, preview) {
                Some(ImportOutcome::Import(entries)) => {
                    self.commands.send(Command::ImportContacts(entries));
                    self.import_preview = None;
                }
                Some(ImportOutcome::Cancel) => self.import_preview = None,
                None => {}
            }
        }
        if let Some(draft) = &mut self.contact_editor {
            match contact_editor::show(ctx, draft) {
                Some(EditorOutcome::Save(d)) => {
                    self.commands.send(Command::SaveContact(d));
                    self.contact_editor = None;
                }
                Some(EditorOutcome::Delete(id)) => {
                    self.commands.send(Command::DeleteContact(id));
                    self.contact_editor = None;
                }
                Some(EditorOutcome::Cancel) => self.contact_editor = None,
                None => {}
            }
        }
    }

    fn crop_dialog(&mut self, ctx: &egui::Context, notices: &mut Vec<String>) {
        let Some(crop) = &mut self.photo_crop else {
            return;
        };
        let mut outcome = None;
        egui::Modal::new(egui::Id::unique("photo-crop")).show(ctx, |ui| {
            outcome = crop.ui(ui);
        });
        match outcome {
            Some(CropOutcome::Use(png)) => {
                self.commands.send(Command::SetPhoto(Some(png)));
                self.photo_crop = None;
            }
            Some(CropOutcome::Cancel) => self.photo_crop = None,
            Some(CropOutcome::Failed(why)) => {
                tracing::warn!("photo crop failed: {why}");
                notices.push(format!("The photo could not be cropped: {why}"));
                self.photo_crop = None;
            }
            None => {}
        }
    }
}

fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or("")
}

/// What the dial pad and the call view offer from the contacts and the history, built again
/// only when those change ([`Model::revision`]): over 10,000 contacts, building it took most of
/// a frame.
#[derive(Default)]
struct Offers {
    revision: Option<u64>,
    /// The condensed contact list: every contact that can be called, by name.
    book: Vec<Suggestion>,
    /// The book, then numbers from the history that are not in it.
    suggestions: Vec<Suggestion>,
}

impl Offers {
    fn refresh(&mut self, model: &Model) {
        if self.revision == Some(model.revision()) {
            return;
        }
        let mut book: Vec<Suggestion> = model
            .contacts
            .iter()
            .filter_map(|c| {
                Some(Suggestion {
                    name: c.name.clone(),
                    number: c.dial_target()?.to_string(),
                })
            })
            .collect();
        book.sort_by_cached_key(|s| s.name.to_lowercase());
        let mut suggestions = book.clone();
        let mut known: HashSet<String> = book.iter().map(|s| s.number.clone()).collect();
        for h in &model.history {
            if known.insert(h.remote_number.clone()) {
                suggestions.push(Suggestion {
                    name: h.display_name().to_string(),
                    number: h.remote_number.clone(),
                });
            }
        }
        *self = Offers {
            revision: Some(model.revision()),
            book,
            suggestions,
        };
    }
}

/// Asked after sign-in when the line also rings on another device. Returns the settings with
/// the answer, to be saved; the same choice stays in Settings → Call Strategy.
fn desk_phone_question(ui: &mut egui::Ui, settings: &SettingsForm) -> Option<SettingsForm> {
    let mut answer = None;
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        ui.label(
            "Your line also rings on another device, such as a desk phone. Where should calls be handled?",
        );
        if ui.button("On this computer").clicked() {
            answer = Some(false);
        }
        if ui.button("On the desk phone").clicked() {
            answer = Some(true);
        }
    });
    ui.add_space(4.0);
    answer.map(|desk| {
        let mut form = settings.clone();
        form.call_strategy.use_desk_phone = desk;
        form.call_strategy.desk_phone_asked = true;
        form
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use client::Event;
    use client::model::{Contact, HistoryEntry, HistoryKind, PhoneStatus, Presence};

    fn person(id: i64, name: &str, extension: &str) -> Contact {
        Contact {
            id,
            name: name.into(),
            extension: Some(extension.into()),
            number: None,
            photo: None,
            presence: Presence::Unknown,
            phone: PhoneStatus::Unknown,
            can_text: false,
            email: None,
            local: false,
        }
    }

    fn call_from(id: i64, number: &str) -> HistoryEntry {
        HistoryEntry {
            id,
            kind: HistoryKind::Incoming,
            remote_name: None,
            remote_number: number.into(),
            started_at_ms: 0,
            duration_secs: 0,
            queue: None,
        }
    }

    fn names(list: &[Suggestion]) -> Vec<&str> {
        list.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn offers_are_built_again_only_when_contacts_or_history_are_replaced() {
        let mut model = Model::default();
        let mut offers = Offers::default();
        model.apply(Event::Contacts(vec![
            person(1, "zoe", "1003"),
            person(2, "Ada", "1002"),
        ]));
        offers.refresh(&model);
        assert_eq!(
            names(&offers.book),
            ["Ada", "zoe"],
            "by name, whatever the case"
        );

        // A status change leaves them as they are.
        model.apply(Event::ContactStatus {
            extension: "1002".into(),
            presence: Some(Presence::Online),
            phone: None,
        });
        let revision = offers.revision;
        offers.refresh(&model);
        assert_eq!(offers.revision, revision);

        // The history adds the numbers the book does not have, once each.
        model.apply(Event::History(vec![
            call_from(1, "1002"),
            call_from(2, "+15550100"),
            call_from(3, "+15550100"),
        ]));
        offers.refresh(&model);
        assert_eq!(names(&offers.suggestions), ["Ada", "zoe", "+15550100"]);
        assert_eq!(names(&offers.book), ["Ada", "zoe"]);
    }
}
