//! The call-center queues as the manager interface reports them: a pure model fed by
//! [`ami::Event`]s (a full `QueueStatus` at connect, then live events), tested without a
//! network like `sipcore/src/subscription.rs`. The backend owns one [`CallCenter`], applies
//! each event, writes what [`record`] returns to the queue history, and sends the window
//! [`CallCenter::view`] when something changed.
//!
//! The queues shown are those the user is a member of, plus those named in Settings (queues
//! they may log in to); a queue they log out of keeps its tile.

use std::collections::BTreeMap;

use ami::{DeviceState, Event};
use storage::{NewQueueCall, QueueCallUpdate};
/// The queue history's records, as storage keeps them.
pub use storage::{QueueCall, QueueCallFilter, QueueOutcome, QueueTotals};

/// The connection to the manager interface, as the tiles say it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    Connecting,
    Live,
    /// Down, in words; `retrying` unless the login was refused.
    Down {
        reason: String,
        retrying: bool,
    },
}

/// A queue's name as the user reads it: "support" → "Support".
pub fn title(queue: &str) -> String {
    let mut c = queue.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Who a queue caller is, in words: the caller-id name, or the number when Asterisk has none
/// (it says `<unknown>`).
pub fn caller<'a>(name: &'a str, number: &'a str) -> &'a str {
    if name.is_empty() || name == "<unknown>" {
        number
    } else {
        name
    }
}

/// A caller waiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub uniqueid: String,
    pub position: u32,
    pub caller_number: String,
    pub caller_name: String,
    /// Unix milliseconds: the wait counts up from here.
    pub joined_at: i64,
}

impl Waiting {
    pub fn wait_secs(&self, now_ms: i64) -> u32 {
        ((now_ms - self.joined_at).max(0) / 1000) as u32
    }

