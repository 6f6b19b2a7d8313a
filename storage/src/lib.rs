//! Switchboard's local store: one SQLite database per signed-in profile, in WAL mode with
//! foreign keys on. No SQL lives outside this crate; callers get typed functions per use case.
//!
//! A [`Store`] holds one connection and is `Send`: the app keeps it on its backend thread, never
//! on the UI thread. Every write is one transaction, so a crash or a full disk leaves either the
//! whole change or none of it.

pub mod accounts;
pub mod contacts;
pub mod conversations;
pub mod faxes;
mod file_refs;
pub mod history;
pub mod installed_apps;
pub mod messages;
mod migrations;
pub mod paths;
pub mod queue_calls;
pub mod remembered;
pub mod secrets;
pub mod settings;
pub mod voicemails;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

pub use accounts::{SavedAccount, TransportOptions};
pub use contacts::{Contact, ContactSource};
pub use conversations::{Conversation, ConversationKind, Member};
pub use faxes::{CoverPage, Fax, FaxDirection, FaxStatus, NewFax};
pub use history::{CallKind, HistoryEntry, HistoryFilter, NewHistoryEntry};
pub use installed_apps::InstalledApp;
pub use messages::{Attachment, Delivery, Message, NewMessage};
pub use queue_calls::{
    NewQueueCall, QueueCall, QueueCallFilter, QueueCallUpdate, QueueOutcome, QueueTotals,
};
pub use voicemails::{NewVoicemail, Retention, RetentionReport, Voicemail};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "{path} is damaged and cannot be opened. It was left untouched; move it aside to start afresh."
    )]
    Corrupt { path: PathBuf },
    #[error("{path} belongs to another program, not Switchboard. It was left untouched.")]
    Foreign { path: PathBuf },
    #[error(
        "{path} was written by a newer Switchboard (schema {found}, this one knows {supported})."
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("The disk is full: nothing was saved. Free some space and try again.")]
    DiskFull,
    #[error("Could not use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("A stored value could not be read: {0}")]
    Decode(String),
    #[error("There is no {what} {id} any more; it may have been deleted.")]
    NotFound { what: &'static str, id: i64 },
    #[error("The app {0} is not installed.")]
    AppNotInstalled(String),
    #[error("The members of a {kind} conversation are fixed; only rooms gain and lose members.")]
    FixedMembers { kind: &'static str },
    #[error("{0} cannot be recorded: its name is not valid UTF-8. Rename it and try again.")]
    UnnamablePath(PathBuf),
    #[error("The system keyring refused the password: {0}")]
    Keyring(String),
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StorageError::DiskFull,
            _ => StorageError::Sqlite(e),
        }
    }
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// "SwBd": marks the file as ours (PRAGMA application_id), so a foreign SQLite file is refused.
pub const APPLICATION_ID: i32 = 0x5377_4264;

pub struct Store {
    pub(crate) conn: Connection,
    dir: PathBuf,
}

impl Store {
    /// Opens (or creates) the database in `dir`, migrating it to the current schema.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StorageError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let path = dir.join("switchboard.sqlite3");
        let exists = path.exists();
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let check = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase)
            | Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
                StorageError::Corrupt { path: path.clone() }
            }
            _ => StorageError::from(e),
        };
        // Reading the header proves the file is SQLite before anything is written to it.
        let app_id: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(check)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(check)?;
        if exists
            && app_id != APPLICATION_ID
            && (app_id != 0 || version != 0 || has_tables(&conn).map_err(check)?)
        {
            return Err(StorageError::Foreign { path });
        }
        if version > migrations::LATEST {
            return Err(StorageError::NewerSchema {
                path,
                found: version,
                supported: migrations::LATEST,
            });
        }
        // synchronous = NORMAL, deliberately: in WAL mode a commit has been written to the WAL
        // file (not just to memory) before it returns, so a process crash or kill loses nothing
        // committed (tests/crash_safety.rs kills a writer to prove it). Only a power cut or an
        // OS crash can lose the last few commits, never corrupt the file; FULL would close that
        // gap with an fsync per message, which costs more than a softphone's history is worth.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
        )
        .map_err(check)?;
        // The app has one connection, but a second instance or a backup tool may hold a lock
        // briefly; waiting beats failing a save.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let integrity: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(check)?;
        if integrity != "ok" {
            return Err(StorageError::Corrupt { path });
        }
        let mut store = Self {
            conn,
            dir: dir.to_path_buf(),
        };
        migrations::migrate(&mut store.conn)?;
        Ok(store)
    }

    /// The profile folder (the database, recordings, photos).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What a full check of the file and of the message search index finds wrong; empty when
    /// all is well. Slow on a large database: for a "check the database" action and for tests,
    /// not for every start.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let mut problems: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        problems.retain(|p| p != "ok");
        if let Err(e) = self.conn.execute(
            "INSERT INTO message_fts(message_fts) VALUES ('integrity-check')",
            [],
        ) {
            problems.push(format!("message search index: {e}"));
        }
        Ok(problems)
    }
}

const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn has_tables(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_store_is_ours_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let s = Store::open(dir.path()).unwrap();
        let id: i32 = s
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        assert_eq!(id, APPLICATION_ID);
        let mode: String = s
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn foreign_keys_busy_timeout_and_synchronous_are_set_on_every_open() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let s = Store::open(dir.path()).unwrap();
        let pragma = |name: &str| -> i64 {
            s.conn
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(pragma("foreign_keys"), 1);
        assert_eq!(pragma("busy_timeout"), BUSY_TIMEOUT.as_millis() as i64);
        assert_eq!(pragma("synchronous"), 1, "NORMAL");
        assert!(s.integrity_problems().unwrap().is_empty());
    }

    #[test]
    fn random_bytes_are_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.sqlite3");
        let junk: Vec<u8> = (0..8192u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        std::fs::write(&path, &junk).unwrap();
        let err = Store::open(dir.path()).err().expect("refused");
        assert!(matches!(err, StorageError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("left untouched"));
        assert_eq!(std::fs::read(&path).unwrap(), junk, "never overwritten");
    }

    #[test]
    fn another_programs_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.sqlite3");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("CREATE TABLE photos(id INTEGER); INSERT INTO photos VALUES (1);")
                .unwrap();
        }
        let err = Store::open(dir.path()).err().expect("refused");
        assert!(matches!(err, StorageError::Foreign { .. }), "{err}");
        let c = Connection::open(&path).unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM photos", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let c = Connection::open(dir.path().join("switchboard.sqlite3")).unwrap();
        c.execute_batch("PRAGMA user_version = 999").unwrap();
        drop(c);
        assert!(matches!(
            Store::open(dir.path()),
            Err(StorageError::NewerSchema { found: 999, .. })
        ));
    }
}
