//! Interoffice contacts by extension, with their picture, availability dot and phone status.
//! Hovering a row shows its call button (a text button joins it with messaging), and an edit
//! button on the user's own contacts. Above the list: add a contact, import a file.

use crate::icons;
use crate::shown_rows::ShownRows;
use crate::theme;
use crate::widgets::avatar::{self, Avatar, Face, initials};
use crate::widgets::icon_button::IconButton;
use crate::widgets::search_field::search_field;
use client::command::{Command, Commands};
use client::model::{Contact, PhoneStatus, Presence};

#[derive(Default)]
pub struct Contacts {
    pub search: String,
    /// The rows matching the search, for the contact list's revision and the search text.
    shown: ShownRows<(u64, String)>,
    /// The extensions of the rows drawn last, as last told to the backend.
    on_screen: Vec<String>,
}

/// What the list asks of the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactsAction {
    Add,
    Edit(i64),
    Import,
}

/// Whether the contact's name, extension or number contains `search` (trimmed and lower-cased
/// by the caller).
pub fn matches(c: &Contact, search: &str) -> bool {
    search.is_empty()
        || c.name.to_lowercase().contains(search)
        || c.extension.as_deref().is_some_and(|e| e.contains(search))
        || c.number.as_deref().is_some_and(|n| n.contains(search))
}

impl Contacts {
    /// Draws the list; `revision` changes whenever `contacts` is replaced
    /// (`client::Model::revision`).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        contacts: &[Contact],
        revision: u64,
        commands: &Commands,
    ) -> Option<ContactsAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            if ui.small_button("Add contact").clicked() {
                action = Some(ContactsAction::Add);
            }
            if ui
                .small_button("Import…")
                .on_hover_text("Add people from a vCard (.vcf) or CSV file")
                .clicked()
            {
                action = Some(ContactsAction::Import);
            }
        });
        search_field(ui, "Search contacts", &mut self.search, "Name or extension");
        let search = self.search.trim().to_lowercase();
        let shown = self
            .shown
            .get((revision, search.clone()), contacts.len(), |i| {
                matches(&contacts[i], &search)
            });
        if contacts.is_empty() {
            ui.weak(
                "No contacts yet. Your company directory fills this list once it is set up in Settings; you can also add or import your own.",
            );
            return action;
        }
        if shown.is_empty() {
            ui.weak(format!("Nobody matches “{}”.", self.search.trim()));
            return action;
        }
        let row_height = theme::AVATAR_SMALL + theme::SPACING;
        egui::ScrollArea::vertical().auto_shrink(false).show_rows(
            ui,
            row_height,
            shown.len(),
            |ui, range| {
                let rows = shown[range].iter().map(|&i| &contacts[i]);
                for c in rows.clone() {
                    if row(ui, c, commands) {
                        action = Some(ContactsAction::Edit(c.id));
                    }
                }
                tell_on_screen(&mut self.on_screen, rows, commands);
            },
        );
        action
    }
}

/// Tells the backend whose rows are on screen when that changes (`on_screen` is what it was
/// told last): a large directory is watched only there (`client::watching`).
fn tell_on_screen<'a>(
    on_screen: &mut Vec<String>,
    rows: impl Iterator<Item = &'a Contact> + Clone,
    commands: &Commands,
) {
    let extensions = rows.filter_map(|c| c.extension.as_ref());
    if !extensions.clone().eq(on_screen.iter()) {
        *on_screen = extensions.cloned().collect();
        commands.send(Command::ContactsOnScreen(on_screen.clone()));
    }
}

