//! Voicemails: newest first, with play, pause and seek, the transcript when there is one, and
//! delete; a search by caller or by what they said. New messages are marked until played. The
//! counts come from message-waiting.

use crate::widgets::search_field::search_field;
use chrono_tz::Tz;

use crate::icons;
use crate::theme;
use crate::time_format;
use crate::widgets::icon_button::IconButton;
use client::command::{Command, Commands};
use client::model::{Playback, Voicemail, format_duration};

/// The PBX's voicemail access code (Asterisk's usual `*97`).
pub const VOICEMAIL_ACCESS: &str = "*97";

#[allow(clippy::too_many_arguments)]
pub fn show(
    ui: &mut egui::Ui,
    voicemails: &[Voicemail],
    search: &mut String,
    waiting: Option<(u32, u32)>,
    playback: Option<&Playback>,
    tz: Tz,
    now_ms: i64,
    commands: &Commands,
) {
    ui.horizontal(|ui| {
        if let Some((new, old)) = waiting {
            ui.label(format!("{new} new, {old} old on the server"));
        }
        // The PBX's own mailbox answers on its access code, as from a desk phone.
        if ui.button("Call voicemail").clicked() {
            commands.send(Command::Dial(VOICEMAIL_ACCESS.into()));
        }
    });
    if voicemails.is_empty() {
        ui.weak("No voicemail.");
        return;
    }
    search_field(ui, "Search", search, "Search voicemails");
    let found: Vec<&Voicemail> = voicemails.iter().filter(|v| v.matches(search)).collect();
    if found.is_empty() {
        ui.weak("No voicemail matches.");
        return;
    }
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            for vm in found {
                let caller = vm.caller_name.as_deref().unwrap_or(&vm.caller_number);
                let when = time_format::short(vm.received_at_ms, now_ms, tz);
                ui.horizontal(|ui| {
                    let title = egui::RichText::new(caller);
                    ui.label(if vm.heard { title } else { title.strong() });
                    if !vm.heard {
                        ui.small(egui::RichText::new("new").color(theme::ACCENT));
                    }
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        if ui
                            .add(
                                IconButton::new(
                                    icons::DELETE,
                                    &format!("Delete voicemail from {caller}"),
                                )
                                .size(28.0),
                            )
                            .clicked()
                        {
                            commands.send(Command::DeleteVoicemail(vm.id));
                        }
                        let playing = playback.is_some_and(|p| p.voicemail == vm.id && p.playing);
                        let (icon, label) = if playing {
                            (icons::PAUSE, format!("Pause voicemail from {caller}"))
                        } else {
                            (icons::PLAY, format!("Play voicemail from {caller}"))
                        };
                        if ui.add(IconButton::new(icon, &label).size(28.0)).clicked() {
                            commands.send(if playing {
                                Command::PauseVoicemail
                            } else {
                                Command::PlayVoicemail(vm.id)
                            });
                        }
                    });
                });
                ui.small(format!("{when} · {}", format_duration(vm.duration_secs)));
                if let Some(p) = playback.filter(|p| p.voicemail == vm.id) {
                    let mut pos = p.position_secs;
                    let slider = ui.add(
                        egui::Slider::new(&mut pos, 0.0..=p.duration_secs.max(0.1))
                            .show_value(false)
                            .text("Position"),
                    );
                    if slider.drag_stopped() || (slider.changed() && !slider.dragged()) {
                        commands.send(Command::SeekVoicemail(vm.id, pos));
                    }
                }
                if let Some(t) = vm.transcript.as_deref().filter(|t| !t.is_empty()) {
                    ui.label(egui::RichText::new(t).italics());
                }
                ui.separator();
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::kittest::Queryable;

    #[test]
    fn play_pause_and_delete_a_voicemail() {
        let (commands, rx) = Commands::channel();
        let vms = vec![Voicemail {
            id: 7,
            caller_name: Some("Grace Hopper".into()),
            caller_number: "1002".into(),
            received_at_ms: 0,
            duration_secs: 12,
            transcript: Some("Call me back about the release.".into()),
            heard: false,
        }];
        let mut h = egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(360.0, 400.0))
            .build_ui_state(
                move |ui, state: &mut (Vec<Voicemail>, Option<Playback>, String)| {
                    show(
                        ui,
                        &state.0,
                        &mut state.2,
                        Some((1, 0)),
                        state.1.as_ref(),
                        chrono_tz::UTC,
                        0,
                        &commands,
                    )
                },
                (vms, None, String::new()),
            );
        h.run();
        assert!(h.query_by_label("1 new, 0 old on the server").is_some());
        assert!(
            h.query_by_label("Call me back about the release.")
                .is_some()
        );
        h.get_by_label("Play voicemail from Grace Hopper").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::PlayVoicemail(7)));
        h.state_mut().1 = Some(Playback {
            voicemail: 7,
            position_secs: 3.0,
            duration_secs: 12.0,
            playing: true,
        });
        h.run();
        h.get_by_label("Pause voicemail from Grace Hopper").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::PauseVoicemail));
        h.get_by_label("Call voicemail").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::Dial("*97".into())));
        h.get_by_label("Delete voicemail from Grace Hopper").click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::DeleteVoicemail(7)));
    }

    #[test]
    fn voicemails_are_found_by_caller_or_by_what_was_said() {
        let (commands, _rx) = Commands::channel();
        let vm = |id, name: &str, transcript: Option<&str>| Voicemail {
            id,
            caller_name: Some(name.into()),
            caller_number: format!("100{id}"),
            received_at_ms: 0,
            duration_secs: 12,
            transcript: transcript.map(Into::into),
            heard: true,
        };
        let vms = vec![
            vm(1, "Grace Hopper", Some("Call me back about the release.")),
            vm(2, "Alan Turing", Some("The invoice is overdue.")),
            vm(3, "Ada Lovelace", Some("")),
        ];
        let mut h = egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(360.0, 500.0))
            .build_ui_state(
                move |ui, state: &mut (Vec<Voicemail>, String)| {
                    show(
                        ui,
                        &state.0,
                        &mut state.1,
                        None,
                        None,
                        chrono_tz::UTC,
                        0,
                        &commands,
                    )
                },
                (vms, String::new()),
            );
        h.run();
        let listed = |h: &egui_kittest::Harness<'_, _>| {
            ["Grace Hopper", "Alan Turing", "Ada Lovelace"].map(|n| {
                h.query_by_label(&format!("Play voicemail from {n}"))
                    .is_some()
            })
        };
        assert_eq!(listed(&h), [true, true, true]);
        h.get_by_label("Search").click();
        h.get_by_label("Search").type_text("Invoice overdue");
        h.run();
        assert_eq!(listed(&h), [false, true, false], "by what was said");
        h.state_mut().1 = "lovelace".into();
        h.run();
        assert_eq!(listed(&h), [false, false, true], "by who called");
        h.state_mut().1 = "holiday".into();
        h.run();
        assert!(h.query_by_label("No voicemail matches.").is_some());
    }
}
