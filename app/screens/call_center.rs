//! Call Center: a tile per queue the user belongs to (callers waiting, longest wait, agents by
//! state, today's answered and abandoned), and for the opened tile the callers in order with
//! their waits counting up, the agents, and the queue's history. The user's own log-in,
//! log-out and pause are on each tile. The waits count up by themselves, so while anyone waits
//! the window repaints once a second, and not otherwise.

use chrono_tz::Tz;

use crate::icons;
use crate::theme;
use crate::time_format;
use client::call_center::{
    CallCenterView, Link, Membership, QueueCallFilter, QueueOutcome, QueueTile, Waiting,
};
use client::command::{Command, Commands};
use client::model::{QueueHistory, format_duration};

pub const NO_ACCESS: &str = "Queues need a manager account on your phone system: ask your \
    administrator for its address, user and secret, and enter them in Settings › Call Center.";

/// What the screen keeps between frames.
#[derive(Default)]
pub struct CallCenter {
    /// The queue whose tile is open.
    open: Option<String>,
    filter: QueueCallFilter,
    /// The pause reason being typed, per queue.
    reasons: std::collections::HashMap<String, String>,
}

const TILE_WIDTH: f32 = 300.0;
const OVERDUE: egui::Color32 = theme::BUSY;

impl CallCenter {
    /// Opens a queue's tile, as clicking it does.
    pub fn open(&mut self, queue: &str, commands: &Commands) {
        self.open = Some(queue.to_string());
        commands.send(Command::LoadQueueHistory {
            queue: queue.to_string(),
            filter: self.filter,
        });
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        view: Option<&CallCenterView>,
        history: Option<&QueueHistory>,
        tz: Tz,
        now_ms: i64,
        commands: &Commands,
    ) {
        ui.heading("Call Center");
        let Some(view) = view else {
            ui.label(NO_ACCESS);
            return;
        };
        match &view.link {
            Link::Live => {}
            Link::Connecting => {
                ui.weak("Connecting to the queue service…");
            }
            Link::Down {
                reason,
                retrying: true,
            } => {
                ui.colored_label(theme::RINGING, format!("{reason} Reconnecting…"));
            }
            Link::Down {
                reason,
                retrying: false,
            } => {
                ui.colored_label(theme::BUSY, reason);
            }
        }
        if view.tiles.is_empty() {
            ui.label("You are not a member of any queue. Your administrator can add you, or list the queues you may log in to in Settings › Call Center.");
            return;
        }
        if view.tiles.iter().any(|t| !t.waiting.is_empty()) {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_secs(1));
        }
        egui::ScrollArea::vertical()
            .auto_shrink(false)
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    for tile in &view.tiles {
                        self.tile(ui, tile, now_ms, commands);
                    }
                });
                let open = self
                    .open
                    .as_ref()
                    .and_then(|q| view.tiles.iter().find(|t| &t.queue == q));
                if let Some(tile) = open {
                    ui.separator();
                    self.details(ui, tile, history, tz, now_ms, commands);
                }
            });
    }

    fn tile(&mut self, ui: &mut egui::Ui, t: &QueueTile, now_ms: i64, commands: &Commands) {
        let title = t.title();
        egui::Frame::group(ui.style())
            .inner_margin(theme::SPACING * 1.5)
            .show(ui, |ui| {
                ui.set_width(TILE_WIDTH);
                ui.vertical(|ui| self.tile_body(ui, t, &title, now_ms, commands));
            });
    }

    fn tile_body(
        &mut self,
        ui: &mut egui::Ui,
        t: &QueueTile,
        title: &str,
        now_ms: i64,
        commands: &Commands,
    ) {
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new(icons::CALL_CENTER).font(theme::icon_font(20.0)));
            ui.strong(title);
            if let Some(n) = &t.number {
                ui.weak(n);
            }
        });
        let waiting = t.waiting.len();
        ui.label(egui::RichText::new(format!("{waiting} waiting in {title}",)).size(18.0));
        match t.longest_wait(now_ms) {
            Some(w) => ui.label(format!("Longest wait {}", format_duration(w.into()))),
            None => ui.weak("No one waiting"),
        };
        let n = t.counts();
        ui.label(format!(
            "Agents: {} available · {} on a call · {} paused · {} logged out",
            n.available, n.on_call, n.paused, n.logged_out
        ));
        ui.label(format!(
            "Today: {} answered · {} abandoned",
            t.today.answered, t.today.abandoned
        ));
        ui.horizontal_wrapped(|ui| {
            let is_open = self.open.as_deref() == Some(t.queue.as_str());
            let label = if is_open {
                format!("Close {title}")
            } else {
                format!("Open {title}")
            };
            if ui.button(label).clicked() {
                if is_open {
                    self.open = None;
                } else {
                    self.open(&t.queue, commands);
                }
            }
            self.membership(ui, t, title, commands);
        });
    }

    fn membership(&mut self, ui: &mut egui::Ui, t: &QueueTile, title: &str, commands: &Commands) {
        let queue = t.queue.clone();
        match &t.mine {
            Membership::LoggedOut => {
                if ui.button(format!("Log in to {title}")).clicked() {
                    commands.send(Command::QueueLogIn(queue));
                }
            }
            Membership::LoggedIn => {
                if ui.button(format!("Log out of {title}")).clicked() {
                    commands.send(Command::QueueLogOut(queue.clone()));
                }
                let reason = self.reasons.entry(queue.clone()).or_default();
                let label = ui.label("Reason:");
                ui.add(
                    egui::TextEdit::singleline(reason)
                        .hint_text("Lunch, meeting…")
                        .desired_width(90.0),
                )
                .labelled_by(label.id);
                if ui.button(format!("Pause in {title}")).clicked() {
                    let reason = reason.trim().to_string();
                    commands.send(Command::QueuePause {
                        queue,
                        reason: Some(reason),
                    });
                }
            }
            Membership::Paused { reason } => {
                ui.label(if reason.is_empty() {
                    "You are paused".to_string()
                } else {
                    format!("You are paused: {reason}")
                });
                if ui.button(format!("Resume in {title}")).clicked() {
                    commands.send(Command::QueuePause {
                        queue,
                        reason: None,
                    });
                }
            }
        }
    }

    fn details(
        &mut self,
        ui: &mut egui::Ui,
        t: &QueueTile,
        history: Option<&QueueHistory>,
        tz: Tz,
        now_ms: i64,
        commands: &Commands,
    ) {
        let title = t.title();
        ui.heading(format!("{title} now"));
        ui.label(format!(
            "Service level: {:.0}% answered within {} s · average hold time {} · average talk time {}",
            t.service_level_perf,
            t.service_level_secs,
            format_duration(t.hold_secs.into()),
            format_duration(t.talk_secs.into()),
        ));
        ui.add_space(theme::SPACING);
        ui.strong("Waiting callers");
        if t.waiting.is_empty() {
            ui.weak("No one is waiting.");
        }
        for w in &t.waiting {
            waiting_row(ui, t, w, now_ms);
        }

        ui.add_space(theme::SPACING);
        ui.strong("Agents");
        egui::Grid::new(("agents", &t.queue))
            .striped(true)
            .show(ui, |ui| {
                for head in ["Name", "Extension", "State", "Calls taken", "Last call"] {
                    ui.weak(head);
                }
                ui.end_row();
                for a in &t.agents {
                    ui.label(&a.name);
                    ui.label(a.extension());
                    ui.label(a.state.label());
                    ui.label(a.calls_taken.to_string());
                    ui.label(if a.last_call > 0 {
                        let ago = (now_ms / 1000 - a.last_call).max(0) as u64;
                        format!("{} ago", format_duration(ago))
                    } else {
                        "none yet".into()
                    });
                    ui.end_row();
                }
            });

        ui.add_space(theme::SPACING);
        ui.horizontal(|ui| {
            ui.strong("History");
            for (filter, label) in [
                (QueueCallFilter::All, "All calls"),
                (QueueCallFilter::Answered, "Answered"),
                (QueueCallFilter::Abandoned, "Abandoned"),
            ] {
                if ui.selectable_label(self.filter == filter, label).clicked() {
                    self.filter = filter;
                    commands.send(Command::LoadQueueHistory {
                        queue: t.queue.clone(),
                        filter,
                    });
                }
            }
        });
        ui.label(format!(
            "Today in {title}: {} answered, {} abandoned",
            t.today.answered, t.today.abandoned
        ));
        let Some(h) = history.filter(|h| h.queue == t.queue) else {
            return;
        };
        if h.calls.is_empty() {
            ui.weak("No calls yet.");
        }
        for c in &h.calls {
            let caller = client::call_center::caller(&c.call.caller_name, &c.call.caller_number);
            let secs = |s: Option<u32>| format_duration(s.unwrap_or(0).into());
            let outcome = match c.outcome {
                QueueOutcome::Waiting => "waiting".to_string(),
                QueueOutcome::Answered => {
                    let mut s = format!(
                        "answered by {} after {}",
                        c.agent.as_deref().unwrap_or("an agent"),
                        secs(c.wait_secs)
                    );
                    if c.talk_secs.is_some() {
                        s.push_str(&format!(", talked {}", secs(c.talk_secs)));
                    }
                    s
                }
                QueueOutcome::Abandoned => format!("abandoned after {}", secs(c.wait_secs)),
                QueueOutcome::Left => "left the queue".into(),
            };
            ui.label(format!(
                "{} · {caller} · {outcome}",
                time_format::short(c.call.joined_at, now_ms, tz)
            ));
        }
    }
}

