//! The dial pad at the bottom left: a field that takes a number or a name (with suggestions
//! from contacts and history), the twelve keys, and the green call button. Enter calls. The
//! book icon swaps the keys for a condensed contact list, where a click on a name calls.

use crate::icons;
use crate::theme;
use crate::widgets::dial_key::{DialKey, KEYS};
use crate::widgets::icon_button::IconButton;
use client::command::{Command, Commands};
use client::dial_string;

/// Someone the field can suggest: a contact or a recent number.
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    pub name: String,
    pub number: String,
}

/// Suggestions for what was typed: names containing it, or numbers starting with its digits.
pub fn suggest<'a>(typed: &str, candidates: &'a [Suggestion], limit: usize) -> Vec<&'a Suggestion> {
    let t = typed.trim().to_lowercase();
    if t.is_empty() {
        return Vec::new();
    }
    let digits = dial_string::normalize(typed);
    candidates
        .iter()
        .filter(|c| {
            c.name.to_lowercase().contains(&t)
                || digits
                    .as_deref()
                    .is_some_and(|d| c.number.starts_with(d) && c.number != d)
        })
        .take(limit)
        .collect()
}

/// What the dial pad asks of the screen around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialPadAction {
    OpenSettings,
}

#[derive(Default)]
pub struct DialPad {
    pub text: String,
    /// Shown under the field when the call button was pressed with nothing dialable.
    hint: Option<String>,
    /// The condensed contact list shows in place of the keys.
    book_open: bool,
}

