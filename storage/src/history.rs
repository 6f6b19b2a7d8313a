//! Call history (My Calls): one row per call, newest first, paged by id so that a page deep in
//! a million rows costs the same as the first.

use rusqlite::{OptionalExtension, Row};

use crate::{Result, StorageError, Store};

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

    /// Whether the call came to us (missed calls and voicemails did too).
    pub fn is_incoming(self) -> bool {
        self != CallKind::Outgoing
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
    /// The call-center queue the call came through.
    pub queue: Option<String>,
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

const COLUMNS: &str = "id, kind, remote_name, remote_number, started_at, answered_at, ended_at, result, account, quality_mos, queue";

const INSERT: &str = "INSERT INTO call_history(kind, remote_name, remote_number, started_at, answered_at, ended_at, result, account, quality_mos, queue)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

fn from_row(r: &Row) -> rusqlite::Result<HistoryEntry> {
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
            queue: r.get(10)?,
        },
    })
}

fn insert(stmt: &mut rusqlite::CachedStatement, e: &NewHistoryEntry) -> rusqlite::Result<i64> {
    stmt.insert((
        e.kind.as_str(),
        &e.remote_name,
        &e.remote_number,
        e.started_at,
        e.answered_at,
        e.ended_at,
        &e.result,
        &e.account,
        e.quality_mos,
        &e.queue,
    ))
}

impl Store {
    pub fn add_history(&mut self, e: &NewHistoryEntry) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let id = insert(&mut tx.prepare_cached(INSERT)?, e)?;
        tx.commit()?;
        Ok(id)
    }

    /// Adds many calls (an import, or the server's record of calls taken elsewhere) in one
    /// transaction: all of them or, on any error, none. Ids in the order given.
    pub fn add_history_batch(&mut self, entries: &[NewHistoryEntry]) -> Result<Vec<i64>> {
        let tx = self.conn.transaction()?;
        let ids = {
            let mut stmt = tx.prepare_cached(INSERT)?;
            entries
                .iter()
                .map(|e| insert(&mut stmt, e))
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.commit()?;
        Ok(ids)
    }

    pub fn history_entry(&self, id: i64) -> Result<Option<HistoryEntry>> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM call_history WHERE id = ?1"))?
            .query_row([id], from_row)
            .optional()?)
    }

    pub fn delete_history(&mut self, id: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        if tx.execute("DELETE FROM call_history WHERE id = ?1", [id])? == 0 {
            return Err(StorageError::NotFound { what: "call", id });
        }
        tx.commit()?;
        Ok(())
    }

    /// Empties My Calls.
    pub fn clear_history(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM call_history", [])?;
        tx.commit()?;
        Ok(())
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
        // One statement per shape rather than `?2 IS NULL OR kind = ?2`: the planner picks an
        // index when the statement is prepared, before it sees the values, so only a statement
        // that always names a kind walks the (kind, id) index instead of every row.
        let mut conditions = vec!["id < :before"];
        if matches!(filter, HistoryFilter::Kind(_)) {
            conditions.push("kind = :kind");
        }
        if !search.is_empty() {
            conditions.push(
                "(remote_number LIKE :pattern ESCAPE '\\' OR remote_name LIKE :pattern ESCAPE '\\')",
            );
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM call_history WHERE {} ORDER BY id DESC LIMIT :limit",
            conditions.join(" AND ")
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let before = before.unwrap_or(i64::MAX);
        let limit = limit as i64;
        let pattern = format!(
            "%{}%",
            search
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let kind = match filter {
            HistoryFilter::All => "",
            HistoryFilter::Kind(k) => k.as_str(),
        };
        let mut params: Vec<(&str, &dyn rusqlite::ToSql)> =
            vec![(":before", &before), (":limit", &limit)];
        if matches!(filter, HistoryFilter::Kind(_)) {
            params.push((":kind", &kind));
        }
        if !search.is_empty() {
            params.push((":pattern", &pattern));
        }
        let rows = stmt.query_map(params.as_slice(), from_row)?;
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
            queue: None,
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

    #[test]
    fn a_batch_is_added_whole_and_single_calls_can_be_read_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let batch: Vec<_> = (0..100)
            .map(|i| e(CallKind::Voicemail, &format!("2{i:03}"), i))
            .collect();
        let ids = s.add_history_batch(&batch).unwrap();
        assert_eq!(ids.len(), 100);
        let one = s.history_entry(ids[7]).unwrap().unwrap();
        assert_eq!(one.entry, batch[7]);
        assert!(one.entry.kind.is_incoming());
        s.delete_history(ids[7]).unwrap();
        assert_eq!(s.history_entry(ids[7]).unwrap(), None);
        assert!(matches!(
            s.delete_history(ids[7]),
            Err(StorageError::NotFound { .. })
        ));
        let voicemails = s
            .history_page(HistoryFilter::Kind(CallKind::Voicemail), "20", None, 1000)
            .unwrap();
        assert_eq!(voicemails.len(), 99);
        s.clear_history().unwrap();
        assert!(
            s.history_page(HistoryFilter::All, "", None, 10)
                .unwrap()
                .is_empty()
        );
    }
}