/// One waiting caller. Past the queue's average hold or talk time the wait is drawn in a red
/// bubble, and the row says so in words.
fn waiting_row(ui: &mut egui::Ui, t: &QueueTile, w: &Waiting, now_ms: i64) {
    let wait = format_duration(w.wait_secs(now_ms).into());
    let overdue = t.overdue(w, now_ms);
    ui.horizontal(|ui| {
        ui.label(format!("{}. {}", w.position, w.caller()));
        if overdue {
            egui::Frame::new()
                .fill(OVERDUE)
                .corner_radius(8.0)
                .inner_margin(egui::Margin::symmetric(6, 1))
                .show(ui, |ui| {
                    ui.label(
                        egui::RichText::new(&wait)
                            .color(egui::Color32::WHITE)
                            .strong(),
                    );
                });
            ui.label(egui::RichText::new("waiting longer than the queue's average").color(OVERDUE));
        } else {
            ui.label(format!("waiting {wait}"));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use client::call_center::QueueTotals;
    use client::call_center::{Agent, AgentState};
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    fn tile(hold: u32) -> QueueTile {
        QueueTile {
            queue: "support".into(),
            number: Some("600".into()),
            waiting: vec![
                Waiting {
                    uniqueid: "a".into(),
                    position: 1,
                    caller_number: "+15550101".into(),
                    caller_name: "Jo Customer".into(),
                    joined_at: 0,
                },
                Waiting {
                    uniqueid: "b".into(),
                    position: 2,
                    caller_number: "+15550102".into(),
                    caller_name: String::new(),
                    joined_at: 25_000,
                },
            ],
            hold_secs: hold,
            talk_secs: 0,
            service_level_secs: 60,
            service_level_perf: 80.0,
            agents: vec![Agent {
                name: "Alan Turing".into(),
                interface: "PJSIP/1003".into(),
                state: AgentState::Paused {
                    reason: "Lunch".into(),
                },
                calls_taken: 3,
                last_call: 0,
            }],
            mine: Membership::LoggedIn,
            today: QueueTotals {
                answered: 4,
                abandoned: 1,
            },
        }
    }

    fn harness(
        view: CallCenterView,
    ) -> (
        Harness<'static, CallCenter>,
        std::sync::mpsc::Receiver<Command>,
    ) {
        let (commands, rx) = Commands::channel();
        let h = Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(1000.0, 800.0))
            .build_ui_state(
                move |ui, s: &mut CallCenter| {
                    s.ui(ui, Some(&view), None, chrono_tz::UTC, 30_000, &commands)
                },
                CallCenter::default(),
            );
        (h, rx)
    }

    #[test]
    fn a_tile_opens_into_callers_agents_and_history_and_overdue_waits_are_said() {
        let view = CallCenterView {
            link: Link::Live,
            tiles: vec![tile(20)],
        };
        let (mut h, rx) = harness(view);
        h.run();
        h.get_by_label_contains("2 waiting in Support");
        h.get_by_label("Longest wait 0:30");
        h.get_by_label("Agents: 0 available · 0 on a call · 1 paused · 0 logged out");
        h.get_by_label("Today: 4 answered · 1 abandoned");
        h.get_by_label("Open Support").click();
        h.run();
        assert!(
            matches!(rx.try_recv(), Ok(Command::LoadQueueHistory { queue, .. }) if queue == "support")
        );
        h.get_by_label("1. Jo Customer");
        h.get_by_label("waiting longer than the queue's average");
        h.get_by_label("2. +15550102");
        h.get_by_label("waiting 0:05");
        h.get_by_label("Paused: Lunch");
        h.get_by_label("Pause in Support").click();
        h.run();
        assert_eq!(
            rx.try_recv().unwrap(),
            Command::QueuePause {
                queue: "support".into(),
                reason: Some(String::new())
            }
        );
    }

    #[test]
    fn without_an_average_no_wait_is_overdue() {
        let view = CallCenterView {
            link: Link::Down {
                reason: "The queue service at 127.0.0.1:5038 closed the connection.".into(),
                retrying: true,
            },
            tiles: vec![tile(0)],
        };
        let (mut h, _rx) = harness(view);
        h.run();
        h.get_by_label_contains("closed the connection. Reconnecting…");
        h.get_by_label("Open Support").click();
        h.run();
        assert!(
            h.query_by_label("waiting longer than the queue's average")
                .is_none()
        );
    }
}
