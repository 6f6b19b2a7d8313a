//! The fullscreen call view: every line as a picture or initials with its state, and the
//! controls along the bottom (merge, split, transfer, add call, hang up, mute, hold, keypad).
//! Clicking a line switches to it. Hanging up while merged ends every merged call.

use std::time::Instant;

use crate::icons;
use crate::screens::call_bar::status_text;
use crate::screens::calls;
use crate::screens::dial_pad::{Suggestion, suggest};
use crate::theme;
use crate::widgets::avatar::{Avatar, call_face};
use crate::widgets::dial_key::{DialKey, KEYS};
use crate::widgets::icon_button::IconButton;
use crate::widgets::quality_meter;
use client::command::{Command, Commands};
use client::model::{Call, CallId, CallState, Contact, TransferProgress};

/// Which panel is open under the participants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Panel {
    #[default]
    None,
    Keypad,
    Transfer {
        target: String,
    },
    AddCall {
        number: String,
    },
}

#[derive(Default)]
pub struct CallView {
    pub panel: Panel,
}

/// What the view asks of the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallViewAction {
    Leave,
}

impl CallView {
    /// `people` are the contacts and recent numbers a transfer can pick from.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        all: &[Call],
        contacts: &[Contact],
        people: &[Suggestion],
        commands: &Commands,
        now: Instant,
    ) -> Option<CallViewAction> {
        let mut action = None;
        let lines = calls::lines(all);
        let current = calls::current(all);
        egui::Panel::top("call-view-top")
            .frame(egui::Frame::NONE)
            .show_separator_line(false)
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    if ui
                        .add(IconButton::new(icons::BACK, "Back").size(36.0))
                        .clicked()
                    {
                        action = Some(CallViewAction::Leave);
                    }
                    if let Some(c) = current {
                        quality_meter::show(ui, c.quality.as_ref());
                    }
                });
            });
        if lines.is_empty() {
            ui.vertical_centered(|ui| {
                ui.add_space(theme::SPACING * 4.0);
                ui.label("No calls.");
            });
            return action;
        }

        // The controls, and the panel a control opens, sit along the bottom; the lines fill
        // the middle of what is left.
        if let Some(c) = current {
            egui::Panel::bottom("call-controls")
                .frame(egui::Frame::NONE)
                .show_separator_line(false)
                .resizable(false)
                .show(ui, |ui| {
                    ui.add_space(theme::SPACING);
                    self.panel_ui(ui, c.id, people, commands);
                    ui.add_space(theme::SPACING);
                    self.controls(ui, all, c, commands);
                    ui.add_space(theme::SPACING * 3.0);
                });
        }
        egui::CentralPanel::default()
            .frame(egui::Frame::NONE)
            .show(ui, |ui| {
                // Lines are about 190 points tall; centre them in the space left.
                ui.add_space(((ui.available_height() - 190.0) / 2.0).max(theme::SPACING));
                let spacing = ui.spacing().item_spacing.x;
                let row = lines.len() as f32 * (PARTICIPANT_WIDTH + spacing) - spacing;
                centered_row(ui, row, |ui| {
                    for call in &lines {
                        let is_current = current.is_some_and(|c| c.id == call.id);
                        participant(ui, call, contacts, is_current, commands, now);
                    }
                });
                self.transfer_status(ui, all, current, commands);
            });
        action
    }

    /// How a transfer of the current line goes, and the button that completes an attended one.
    fn transfer_status(
        &self,
        ui: &mut egui::Ui,
        all: &[Call],
        current: Option<&Call>,
        commands: &Commands,
    ) {
        let Some(c) = current else { return };
        if let Some(t) = &c.transfer {
            ui.vertical_centered(|ui| match t {
                TransferProgress::Trying { target } => {
                    ui.label(format!("Transferring to {target}…"))
                }
                TransferProgress::Done { target } => ui.label(format!("Transferred to {target}.")),
                TransferProgress::Failed { target, reason } => ui.colored_label(
                    theme::BUSY,
                    format!("Transfer to {target} failed: {reason}"),
                ),
            });
        }
        if let Some(caller) = c.consult_for
            && c.state == CallState::Active
        {
            let caller_name = all
                .iter()
                .find(|o| o.id == caller)
                .map(|o| o.display_name().to_string())
                .unwrap_or_default();
            ui.vertical_centered(|ui| {
                if ui
                    .button(format!("{} Complete transfer", icons::TRANSFER))
                    .on_hover_text(format!("Connect {caller_name} with {}", c.display_name()))
                    .clicked()
                {
                    commands.send(Command::CompleteTransfer(c.id));
                }
            });
        }
    }

    fn controls(&mut self, ui: &mut egui::Ui, all: &[Call], c: &Call, commands: &Commands) {
        let merge = calls::merge_pair(all);
        let merged = c.merged;
        let held = c.state == CallState::Held;
        let size = 48.0;
        let spacing = ui.spacing().item_spacing.x;
        centered_row(ui, CONTROLS * (size + spacing) - spacing, |ui| {
            if ui
                .add(
                    IconButton::new(icons::MERGE, "Merge calls")
                        .size(size)
                        .enabled(merge.is_some()),
                )
                .clicked()
                && let Some((a, b)) = merge
            {
                commands.send(Command::Merge(a, b));
            }
            if ui
                .add(
                    IconButton::new(icons::SPLIT, "Split calls")
                        .size(size)
                        .enabled(merged),
                )
                .clicked()
            {
                commands.send(Command::Split(c.id));
            }
            let transfer_open = matches!(self.panel, Panel::Transfer { .. });
            if ui
                .add(
                    IconButton::new(icons::TRANSFER, "Transfer")
                        .size(size)
                        .selected(transfer_open),
                )
                .clicked()
            {
                self.toggle(Panel::Transfer {
                    target: String::new(),
                });
            }
            let add_open = matches!(self.panel, Panel::AddCall { .. });
            if ui
                .add(
                    IconButton::new(icons::ADD_CALL, "Add call")
                        .size(size)
                        .selected(add_open),
                )
                .clicked()
            {
                self.toggle(Panel::AddCall {
                    number: String::new(),
                });
            }
            if ui
                .add(
                    IconButton::new(icons::MUTE, if c.muted { "Unmute" } else { "Mute" })
                        .size(size)
                        .fill_if(c.muted, theme::BUSY)
                        .selected(c.muted),
                )
                .clicked()
            {
                commands.send(Command::SetMute(c.id, !c.muted));
            }
            if ui
                .add(
                    IconButton::new(icons::HOLD, if held { "Resume" } else { "Hold" })
                        .size(size)
                        .fill_if(held, theme::ACCENT)
                        .selected(held),
                )
                .clicked()
            {
                commands.send(if held {
                    Command::Resume(c.id)
                } else {
                    Command::Hold(c.id)
                });
            }
            let keypad_open = self.panel == Panel::Keypad;
            if ui
                .add(
                    IconButton::new(icons::KEYPAD, "Keypad")
                        .size(size)
                        .selected(keypad_open),
                )
                .clicked()
            {
                self.toggle(Panel::Keypad);
            }
            if ui
                .add(
                    IconButton::new(icons::HANG_UP, "Hang up")
                        .size(size)
                        .fill(theme::BUSY),
                )
                .clicked()
            {
                for id in calls::merged_with(all, c.id) {
                    commands.send(Command::HangUp(id));
                }
            }
        });
    }

    fn toggle(&mut self, panel: Panel) {
        let same = std::mem::discriminant(&self.panel) == std::mem::discriminant(&panel);
        self.panel = if same { Panel::None } else { panel };
    }

    fn panel_ui(
        &mut self,
        ui: &mut egui::Ui,
        call: CallId,
        people: &[Suggestion],
        commands: &Commands,
    ) {
        match &mut self.panel {
            Panel::None => {}
            Panel::Keypad => {
                let spacing = ui.spacing().item_spacing.x;
                centered_row(ui, 3.0 * (44.0 + spacing) - spacing, |ui| {
                    keypad(ui, call, commands)
                });
            }
            Panel::Transfer { target } => {
                if transfer_panel(ui, call, target, people, commands) {
                    self.panel = Panel::None;
                }
            }
            Panel::AddCall { number } => {
                if add_call_panel(ui, number, commands) {
                    self.panel = Panel::None;
                }
            }
        }
    }
}

