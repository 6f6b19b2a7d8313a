//! The incoming-call popup: caller name, number and picture, with Answer and Decline. It also
//! appears during a call (call waiting); answering then holds the current call, which the core
//! does as part of Answer.

use crate::icons;
use crate::screens::calls;
use crate::theme;
use crate::widgets::avatar::{Avatar, call_face};
use crate::widgets::icon_button::IconButton;
use client::command::{Command, Commands};
use client::model::{Call, Contact};

/// Draws one popup per ringing call, stacked from the top right.
pub fn show(ctx: &egui::Context, all: &[Call], contacts: &[Contact], commands: &Commands) {
    let current = calls::current(all).map(|c| c.display_name().to_string());
    for (i, call) in calls::ringing(all).enumerate() {
        egui::Window::new("Incoming call")
            .id(egui::Id::unique(("incoming", call.id)))
            .anchor(
                egui::Align2::RIGHT_TOP,
                egui::vec2(
                    -theme::SPACING * 2.0,
                    theme::SPACING * 2.0 + i as f32 * 200.0,
                ),
            )
            .collapsible(false)
            .resizable(false)
            .title_bar(false)
            .show(ctx, |ui| {
                ui.set_width(260.0);
                ui.vertical_centered(|ui| {
                    ui.label(egui::RichText::new("Incoming call").small());
                    let name = call.display_name();
                    ui.add(Avatar {
                        face: call_face(call, contacts),
                        size: 64.0,
                        presence: None,
                        phone: None,
                        label: format!("{name} is calling"),
                    });
                    ui.label(egui::RichText::new(name).strong().size(18.0));
                    if call.remote_name.is_some() {
                        ui.weak(&call.remote_number);
                    }
                    if let Some(queue) = &call.queue {
                        ui.label(queue_line(queue));
                    }
                    if let Some(cur) = &current {
                        ui.small(format!("Answering puts {cur} on hold."));
                    }
                    ui.add_space(theme::SPACING);
                    ui.horizontal(|ui| {
                        ui.add_space(60.0);
                        if ui
                            .add(
                                IconButton::new(icons::HANG_UP, "Decline")
                                    .size(48.0)
                                    .fill(theme::BUSY),
                            )
                            .clicked()
                        {
                            commands.send(Command::Decline(call.id));
                        }
                        ui.add_space(30.0);
                        if ui
                            .add(
                                IconButton::new(icons::CALL, "Answer")
                                    .size(48.0)
                                    .fill(theme::CALL),
                            )
                            .clicked()
                        {
                            commands.send(Command::Answer(call.id));
                        }
                    });
                });
            });
    }
}

/// "Through the Support queue": said on the popup and in My Calls.
pub fn queue_line(queue: &str) -> String {
    format!("Through the {} queue", client::call_center::title(queue))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screens::calls::tests::call;
    use client::model::{CallId, CallState, Direction};
    use egui_kittest::kittest::Queryable;

    #[test]
    fn a_waiting_call_offers_answer_and_says_the_current_call_will_hold() {
        let (commands, rx) = Commands::channel();
        let mut ring = call(2, CallState::Ringing);
        ring.direction = Direction::Incoming;
        ring.remote_name = Some("Grace Hopper".into());
        let calls = vec![call(1, CallState::Active), ring];
        let mut h = egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(800.0, 600.0))
            .build_ui_state(
                move |ui, calls: &mut Vec<Call>| show(ui.ctx(), calls, &[], &commands),
                calls,
            );
        h.run();
        assert!(h.query_by_label("Grace Hopper is calling").is_some());
        assert!(h.query_by_label("Answering puts 1001 on hold.").is_some());
        h.get_by_label("Answer").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::Answer(CallId(2))));
        h.get_by_label("Decline").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::Decline(CallId(2))));
        h.state_mut()[1].state = CallState::Active;
        h.run();
        assert!(h.query_by_label("Grace Hopper is calling").is_none());
    }
}