    pub fn caller(&self) -> &str {
        caller(&self.caller_name, &self.caller_number)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentState {
    Available,
    Ringing,
    OnCall,
    Paused {
        reason: String,
    },
    /// Not reachable: the phone is not registered, or the member logged out of the device.
    Unavailable,
}

impl AgentState {
    pub fn label(&self) -> String {
        match self {
            AgentState::Available => "Available".into(),
            AgentState::Ringing => "Ringing".into(),
            AgentState::OnCall => "On a call".into(),
            AgentState::Paused { reason } if reason.is_empty() => "Paused".into(),
            AgentState::Paused { reason } => format!("Paused: {reason}"),
            AgentState::Unavailable => "Unavailable".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub name: String,
    pub interface: String,
    pub state: AgentState,
    pub calls_taken: u32,
    /// Unix seconds of the last call; 0 for none.
    pub last_call: i64,
}

impl Agent {
    /// `PJSIP/1003` → `1003`.
    pub fn extension(&self) -> &str {
        self.interface
            .rsplit_once('/')
            .map_or(&self.interface, |(_, e)| e)
    }
}

/// The user's own place in a queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Membership {
    LoggedOut,
    LoggedIn,
    Paused { reason: String },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentCounts {
    pub available: u32,
    pub on_call: u32,
    pub paused: u32,
    pub logged_out: u32,
}

/// One tile, with everything its expanded view shows.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueTile {
    /// The queue's name on the PBX (what actions name).
    pub queue: String,
    /// The number callers dial, when the dialplan says it.
    pub number: Option<String>,
    pub waiting: Vec<Waiting>,
    pub hold_secs: u32,
    pub talk_secs: u32,
    pub service_level_secs: u32,
    pub service_level_perf: f32,
    pub agents: Vec<Agent>,
    pub mine: Membership,
    /// Answered and abandoned since the start of the user's day, from the queue history.
    pub today: QueueTotals,
}

impl QueueTile {
    pub fn title(&self) -> String {
        title(&self.queue)
    }

    pub fn counts(&self) -> AgentCounts {
        let mut n = AgentCounts::default();
        for a in &self.agents {
            match a.state {
                AgentState::Available => n.available += 1,
                AgentState::Ringing | AgentState::OnCall => n.on_call += 1,
                AgentState::Paused { .. } => n.paused += 1,
                AgentState::Unavailable => n.logged_out += 1,
            }
        }
        n
    }

    pub fn longest_wait(&self, now_ms: i64) -> Option<u32> {
        self.waiting.iter().map(|w| w.wait_secs(now_ms)).max()
    }

    /// The red bubble: waited longer than the queue's average hold time or average talk
    /// time, as the server reports them (an average of 0 is not known yet).
    pub fn overdue(&self, w: &Waiting, now_ms: i64) -> bool {
        let wait = w.wait_secs(now_ms);
        [self.hold_secs, self.talk_secs]
            .iter()
            .any(|&avg| avg > 0 && wait > avg)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CallCenterView {
    pub link: Link,
    pub tiles: Vec<QueueTile>,
}

#[derive(Clone, Debug, Default)]
struct Queue {
    params: ami::QueueParams,
    members: Vec<ami::Member>,
    waiting: Vec<Waiting>,
}

/// How long a queue call that rang the user is matched to the call that arrives.
const RING_MATCH_MS: i64 = 60_000;

pub struct CallCenter {
    /// The user's own member interface, e.g. `PJSIP/1001`.
    me: String,
    listed: Vec<String>,
    link: Link,
    queues: BTreeMap<String, Queue>,
    /// Queue name → the number that reaches it, from the dialplan.
    numbers: BTreeMap<String, String>,
    /// Queues the user was a member of at some point while connected (a log-out keeps the
    /// tile).
    seen_mine: Vec<String>,
    /// Queue calls ringing the user: (caller number, queue, when).
    ringing_me: Vec<(String, String, i64)>,
}

impl CallCenter {
    /// `extension` is the user's; `listed` the queue names from Settings.
    pub fn new(extension: &str, listed: Vec<String>) -> Self {
        Self {
            me: format!("PJSIP/{extension}"),
            listed,
            link: Link::Connecting,
            queues: BTreeMap::new(),
            numbers: BTreeMap::new(),
            seen_mine: Vec::new(),
            ringing_me: Vec::new(),
        }
    }

    pub fn interface(&self) -> &str {
        &self.me
    }

    pub fn link(&self) -> &Link {
        &self.link
    }

    pub fn set_link(&mut self, link: Link) {
        self.link = link;
    }

    fn is_me(&self, interface: &str) -> bool {
        interface.eq_ignore_ascii_case(&self.me)
    }

    /// Whether the queue has a tile.
    pub fn shown(&self, queue: &str) -> bool {
        // Every member event passes through `apply`, which notes the user's own queues.
        self.listed
            .iter()
            .chain(&self.seen_mine)
            .any(|q| q == queue)
    }

    /// Applies one event; `now_ms` is when it arrived.
    pub fn apply(&mut self, e: &Event, now_ms: i64) {
        match e {
            Event::Params(p) => {
                // A queue's status lists its members and callers next, in full.
                let q = self.queues.entry(p.queue.clone()).or_default();
                q.params = p.clone();
                q.members.clear();
                q.waiting.clear();
            }
            Event::Member(m) => {
                if self.is_me(&m.interface) && !self.seen_mine.contains(&m.queue) {
                    self.seen_mine.push(m.queue.clone());
                }
                let q = self.queues.entry(m.queue.clone()).or_default();
                match q.members.iter_mut().find(|x| x.interface == m.interface) {
                    Some(x) => *x = m.clone(),
                    None => q.members.push(m.clone()),
                }
            }
            Event::MemberRemoved { queue, interface } => {
                if let Some(q) = self.queues.get_mut(queue) {
                    q.members.retain(|m| &m.interface != interface);
                }
            }
            Event::Waiting(entry) | Event::CallerJoin(entry) => {
                let wait_ms = i64::from(entry.wait_secs) * 1000;
                let q = self.queues.entry(entry.queue.clone()).or_default();
                q.waiting.retain(|w| w.uniqueid != entry.uniqueid);
                q.waiting.push(Waiting {
                    uniqueid: entry.uniqueid.clone(),
                    position: entry.position,
                    caller_number: entry.caller_number.clone(),
                    caller_name: entry.caller_name.clone(),
                    joined_at: now_ms - wait_ms,
                });
                q.waiting.sort_by_key(|w| w.position);
                q.params.calls = q.waiting.len() as u32;
            }
            Event::CallerLeave { queue, uniqueid } => {
                if let Some(q) = self.queues.get_mut(queue) {
                    q.waiting.retain(|w| &w.uniqueid != uniqueid);
                    for (i, w) in q.waiting.iter_mut().enumerate() {
                        w.position = i as u32 + 1;
                    }
                    q.params.calls = q.waiting.len() as u32;
                }
            }
            Event::AgentCalled {
                queue,
                interface,
                caller_number,
                ..
            } if self.is_me(interface) => {
                self.ringing_me
                    .retain(|(_, _, at)| now_ms - at < RING_MATCH_MS);
                self.ringing_me
                    .push((caller_number.clone(), queue.clone(), now_ms));
            }
            Event::QueueNumber { queue, number } => {
                self.numbers.insert(queue.clone(), number.clone());
            }
            _ => {}
        }
    }

    /// The queue a call from `caller_number` that rings the user now came through.
    pub fn queue_ringing_me(&self, caller_number: &str, now_ms: i64) -> Option<String> {
        self.ringing_me
            .iter()
            .rev()
            .find(|(n, _, at)| n == caller_number && now_ms - at < RING_MATCH_MS)
            .map(|(_, q, _)| q.clone())
    }

    /// Everyone waiting in any queue (to settle the history after a full status).
    pub fn waiting_ids(&self) -> Vec<String> {
        self.queues
            .values()
            .flat_map(|q| q.waiting.iter().map(|w| w.uniqueid.clone()))
            .collect()
    }

    /// The names of the queues with tiles, in order.
    pub fn shown_queues(&self) -> Vec<String> {
        let names: std::collections::BTreeSet<&String> =
            self.listed.iter().chain(&self.seen_mine).collect();
        names.into_iter().cloned().collect()
    }

    /// The tiles; `today` gives each queue's totals from the history.
    pub fn view(&self, today: impl Fn(&str) -> QueueTotals) -> CallCenterView {
        let empty = Queue::default();
        let tiles = self
            .shown_queues()
            .into_iter()
            .map(|name| {
                let q = self.queues.get(&name).unwrap_or(&empty);
                let mine = q.members.iter().find(|m| self.is_me(&m.interface)).map_or(
                    Membership::LoggedOut,
                    |m| {
                        if m.paused {
                            Membership::Paused {
                                reason: m.paused_reason.clone(),
                            }
                        } else {
                            Membership::LoggedIn
                        }
                    },
                );
                QueueTile {
                    number: self.numbers.get(&name).cloned(),
                    waiting: q.waiting.clone(),
                    hold_secs: q.params.hold_secs,
                    talk_secs: q.params.talk_secs,
                    service_level_secs: q.params.service_level_secs,
                    service_level_perf: q.params.service_level_perf,
                    agents: q.members.iter().map(agent).collect(),
                    mine,
                    today: today(&name),
                    queue: name,
                }
            })
            .collect();
        CallCenterView {
            link: self.link.clone(),
            tiles,
        }
    }
}

fn agent(m: &ami::Member) -> Agent {
    let state = match m.state {
        _ if m.paused => AgentState::Paused {
            reason: m.paused_reason.clone(),
        },
        DeviceState::Ringing | DeviceState::RingInUse => AgentState::Ringing,
        DeviceState::InUse | DeviceState::Busy | DeviceState::OnHold => AgentState::OnCall,
        _ if m.in_call => AgentState::OnCall,
        DeviceState::Unavailable | DeviceState::Invalid => AgentState::Unavailable,
        DeviceState::NotInUse | DeviceState::Unknown => AgentState::Available,
    };
    Agent {
        name: if m.name.is_empty() {
            m.interface.clone()
        } else {
            m.name.clone()
        },
        interface: m.interface.clone(),
        state,
        calls_taken: m.calls_taken,
        last_call: m.last_call,
    }
}

/// What an event changes in the queue history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Joined(NewQueueCall),
    Update {
        uniqueid: String,
        update: QueueCallUpdate,
    },
}

/// The history change `e` makes, if any (for a queue with a tile; the caller checks).
pub fn record(e: &Event, now_ms: i64) -> Option<Record> {
    let update = |uniqueid: &String, update| {
        Some(Record::Update {
            uniqueid: uniqueid.clone(),
            update,
        })
    };
    match e {
        Event::Waiting(w) | Event::CallerJoin(w) => Some(Record::Joined(NewQueueCall {
            queue: w.queue.clone(),
            uniqueid: w.uniqueid.clone(),
            caller_number: w.caller_number.clone(),
            caller_name: w.caller_name.clone(),
            joined_at: now_ms - i64::from(w.wait_secs) * 1000,
        })),
        Event::CallerAbandon {
            uniqueid,
            hold_secs,
            ..
        } => update(
            uniqueid,
            QueueCallUpdate::Abandoned {
                wait_secs: *hold_secs,
            },
        ),
        Event::AgentConnect {
            uniqueid,
            member_name,
            hold_secs,
            ..
        } => update(
            uniqueid,
            QueueCallUpdate::Answered {
                agent: member_name.clone(),
                wait_secs: *hold_secs,
            },
        ),
        Event::AgentComplete {
            uniqueid,
            talk_secs,
            ..
        } => update(
            uniqueid,
            QueueCallUpdate::Completed {
                talk_secs: *talk_secs,
            },
        ),
        Event::CallerLeave { uniqueid, .. } => update(uniqueid, QueueCallUpdate::Left),
        _ => None,
    }
}

/// The queue an event is about.
pub fn queue_of(e: &Event) -> Option<&str> {
    Some(match e {
        Event::Params(p) => &p.queue,
        Event::Member(m) => &m.queue,
        Event::Waiting(w) | Event::CallerJoin(w) => &w.queue,
        Event::MemberRemoved { queue, .. }
        | Event::CallerLeave { queue, .. }
        | Event::CallerAbandon { queue, .. }
        | Event::AgentCalled { queue, .. }
        | Event::AgentConnect { queue, .. }
        | Event::AgentComplete { queue, .. } => queue,
        Event::StatusComplete | Event::QueueNumber { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ami::{Entry, Member, QueueParams};

    fn params(queue: &str, hold: u32, talk: u32) -> Event {
        Event::Params(QueueParams {
            queue: queue.into(),
            hold_secs: hold,
            talk_secs: talk,
            ..Default::default()
        })
    }

    fn member(queue: &str, interface: &str, state: DeviceState, paused: bool) -> Event {
        Event::Member(Member {
            queue: queue.into(),
            name: format!("Agent {interface}"),
            interface: interface.into(),
            state,
            paused,
            paused_reason: if paused {
                "Lunch".into()
            } else {
                String::new()
            },
            ..Default::default()
        })
    }

    fn join(queue: &str, id: &str, position: u32, wait: u32) -> Event {
        Event::CallerJoin(Entry {
            queue: queue.into(),
            uniqueid: id.into(),
            position,
            caller_number: format!("+1555{position}"),
            caller_name: String::new(),
            wait_secs: wait,
        })
    }

    #[test]
    fn a_status_then_events_make_the_tiles() {
        let mut cc = CallCenter::new("1001", vec!["sales".into()]);
        cc.apply(
            &Event::QueueNumber {
                queue: "support".into(),
                number: "600".into(),
            },
            0,
        );
        for e in [
            params("support", 20, 90),
            member("support", "PJSIP/1001", DeviceState::NotInUse, false),
            member("support", "PJSIP/1003", DeviceState::InUse, false),
            member("support", "PJSIP/1004", DeviceState::NotInUse, true),
            member("support", "PJSIP/1005", DeviceState::Unavailable, false),
            params("other", 0, 0),
            member("other", "PJSIP/1009", DeviceState::NotInUse, false),
        ] {
            cc.apply(&e, 0);
        }
        cc.apply(&join("support", "a", 1, 30), 100_000);
        cc.apply(&join("support", "b", 2, 0), 110_000);
        let v = cc.view(|_| QueueTotals::default());
        let names: Vec<_> = v.tiles.iter().map(|t| t.queue.as_str()).collect();
        assert_eq!(names, ["sales", "support"], "mine and listed, not others");
        let t = &v.tiles[1];
        assert_eq!(
            (t.title().as_str(), t.number.as_deref()),
            ("Support", Some("600"))
        );
        assert_eq!(t.mine, Membership::LoggedIn);
        assert_eq!(
            t.counts(),
            AgentCounts {
                available: 1,
                on_call: 1,
                paused: 1,
                logged_out: 1
            }
        );
        assert_eq!(t.agents[2].state.label(), "Paused: Lunch");
        assert_eq!(t.agents[2].extension(), "1004");
        assert_eq!(t.longest_wait(120_000), Some(50));
        assert_eq!(v.tiles[0].mine, Membership::LoggedOut);

        // The first caller is answered and leaves; the other moves up.
        cc.apply(
            &Event::CallerLeave {
                queue: "support".into(),
                uniqueid: "a".into(),
            },
            121_000,
        );
        let v = cc.view(|_| QueueTotals::default());
        assert_eq!(v.tiles[1].waiting.len(), 1);
        assert_eq!(v.tiles[1].waiting[0].position, 1);
        assert_eq!(cc.waiting_ids(), ["b"]);
    }

    #[test]
    fn logging_out_keeps_the_tile_and_a_new_status_replaces_the_old() {
        let mut cc = CallCenter::new("1001", vec![]);
        cc.apply(&params("support", 0, 0), 0);
        cc.apply(
            &member("support", "PJSIP/1001", DeviceState::NotInUse, false),
            0,
        );
        cc.apply(&join("support", "gone", 1, 0), 0);
        cc.apply(
            &Event::MemberRemoved {
                queue: "support".into(),
                interface: "PJSIP/1001".into(),
            },
            0,
        );
        let v = cc.view(|_| QueueTotals::default());
        assert_eq!(v.tiles.len(), 1);
        assert_eq!(v.tiles[0].mine, Membership::LoggedOut);
        // After a reconnect the queue is listed afresh: the caller who left meanwhile is gone.
        cc.apply(&params("support", 0, 0), 5_000);
        assert!(
            cc.view(|_| QueueTotals::default()).tiles[0]
                .waiting
                .is_empty()
        );
    }

    #[test]
    fn the_red_bubble_comes_after_the_average_hold_or_talk_time_not_before() {
        let mut cc = CallCenter::new("1001", vec!["support".into()]);
        cc.apply(&params("support", 0, 0), 0);
        cc.apply(&join("support", "a", 1, 0), 0);
        let t = &cc.view(|_| QueueTotals::default()).tiles[0];
        assert!(!t.overdue(&t.waiting[0], 600_000), "no average known yet");
        cc.apply(&params("support", 10, 60), 0);
        cc.apply(&join("support", "a", 1, 0), 0);
        let t = &cc.view(|_| QueueTotals::default()).tiles[0];
        assert!(!t.overdue(&t.waiting[0], 10_000));
        assert!(t.overdue(&t.waiting[0], 11_000));
    }

    #[test]
    fn a_queue_call_ringing_the_user_is_matched_by_caller_for_a_minute() {
        let mut cc = CallCenter::new("1001", vec![]);
        let called = |interface: &str| Event::AgentCalled {
            queue: "support".into(),
            interface: interface.into(),
            member_name: String::new(),
            uniqueid: "a".into(),
            caller_number: "+15550100".into(),
            caller_name: String::new(),
        };
        cc.apply(&called("PJSIP/1003"), 0);
        assert_eq!(
            cc.queue_ringing_me("+15550100", 0),
            None,
            "rang someone else"
        );
        cc.apply(&called("PJSIP/1001"), 1_000);
        assert_eq!(
            cc.queue_ringing_me("+15550100", 2_000).as_deref(),
            Some("support")
        );
        assert_eq!(cc.queue_ringing_me("+15550199", 2_000), None);
        assert_eq!(cc.queue_ringing_me("+15550100", 70_000), None);
    }

    #[test]
    fn events_map_to_history_changes() {
        assert_eq!(
            record(&join("support", "a", 1, 3), 10_000),
            Some(Record::Joined(NewQueueCall {
                queue: "support".into(),
                uniqueid: "a".into(),
                caller_number: "+15551".into(),
                caller_name: String::new(),
                joined_at: 7_000,
            }))
        );
        let connect = Event::AgentConnect {
            queue: "support".into(),
            interface: "PJSIP/1003".into(),
            member_name: "Alan Turing".into(),
            uniqueid: "a".into(),
            hold_secs: 12,
        };
        assert_eq!(
            record(&connect, 0),
            Some(Record::Update {
                uniqueid: "a".into(),
                update: QueueCallUpdate::Answered {
                    agent: "Alan Turing".into(),
                    wait_secs: 12
                }
            })
        );
        assert_eq!(record(&params("support", 1, 1), 0), None);
    }
}
