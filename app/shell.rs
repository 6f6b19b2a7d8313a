//! The signed-in window: left bar, display bar and the section's content. It owns the model and
//! the per-screen UI state, drains the core's events into the model each frame, and draws.

use crate::command::Commands;
use crate::model::{Call, Registration};
use crate::screens::dial_pad::{DialPad, DialPadAction, Suggestion};
use crate::screens::empty_state;
use crate::screens::left_bar::{self, Section};
use crate::theme;

/// Everything the signed-in window shows, as last reported by the core.
#[derive(Default)]
pub struct Model {
    pub display_name: String,
    pub extension: String,
    pub photo: Option<Vec<u8>>,
    pub registration: Registration,
    pub calls: Vec<Call>,
    pub suggestions: Vec<Suggestion>,
}

pub struct Shell {
    pub model: Model,
    pub section: Section,
    pub dial_pad: DialPad,
    commands: Commands,
}

impl Shell {
    pub fn new(commands: Commands) -> Self {
        Self {
            model: Model::default(),
            section: Section::default(),
            dial_pad: DialPad::default(),
            commands,
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let on_a_call = self.model.calls.iter().any(|c| c.state.is_live());
        egui::Panel::left("left-bar")
            .exact_size(theme::LEFT_BAR_WIDTH)
            .resizable(false)
            .show(ui, |ui| {
                let me = left_bar::Me {
                    name: &self.model.display_name,
                    photo: self.model.photo.as_deref(),
                    can_message: true,
                    registration: &self.model.registration,
                    on_a_call,
                };
                left_bar::show(ui, &me, &mut self.section);
            });
        if self.section == Section::Voice {
            egui::Panel::left("display-bar")
                .default_size(theme::DISPLAY_BAR_WIDTH)
                .resizable(false)
                .show(ui, |ui| {
                    egui::Panel::bottom("dial-pad")
                        .resizable(false)
                        .show(ui, |ui| {
                            ui.add_space(theme::SPACING);
                            let action =
                                self.dial_pad
                                    .ui(ui, &self.commands, &self.model.suggestions);
                            if action == Some(DialPadAction::OpenSettings) {
                                self.section = Section::Settings;
                            }
                        });
                });
        }
        egui::CentralPanel::default().show(ui, |ui| match self.section {
            Section::Voice => {}
            Section::Messaging => empty_state::show(ui, &empty_state::MESSAGING),
            Section::CallCenter => empty_state::show(ui, &empty_state::CALL_CENTER),
            Section::Fax => empty_state::show(ui, &empty_state::FAX),
            Section::Marketplace => empty_state::show(ui, &empty_state::MARKETPLACE),
            Section::Settings => {}
        });
    }
}
