//! The active-call bar along the top: who, a running timer, mute, hold, hang up and the quality
//! meter. Clicking the name opens the fullscreen call view.

use std::time::Instant;

use crate::icons;
use crate::theme;
use crate::widgets::icon_button::IconButton;
use crate::widgets::quality_meter;
use client::command::{Command, Commands};
use client::model::{Call, CallState, format_duration};

/// What the bar asks of the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallBarAction {
    OpenFullscreen,
}

/// The timer or state text: `Talking 0:07`, `On hold 1:02`, `Ringing…`.
pub fn status_text(call: &Call, now: Instant) -> String {
    match (call.talk_seconds(now), &call.state) {
        (Some(s), CallState::Active | CallState::Held) => {
            let state = if call.held_by_remote && call.state == CallState::Active {
                "Held by other side"
            } else {
                call.state.label()
            };
            format!("{state} {}", format_duration(s))
        }
        _ => call.state.label().to_string(),
    }
}

pub fn show(
    ui: &mut egui::Ui,
    call: &Call,
    others: usize,
    commands: &Commands,
    now: Instant,
) -> Option<CallBarAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        ui.add_space(theme::SPACING);
        let name = ui
            .add(
                egui::Label::new(egui::RichText::new(call.display_name()).strong())
                    .sense(egui::Sense::click()),
            )
            .on_hover_text("Open the call view");
        let status = ui.label(status_text(call, now));
        if name.clicked() || status.clicked() {
            action = Some(CallBarAction::OpenFullscreen);
        }
        if others > 0 {
            ui.weak(format!("+{others} more"));
        }
        quality_meter::show(ui, call.quality.as_ref());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.add_space(theme::SPACING);
            if ui
                .add(
                    IconButton::new(icons::HANG_UP, "Hang up")
                        .size(34.0)
                        .fill(theme::BUSY),
                )
                .clicked()
            {
                commands.send(Command::HangUp(call.id));
            }
            let held = call.state == CallState::Held;
            if ui
                .add(
                    IconButton::new(icons::HOLD, if held { "Resume" } else { "Hold" })
                        .size(34.0)
                        .fill_if(held, theme::ACCENT)
                        .selected(held),
                )
                .clicked()
            {
                commands.send(if held {
                    Command::Resume(call.id)
                } else {
                    Command::Hold(call.id)
                });
            }
            if ui
                .add(
                    IconButton::new(icons::MUTE, if call.muted { "Unmute" } else { "Mute" })
                        .size(34.0)
                        .fill_if(call.muted, theme::BUSY)
                        .selected(call.muted),
                )
                .clicked()
            {
                commands.send(Command::SetMute(call.id, !call.muted));
            }
            if ui
                .add(IconButton::new(icons::KEYPAD, "Open the call view").size(34.0))
                .clicked()
            {
                action = Some(CallBarAction::OpenFullscreen);
            }
        });
    });
    action
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screens::calls::tests::call;
    use client::model::CallId;
    use egui_kittest::kittest::Queryable;
    use std::time::Duration;

    #[test]
    fn the_timer_counts_from_the_answer() {
        let now = Instant::now();
        let mut c = call(1, CallState::Active);
        c.answered_at = Some(now - Duration::from_secs(67));
        assert_eq!(status_text(&c, now), "Talking 1:07");
        c.state = CallState::Held;
        assert_eq!(status_text(&c, now), "On hold 1:07");
        c.state = CallState::Active;
        c.held_by_remote = true;
        assert_eq!(status_text(&c, now), "Held by other side 1:07");
        let ringing = call(2, CallState::Ringback { early_media: false });
        assert_eq!(status_text(&ringing, now), "Ringing…");
    }

    #[test]
    fn buttons_send_hold_mute_and_hang_up_and_show_their_state() {
        let (commands, rx) = Commands::channel();
        let mut active = call(1, CallState::Active);
        active.answered_at = Some(Instant::now());
        let mut h = egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(800.0, 60.0))
            .build_ui_state(
                move |ui, c: &mut Call| {
                    show(ui, c, 0, &commands, Instant::now());
                },
                active,
            );
        h.get_by_label("Hold").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::Hold(CallId(1))));
        h.get_by_label("Mute").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::SetMute(CallId(1), true)));
        h.state_mut().state = CallState::Held;
        h.state_mut().muted = true;
        h.run();
        assert!(h.query_by_label("Hold").is_none());
        h.get_by_label("Resume").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::Resume(CallId(1))));
        h.get_by_label("Unmute").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::SetMute(CallId(1), false)));
        h.get_by_label("Hang up").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::HangUp(CallId(1))));
    }
}
