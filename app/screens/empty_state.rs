//! The sections whose features come in later releases. Each says plainly what will be there;
//! none shows sample data.

use crate::icons;
use crate::theme;

pub struct EmptyState {
    pub icon: &'static str,
    pub title: &'static str,
    pub body: &'static str,
}

pub const MESSAGING: EmptyState = EmptyState {
    icon: icons::MESSAGING,
    title: "Messaging",
    body: "Direct messages, group chats and rooms with your colleagues will appear here, sent \
           through your phone system. This release does calls and voicemail; messaging comes next.",
};

pub const FAX: EmptyState = EmptyState {
    icon: icons::FAX,
    title: "Fax",
    body: "Send and receive faxes through your phone line: received faxes and their pages will be \
           listed here. Not available in this release.",
};

pub const MARKETPLACE: EmptyState = EmptyState {
    icon: icons::MARKETPLACE,
    title: "Marketplace",
    body: "Integrations that look up callers in your other business tools (\"Discover\") will be \
           offered here. Not available in this release.",
};

pub fn show(ui: &mut egui::Ui, state: &EmptyState) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() * 0.25);
        ui.label(
            egui::RichText::new(state.icon)
                .font(theme::icon_font(56.0))
                .color(ui.visuals().weak_text_color()),
        );
        ui.heading(state.title);
        ui.add_space(theme::SPACING);
        ui.scope(|ui| {
            ui.set_max_width(420.0);
            ui.label(state.body);
        });
    });
}
