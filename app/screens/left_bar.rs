//! The left bar: the user's avatar with availability and phone status, then one icon per
//! section of the product.

use crate::icons;
use crate::theme;
use crate::widgets::avatar::{self, Avatar, Face};
use crate::widgets::icon_button::IconButton;
use client::model::{PhoneStatus, Presence, Registration};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Section {
    #[default]
    Voice,
    Messaging,
    CallCenter,
    Fax,
    Marketplace,
    Settings,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Voice,
        Section::Messaging,
        Section::CallCenter,
        Section::Fax,
        Section::Marketplace,
        Section::Settings,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Section::Voice => "Voice",
            Section::Messaging => "Messaging",
            Section::CallCenter => "Call Center",
            Section::Fax => "Fax",
            Section::Marketplace => "Marketplace",
            Section::Settings => "Settings",
        }
    }

    pub fn icon(self) -> &'static str {
        match self {
            Section::Voice => icons::VOICE,
            Section::Messaging => icons::MESSAGING,
            Section::CallCenter => icons::CALL_CENTER,
            Section::Fax => icons::FAX,
            Section::Marketplace => icons::MARKETPLACE,
            Section::Settings => icons::SETTINGS,
        }
    }
}

/// The signed-in user as the left bar shows them.
pub struct Me<'a> {
    pub name: &'a str,
    pub photo: Option<&'a [u8]>,
    /// False for a line without messaging: it shows a phone icon instead of a person.
    pub can_message: bool,
    pub registration: &'a Registration,
    pub on_a_call: bool,
    pub do_not_disturb: bool,
}

/// Draws the bar; returns do-not-disturb's new value when the avatar menu toggled it.
pub fn show(ui: &mut egui::Ui, me: &Me<'_>, current: &mut Section) -> Option<bool> {
    let mut toggled = None;
    ui.vertical_centered(|ui| {
        ui.add_space(theme::SPACING);
        let presence = match me.registration {
            Registration::Registered if me.do_not_disturb => Presence::Busy,
            Registration::Registered => Presence::Online,
            _ => Presence::Offline,
        };
        let phone = match (me.registration, me.on_a_call) {
            (Registration::Registered, true) => PhoneStatus::OnCall,
            (Registration::Registered, false) => PhoneStatus::Idle,
            _ => PhoneStatus::Unknown,
        };
        let face = match (me.photo, me.can_message) {
            (Some(bytes), _) => Face::Photo {
                uri: "bytes://me/photo.png".into(),
                bytes,
            },
            (None, true) => Face::Person,
            (None, false) => Face::Phone,
        };
        let status = match me.registration {
            Registration::Registered if me.do_not_disturb => {
                format!("{}, do not disturb", avatar::phone_words(phone))
            }
            Registration::Registered => avatar::phone_words(phone).to_string(),
            Registration::Connecting => "connecting".to_string(),
            Registration::Offline => "offline".to_string(),
            Registration::Failed(why) => format!("not connected: {why}"),
        };
        let label = format!("{}, {status}", me.name);
        let avatar = ui
            .add(Avatar {
                face,
                size: 44.0,
                presence: Some(presence),
                phone: Some(phone),
                label: label.clone(),
            })
            .on_hover_text(label);
        egui::Popup::menu(&avatar).show(|ui| {
            let mut on = me.do_not_disturb;
            if ui.checkbox(&mut on, "Do not disturb").changed() {
                toggled = Some(on);
            }
            ui.small("Callers go straight to voicemail; colleagues see you busy.");
        });
        ui.add_space(theme::SPACING * 2.0);
        for section in Section::ALL {
            let selected = *current == section;
            if ui
                .add(
                    IconButton::new(section.icon(), section.label())
                        .size(40.0)
                        .selected(selected),
                )
                .clicked()
            {
                *current = section;
            }
        }
    });
    toggled
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::kittest::Queryable;

    struct State {
        registration: Registration,
        on_a_call: bool,
        section: Section,
        do_not_disturb: bool,
    }

    #[test]
    fn the_avatar_says_the_phone_status_and_the_icons_switch_sections() {
        let mut h = egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(80.0, 600.0))
            .build_ui_state(
                |ui, s: &mut State| {
                    let me = Me {
                        name: "Ada Lovelace",
                        photo: None,
                        can_message: true,
                        registration: &s.registration,
                        on_a_call: s.on_a_call,
                        do_not_disturb: s.do_not_disturb,
                    };
                    if let Some(on) = show(ui, &me, &mut s.section) {
                        s.do_not_disturb = on;
                    }
                },
                State {
                    registration: Registration::Registered,
                    on_a_call: false,
                    section: Section::Voice,
                    do_not_disturb: false,
                },
            );
        h.run();
        assert!(h.query_by_label("Ada Lovelace, available").is_some());
        h.state_mut().on_a_call = true;
        h.run();
        assert!(h.query_by_label("Ada Lovelace, on the phone").is_some());
        h.state_mut().registration = Registration::Failed("no answer".into());
        h.run();
        assert!(
            h.query_by_label("Ada Lovelace, not connected: no answer")
                .is_some()
        );
        for section in Section::ALL {
            h.get_by_label(section.label()).click();
            h.run();
            assert_eq!(h.state().section, section);
        }
        // The avatar's menu turns do-not-disturb on, and the avatar says so.
        h.state_mut().registration = Registration::Registered;
        h.state_mut().on_a_call = false;
        h.run();
        h.get_by_label("Ada Lovelace, available").click();
        h.run();
        h.get_by_label("Do not disturb").click();
        h.run();
        assert!(h.state().do_not_disturb);
        assert!(
            h.query_by_label("Ada Lovelace, available, do not disturb")
                .is_some()
        );
    }
}
