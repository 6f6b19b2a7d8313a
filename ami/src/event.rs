//! The queue events the client reads, typed. Asterisk 16 names some fields differently in the
//! `QueueStatus` list and in live events (`Name`/`Location` against `MemberName`/`Interface`,
//! `PausedReason` against `Reason`); both spellings are read. Anything else is `None`: an
//! unknown or malformed event is skipped, never an error.

use crate::frame::Message;

/// A queue's figures as the server computes them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueParams {
    pub queue: String,
    pub strategy: String,
    /// Callers waiting now.
    pub calls: u32,
    /// Average seconds a caller waits before an agent answers (the server's moving average).
    pub hold_secs: u32,
    /// Average seconds an answered call lasts.
    pub talk_secs: u32,
    pub completed: u32,
    pub abandoned: u32,
    /// Seconds within which a call counts as answered in time.
    pub service_level_secs: u32,
    /// Percent of completed calls answered within the service level.
    pub service_level_perf: f32,
}

/// What a member's device is doing (Asterisk's device state numbers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceState {
    #[default]
    Unknown,
    NotInUse,
    InUse,
    Busy,
    Invalid,
    Unavailable,
    Ringing,
    RingInUse,
    OnHold,
}

impl DeviceState {
    fn from_code(code: &str) -> Self {
        match code.trim() {
            "1" => Self::NotInUse,
            "2" => Self::InUse,
            "3" => Self::Busy,
            "4" => Self::Invalid,
            "5" => Self::Unavailable,
            "6" => Self::Ringing,
            "7" => Self::RingInUse,
            "8" => Self::OnHold,
            _ => Self::Unknown,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Member {
    pub queue: String,
    pub name: String,
    /// The member's channel, e.g. `PJSIP/1003`.
    pub interface: String,
    /// Added by the dialplan or configuration (`static`) or by an agent logging in (`dynamic`).
    pub dynamic: bool,
    pub calls_taken: u32,
    /// Unix seconds of the last call taken; 0 for none.
    pub last_call: i64,
    pub in_call: bool,
    pub state: DeviceState,
    pub paused: bool,
    pub paused_reason: String,
}

/// A caller waiting in a queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub queue: String,
    pub uniqueid: String,
    pub position: u32,
    pub caller_number: String,
    pub caller_name: String,
    /// Seconds waited so far (0 for a caller who just joined).
    pub wait_secs: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// From `QueueStatus`: a queue's figures; its members and callers follow.
    Params(QueueParams),
    /// From `QueueStatus`, or a member added, changed or paused.
    Member(Member),
    MemberRemoved {
        queue: String,
        interface: String,
    },
    /// From `QueueStatus`: a caller already waiting.
    Waiting(Entry),
    CallerJoin(Entry),
    /// The caller left the queue: answered, abandoned, timed out or sent on by the dialplan.
    CallerLeave {
        queue: String,
        uniqueid: String,
    },
    CallerAbandon {
        queue: String,
        uniqueid: String,
        hold_secs: u32,
    },
    /// A member's phone is rung for a waiting caller.
    AgentCalled {
        queue: String,
        interface: String,
        member_name: String,
        uniqueid: String,
        caller_number: String,
        caller_name: String,
    },
    AgentConnect {
        queue: String,
        interface: String,
        member_name: String,
        uniqueid: String,
        hold_secs: u32,
    },
    AgentComplete {
        queue: String,
        interface: String,
        member_name: String,
        uniqueid: String,
        hold_secs: u32,
        talk_secs: u32,
    },
    /// The end of a `QueueStatus` list.
    StatusComplete,
    /// From `ShowDialPlan`: dialling `number` reaches `queue`.
    QueueNumber {
        queue: String,
        number: String,
    },
}

impl Event {
    /// The typed event in `m`, or `None` for an event the client does not use or cannot read.
    pub fn parse(m: &Message) -> Option<Event> {
        let s = |k: &str| m.get(k).unwrap_or("").to_string();
        let either = |a: &str, b: &str| m.get(a).or_else(|| m.get(b)).unwrap_or("").to_string();
        let n = |k: &str| {
            m.get(k)
                .and_then(|v| v.trim().parse::<u32>().ok())
                .unwrap_or(0)
        };
        let queue = m.get("Queue").filter(|q| !q.is_empty()).map(str::to_string);
        let member = |queue: String| Member {
            queue,
            name: either("MemberName", "Name"),
            interface: either("Interface", "Location"),
            dynamic: m
                .get("Membership")
                .is_some_and(|v| v.eq_ignore_ascii_case("dynamic")),
            calls_taken: n("CallsTaken"),
            last_call: m
                .get("LastCall")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
            in_call: m.get("InCall").is_some_and(|v| v.trim() == "1"),
            state: DeviceState::from_code(m.get("Status").unwrap_or("")),
            paused: m.get("Paused").is_some_and(|v| v.trim() == "1"),
            paused_reason: either("PausedReason", "Reason"),
        };
        let entry = |queue: String| Entry {
            queue,
            uniqueid: s("Uniqueid"),
            position: n("Position"),
            caller_number: s("CallerIDNum"),
            caller_name: s("CallerIDName"),
            wait_secs: n("Wait"),
        };
        let event = match m.event()? {
            "QueueStatusComplete" => return Some(Event::StatusComplete),
            "ListDialplan" => return queue_number(m),
            e => e,
        };
        let queue = queue?;
        let with_caller = m.get("Uniqueid").is_some_and(|u| !u.is_empty());
        Some(match event {
            "QueueParams" => Event::Params(QueueParams {
                queue,
                strategy: s("Strategy"),
                calls: n("Calls"),
                hold_secs: n("Holdtime"),
                talk_secs: n("TalkTime"),
                completed: n("Completed"),
                abandoned: n("Abandoned"),
                service_level_secs: n("ServiceLevel"),
                service_level_perf: m
                    .get("ServicelevelPerf")
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0.0),
            }),
            "QueueMember" | "QueueMemberAdded" | "QueueMemberStatus" | "QueueMemberPause"
            | "QueueMemberPaused" => {
                let member = member(queue);
                if member.interface.is_empty() {
                    return None;
                }
                Event::Member(member)
            }
            "QueueMemberRemoved" => Event::MemberRemoved {
                queue,
                interface: either("Interface", "Location"),
            },
            "QueueEntry" if with_caller => Event::Waiting(entry(queue)),
            "QueueCallerJoin" if with_caller => Event::CallerJoin(entry(queue)),
            "QueueCallerLeave" if with_caller => Event::CallerLeave {
                queue,
                uniqueid: s("Uniqueid"),
            },
            "QueueCallerAbandon" if with_caller => Event::CallerAbandon {
                queue,
                uniqueid: s("Uniqueid"),
                hold_secs: n("HoldTime"),
            },
            "AgentCalled" if with_caller => Event::AgentCalled {
                queue,
                interface: s("Interface"),
                member_name: s("MemberName"),
                uniqueid: s("Uniqueid"),
                caller_number: s("CallerIDNum"),
                caller_name: s("CallerIDName"),
            },
            "AgentConnect" if with_caller => Event::AgentConnect {
                queue,
                interface: s("Interface"),
                member_name: s("MemberName"),
                uniqueid: s("Uniqueid"),
                hold_secs: n("HoldTime"),
            },
            "AgentComplete" if with_caller => Event::AgentComplete {
                queue,
                interface: s("Interface"),
                member_name: s("MemberName"),
                uniqueid: s("Uniqueid"),
                hold_secs: n("HoldTime"),
                talk_secs: n("TalkTime"),
            },
            _ => return None,
        })
    }
}

/// A dialplan line that runs `Queue(name,…)` on a plain number: that number reaches the queue.
/// Patterns and names built from variables say nothing about one queue, and are skipped.
fn queue_number(m: &Message) -> Option<Event> {
    if !m.get("Application")?.eq_ignore_ascii_case("Queue") {
        return None;
    }
    let number = m.get("Extension")?;
    let queue = m.get("AppData")?.split([',', '|']).next()?.trim();
    let plain = |s: &str| !s.is_empty() && !s.contains(['$', '_', '[', '{']);
    (plain(number) && plain(queue)).then(|| Event::QueueNumber {
        queue: queue.to_string(),
        number: number.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_list_and_live_events_read_the_same_member() {
        let listed = Message::new(&[
            ("Event", "QueueMember"),
            ("Queue", "600"),
            ("Name", "Alan Turing"),
            ("Location", "PJSIP/1003"),
            ("Membership", "static"),
            ("CallsTaken", "4"),
            ("Status", "6"),
            ("Paused", "1"),
            ("PausedReason", "Lunch"),
        ]);
        let live = Message::new(&[
            ("Event", "QueueMemberPause"),
            ("Queue", "600"),
            ("MemberName", "Alan Turing"),
            ("Interface", "PJSIP/1003"),
            ("Membership", "static"),
            ("CallsTaken", "4"),
            ("Status", "6"),
            ("Paused", "1"),
            ("Reason", "Lunch"),
        ]);
        let a = Event::parse(&listed).unwrap();
        assert_eq!(a, Event::parse(&live).unwrap());
        let Event::Member(m) = a else { panic!() };
        assert_eq!(m.state, DeviceState::Ringing);
        assert!(m.paused && !m.dynamic);
        assert_eq!(m.paused_reason, "Lunch");
    }

    #[test]
    fn the_dialplan_tells_which_number_reaches_a_queue() {
        let line = |exten: &str, app: &str, data: &str| {
            Event::parse(&Message::new(&[
                ("Event", "ListDialplan"),
                ("Context", "switchboard-users"),
                ("Extension", exten),
                ("Priority", "2"),
                ("Application", app),
                ("AppData", data),
            ]))
        };
        assert_eq!(
            line("600", "Queue", "support,,,,300"),
            Some(Event::QueueNumber {
                queue: "support".into(),
                number: "600".into()
            })
        );
        assert_eq!(line("_65X", "Queue", "test${EXTEN},,,,300"), None);
        assert_eq!(line("600", "Answer", ""), None);
    }

    #[test]
    fn unknown_and_incomplete_events_are_none() {
        for m in [
            Message::new(&[("Event", "Newchannel"), ("Channel", "PJSIP/1-1")]),
            Message::new(&[("Event", "QueueCallerJoin"), ("Queue", "600")]),
            Message::new(&[("Event", "QueueMember"), ("Name", "x")]),
            Message::new(&[("Response", "Success")]),
            Message::new(&[
                ("Event", "AgentConnect"),
                ("Queue", ""),
                ("Uniqueid", "1.1"),
            ]),
        ] {
            assert_eq!(Event::parse(&m), None, "{m:?}");
        }
        let odd_numbers = Message::new(&[
            ("Event", "QueueParams"),
            ("Queue", "600"),
            ("Holdtime", "-3"),
            ("TalkTime", "many"),
        ]);
        let Some(Event::Params(p)) = Event::parse(&odd_numbers) else {
            panic!()
        };
        assert_eq!((p.hold_secs, p.talk_secs), (0, 0));
    }
}
