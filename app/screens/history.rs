//! My Calls: the whole call history, newest first, with a kind filter and a search. Clicking a
//! row calls the other party back. The list is loaded by the core in pages; the screen asks for
//! a reload when the filter or search changes.

use crate::widgets::search_field::search_field;
use chrono_tz::Tz;

use crate::icons;
use crate::shown_rows::ShownRows;
use crate::theme;
use crate::time_format;
use client::command::{Command, Commands};
use client::model::{HistoryEntry, HistoryFilter, HistoryKind, format_duration};

#[derive(Default)]
pub struct History {
    pub filter: HistoryFilter,
    pub search: String,
    /// The rows matching the filter and search, for the history's revision.
    shown: ShownRows<(u64, HistoryFilter, String)>,
}

fn kind_icon(kind: HistoryKind) -> (&'static str, egui::Color32, &'static str) {
    match kind {
        HistoryKind::Incoming => (icons::INCOMING, theme::AVAILABLE, "incoming"),
        HistoryKind::Outgoing => (icons::OUTGOING, theme::ACCENT, "outgoing"),
        HistoryKind::Missed => (icons::MISSED, theme::BUSY, "missed"),
        HistoryKind::Voicemail => (icons::VOICEMAIL, theme::RINGING, "voicemail"),
    }
}

impl History {
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        rows: &[HistoryEntry],
        revision: u64,
        tz: Tz,
        now_ms: i64,
        commands: &Commands,
    ) {
        let mut changed = false;
        ui.horizontal_wrapped(|ui| {
            for f in HistoryFilter::ALL {
                changed |= ui
                    .selectable_value(&mut self.filter, f, f.label())
                    .changed();
            }
        });
        changed |= search_field(ui, "Search calls", &mut self.search, "Name or number").changed();
        if changed {
            commands.send(Command::LoadHistory {
                filter: self.filter,
                search: self.search.trim().to_string(),
            });
        }
        // The core filters too; filtering here keeps the list right between a change and the
        // core's reply.
        let search = self.search.trim().to_lowercase();
        let filter = self.filter;
        let shown = self
            .shown
            .get((revision, filter, search.clone()), rows.len(), |i| {
                let r = &rows[i];
                r.matches(filter)
                    && (search.is_empty()
                        || r.display_name().to_lowercase().contains(&search)
                        || r.remote_number.contains(&search))
            });
        if shown.is_empty() {
            ui.weak(if rows.is_empty() {
                "No calls yet."
            } else {
                "No calls match."
            });
            return;
        }
        egui::ScrollArea::vertical().auto_shrink(false).show_rows(
            ui,
            40.0,
            shown.len(),
            |ui, range| {
                for r in shown[range].iter().map(|&i| &rows[i]) {
                    let (icon, color, word) = kind_icon(r.kind);
                    let when = time_format::short(r.started_at_ms, now_ms, tz);
                    let label = format!("Call back {}, {word} call, {when}", r.display_name());
                    let resp = ui
                        .horizontal(|ui| {
                            ui.label(
                                egui::RichText::new(icon)
                                    .font(theme::icon_font(18.0))
                                    .color(color),
                            );
                            ui.vertical(|ui| {
                                ui.label(r.display_name());
                                let mut detail = if r.duration_secs > 0 {
                                    format!("{when} · {}", format_duration(r.duration_secs))
                                } else {
                                    when.clone()
                                };
                                if let Some(q) = &r.queue {
                                    detail = format!(
                                        "{detail} · {}",
                                        crate::screens::incoming::queue_line(q)
                                    );
                                }
                                ui.small(detail);
                            });
                        })
                        .response
                        .interact(egui::Sense::click())
                        .on_hover_cursor(egui::CursorIcon::PointingHand)
                        .on_hover_text("Call back");
                    resp.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::Button, true, &label)
                    });
                    if resp.clicked() {
                        commands.send(Command::Dial(r.remote_number.clone()));
                    }
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::kittest::Queryable;

    const NOW: i64 = 1_795_595_200_000;

    fn entry(id: i64, kind: HistoryKind, number: &str, name: Option<&str>) -> HistoryEntry {
        HistoryEntry {
            id,
            kind,
            remote_name: name.map(str::to_string),
            remote_number: number.into(),
            started_at_ms: NOW - id * 60_000,
            duration_secs: 0,
            queue: None,
        }
    }

    /// My Calls with a missed call from Grace Hopper and an outgoing one to 9196.
    fn harness() -> (
        egui_kittest::Harness<'static, (History, Vec<HistoryEntry>)>,
        std::sync::mpsc::Receiver<Command>,
    ) {
        let (commands, rx) = Commands::channel();
        let rows = vec![
            entry(1, HistoryKind::Missed, "1002", Some("Grace Hopper")),
            entry(2, HistoryKind::Outgoing, "9196", None),
        ];
        let h = egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(320.0, 500.0))
            .build_ui_state(
                move |ui, state: &mut (History, Vec<HistoryEntry>)| {
                    state.0.ui(ui, &state.1, 0, chrono_tz::UTC, NOW, &commands)
                },
                (History::default(), rows),
            );
        (h, rx)
    }

    #[test]
    fn filters_by_kind_asks_the_core_and_a_click_calls_back() {
        let (mut h, rx) = harness();
        h.run();
        assert!(
            h.query_by_label_contains("Call back 9196, outgoing call")
                .is_some()
        );
        h.get_by_label("Missed").click();
        h.run();
        assert_eq!(
            rx.try_recv(),
            Ok(Command::LoadHistory {
                filter: HistoryFilter::Missed,
                search: String::new()
            })
        );
        assert!(h.query_by_label_contains("Call back 9196").is_none());
        h.get_by_label_contains("Call back Grace Hopper, missed call")
            .click();
        h.run();
        assert_eq!(rx.try_recv(), Ok(Command::Dial("1002".into())));
    }

    #[test]
    fn searching_asks_the_core_and_narrows_the_list_by_name_or_number() {
        let (mut h, rx) = harness();
        h.run();
        h.get_by_label("Search calls").focus();
        h.run();
        h.event(egui::Event::Text("grace".into()));
        h.run();
        assert_eq!(
            rx.try_iter().last(),
            Some(Command::LoadHistory {
                filter: HistoryFilter::All,
                search: "grace".into()
            })
        );
        assert!(
            h.query_by_label_contains("Call back Grace Hopper")
                .is_some()
        );
        assert!(h.query_by_label_contains("Call back 9196").is_none());
        // By number, and with the filter kept.
        h.get_by_label("Outgoing").click();
        h.run();
        h.get_by_label("Search calls").focus();
        h.run();
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        h.event(egui::Event::Text("919".into()));
        h.run();
        assert_eq!(
            rx.try_iter().last(),
            Some(Command::LoadHistory {
                filter: HistoryFilter::Outgoing,
                search: "919".into()
            })
        );
        assert!(h.query_by_label_contains("Call back 9196").is_some());
        assert!(
            h.query_by_label_contains("Call back Grace Hopper")
                .is_none()
        );
    }
}
