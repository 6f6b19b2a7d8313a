//! The call-center tiles: the manager-interface client, started when the settings name a
//! manager account and restarted when they change; its reports arrive on the backend's inbox
//! like the SIP engine's, feed the [`CallCenter`] model and the queue history, and go to the
//! window as one [`crate::call_center::CallCenterView`].

use storage::QueueCallFilter;

use super::{Backend, Input, now_ms};
use crate::call_center::{self, CallCenter, Link};
use crate::command::Command;
use crate::event::Event;

/// The running client and what it has told.
pub(super) struct Queues {
    pub(super) client: ami::Client,
    model: CallCenter,
    config: ami::Config,
}

impl Backend {
    /// Starts (or restarts, or stops) the client for the current settings.
    pub(super) fn start_call_center(&mut self) {
        let inbox = self.inbox.clone();
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        let cc = &s.settings.call_center;
        if !cc.configured() {
            s.queues = None;
            return self.emit(Event::CallCenter(None));
        }
        // `tls://host:port` asks for TLS, checked against the same anchors as the account's
        // SIP over TLS (the system's, and the company CA picked at sign-in).
        let address = cc.manager_address.trim();
        let (addr, tls) = match address.strip_prefix("tls://") {
            Some(rest) => match sipcore::TrustAnchors::load(s.account.trusted_ca.as_deref()) {
                Ok(anchors) => (rest, Some(anchors.client_config())),
                Err(e) => {
                    let why = format!("The queue service's certificate cannot be checked: {e}");
                    s.queues = None;
                    return self.notice(why);
                }
            },
            None => (address.strip_prefix("tcp://").unwrap_or(address), None),
        };
        let config = ami::Config {
            addr: addr.to_string(),
            user: cc.manager_user.trim().to_string(),
            secret: cc.manager_secret.clone(),
            tls,
        };
        let model = CallCenter::new(&s.account.username, cc.queue_names());
        if let Some(q) = &mut s.queues
            && q.config == config
        {
            // Only the listed queues changed: keep the connection, and list the queues afresh.
            let link = q.model.link().clone();
            q.model = model;
            q.model.set_link(link);
            q.client.send(ami::Action::ShowDialPlan);
            q.client.send(ami::Action::QueueStatus { queue: None });
            return self.send_call_center();
        }
        s.queues = None; // the old client logs off as it drops
        match ami::Client::start(config.clone(), move |r| {
            let _ = inbox.send(Input::Ami(r));
        }) {
            Ok(client) => {
                s.queues = Some(Queues {
                    client,
                    model,
                    config,
                })
            }
            Err(e) => return self.notice(format!("The queue service could not start: {e}")),
        }
        self.send_call_center();
    }

    pub(super) fn ami_report(&mut self, report: ami::Report) {
        let now = now_ms();
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        let Some(q) = s.queues.as_mut() else { return };
        match report {
            ami::Report::Connected => {
                q.model.set_link(Link::Live);
                self.push_routing();
            }
            ami::Report::Down { error, retry_in } => q.model.set_link(Link::Down {
                reason: error.to_string(),
                retrying: retry_in.is_some(),
            }),
            ami::Report::Reply { action, result } => {
                if let Err(why) = result {
                    let what = match &action {
                        ami::Action::QueueAdd { queue, .. } => format!("log in to {queue}"),
                        ami::Action::QueueRemove { queue, .. } => format!("log out of {queue}"),
                        ami::Action::QueuePause { queue, paused, .. } => {
                            format!("{} in {queue}", if *paused { "pause" } else { "resume" })
                        }
                        ami::Action::QueueStatus { .. } | ami::Action::ShowDialPlan => {
                            "read the queues".into()
                        }
                        ami::Action::DbPut { .. } => {
                            "save your call routing on the phone system".into()
                        }
                    };
                    self.notice(format!("Could not {what}: {why}"));
                }
                return;
            }
            ami::Report::Event(e) => {
                q.model.apply(&e, now);
                let queue = call_center::queue_of(&e);
                let shown = queue.is_some_and(|name| q.model.shown(name));
                if shown && let Some(record) = call_center::record(&e, now) {
                    let saved = match record {
                        call_center::Record::Joined(c) => s.store.queue_call_joined(&c),
                        call_center::Record::Update { uniqueid, update } => {
                            s.store.update_queue_call(&uniqueid, &update).map(|_| ())
                        }
                    };
                    if let Err(e) = saved {
                        tracing::warn!(error = %e, "queue history not saved");
                    }
                }
                match &e {
                    // The server's averages change with each answered or abandoned call;
                    // only a status tells them.
                    ami::Event::AgentConnect { queue, .. }
                    | ami::Event::AgentComplete { queue, .. }
                    | ami::Event::CallerAbandon { queue, .. }
                        if shown =>
                    {
                        q.client.send(ami::Action::QueueStatus {
                            queue: Some(queue.clone()),
                        })
                    }
                    ami::Event::StatusComplete => {
                        let waiting = q.model.waiting_ids();
                        if let Err(e) = s.store.settle_queue_calls(&waiting) {
                            tracing::warn!(error = %e, "queue history not settled");
                        }
                    }
                    ami::Event::AgentCalled { caller_number, .. } => {
                        let caller_number = caller_number.clone();
                        self.tag_queue_call(&caller_number);
                    }
                    _ => {}
                }
                // A busy PBX tells of every queue; only those with tiles are shown again.
                if queue.is_some() && !shown {
                    return;
                }
                if matches!(
                    e,
                    ami::Event::CallerJoin(_)
                        | ami::Event::CallerAbandon { .. }
                        | ami::Event::AgentConnect { .. }
                        | ami::Event::AgentComplete { .. }
                        | ami::Event::StatusComplete
                ) {
                    self.send_queue_history();
                }
            }
        }
        self.send_call_center();
    }