/// Draws one contact; true when its edit button was clicked.
fn row(ui: &mut egui::Ui, c: &Contact, commands: &Commands) -> bool {
    let mut edit = false;
    let face = match &c.photo {
        Some(bytes) => Face::Photo {
            uri: format!("bytes://contact/{}.png", c.id),
            bytes,
        },
        None => Face::Initials(initials(&c.name)),
    };
    let status = avatar::status_words(c.presence, c.phone);
    // No lamp for a phone that is not there (an unregistered hint reads as idle), no dot
    // before the presence is known.
    let offline = c.presence == Presence::Offline && c.phone == PhoneStatus::Idle;
    let mut avatar_focused = false;
    let response = ui
        .horizontal(|ui| {
            avatar_focused = ui
                .add(Avatar {
                    face,
                    size: theme::AVATAR_SMALL,
                    presence: (c.presence != Presence::Unknown).then_some(c.presence),
                    phone: (!offline).then_some(c.phone),
                    label: format!("{}, {status}", c.name),
                })
                .has_focus();
            ui.vertical(|ui| {
                ui.label(&c.name);
                ui.horizontal(|ui| {
                    ui.small(c.extension.as_deref().or(c.number.as_deref()).unwrap_or(""));
                    // The words too, so that the status does not rest on colour alone.
                    if c.extension.is_some() && status != avatar::phone_words(PhoneStatus::Unknown)
                    {
                        ui.small(egui::RichText::new(status).color(status_colour(c)));
                    }
                });
            });
        })
        .response;
    // Hover shows the actions. So that keyboard users reach them too, they also show while the
    // row's avatar or one of the actions has focus (remembered from the last frame).
    let row_id = ui.scope_id().with(("contact-actions", c.id));
    let actions_focused = ui.data(|d| d.get_temp::<bool>(row_id).unwrap_or(false));
    let hovered = ui.rect_contains_pointer(response.rect.expand(2.0));
    let mut focused = false;
    if hovered || avatar_focused || actions_focused {
        let rect = response.rect;
        let mut child = ui.new_child(
            egui::UiBuilder::new()
                .max_rect(egui::Rect::from_min_max(
                    rect.right_top() - egui::vec2(80.0, 0.0),
                    rect.right_bottom(),
                ))
                .layout(egui::Layout::right_to_left(egui::Align::Center)),
        );
        if let Some(target) = c.dial_target() {
            let call = child.add(
                IconButton::new(icons::CALL, &format!("Call {}", c.name))
                    .size(28.0)
                    .fill(theme::CALL),
            );
            focused |= call.has_focus();
            if call.clicked() {
                commands.send(Command::Dial(target.to_string()));
            }
        }
        if c.local {
            let button =
                child.add(IconButton::new(icons::EDIT, &format!("Edit {}", c.name)).size(28.0));
            focused |= button.has_focus();
            edit = button.clicked();
        }
    }
    ui.data_mut(|d| d.insert_temp(row_id, focused));
    edit
}