/// How many buttons the controls row has.
const CONTROLS: f32 = 8.0;
const PARTICIPANT_WIDTH: f32 = 160.0;

/// A row of known width, centred (egui lays rows out from the left).
fn centered_row(ui: &mut egui::Ui, width: f32, add: impl FnOnce(&mut egui::Ui)) {
    ui.horizontal(|ui| {
        ui.add_space(((ui.available_width() - width) / 2.0).max(0.0));
        add(ui);
    });
}

fn keypad(ui: &mut egui::Ui, call: CallId, commands: &Commands) {
    egui::Grid::new("dtmf-keys").show(ui, |ui| {
        for (i, digit) in KEYS.iter().enumerate() {
            if ui
                .add(DialKey {
                    digit: *digit,
                    size: 44.0,
                })
                .clicked()
            {
                commands.send(Command::SendDtmf(call, *digit));
            }
            if i % 3 == 2 {
                ui.end_row();
            }
        }
    });
}

/// Pick a contact or type a number; blind by default ("Transfer now"), attended as the second
/// choice. True once sent.
fn transfer_panel(
    ui: &mut egui::Ui,
    call: CallId,
    target: &mut String,
    people: &[Suggestion],
    commands: &Commands,
) -> bool {
    ui.vertical_centered(|ui| {
        let caption = ui.label("Transfer to (name or number)");
        ui.add(egui::TextEdit::singleline(target).desired_width(260.0))
            .labelled_by(caption.id);
        // A name typed or picked in full is that person's number.
        let named = people
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(target.trim()))
            .map(|p| p.number.clone());
        if named.is_none() {
            for p in suggest(target, people, 4) {
                if ui
                    .button(format!("{} · {}", p.name, p.number))
                    .on_hover_text(format!("Transfer to {}", p.name))
                    .clicked()
                {
                    *target = p.name.clone();
                }
            }
        }
        let dialable = named.or_else(|| client::dial_string::normalize(target));
        let mut attended = None;
        if ui
            .add_enabled(dialable.is_some(), egui::Button::new("Transfer now"))
            .clicked()
        {
            attended = Some(false);
        }
        if ui
            .add_enabled(dialable.is_some(), egui::Button::new("Talk to them first"))
            .on_hover_text("Attended transfer: call the target, then hand the caller over")
            .clicked()
        {
            attended = Some(true);
        }
        let (Some(attended), Some(target)) = (attended, dialable) else {
            return false;
        };
        commands.send(Command::Transfer {
            call,
            target,
            attended,
        });
        true
    })
    .inner
}