    /// The queue that rang the user with a call from this number, if any.
    pub(super) fn queue_ringing_me(&self, caller_number: &str) -> Option<String> {
        let q = self.session.engines()?.queues.as_ref()?;
        q.model.queue_ringing_me(caller_number, now_ms())
    }

    pub(super) fn call_center_command(&mut self, c: Command) {
        let Some(q) = self.session.engines().and_then(|s| s.queues.as_ref()) else {
            return;
        };
        let interface = q.model.interface().to_string();
        let action = match c {
            Command::QueueLogIn(queue) => ami::Action::QueueAdd {
                queue,
                interface,
                member_name: self.my_name(),
            },
            Command::QueueLogOut(queue) => ami::Action::QueueRemove { queue, interface },
            Command::QueuePause { queue, reason } => ami::Action::QueuePause {
                queue,
                interface,
                paused: reason.is_some(),
                reason: reason.unwrap_or_default(),
            },
            Command::LoadQueueHistory { queue, filter } => {
                self.queue_history_query = Some((queue, filter));
                return self.send_queue_history();
            }
            _ => return,
        };
        q.client.send(action);
    }

    /// The user's name as the profile shows it, for the queue's member list.
    fn my_name(&self) -> String {
        self.session
            .engines()
            .map(|s| {
                super::session::profile_facts(&s.account, &super::session::account_record(s)).name
            })
            .unwrap_or_default()
    }

    pub(super) fn send_call_center(&self) {
        let Some(s) = self.session.engines() else {
            return;
        };
        let Some(q) = &s.queues else { return };
        let since = start_of_day(&s.settings.time_zone);
        let view = q
            .model
            .view(|name| s.store.queue_totals(name, since).unwrap_or_default());
        self.emit(Event::CallCenter(Some(Box::new(view))));
    }

    pub(super) fn send_queue_history(&self) {
        let Some(s) = self.session.engines() else {
            return;
        };
        let Some((queue, filter)) = &self.queue_history_query else {
            return;
        };
        match s.store.queue_calls(queue, *filter, 200) {
            Ok(calls) => self.emit(Event::QueueHistory {
                queue: queue.clone(),
                filter: *filter,
                calls,
            }),
            Err(e) => self.notice(format!("The queue history could not be read: {e}")),
        }
    }
}

/// Unix milliseconds of the last midnight in the user's time zone.
fn start_of_day(time_zone: &str) -> i64 {
    use chrono::{TimeZone, Utc};
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let local = Utc::now().with_timezone(&tz);
    let midnight = local.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&midnight)
        .earliest()
        .map_or(0, |t| t.timestamp_millis())
}

/// The queue history the window has open, and its filter; `None` until it opens one. Kept so
/// that a new event in that queue sends the history again.
pub(super) type HistoryQuery = Option<(String, QueueCallFilter)>;

#[cfg(test)]
mod tests {
    #[test]
    fn the_day_starts_at_local_midnight() {
        let utc = super::start_of_day("UTC");
        assert_eq!(utc % 86_400_000, 0);
        let paris = super::start_of_day("Europe/Paris");
        let hours = (utc - paris).rem_euclid(86_400_000) / 3_600_000;
        assert!(
            hours == 1 || hours == 2 || hours == 23 || hours == 22,
            "{hours}"
        );
    }
}
