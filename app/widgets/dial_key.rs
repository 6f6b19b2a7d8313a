//! One key of the dial pad: the digit, and the letters under it, as on a desk phone.

use egui::{Sense, Vec2, WidgetInfo};

/// Letters under each key (ITU E.161).
pub fn letters(digit: char) -> &'static str {
    match digit {
        '2' => "ABC",
        '3' => "DEF",
        '4' => "GHI",
        '5' => "JKL",
        '6' => "MNO",
        '7' => "PQRS",
        '8' => "TUV",
        '9' => "WXYZ",
        '0' => "+",
        _ => "",
    }
}

/// The 12 keys in phone order.
pub const KEYS: [char; 12] = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

pub struct DialKey {
    pub digit: char,
    pub size: f32,
}

impl egui::Widget for DialKey {
    fn ui(self, ui: &mut egui::Ui) -> egui::Response {
        let (rect, response) = ui.allocate_exact_size(Vec2::splat(self.size), Sense::click());
        let digit = self.digit;
        response.widget_info(|| WidgetInfo::labeled(egui::Role::Button, true, digit.to_string()));
        if ui.is_rect_visible(rect) {
            let visuals = ui.style().interact(&response);
            ui.painter()
                .circle_filled(rect.center(), self.size / 2.0, visuals.weak_bg_fill);
            let letters = letters(self.digit);
            let digit_pos = if letters.is_empty() {
                rect.center()
            } else {
                rect.center() - Vec2::new(0.0, self.size * 0.08)
            };
            ui.painter().text(
                digit_pos,
                egui::Align2::CENTER_CENTER,
                self.digit,
                egui::FontId::proportional(self.size * 0.4),
                visuals.text_color(),
            );
            if !letters.is_empty() {
                ui.painter().text(
                    rect.center() + Vec2::new(0.0, self.size * 0.24),
                    egui::Align2::CENTER_CENTER,
                    letters,
                    egui::FontId::proportional(self.size * 0.16),
                    ui.visuals().weak_text_color(),
                );
            }
        }
        response
    }
}
