//! Call history (My Calls): one row per call, newest first, paged by id so that a page deep in
//! a million rows costs the same as the first.

use crate::{Result, Store};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    Incoming,
    Outgoing,
    Missed,
    Voicemail,
}

impl CallKind {
    fn as_str(self) -> &'static str {
        match self {
            CallKind::Incoming => "incoming",
            CallKind::Outgoing => "outgoing",
            CallKind::Missed => "missed",
            CallKind::Voicemail => "voicemail",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "incoming" => CallKind::Incoming,
            "missed" => CallKind::Missed,
            "voicemail" => CallKind::Voicemail,
            _ => CallKind::Outgoing,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HistoryFilter {
    #[default]
    All,
    Kind(CallKind),
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewHistoryEntry {
    pub kind: CallKind,
    pub remote_name: Option<String>,
    pub remote_number: String,
    /// Unix milliseconds.
    pub started_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: i64,
    /// How it ended, in words.
    pub result: String,
    pub account: String,
    pub quality_mos: Option<f32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    pub id: i64,
    pub entry: NewHistoryEntry,
}

impl HistoryEntry {
    pub fn duration_secs(&self) -> u64 {
        self.entry
            .answered_at
            .map(|a| ((self.entry.ended_at - a).max(0) / 1000) as u64)
            .unwrap_or(0)
    }
}

impl Store {
    pub fn add_history(&mut self, e: &NewHistoryEntry) -> Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO call_history(kind, remote_name, remote_number, started_at, answered_at, ended_at, result, account, quality_mos)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            (
                e.kind.as_str(),
                &e.remote_name,
                &e.remote_number,
                e.started_at,
                e.answered_at,
                e.ended_at,
                &e.result,
                &e.account,
                e.quality_mos,
            ),
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Up to `limit` rows older than `before` (an id; `None` for the newest), matching the
    /// filter and, when given, a name or number containing `search`.
    pub fn history_page(
        &self,
        filter: HistoryFilter,
        search: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>> {
        let kind = match filter {
            HistoryFilter::All => None,
            HistoryFilter::Kind(k) => Some(k.as_str()),
        };
        let pattern = format!("%{}%", search.replace('%', "\\%").replace('_', "\\_"));
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, kind, remote_name, remote_number, started_at, answered_at, ended_at, result, account, quality_mos
             FROM call_history
             WHERE id < ?1 AND (?2 IS NULL OR kind = ?2)
               AND (?3 = '%%' OR remote_number LIKE ?3 ESCAPE '\\' OR remote_name LIKE ?3 ESCAPE '\\')
             ORDER BY id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            (before.unwrap_or(i64::MAX), kind, pattern, limit as i64),
            |r| {
                let kind: String = r.get(1)?;
                Ok(HistoryEntry {
                    id: r.get(0)?,
                    entry: NewHistoryEntry {
                        kind: CallKind::parse(&kind),
                        remote_name: r.get(2)?,
                        remote_number: r.get(3)?,
                        started_at: r.get(4)?,
                        answered_at: r.get(5)?,
                        ended_at: r.get(6)?,
                        result: r.get(7)?,
                        account: r.get(8)?,
                        quality_mos: r.get(9)?,
                    },
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(kind: CallKind, number: &str, at: i64) -> NewHistoryEntry {
        NewHistoryEntry {
            kind,
            remote_name: Some(format!("Caller {number}")),
            remote_number: number.into(),
            started_at: at,
            answered_at: Some(at + 2000),
            ended_at: at + 62_000,
            result: "Call ended".into(),
            account: "1001@pbx".into(),
            quality_mos: Some(4.3),
        }
    }

    #[test]
    fn pages_newest_first_filtered_and_searched() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        for i in 0..25 {
            let kind = if i % 5 == 0 {
                CallKind::Missed
            } else {
                CallKind::Outgoing
            };
            s.add_history(&e(kind, &format!("10{i:02}"), i * 1000))
                .unwrap();
        }
        let first = s.history_page(HistoryFilter::All, "", None, 10).unwrap();
        assert_eq!(first.len(), 10);
        assert_eq!(first[0].entry.remote_number, "1024");
        let next = s
            .history_page(HistoryFilter::All, "", Some(first[9].id), 10)
            .unwrap();
        assert_eq!(next[0].entry.remote_number, "1014");
        let missed = s
            .history_page(HistoryFilter::Kind(CallKind::Missed), "", None, 100)
            .unwrap();
        assert_eq!(missed.len(), 5);
        let found = s
            .history_page(HistoryFilter::All, "1017", None, 100)
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].duration_secs(), 60);
        assert!(
            s.history_page(HistoryFilter::All, "100%", None, 100)
                .unwrap()
                .is_empty(),
            "% is literal"
        );
    }
}
