//! A round icon button with an accessible name: the call controls, the left bar and the dial
//! pad tools. `active` draws it solid (mute while muted, hold while held).

use egui::{Color32, Sense, Vec2, WidgetInfo};

use crate::theme;

pub struct IconButton<'a> {
    pub icon: &'a str,
    /// The accessible name, also the tooltip: "Mute", "Hang up".
    pub label: &'a str,
    pub size: f32,
    /// Solid fill in this colour; `None` draws the quiet style.
    pub fill: Option<Color32>,
    pub enabled: bool,
    pub selected: bool,
}

impl<'a> IconButton<'a> {
    pub fn new(icon: &'a str, label: &'a str) -> Self {
        Self {
            icon,
            label,
            size: 40.0,
            fill: None,
            enabled: true,
            selected: false,
        }
    }

    pub fn size(mut self, size: f32) -> Self {
        self.size = size;
        self
    }

    pub fn fill(mut self, fill: Color32) -> Self {
        self.fill = Some(fill);
        self
    }

    pub fn fill_if(mut self, on: bool, fill: Color32) -> Self {
        if on {
            self.fill = Some(fill);
        }
        self
    }

    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    pub fn selected(mut self, selected: bool) -> Self {
        self.selected = selected;
        self
    }
}

impl egui::Widget for IconButton<'_> {
    fn ui(self, ui: &mut egui::Ui) -> egui::Response {
        let sense = if self.enabled {
            Sense::click()
        } else {
            Sense::hover()
        };
        let (rect, response) = ui.allocate_exact_size(Vec2::splat(self.size), sense);
        let (label, enabled, selected) = (self.label, self.enabled, self.selected);
        response.widget_info(|| {
            let mut info = WidgetInfo::selected(egui::Role::Button, enabled, selected, label);
            info.selected = None;
            info
        });
        if ui.is_rect_visible(rect) {
            let visuals = ui.style().interact_selectable(&response, self.selected);
            let (bg, fg) = match self.fill {
                Some(fill) => (fill, Color32::WHITE),
                None if self.selected => (theme::ACCENT.gamma_multiply(0.2), theme::ACCENT),
                None => (visuals.weak_bg_fill, visuals.text_color()),
            };
            let fg = if self.enabled {
                fg
            } else {
                fg.gamma_multiply(0.4)
            };
            ui.painter()
                .circle_filled(rect.center(), self.size / 2.0, bg);
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                self.icon,
                theme::icon_font(self.size * 0.5),
                fg,
            );
        }
        response.on_hover_text(self.label)
    }
}
