//! A person's picture (or initials, or an icon) in a circle, with the availability dot and the
//! phone-status ring: the same look in the left bar, the contact list and the call view.

use egui::{Color32, Sense, Stroke, Vec2, WidgetInfo};

use crate::icons;
use crate::theme;
use client::model::{PhoneStatus, Presence};

/// What fills the circle.
#[derive(Clone, Debug)]
pub enum Face<'a> {
    /// A square PNG/JPEG, shown through egui's image loaders under a stable `bytes://` URI.
    Photo {
        uri: String,
        bytes: &'a [u8],
    },
    Initials(String),
    /// A person icon: someone without a picture or name.
    Person,
    /// A phone icon: a line that has no messaging.
    Phone,
}

/// Initials from a display name: "Grace Hopper" → "GH", "1002" → "10".
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => one.chars().take(2).collect::<String>().to_uppercase(),
        [first, .., last] => [first, last]
            .iter()
            .filter_map(|w| w.chars().next())
            .collect::<String>()
            .to_uppercase(),
    }
}

/// The face for the other end of a call: the contact's picture when the number is a contact
/// with one, else their initials, else a phone for a bare number.
pub fn call_face<'a>(
    call: &client::model::Call,
    contacts: &'a [client::model::Contact],
) -> Face<'a> {
    let contact = client::model::contact_for(contacts, &call.remote_number);
    match contact.and_then(|c| Some((c.id, c.photo.as_ref()?))) {
        Some((id, bytes)) => Face::Photo {
            uri: format!("bytes://contact/{id}.png"),
            bytes,
        },
        None if call.remote_name.is_some() || contact.is_some() => {
            let name = contact.map_or(call.display_name(), |c| c.name.as_str());
            Face::Initials(initials(name))
        }
        None => Face::Phone,
    }
}

pub struct Avatar<'a> {
    pub face: Face<'a>,
    pub size: f32,
    pub presence: Option<Presence>,
    pub phone: Option<PhoneStatus>,
    /// What a screen reader says, e.g. "Grace Hopper, on the phone".
    pub label: String,
}

impl egui::Widget for Avatar<'_> {
    fn ui(self, ui: &mut egui::Ui) -> egui::Response {
        let (rect, response) = ui.allocate_exact_size(Vec2::splat(self.size), Sense::click());
        let label = self.label.clone();
        response.widget_info(|| WidgetInfo::labeled(egui::Role::Image, true, &label));
        if !ui.is_rect_visible(rect) {
            return response;
        }
        let painter = ui.painter();
        let center = rect.center();
        let radius = self.size / 2.0 - 2.0;
        let bg = ui.visuals().widgets.inactive.bg_fill;
        let fg = ui.visuals().strong_text_color();
        match &self.face {
            Face::Photo { uri, bytes } => {
                let inner = egui::Rect::from_center_size(center, Vec2::splat(radius * 2.0));
                egui::Image::from_bytes(uri.clone(), bytes.to_vec())
                    .corner_radius(radius)
                    .paint_at(ui, inner);
            }
            Face::Initials(text) => {
                painter.circle_filled(center, radius, bg);
                painter.text(
                    center,
                    egui::Align2::CENTER_CENTER,
                    text,
                    egui::FontId::proportional(self.size * 0.36),
                    fg,
                );
            }
            Face::Person | Face::Phone => {
                painter.circle_filled(center, radius, bg);
                let glyph = if matches!(self.face, Face::Phone) {
                    icons::PHONE_ONLY
                } else {
                    icons::PERSON
                };
                painter.text(
                    center,
                    egui::Align2::CENTER_CENTER,
                    glyph,
                    theme::icon_font(self.size * 0.5),
                    fg,
                );
            }
        }
        if let Some(status) = self.phone {
            let time = ui.input(|i| i.time);
            let color = phone_color(status, time);
            if let Some(color) = color {
                painter.circle_stroke(center, radius + 1.0, Stroke::new(2.0, color));
            }
            if status == PhoneStatus::Ringing {
                // The lamp changes once a second, so one repaint a second is all a ringing
                // contact costs, and only while one is on screen: an idle window stays asleep.
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_secs_f64(1.0 - time.fract()));
            }
        }
        if let Some(presence) = self.presence {
            let dot = self.size * 0.14;
            let pos = rect.right_bottom() - Vec2::splat(dot + 1.0);
            painter.circle_filled(pos, dot + 1.5, ui.visuals().panel_fill);
            painter.circle_filled(pos, dot, presence_color(presence));
        }
        response
    }
}

pub fn presence_color(p: Presence) -> Color32 {
    match p {
        Presence::Online => theme::ACCENT,
        Presence::Away => theme::RINGING,
        Presence::Busy => theme::BUSY,
        Presence::Offline | Presence::Unknown => theme::OFFLINE,
    }
}

