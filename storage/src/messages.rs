//! Messages in conversations, with attachments, edits, deletions and delivery state, and a
//! full-text search over all of them.
//!
//! The search index (`message_fts`, FTS5) holds no copy of the text: triggers in the schema keep
//! it in step with every insert, edit and delete in the same transaction, so it can never
//! disagree with the messages after a crash. A deleted message keeps its place in the
//! conversation with its text cleared, which also drops it from the index.

use std::path::PathBuf;

use rusqlite::{OptionalExtension, Row};

use crate::{Result, StorageError, Store, file_refs};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Ours, not yet accepted by the server.
    Sending,
    /// Ours, accepted by the server.
    Sent,
    /// Reached the other side (always so for messages we received).
    Delivered,
    Failed,
}

impl Delivery {
    fn as_str(self) -> &'static str {
        match self {
            Delivery::Sending => "sending",
            Delivery::Sent => "sent",
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "sending" => Delivery::Sending,
            "sent" => Delivery::Sent,
            "failed" => Delivery::Failed,
            _ => Delivery::Delivered,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// Where the file is; paths inside the profile folder are stored relative to it.
    pub path: PathBuf,
    /// The name to show, which may differ from the file's own.
    pub name: String,
    /// Bytes.
    pub size: u64,
    pub mime_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub conversation_id: i64,
    /// The sender's address; our own for messages we sent.
    pub sender: String,
    /// Unix milliseconds.
    pub sent_at: i64,
    pub body: String,
    pub attachments: Vec<Attachment>,
    pub delivery: Delivery,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    pub conversation_id: i64,
    pub sender: String,
    pub sent_at: i64,
    /// Empty once deleted.
    pub body: String,
    pub attachments: Vec<Attachment>,
    pub delivery: Delivery,
    /// When the text was last changed.
    pub edited_at: Option<i64>,
    /// When it was deleted; the row stays so the conversation can say "message deleted".
    pub deleted_at: Option<i64>,
}

/// In the order `from_row` reads them (`search_conversation` names them once more, prefixed).
const COLUMNS: &str = "id, conversation_id, sender, sent_at, body, delivery, edited_at, deleted_at";

fn from_row(r: &Row) -> rusqlite::Result<Message> {
    let delivery: String = r.get(5)?;
    Ok(Message {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        sender: r.get(2)?,
        sent_at: r.get(3)?,
        body: r.get(4)?,
        attachments: Vec::new(),
        delivery: Delivery::parse(&delivery),
        edited_at: r.get(6)?,
        deleted_at: r.get(7)?,
    })
}

fn not_found(id: i64) -> StorageError {
    StorageError::NotFound {
        what: "message",
        id,
    }
}

/// The user's words as an FTS5 query: every word must appear, the last one as a prefix so that
/// results follow typing. Quoting each word keeps FTS5 operators (`OR`, `NEAR`, `-`, `:`) in
/// the user's text from being read as syntax. `None` when there is no word to look for.
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    let (last, rest) = words.split_last()?;
    let mut query = rest.join(" ");
    if !query.is_empty() {
        query.push(' ');
    }
    query.push_str(last);
    query.push('*');
    Some(query)
}

impl Store {
    pub fn add_message(&mut self, m: &NewMessage) -> Result<i64> {
        Ok(self.add_messages(std::slice::from_ref(m))?[0])
    }

