//! Versioned schema migrations. Each step runs in its own transaction and bumps
//! `PRAGMA user_version`; a database at any earlier version is brought up to date in order.

use rusqlite::Connection;

use crate::{APPLICATION_ID, Result};

const STEPS: &[&str] = &[
    // 1: accounts, settings, contacts, call history.
    "CREATE TABLE account (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        server TEXT NOT NULL,
        username TEXT NOT NULL,
        display_name TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '',
        number TEXT NOT NULL DEFAULT '',
        transport TEXT NOT NULL DEFAULT 'udp',
        photo BLOB
    );
    CREATE TABLE setting (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE contact (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        extension TEXT,
        numbers TEXT NOT NULL DEFAULT '[]',
        email TEXT,
        avatar BLOB,
        source TEXT NOT NULL,
        favourite INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX contact_name ON contact(name COLLATE NOCASE);
    CREATE TABLE call_history (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('incoming', 'outgoing', 'missed', 'voicemail')),
        remote_name TEXT,
        remote_number TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        answered_at INTEGER,
        ended_at INTEGER NOT NULL,
        result TEXT NOT NULL,
        account TEXT NOT NULL,
        quality_mos REAL
    );
    CREATE INDEX call_history_kind ON call_history(kind, id);",
];

pub const LATEST: i64 = STEPS.len() as i64;

pub fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in STEPS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!(
            "PRAGMA user_version = {}; PRAGMA application_id = {APPLICATION_ID};",
            i + 1
        ))?;
        tx.commit()?;
        tracing::info!(version = i + 1, "database migrated");
    }
    Ok(())
}