/// The ring colour; `None` when there is no ring to draw (unknown, or the dark second of a
/// flash: ringing is on one second, off the next).
pub fn phone_color(status: PhoneStatus, time: f64) -> Option<Color32> {
    match status {
        PhoneStatus::Idle => Some(theme::AVAILABLE),
        PhoneStatus::OnCall => Some(theme::BUSY),
        PhoneStatus::Ringing => (time.rem_euclid(2.0) < 1.0).then_some(theme::RINGING),
        PhoneStatus::Unknown => None,
    }
}

/// Words for a contact's status, for labels and screen readers: what the phone does first
/// (ringing, on the phone), then the presence, then an idle phone.
pub fn status_words(presence: Presence, phone: PhoneStatus) -> &'static str {
    match (phone, presence) {
        (PhoneStatus::Ringing | PhoneStatus::OnCall, _) => phone_words(phone),
        (_, Presence::Offline) => "offline",
        (_, Presence::Away) => "away",
        (_, Presence::Busy) => "busy",
        (PhoneStatus::Idle, _) => phone_words(phone),
        (PhoneStatus::Unknown, Presence::Online) => "online",
        (PhoneStatus::Unknown, Presence::Unknown) => phone_words(phone),
    }
}

/// Words for the phone status, for labels and tooltips.
pub fn phone_words(status: PhoneStatus) -> &'static str {
    match status {
        PhoneStatus::Idle => "available",
        PhoneStatus::OnCall => "on the phone",
        PhoneStatus::Ringing => "ringing",
        PhoneStatus::Unknown => "status unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_shows_the_contacts_picture_then_initials_then_a_phone() {
        use client::model::{Call, CallId, Contact, Direction};
        let grace = Contact {
            id: 7,
            name: "Grace Hopper".into(),
            extension: Some("1002".into()),
            number: Some("+15550102030".into()),
            photo: Some(std::sync::Arc::from(&b"png"[..])),
            presence: Presence::Unknown,
            phone: PhoneStatus::Unknown,
            can_text: false,
            email: None,
            local: true,
        };
        let mut alan = grace.clone();
        (alan.id, alan.name, alan.extension, alan.number, alan.photo) =
            (8, "Alan Turing".into(), Some("1003".into()), None, None);
        let contacts = [grace, alan];
        let call = |number: &str| Call::new(CallId(1), Direction::Incoming, number.into());
        // By extension or by number.
        for number in ["1002", "+15550102030"] {
            assert!(matches!(
                call_face(&call(number), &contacts),
                Face::Photo { uri, bytes } if uri == "bytes://contact/7.png" && bytes == b"png"
            ));
        }
        assert!(matches!(call_face(&call("1003"), &contacts), Face::Initials(i) if i == "AT"));
        assert!(matches!(
            call_face(&call("5550000"), &contacts),
            Face::Phone
        ));
        let mut named = call("5550000");
        named.remote_name = Some("Ada Lovelace".into());
        assert!(matches!(call_face(&named, &contacts), Face::Initials(i) if i == "AL"));
    }

    #[test]
    fn initials_come_from_first_and_last_names() {
        assert_eq!(initials("Grace Hopper"), "GH");
        assert_eq!(initials("Ada King Lovelace"), "AL");
        assert_eq!(initials("ada"), "AD");
        assert_eq!(initials("  "), "");
    }

    #[test]
    fn ringing_flashes_and_idle_is_green() {
        assert_eq!(phone_color(PhoneStatus::Idle, 0.2), Some(theme::AVAILABLE));
        assert_eq!(
            phone_color(PhoneStatus::Ringing, 10.2),
            Some(theme::RINGING)
        );
        assert_eq!(
            phone_color(PhoneStatus::Ringing, 10.9),
            Some(theme::RINGING)
        );
        assert_eq!(phone_color(PhoneStatus::Ringing, 11.2), None);
    }

    #[test]
    fn status_words_put_the_phone_before_presence() {
        use PhoneStatus as Ph;
        use Presence as Pr;
        assert_eq!(status_words(Pr::Online, Ph::Idle), "available");
        assert_eq!(status_words(Pr::Busy, Ph::OnCall), "on the phone");
        assert_eq!(status_words(Pr::Offline, Ph::Idle), "offline");
        assert_eq!(status_words(Pr::Away, Ph::Idle), "away");
        assert_eq!(status_words(Pr::Unknown, Ph::Ringing), "ringing");
        assert_eq!(status_words(Pr::Unknown, Ph::Unknown), "status unknown");
        assert_eq!(status_words(Pr::Unknown, Ph::Idle), "available");
    }
}