/// True once the call is placed.
fn add_call_panel(ui: &mut egui::Ui, number: &mut String, commands: &Commands) -> bool {
    ui.vertical_centered(|ui| {
        let caption = ui.label("Add a call to (number)");
        ui.add(egui::TextEdit::singleline(number).desired_width(260.0))
            .labelled_by(caption.id);
        let dialable = client::dial_string::normalize(number);
        if ui
            .add_enabled(
                dialable.is_some(),
                egui::Button::new("Call and hold the current line"),
            )
            .clicked()
            && let Some(n) = dialable
        {
            commands.send(Command::Dial(n));
            return true;
        }
        false
    })
    .inner
}

fn participant(
    ui: &mut egui::Ui,
    call: &Call,
    contacts: &[Contact],
    is_current: bool,
    commands: &Commands,
    now: Instant,
) {
    ui.vertical(|ui| {
        ui.set_width(PARTICIPANT_WIDTH);
        ui.vertical_centered(|ui| {
            let name = call.display_name();
            let label = format!("{name}, {}", status_text(call, now));
            let avatar = ui.add(Avatar {
                face: call_face(call, contacts),
                size: theme::AVATAR_LARGE,
                presence: None,
                phone: None,
                label: label.clone(),
            });
            if avatar.clicked() && !is_current {
                commands.send(Command::SwitchTo(call.id));
            }
            let text = egui::RichText::new(name);
            ui.label(if is_current { text.strong() } else { text });
            ui.weak(status_text(call, now));
            if call.merged {
                ui.small("Merged");
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screens::calls::tests::call;
    use egui_kittest::kittest::Queryable;

    fn harness(
        calls: Vec<Call>,
    ) -> (
        egui_kittest::Harness<'static, (CallView, Vec<Call>)>,
        std::sync::mpsc::Receiver<Command>,
    ) {
        let (commands, rx) = Commands::channel();
        let h = egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(900.0, 700.0))
            .build_ui_state(
                move |ui, (view, calls): &mut (CallView, Vec<Call>)| {
                    let people = [Suggestion {
                        name: "Grace Hopper".into(),
                        number: "1002".into(),
                    }];
                    view.ui(ui, calls, &[], &people, &commands, Instant::now());
                },
                (CallView::default(), calls),
            );
        (h, rx)
    }

    fn drain(rx: &std::sync::mpsc::Receiver<Command>) -> Vec<Command> {
        rx.try_iter().collect()
    }

    #[test]
    fn merge_is_offered_for_two_lines_and_hang_up_ends_every_merged_call() {
        let (mut h, rx) = harness(vec![call(1, CallState::Held), call(2, CallState::Active)]);
        h.run();
        h.get_by_label("Merge calls").click();
        h.run();
        assert_eq!(drain(&rx), vec![Command::Merge(CallId(2), CallId(1))]);
        for c in &mut h.state_mut().1 {
            c.merged = true;
            c.state = CallState::Active;
        }
        h.run();
        h.get_by_label("Hang up").click();
        h.run();
        assert_eq!(
            drain(&rx),
            vec![Command::HangUp(CallId(1)), Command::HangUp(CallId(2))]
        );
        h.get_by_label("Split calls").click();
        h.run();
        assert_eq!(drain(&rx), vec![Command::Split(CallId(1))]);
    }

    #[test]
    fn clicking_a_held_line_switches_to_it() {
        let (mut h, rx) = harness(vec![call(1, CallState::Held), call(2, CallState::Active)]);
        h.run();
        h.get_by_label_contains("1001, On hold").click();
        h.run();
        assert_eq!(drain(&rx), vec![Command::SwitchTo(CallId(1))]);
    }

    #[test]
    fn transfer_is_blind_by_default_and_attended_on_request() {
        let (mut h, rx) = harness(vec![call(1, CallState::Active)]);
        h.get_by_label("Transfer").click();
        h.run();
        h.get_by_label("Transfer to (name or number)").focus();
        h.run();
        h.event(egui::Event::Text("1003".into()));
        h.run();
        h.get_by_label("Transfer now").click();
        h.run();
        assert_eq!(
            drain(&rx),
            vec![Command::Transfer {
                call: CallId(1),
                target: "1003".into(),
                attended: false
            }]
        );
        h.state_mut().1[0].transfer = Some(TransferProgress::Failed {
            target: "1003".into(),
            reason: "Busy".into(),
        });
        h.run();
        assert!(h.query_by_label("Transfer to 1003 failed: Busy").is_some());
    }

    #[test]
    fn a_contact_is_picked_by_name_for_a_transfer() {
        let (mut h, rx) = harness(vec![call(1, CallState::Active)]);
        h.get_by_label("Transfer").click();
        h.run();
        h.get_by_label("Transfer to (name or number)").focus();
        h.run();
        h.event(egui::Event::Text("grace".into()));
        h.run();
        h.get_by_label("Grace Hopper · 1002").click();
        h.run();
        h.get_by_label("Talk to them first").click();
        h.run();
        assert_eq!(
            drain(&rx),
            vec![Command::Transfer {
                call: CallId(1),
                target: "1002".into(),
                attended: true
            }]
        );
    }

    #[test]
    fn a_consult_call_offers_to_complete_the_transfer() {
        let mut consult = call(2, CallState::Ringback { early_media: false });
        consult.consult_for = Some(CallId(1));
        let (mut h, rx) = harness(vec![call(1, CallState::Held), consult]);
        h.run();
        assert!(
            h.query_by_label_contains("Complete transfer").is_none(),
            "not before the target answers"
        );
        h.state_mut().1[1].state = CallState::Active;
        h.run();
        h.get_by_label_contains("Complete transfer").click();
        h.run();
        assert_eq!(drain(&rx), vec![Command::CompleteTransfer(CallId(2))]);
    }

    #[test]
    fn the_keypad_sends_dtmf_and_mute_turns_solid() {
        let (mut h, rx) = harness(vec![call(1, CallState::Active)]);
        h.get_by_label("Keypad").click();
        h.run();
        h.get_by_label("5").click();
        h.run();
        h.get_by_label("#").click();
        h.run();
        assert_eq!(
            drain(&rx),
            vec![
                Command::SendDtmf(CallId(1), '5'),
                Command::SendDtmf(CallId(1), '#')
            ]
        );
        h.get_by_label("Mute").click();
        h.run();
        assert_eq!(drain(&rx), vec![Command::SetMute(CallId(1), true)]);
    }

    #[test]
    fn add_call_dials_the_new_number() {
        let (mut h, rx) = harness(vec![call(1, CallState::Active)]);
        h.get_by_label("Add call").click();
        h.run();
        h.get_by_label("Add a call to (number)").focus();
        h.run();
        h.event(egui::Event::Text("9197".into()));
        h.run();
        h.get_by_label("Call and hold the current line").click();
        h.run();
        assert_eq!(drain(&rx), vec![Command::Dial("9197".into())]);
    }
}
