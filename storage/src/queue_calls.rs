//! The call-center queue history: one row per caller who joined a queue the user watches,
//! from joining to its outcome, so that answered and abandoned calls and the day's totals
//! survive a restart of the app. Rows are keyed by the PBX's channel id, so a repeated event
//! (after a reconnect) updates the row instead of adding one.

use rusqlite::Row;

use crate::{Result, Store};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueOutcome {
    Waiting,
    Answered,
    Abandoned,
    /// Left without an agent and without hanging up: timed out, or the PBX restarted while
    /// the app was away.
    Left,
}

impl QueueOutcome {
    fn parse(s: &str) -> Self {
        match s {
            "waiting" => QueueOutcome::Waiting,
            "answered" => QueueOutcome::Answered,
            "abandoned" => QueueOutcome::Abandoned,
            _ => QueueOutcome::Left,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum QueueCallFilter {
    #[default]
    All,
    Answered,
    Abandoned,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewQueueCall {
    pub queue: String,
    pub uniqueid: String,
    pub caller_number: String,
    pub caller_name: String,
    /// Unix milliseconds.
    pub joined_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueCall {
    pub id: i64,
    pub call: NewQueueCall,
    pub outcome: QueueOutcome,
    /// Who answered.
    pub agent: Option<String>,
    /// Seconds from joining to being answered or hanging up.
    pub wait_secs: Option<u32>,
    pub talk_secs: Option<u32>,
}

/// What became of a caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueCallUpdate {
    Answered {
        agent: String,
        wait_secs: u32,
    },
    Abandoned {
        wait_secs: u32,
    },
    /// The answered call ended.
    Completed {
        talk_secs: u32,
    },
    /// Left the queue; kept only when nothing better is known, since the PBX tells of the
    /// answer or the hang-up in either order around it.
    Left,
}

/// Calls answered and abandoned since a moment (the start of the user's day).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueTotals {
    pub answered: u32,
    pub abandoned: u32,
}

const COLUMNS: &str = "id, queue, uniqueid, caller_number, caller_name, joined_at, outcome, agent, wait_secs, talk_secs";

fn from_row(r: &Row) -> rusqlite::Result<QueueCall> {
    let outcome: String = r.get(6)?;
    Ok(QueueCall {
        id: r.get(0)?,
        call: NewQueueCall {
            queue: r.get(1)?,
            uniqueid: r.get(2)?,
            caller_number: r.get(3)?,
            caller_name: r.get(4)?,
            joined_at: r.get(5)?,
        },
        outcome: QueueOutcome::parse(&outcome),
        agent: r.get(7)?,
        wait_secs: r.get(8)?,
        talk_secs: r.get(9)?,
    })
}

impl Store {
    /// Records a caller who joined; a caller already recorded is left as it is.
    pub fn queue_call_joined(&mut self, c: &NewQueueCall) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO queue_call(queue, uniqueid, caller_number, caller_name, joined_at, outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'waiting')",
            )?
            .execute((&c.queue, &c.uniqueid, &c.caller_number, &c.caller_name, c.joined_at))?;
        Ok(())
    }

    /// Applies what became of the caller with `uniqueid`; `false` when no such caller is
    /// recorded (one who joined while the app was away and was never listed).
    pub fn update_queue_call(&mut self, uniqueid: &str, update: &QueueCallUpdate) -> Result<bool> {
        let mut stmt;
        let n = match update {
            QueueCallUpdate::Answered { agent, wait_secs } => {
                stmt = self.conn.prepare_cached(
                    "UPDATE queue_call SET outcome = 'answered', agent = ?2, wait_secs = ?3 WHERE uniqueid = ?1",
                )?;
                stmt.execute((uniqueid, agent, wait_secs))?
            }
            QueueCallUpdate::Abandoned { wait_secs } => {
                stmt = self.conn.prepare_cached(
                    "UPDATE queue_call SET outcome = 'abandoned', wait_secs = ?2 WHERE uniqueid = ?1",
                )?;
                stmt.execute((uniqueid, wait_secs))?
            }
            QueueCallUpdate::Completed { talk_secs } => {
                stmt = self
                    .conn
                    .prepare_cached("UPDATE queue_call SET talk_secs = ?2 WHERE uniqueid = ?1")?;
                stmt.execute((uniqueid, talk_secs))?
            }
            QueueCallUpdate::Left => {
                stmt = self.conn.prepare_cached(
                    "UPDATE queue_call SET outcome = 'left' WHERE uniqueid = ?1 AND outcome = 'waiting'",
                )?;
                stmt.execute([uniqueid])?;
                1
            }
        };
        Ok(n > 0)
    }

    /// After the PBX listed everyone waiting: callers recorded as waiting but not listed left
    /// while the app could not see them.
    pub fn settle_queue_calls(&mut self, still_waiting: &[String]) -> Result<()> {
        let tx = self.conn.transaction()?;
        let waiting: Vec<String> = tx
            .prepare("SELECT uniqueid FROM queue_call WHERE outcome = 'waiting'")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in waiting.iter().filter(|id| !still_waiting.contains(id)) {
            tx.execute(
                "UPDATE queue_call SET outcome = 'left' WHERE uniqueid = ?1",
                [id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A queue's calls, newest first.
    pub fn queue_calls(
        &self,
        queue: &str,
        filter: QueueCallFilter,
        limit: u32,
    ) -> Result<Vec<QueueCall>> {
        let outcome = match filter {
            QueueCallFilter::All => None,
            QueueCallFilter::Answered => Some("answered"),
            QueueCallFilter::Abandoned => Some("abandoned"),
        };
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM queue_call
                 WHERE queue = ?1 AND (?2 IS NULL OR outcome = ?2)
                 ORDER BY joined_at DESC, id DESC LIMIT ?3"
            ))?
            .query_map((queue, outcome, limit), from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    pub fn queue_totals(&self, queue: &str, since: i64) -> Result<QueueTotals> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*) FILTER (WHERE outcome = 'answered'),
                        count(*) FILTER (WHERE outcome = 'abandoned')
                 FROM queue_call WHERE queue = ?1 AND joined_at >= ?2",
            )?
            .query_row((queue, since), |r| {
                Ok(QueueTotals {
                    answered: r.get(0)?,
                    abandoned: r.get(1)?,
                })
            })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(s: &mut Store, id: &str, at: i64) {
        s.queue_call_joined(&NewQueueCall {
            queue: "support".into(),
            uniqueid: id.into(),
            caller_number: format!("+1555{at}"),
            caller_name: String::new(),
            joined_at: at,
        })
        .unwrap();
    }

    #[test]
    fn a_caller_goes_from_waiting_to_its_outcome_whatever_order_the_pbx_tells_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        joined(&mut s, "1.1", 100);
        joined(&mut s, "1.2", 200);
        joined(&mut s, "1.3", 300);
        joined(&mut s, "1.1", 999); // told again after a reconnect: one row
        // 1.1: leaves, then is answered (the PBX's order), then talks for 40 s.
        s.update_queue_call("1.1", &QueueCallUpdate::Left).unwrap();
        let answered = QueueCallUpdate::Answered {
            agent: "Alan Turing".into(),
            wait_secs: 9,
        };
        assert!(s.update_queue_call("1.1", &answered).unwrap());
        s.update_queue_call("1.1", &QueueCallUpdate::Completed { talk_secs: 40 })
            .unwrap();
        // 1.2: hangs up, then leaves: still abandoned.
        s.update_queue_call("1.2", &QueueCallUpdate::Abandoned { wait_secs: 5 })
            .unwrap();
        s.update_queue_call("1.2", &QueueCallUpdate::Left).unwrap();
        assert!(!s.update_queue_call("9.9", &answered).unwrap());

        let all = s.queue_calls("support", QueueCallFilter::All, 10).unwrap();
        assert_eq!(
            all.iter()
                .map(|c| c.call.uniqueid.as_str())
                .collect::<Vec<_>>(),
            ["1.3", "1.2", "1.1"]
        );
        assert_eq!(all[2].call.joined_at, 100);
        assert_eq!(all[2].outcome, QueueOutcome::Answered);
        assert_eq!(all[2].agent.as_deref(), Some("Alan Turing"));
        assert_eq!((all[2].wait_secs, all[2].talk_secs), (Some(9), Some(40)));
        assert_eq!(all[1].outcome, QueueOutcome::Abandoned);
        assert_eq!(all[0].outcome, QueueOutcome::Waiting);
        let abandoned = s
            .queue_calls("support", QueueCallFilter::Abandoned, 10)
            .unwrap();
        assert_eq!(abandoned.len(), 1);
        assert!(
            s.queue_calls("sales", QueueCallFilter::All, 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.queue_totals("support", 150).unwrap(),
            QueueTotals {
                answered: 0,
                abandoned: 1
            }
        );
        assert_eq!(s.queue_totals("support", 0).unwrap().answered, 1);

        s.settle_queue_calls(&[]).unwrap();
        let all = s.queue_calls("support", QueueCallFilter::All, 10).unwrap();
        assert_eq!(all[0].outcome, QueueOutcome::Left);
    }
}