/// The colour of a contact's status words: the lamp's colour while the phone rings or talks,
/// green when available, grey otherwise.
fn status_colour(c: &Contact) -> egui::Color32 {
    match (c.phone, c.presence) {
        (PhoneStatus::OnCall, _) => theme::BUSY,
        (PhoneStatus::Ringing, _) => theme::RINGING,
        (_, Presence::Offline | Presence::Away | Presence::Busy) => theme::OFFLINE,
        (PhoneStatus::Idle, _) => theme::AVAILABLE,
        _ => theme::OFFLINE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::kittest::Queryable;

    pub fn contact(id: i64, name: &str, ext: &str, phone: PhoneStatus) -> Contact {
        Contact {
            id,
            name: name.into(),
            extension: Some(ext.into()),
            number: None,
            photo: None,
            presence: Presence::Online,
            phone,
            can_text: true,
            email: None,
            local: false,
        }
    }

    #[test]
    fn filters_by_name_or_extension() {
        let list = [
            contact(1, "Grace Hopper", "1002", PhoneStatus::Idle),
            contact(2, "Alan Turing", "1003", PhoneStatus::OnCall),
        ];
        let filter = |search: &str| -> Vec<&Contact> {
            list.iter().filter(|c| matches(c, search)).collect()
        };
        assert_eq!(filter("grace").len(), 1);
        assert_eq!(filter("100").len(), 2);
        assert_eq!(filter("1003")[0].name, "Alan Turing");
        assert!(filter("zz").is_empty());
    }

    #[test]
    fn rows_say_the_phone_status_and_hovering_offers_a_call() {
        let mut list = vec![
            contact(1, "Grace Hopper", "1002", PhoneStatus::Idle),
            contact(2, "Alan Turing", "1003", PhoneStatus::OnCall),
            contact(3, "Edsger Dijkstra", "1004", PhoneStatus::Idle),
            contact(4, "Barbara Liskov", "1005", PhoneStatus::Ringing),
        ];
        list[2].presence = Presence::Offline;
        list[3].presence = Presence::Unknown;
        let (mut h, rx) = list_harness(list);
        h.run();
        assert!(h.query_by_label("Grace Hopper, available").is_some());
        assert!(h.query_by_label("Alan Turing, on the phone").is_some());
        assert!(h.query_by_label("Edsger Dijkstra, offline").is_some());
        assert!(h.query_by_label("Barbara Liskov, ringing").is_some());
        // The status is written beside the extension, not only shown in colour.
        for words in ["available", "on the phone", "offline", "ringing"] {
            assert!(h.query_by_label(words).is_some(), "no '{words}' in a row");
        }
        let row = h.get_by_label("Alan Turing, on the phone").rect();
        h.hover_at(row.center());
        h.run();
        h.get_by_label("Call Alan Turing").click();
        h.run();
        let sent: Vec<Command> = rx.try_iter().collect();
        assert_eq!(
            sent.last(),
            Some(&Command::Dial("1003".into())),
            "sent: {sent:?}"
        );
    }

    type ListHarness = egui_kittest::Harness<'static, (Contacts, Vec<Contact>)>;

    /// The list in a 300×400 window, and what it sends.
    fn list_harness(list: Vec<Contact>) -> (ListHarness, std::sync::mpsc::Receiver<Command>) {
        let (commands, rx) = Commands::channel();
        let h = egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(300.0, 400.0))
            .build_ui_state(
                move |ui, state: &mut (Contacts, Vec<Contact>)| {
                    state.0.ui(ui, &state.1, 0, &commands);
                },
                (Contacts::default(), list),
            );
        (h, rx)
    }

    /// The extensions of the last `ContactsOnScreen` sent, if any was.
    fn last_on_screen(rx: &std::sync::mpsc::Receiver<Command>) -> Option<Vec<String>> {
        rx.try_iter()
            .filter_map(|c| match c {
                Command::ContactsOnScreen(list) => Some(list),
                _ => None,
            })
            .last()
    }

    #[test]
    fn the_rows_on_screen_are_told_once_and_again_after_scrolling() {
        let list: Vec<Contact> = (0..1000)
            .map(|n| {
                let ext = format!("{}", 20_000 + n);
                contact(n, &format!("Person {n:04}"), &ext, PhoneStatus::Idle)
            })
            .collect();
        let (mut h, rx) = list_harness(list);
        h.run();
        let first = last_on_screen(&rx).expect("the first rows are told");
        assert_eq!(first.first().map(String::as_str), Some("20000"));
        assert!(first.len() < 20, "only the rows on screen: {first:?}");
        h.run();
        assert_eq!(last_on_screen(&rx), None, "nothing new while nothing moved");

        // Scroll by the top row each time (rows off screen are not drawn, so not there).
        let mut shown = first.clone();
        for _ in 0..5 {
            let top: i64 = shown[0].parse::<i64>().unwrap() - 20_000;
            h.get_by_label(&format!("Person {top:04}, available"))
                .scroll_down();
            h.run();
            if let Some(list) = last_on_screen(&rx) {
                shown = list;
            }
        }
        assert_ne!(shown.first(), first.first(), "scrolling tells the new rows");
        assert!(shown.len() < 20);
    }
}