    /// Adds many messages (a history sync, an import) in one transaction: all of them or, on
    /// any error (a full disk too), none. Ids in the order given.
    pub fn add_messages(&mut self, messages: &[NewMessage]) -> Result<Vec<i64>> {
        let tx = self.conn.transaction()?;
        let mut ids = Vec::with_capacity(messages.len());
        {
            let mut msg = tx.prepare_cached(
                "INSERT INTO message(conversation_id, sender, sent_at, body, delivery)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut att = tx.prepare_cached(
                "INSERT INTO attachment(message_id, path, name, size, mime_type)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for m in messages {
                let id = msg.insert((
                    m.conversation_id,
                    &m.sender,
                    m.sent_at,
                    &m.body,
                    m.delivery.as_str(),
                ))?;
                for a in &m.attachments {
                    att.execute((
                        id,
                        file_refs::to_text(&self.dir, &a.path)?,
                        &a.name,
                        a.size as i64,
                        &a.mime_type,
                    ))?;
                }
                ids.push(id);
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    pub fn message(&self, id: i64) -> Result<Option<Message>> {
        let m = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM message WHERE id = ?1"))?
            .query_row([id], from_row)
            .optional()?;
        m.map(|m| self.with_attachments(vec![m]).map(|mut v| v.remove(0)))
            .transpose()
    }

    /// Up to `limit` messages of a conversation older than `before` (an id; `None` for the
    /// newest), newest first.
    pub fn messages_page(
        &self,
        conversation_id: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM message WHERE conversation_id = ?1 AND id < ?2
             ORDER BY id DESC LIMIT ?3"
        ))?;
        let rows = stmt
            .query_map(
                (conversation_id, before.unwrap_or(i64::MAX), limit as i64),
                from_row,
            )?
            .collect::<rusqlite::Result<_>>()?;
        self.with_attachments(rows)
    }

    /// Messages in any conversation containing every word of `text` (the last word may be
    /// unfinished), newest first, up to `limit` older than `before`.
    pub fn search_messages(
        &self,
        text: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let Some(query) = fts_query(text) else {
            return Ok(Vec::new());
        };
        // The index yields matches newest first by itself, so the limit applies inside it and
        // a common word does not make every match be read.
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM message WHERE id IN (
                SELECT rowid FROM message_fts WHERE message_fts MATCH ?1 AND rowid < ?2
                ORDER BY rowid DESC LIMIT ?3)
             ORDER BY id DESC"
        ))?;
        let rows = stmt
            .query_map((query, before.unwrap_or(i64::MAX), limit as i64), from_row)?
            .collect::<rusqlite::Result<_>>()?;
        self.with_attachments(rows)
    }

    /// Like [`Store::search_messages`], within one conversation.
    pub fn search_conversation(
        &self,
        conversation_id: i64,
        text: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let Some(query) = fts_query(text) else {
            return Ok(Vec::new());
        };
        // Walk the matches newest first and keep this conversation's, stopping at `limit`.
        // CROSS JOIN pins that order: left to itself the planner walks the conversation's
        // messages and runs the whole match once per message (seconds for a common word at a
        // million messages), and `id IN (matches)` would gather every match first.
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.id, m.conversation_id, m.sender, m.sent_at, m.body, m.delivery, m.edited_at,
                    m.deleted_at
             FROM message_fts f CROSS JOIN message m ON m.id = f.rowid
             WHERE message_fts MATCH ?2 AND f.rowid < ?3 AND m.conversation_id = ?1
             ORDER BY f.rowid DESC LIMIT ?4",
        )?;
        let rows = stmt
            .query_map(
                (
                    conversation_id,
                    query,
                    before.unwrap_or(i64::MAX),
                    limit as i64,
                ),
                from_row,
            )?
            .collect::<rusqlite::Result<_>>()?;
        self.with_attachments(rows)
    }

    pub fn set_delivery(&mut self, id: i64, delivery: Delivery) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE message SET delivery = ?2 WHERE id = ?1",
            (id, delivery.as_str()),
        )?;
        if n == 0 {
            return Err(not_found(id));
        }
        tx.commit()?;
        Ok(())
    }

    /// Replaces the text of a message that is not deleted and marks it edited at `at`.
    pub fn edit_message(&mut self, id: i64, body: &str, at: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE message SET body = ?2, edited_at = ?3 WHERE id = ?1 AND deleted_at IS NULL",
            (id, body, at),
        )?;
        if n == 0 {
            return Err(not_found(id));
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks a message deleted at `at`, clearing its text and attachments. Returns the
    /// attachments it had, so the caller can remove the files it owns (a file the user sent
    /// from their own folders is not ours to delete).
    pub fn delete_message(&mut self, id: i64, at: i64) -> Result<Vec<Attachment>> {
        let attachments = self.attachments_of(id)?;
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE message SET body = '', deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            (id, at),
        )?;
        if n == 0 {
            return Err(not_found(id));
        }
        tx.execute("DELETE FROM attachment WHERE message_id = ?1", [id])?;
        tx.commit()?;
        Ok(attachments)
    }

    fn attachments_of(&self, message_id: i64) -> Result<Vec<Attachment>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, name, size, mime_type FROM attachment WHERE message_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([message_id], |r| {
            Ok(Attachment {
                path: file_refs::from_text(&self.dir, &r.get::<_, String>(0)?),
                name: r.get(1)?,
                size: r.get::<_, i64>(2)?.max(0) as u64,
                mime_type: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn with_attachments(&self, mut messages: Vec<Message>) -> Result<Vec<Message>> {
        for m in &mut messages {
            m.attachments = self.attachments_of(m.id)?;
        }
        Ok(messages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(conversation_id: i64, sender: &str, at: i64, body: &str) -> NewMessage {
        NewMessage {
            conversation_id,
            sender: sender.into(),
            sent_at: at,
            body: body.into(),
            attachments: Vec::new(),
            delivery: Delivery::Delivered,
        }
    }

    fn found(s: &Store, words: &str) -> Vec<i64> {
        s.search_messages(words, None, 100)
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect()
    }

    #[test]
    fn a_message_keeps_its_attachments_and_delivery_state() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let c = s.direct_conversation("1002", 0).unwrap();
        let photo = Attachment {
            path: dir.path().join("attachments/cat.jpg"),
            name: "cat.jpg".into(),
            size: 48_213,
            mime_type: "image/jpeg".into(),
        };
        let report = Attachment {
            path: PathBuf::from("/home/u/Documents/report.pdf"),
            name: "Q3 report.pdf".into(),
            size: 1_000_000,
            mime_type: "application/pdf".into(),
        };
        let id = s
            .add_message(&NewMessage {
                attachments: vec![photo.clone(), report.clone()],
                delivery: Delivery::Sending,
                ..text(c, "1001", 1000, "look")
            })
            .unwrap();
        s.set_delivery(id, Delivery::Sent).unwrap();
        let m = s.message(id).unwrap().unwrap();
        assert_eq!(m.attachments, vec![photo.clone(), report.clone()]);
        assert_eq!(m.delivery, Delivery::Sent);
        assert_eq!((m.edited_at, m.deleted_at), (None, None));
        s.set_delivery(id, Delivery::Failed).unwrap();
        assert_eq!(s.message(id).unwrap().unwrap().delivery, Delivery::Failed);

        let removed = s.delete_message(id, 2000).unwrap();
        assert_eq!(removed, vec![photo, report]);
        let m = s.message(id).unwrap().unwrap();
        assert_eq!(m.deleted_at, Some(2000));
        assert!(m.body.is_empty() && m.attachments.is_empty());
        assert!(matches!(
            s.edit_message(id, "undead", 3000),
            Err(StorageError::NotFound { .. })
        ));
    }

    #[test]
    fn pages_go_back_through_a_conversation_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let a = s.direct_conversation("1002", 0).unwrap();
        let b = s.direct_conversation("1003", 0).unwrap();
        let batch: Vec<_> = (0..30)
            .map(|i| text(if i % 3 == 0 { b } else { a }, "1002", i, &format!("n{i}")))
            .collect();
        s.add_messages(&batch).unwrap();
        let first = s.messages_page(a, None, 5).unwrap();
        let bodies: Vec<_> = first.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, ["n29", "n28", "n26", "n25", "n23"]);
        let next = s.messages_page(a, Some(first[4].id), 100).unwrap();
        assert_eq!(next.len(), 15);
        assert_eq!(next.last().unwrap().body, "n1");
    }

    #[test]
    fn search_follows_inserts_edits_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let c = s.create_room("Ops", "1001", 0).unwrap();
        let d = s.direct_conversation("1002", 0).unwrap();
        let ids = s
            .add_messages(&[
                text(c, "1001", 1, "The deploy went fine"),
                text(c, "1002", 2, "Café meeting at noon?"),
                text(d, "1002", 3, "deployment notes attached"),
            ])
            .unwrap();
        assert_eq!(
            found(&s, "deploy"),
            vec![ids[2], ids[0]],
            "prefix, newest first"
        );
        assert_eq!(found(&s, "cafe"), vec![ids[1]], "accents folded");
        assert_eq!(found(&s, "deploy fine"), vec![ids[0]], "every word");
        assert_eq!(found(&s, "NOON"), vec![ids[1]]);
        assert!(
            found(&s, "\"unbalanced OR NEAR( -x:").is_empty(),
            "syntax is text"
        );
        assert!(found(&s, "  ").is_empty());
        let within: Vec<_> = s
            .search_conversation(d, "deploy", None, 10)
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(within, vec![ids[2]]);

        s.edit_message(ids[0], "The rollout went fine", 10).unwrap();
        assert_eq!(found(&s, "deploy"), vec![ids[2]], "old words forgotten");
        assert_eq!(found(&s, "rollout"), vec![ids[0]], "new words found");
        assert_eq!(s.message(ids[0]).unwrap().unwrap().edited_at, Some(10));

        s.delete_message(ids[2], 11).unwrap();
        assert!(found(&s, "deploy").is_empty(), "deleted text is not found");
        assert!(s.integrity_problems().unwrap().is_empty());
    }

    #[test]
    fn search_pages_back_with_before() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let c = s.direct_conversation("1002", 0).unwrap();
        let batch: Vec<_> = (0..25)
            .map(|i| text(c, "1002", i, &format!("ticket {i}")))
            .collect();
        let ids = s.add_messages(&batch).unwrap();
        let first = s.search_messages("ticket", None, 10).unwrap();
        assert_eq!(first[0].id, ids[24]);
        let next = s.search_messages("ticket", Some(first[9].id), 10).unwrap();
        assert_eq!(next[0].id, ids[14]);
    }

    #[test]
    fn a_full_disk_keeps_none_of_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let c = s.direct_conversation("1002", 0).unwrap();
        s.add_message(&text(c, "1002", 0, "before the disk filled"))
            .unwrap();
        // Cap the file at its current size: the batch needs new pages part way through.
        let pages: i64 = s
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        s.conn
            .execute_batch(&format!("PRAGMA max_page_count = {pages}"))
            .unwrap();
        let batch: Vec<_> = (0..2000)
            .map(|i| text(c, "1002", i, &format!("overflowing message number {i}")))
            .collect();
        let err = s.add_messages(&batch).unwrap_err();
        assert!(matches!(err, StorageError::DiskFull), "{err}");
        let kept = s.messages_page(c, None, 10_000).unwrap();
        assert_eq!(kept.len(), 1, "none of the batch was kept");
        assert!(found(&s, "overflowing").is_empty(), "nor indexed");
        assert_eq!(found(&s, "filled").len(), 1);
        assert!(s.integrity_problems().unwrap().is_empty());
    }
}