impl DialPad {
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        commands: &Commands,
        suggestions: &[Suggestion],
        book: &[Suggestion],
    ) -> Option<DialPadAction> {
        let mut action = None;
        let caption = ui.small("Call a name or number");
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut self.text)
                    .hint_text("Name or number")
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(caption.id);
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if field.changed() {
            self.hint = None;
        }

        for s in suggest(&self.text, suggestions, 4) {
            let label = format!("{}  {}", s.name, s.number);
            if ui.selectable_label(false, label).clicked() {
                commands.send(Command::Dial(s.number.clone()));
                self.text.clear();
            }
        }

        let key = theme::DIAL_KEY;
        if self.book_open {
            self.book(ui, commands, book, 4.0 * (key + theme::SPACING));
        } else {
            self.keys(ui, key);
        }

        ui.horizontal(|ui| {
            let (label, icon) = if self.book_open {
                ("Show the keypad", icons::KEYPAD)
            } else {
                ("Contact book", icons::CONTACTS_BOOK)
            };
            if ui.add(IconButton::new(icon, label).size(36.0)).clicked() {
                self.book_open = !self.book_open;
            }
            let call = ui.add(
                IconButton::new(icons::CALL, "Call")
                    .size(key)
                    .fill(theme::CALL),
            );
            if call.clicked() || enter {
                self.call(commands);
            }
            if ui
                .add(IconButton::new(icons::BACKSPACE, "Delete digit").size(36.0))
                .clicked()
            {
                self.text.pop();
            }
            if ui
                .add(IconButton::new(icons::SETTINGS, "Open settings").size(36.0))
                .clicked()
            {
                action = Some(DialPadAction::OpenSettings);
            }
        });
        if let Some(hint) = &self.hint {
            ui.colored_label(theme::BUSY, hint);
        }
        action
    }

    /// One line per contact, names only, in the keys' space: a click calls.
    fn book(&mut self, ui: &mut egui::Ui, commands: &Commands, book: &[Suggestion], height: f32) {
        egui::ScrollArea::vertical()
            .id_salt("contact-book")
            .max_height(height)
            .min_scrolled_height(height)
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if book.is_empty() {
                    ui.weak("No contacts to call yet.");
                }
                for entry in book {
                    let row = ui
                        .horizontal(|ui| {
                            let name = ui.selectable_label(false, &entry.name);
                            ui.weak(&entry.number);
                            name
                        })
                        .inner;
                    let call = format!("Call {}", entry.name);
                    row.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &call));
                    if row.clicked() {
                        commands.send(Command::Dial(entry.number.clone()));
                        self.book_open = false;
                    }
                }
            });
    }

    fn keys(&mut self, ui: &mut egui::Ui, key: f32) {
        egui::Grid::new("dial-keys")
            .spacing(egui::vec2(theme::SPACING, theme::SPACING))
            .show(ui, |ui| {
                for (i, digit) in KEYS.iter().enumerate() {
                    if ui
                        .add(DialKey {
                            digit: *digit,
                            size: key,
                        })
                        .clicked()
                    {
                        self.text.push(*digit);
                        self.hint = None;
                    }
                    if i % 3 == 2 {
                        ui.end_row();
                    }
                }
            });
    }

    fn call(&mut self, commands: &Commands) {
        match dial_string::normalize(&self.text) {
            Some(number) => {
                commands.send(Command::Dial(number));
                self.text.clear();
                self.hint = None;
            }
            None if self.text.trim().is_empty() => {
                self.hint = Some("Type a number or a name to call.".into());
            }
            None => {
                self.hint = Some(format!(
                    "“{}” is not a number; pick a contact instead.",
                    self.text.trim()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people() -> Vec<Suggestion> {
        vec![
            Suggestion {
                name: "Grace Hopper".into(),
                number: "1002".into(),
            },
            Suggestion {
                name: "Alan Turing".into(),
                number: "1003".into(),
            },
        ]
    }

    fn harness(
        suggestions: Vec<Suggestion>,
    ) -> (
        egui_kittest::Harness<'static, DialPad>,
        std::sync::mpsc::Receiver<Command>,
    ) {
        let (commands, rx) = Commands::channel();
        let harness = egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(300.0, 520.0))
            .build_ui_state(
                move |ui, pad: &mut DialPad| {
                    pad.ui(ui, &commands, &suggestions, &suggestions);
                },
                DialPad::default(),
            );
        (harness, rx)
    }

    #[test]
    fn the_book_icon_swaps_the_keys_for_contacts_and_a_name_calls() {
        use egui_kittest::kittest::Queryable;
        let (mut h, rx) = harness(people());
        assert!(h.query_by_label("Call Grace Hopper").is_none());
        h.get_by_label("Contact book").click();
        h.run();
        assert!(
            h.query_by_label("5").is_none(),
            "the keys stay under the list"
        );
        h.get_by_label("Call Grace Hopper").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::Dial("1002".into())));
        // Calling closes the book; the keys are back.
        assert!(h.query_by_label("5").is_some());
        h.get_by_label("Contact book").click();
        h.run();
        h.get_by_label("Show the keypad").click();
        h.run();
        assert!(h.query_by_label("5").is_some());
    }

    #[test]
    fn typing_9196_on_the_keys_and_pressing_call_dials_it() {
        use egui_kittest::kittest::Queryable;
        let (mut h, rx) = harness(people());
        for d in ["9", "1", "9", "6"] {
            h.get_by_label(d).click();
            h.run();
        }
        assert_eq!(h.state().text, "9196");
        h.get_by_label("Call").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::Dial("9196".into())));
        assert_eq!(
            h.state().text,
            "",
            "the field clears once the call is placed"
        );
    }

    #[test]
    fn a_pasted_number_is_cleaned_and_enter_calls_it() {
        use egui_kittest::kittest::Queryable;
        let (mut h, rx) = harness(people());
        h.get_by_label("Call a name or number").focus();
        h.run();
        h.event(egui::Event::Paste("+1 (555) 010-2030".into()));
        h.run();
        h.key_press(egui::Key::Enter);
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::Dial("+15550102030".into())));
    }

    #[test]
    fn tab_reaches_the_keys_and_the_call_button_and_enter_presses_them() {
        use egui_kittest::kittest::{NodeT, Queryable};
        let (mut h, rx) = harness(people());
        h.get_by_label("Call a name or number").focus();
        h.run();
        h.event(egui::Event::Text("919".into()));
        h.run();
        // Tab on from the field until a key has focus; Enter presses it.
        let focused = |h: &egui_kittest::Harness<'_, _>, label: &str| {
            h.get_by_label(label).accesskit_node().is_focused()
        };
        let mut tabs = 0;
        while !focused(&h, "6") {
            h.key_press(egui::Key::Tab);
            h.run();
            tabs += 1;
            assert!(tabs < 30, "Tab never reached the 6 key");
        }
        h.key_press(egui::Key::Enter);
        h.run();
        while !focused(&h, "Call") {
            h.key_press(egui::Key::Tab);
            h.run();
            tabs += 1;
            assert!(tabs < 60, "Tab never reached the Call button");
        }
        h.key_press(egui::Key::Enter);
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::Dial("9196".into())));
    }

    #[test]
    fn a_name_offers_the_contact_and_nothing_dials_a_bare_name() {
        use egui_kittest::kittest::Queryable;
        let (mut h, rx) = harness(people());
        h.get_by_label("Call a name or number").focus();
        h.run();
        h.event(egui::Event::Text("Grace".into()));
        h.run();
        h.get_by_label("Call").click();
        h.run();
        assert!(rx.try_recv().is_err(), "a bare name is not dialled");
        assert!(h.query_by_label_contains("is not a number").is_some());
        h.get_by_label("Grace Hopper  1002").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::Dial("1002".into())));
    }

    #[test]
    fn suggests_by_name_or_number_prefix() {
        let p = people();
        assert_eq!(suggest("grace", &p, 5)[0].number, "1002");
        assert_eq!(suggest("100", &p, 5).len(), 2);
        assert!(
            suggest("1002", &p, 5).is_empty(),
            "an exact number needs no suggestion"
        );
        assert!(suggest("", &p, 5).is_empty());
    }
}
