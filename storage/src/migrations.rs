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
    // 2: the account's time zone and transport options; conversations and messages with their
    // search index; voicemail, fax and installed marketplace apps.
    "ALTER TABLE account ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
    ALTER TABLE account ADD COLUMN transport_options TEXT NOT NULL DEFAULT '{}';

    CREATE TABLE conversation (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('direct', 'group', 'room')),
        -- The other party of a direct conversation, so there is only ever one per peer.
        peer TEXT CHECK ((kind = 'direct') = (peer IS NOT NULL)),
        name TEXT NOT NULL DEFAULT '',
        owner TEXT,
        created_at INTEGER NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0,
        muted INTEGER NOT NULL DEFAULT 0,
        hidden INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX conversation_peer ON conversation(peer) WHERE kind = 'direct';
    -- One row per stay: a member who leaves and comes back has two.
    CREATE TABLE conversation_member (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversation(id) ON DELETE CASCADE,
        member TEXT NOT NULL,
        joined_at INTEGER NOT NULL,
        left_at INTEGER CHECK (left_at IS NULL OR left_at >= joined_at)
    );
    CREATE UNIQUE INDEX conversation_member_present
        ON conversation_member(conversation_id, member) WHERE left_at IS NULL;
    CREATE INDEX conversation_member_by_conversation
        ON conversation_member(conversation_id, joined_at);

    CREATE TABLE message (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversation(id) ON DELETE CASCADE,
        sender TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        body TEXT NOT NULL,
        edited_at INTEGER,
        deleted_at INTEGER,
        delivery TEXT NOT NULL CHECK (delivery IN ('sending', 'sent', 'delivered', 'failed'))
    );
    CREATE INDEX message_by_conversation ON message(conversation_id, id);
    CREATE TABLE attachment (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL CHECK (size >= 0),
        mime_type TEXT NOT NULL
    );
    CREATE INDEX attachment_by_message ON attachment(message_id);
    -- External content: the text lives once, in message; the index follows it by triggers,
    -- which must hand FTS5 the old text to forget (https://sqlite.org/fts5.html#external_content_tables).
    CREATE VIRTUAL TABLE message_fts USING fts5(
        body, content = 'message', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN
        INSERT INTO message_fts(rowid, body) VALUES (new.id, new.body);
    END;
    CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.id, old.body);
    END;
    CREATE TRIGGER message_fts_update AFTER UPDATE OF body ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.id, old.body);
        INSERT INTO message_fts(rowid, body) VALUES (new.id, new.body);
    END;

    CREATE TABLE voicemail (
        id INTEGER PRIMARY KEY,
        caller_name TEXT,
        caller_number TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
        audio_path TEXT NOT NULL,
        transcript TEXT,
        heard INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX voicemail_received ON voicemail(received_at);

    CREATE TABLE fax (
        id INTEGER PRIMARY KEY,
        direction TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
        remote_number TEXT NOT NULL,
        at INTEGER NOT NULL,
        pages INTEGER NOT NULL DEFAULT 0 CHECK (pages >= 0),
        status TEXT NOT NULL
            CHECK (status IN ('queued', 'sending', 'sent', 'receiving', 'received', 'failed')),
        failure TEXT,
        document_path TEXT NOT NULL,
        cover_page TEXT
    );

    CREATE TABLE installed_app (
        app_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        installed_at INTEGER NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings))
    );",
    // 3: the call-center queue history, and the queue a call in My Calls came through.
    "ALTER TABLE call_history ADD COLUMN queue TEXT;
    CREATE TABLE queue_call (
        id INTEGER PRIMARY KEY,
        queue TEXT NOT NULL,
        -- The caller's channel id on the PBX: events about the same caller update one row.
        uniqueid TEXT NOT NULL UNIQUE,
        caller_number TEXT NOT NULL,
        caller_name TEXT NOT NULL DEFAULT '',
        joined_at INTEGER NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('waiting', 'answered', 'abandoned', 'left')),
        agent TEXT,
        wait_secs INTEGER CHECK (wait_secs IS NULL OR wait_secs >= 0),
        talk_secs INTEGER CHECK (talk_secs IS NULL OR talk_secs >= 0)
    );
    CREATE INDEX queue_call_by_queue ON queue_call(queue, joined_at);",
    // 4: voicemails kept on the PBX (its IMAP mailbox) are known by their message there, so a
    // sync adds each once and a deletion reaches the server.
    "ALTER TABLE voicemail ADD COLUMN server_ref TEXT;
    CREATE UNIQUE INDEX voicemail_by_server_ref ON voicemail(server_ref)
        WHERE server_ref IS NOT NULL;",
    // 5: a voicemail whose email is still to be sent (a failed send is tried again later).
    "ALTER TABLE voicemail ADD COLUMN email_pending INTEGER NOT NULL DEFAULT 0;",
];

pub const LATEST: i64 = STEPS.len() as i64;

pub fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, LATEST)
}

/// Brings the schema up to `target`, one transaction per step.
fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in STEPS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(version as usize)
    {
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

#[cfg(test)]
mod tests {
    //! Every migration is tested by upgrading a database left at each earlier version, with rows
    //! in every table that version had. A new migration adds one seed (rows written in its own
    //! schema) and one check (those rows, read through today's API).

    use super::*;
    use crate::*;

    /// `SEEDS[v - 1]` fills the tables of schema version `v`.
    const SEEDS: &[&str] = &[
        // 1
        "INSERT INTO account(id, server, username, display_name, email, number, transport, photo)
           VALUES (1, 'pbx.example.com', '1001', 'Ada Lovelace', 'ada@example.com', '+15550101', 'tls', x'89504e47');
         INSERT INTO setting(key, value) VALUES ('settings', '{\"theme\":\"dark\"}');
         INSERT INTO contact(name, extension, numbers, email, source, favourite)
           VALUES ('Grace Hopper', '1002', '[\"+15550102\",\"+15550112\"]', 'grace@example.com', 'directory', 1);
         INSERT INTO call_history(kind, remote_name, remote_number, started_at, answered_at, ended_at, result, account, quality_mos)
           VALUES ('missed', 'Grace Hopper', '1002', 1000, NULL, 5000, 'No answer', '1001@pbx', NULL),
                  ('outgoing', NULL, '+15550199', 6000, 8000, 68000, 'Call ended', '1001@pbx', 4.2);",
        // 2
        "INSERT INTO conversation(id, kind, peer, created_at) VALUES (1, 'direct', '1002', 100);
         INSERT INTO conversation_member(conversation_id, member, joined_at) VALUES (1, '1002', 100);
         INSERT INTO conversation(id, kind, name, owner, created_at, muted) VALUES (2, 'room', 'Ops', '1001', 200, 1);
         INSERT INTO conversation_member(conversation_id, member, joined_at, left_at)
           VALUES (2, '1001', 200, NULL), (2, '1003', 210, 290);
         INSERT INTO message(id, conversation_id, sender, sent_at, body, delivery)
           VALUES (1, 1, '1002', 150, 'Seeded hello from version two', 'delivered'),
                  (2, 2, '1001', 250, 'Seeded room notice', 'sent');
         INSERT INTO attachment(message_id, path, name, size, mime_type)
           VALUES (2, 'attachments/plan.pdf', 'plan.pdf', 1234, 'application/pdf');
         INSERT INTO voicemail(caller_name, caller_number, received_at, duration_ms, audio_path, transcript)
           VALUES ('Grace Hopper', '1002', 300, 9000, 'voicemail/1.ogg', 'Call me');
         INSERT INTO fax(direction, remote_number, at, pages, status, document_path)
           VALUES ('incoming', '+15550150', 400, 3, 'received', 'fax/1.tiff');
         INSERT INTO installed_app(app_id, name, version, installed_at, settings)
           VALUES ('com.example.crm', 'CRM lookup', '1.0', 500, '{\"url\":\"https://crm.example.com\"}');",
        // 3
        "UPDATE call_history SET queue = 'support' WHERE kind = 'missed';
         INSERT INTO queue_call(queue, uniqueid, caller_number, caller_name, joined_at, outcome, agent, wait_secs, talk_secs)
           VALUES ('support', '1700000000.1', '+15550199', 'Customer', 700, 'answered', 'Alan Turing', 12, 60);",
        // 4
        "INSERT INTO voicemail(caller_name, caller_number, received_at, duration_ms, audio_path, server_ref)
           VALUES ('Alan Turing', '1003', 800, 4000, 'voicemail/2.ogg', '1796647004/1');",
        // 5
        "UPDATE voicemail SET email_pending = 1 WHERE caller_number = '1003';",
    ];

    /// That the rows of `SEEDS[version - 1]` read back through today's API.
    fn check(version: i64, s: &Store) {
        match version {
            1 => {
                let a = s.account().unwrap().expect("account kept");
                assert_eq!(
                    (
                        a.username.as_str(),
                        a.display_name.as_str(),
                        a.transport.as_str()
                    ),
                    ("1001", "Ada Lovelace", "tls")
                );
                assert_eq!(a.photo.as_deref(), Some(&[0x89, 0x50, 0x4e, 0x47][..]));
                assert_eq!(a.time_zone, "", "added by v2, defaults for old rows");
                assert_eq!(a.transport_options, TransportOptions::default());
                let settings: serde_json::Value = s.setting("settings").unwrap().unwrap();
                assert_eq!(settings["theme"], "dark");
                let c = &s.contacts().unwrap()[0];
                assert_eq!(c.numbers, ["+15550102", "+15550112"]);
                assert!(c.favourite);
                let calls = s.history_page(HistoryFilter::All, "", None, 10).unwrap();
                assert_eq!(calls.len(), 2);
                assert_eq!(calls[0].duration_secs(), 60);
                assert_eq!(calls[1].entry.kind, CallKind::Missed);
            }
            2 => {
                assert_eq!(s.members(1).unwrap(), ["1002"]);
                let room = s.conversation(2).unwrap().unwrap();
                assert!(room.muted);
                assert_eq!(s.membership_history(2).unwrap()[1].left_at, Some(290));
                let hits = s.search_messages("seeded", None, 10).unwrap();
                assert_eq!(hits.iter().map(|m| m.id).collect::<Vec<_>>(), [2, 1]);
                assert_eq!(
                    hits[0].attachments[0].path,
                    s.dir().join("attachments/plan.pdf")
                );
                let vms = s.voicemails().unwrap();
                let vm = vms
                    .iter()
                    .find(|v| v.voicemail.caller_number == "1002")
                    .unwrap();
                assert_eq!(vm.voicemail.transcript.as_deref(), Some("Call me"));
                assert!(!vm.heard);
                assert_eq!(s.faxes(None, 10).unwrap()[0].fax.pages, 3);
                let crm: serde_json::Value = s.app_settings("com.example.crm").unwrap().unwrap();
                assert_eq!(crm["url"], "https://crm.example.com");
            }
            3 => {
                let calls = s.history_page(HistoryFilter::All, "", None, 10).unwrap();
                assert_eq!(calls[1].entry.queue.as_deref(), Some("support"));
                assert_eq!(calls[0].entry.queue, None);
                let q = &s.queue_calls("support", QueueCallFilter::All, 10).unwrap()[0];
                assert_eq!(q.outcome, QueueOutcome::Answered);
                assert_eq!((q.wait_secs, q.talk_secs), (Some(12), Some(60)));
            }
            4 => {
                let on_server = s.voicemails_on_server().unwrap();
                assert_eq!(on_server.len(), 1);
                assert_eq!(on_server[0].1, "1796647004/1");
                let vm = s.voicemail(on_server[0].0).unwrap().unwrap();
                assert_eq!(vm.voicemail.caller_number, "1003");
            }
            5 => {
                let pending = s.voicemails_to_email().unwrap();
                assert_eq!(pending.len(), 1);
                assert_eq!(pending[0].voicemail.caller_number, "1003");
            }
            _ => panic!("schema {version} has no check: add its seed and check here"),
        }
    }

    /// Every table of today's schema takes new rows on the upgraded file.
    fn use_everything(s: &mut Store) {
        let mut a = s.account().unwrap().unwrap_or_default();
        a.time_zone = "Europe/Paris".into();
        s.save_account(&a).unwrap();
        let c = s.direct_conversation("1009", 1).unwrap();
        let m = s
            .add_message(&NewMessage {
                conversation_id: c,
                sender: "1009".into(),
                sent_at: 2,
                body: "upgraded and searchable".into(),
                attachments: vec![],
                delivery: Delivery::Delivered,
            })
            .unwrap();
        assert_eq!(s.search_messages("searchable", None, 5).unwrap()[0].id, m);
        let r = s.create_room("After upgrade", "1001", 3).unwrap();
        s.join_room(r, "1009", 4).unwrap();
        s.add_voicemail(&NewVoicemail {
            caller_name: None,
            caller_number: "1009".into(),
            received_at: 5,
            duration_ms: 1000,
            audio_path: s.dir().join("voicemail/new.ogg"),
            transcript: None,
            server_ref: None,
        })
        .unwrap();
        s.add_fax(&NewFax {
            direction: FaxDirection::Outgoing,
            remote_number: "1009".into(),
            at: 6,
            pages: 1,
            status: FaxStatus::Queued,
            document: s.dir().join("fax/out.pdf"),
            cover_page: Some(CoverPage::default()),
        })
        .unwrap();
        s.install_app(&InstalledApp {
            app_id: "com.example.new".into(),
            name: "New".into(),
            version: "1".into(),
            installed_at: 7,
            enabled: true,
        })
        .unwrap();
        s.queue_call_joined(&NewQueueCall {
            queue: "sales".into(),
            uniqueid: "1700000001.2".into(),
            caller_number: "1009".into(),
            caller_name: String::new(),
            joined_at: 8,
        })
        .unwrap();
    }

    #[test]
    fn every_earlier_version_with_data_upgrades_to_the_latest() {
        assert_eq!(SEEDS.len() as i64, LATEST, "each migration needs a seed");
        for start in 1..=LATEST {
            let dir = tempfile::tempdir().unwrap();
            {
                let mut conn = Connection::open(dir.path().join("switchboard.sqlite3")).unwrap();
                conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
                for v in 1..=start {
                    migrate_to(&mut conn, v).unwrap();
                    conn.execute_batch(SEEDS[v as usize - 1])
                        .unwrap_or_else(|e| panic!("seed {v}: {e}"));
                }
            }
            let mut s = Store::open(dir.path())
                .unwrap_or_else(|e| panic!("opening a version {start} database: {e}"));
            let version: i64 = s
                .conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(version, LATEST, "from version {start}");
            for v in 1..=start {
                check(v, &s);
            }
            use_everything(&mut s);
            assert!(s.integrity_problems().unwrap().is_empty(), "from {start}");
        }
    }

    #[test]
    fn a_failed_step_leaves_the_previous_version_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("switchboard.sqlite3")).unwrap();
        migrate_to(&mut conn, 1).unwrap();
        // A table that step 2 is about to create makes it fail part way through.
        conn.execute_batch("CREATE TABLE voicemail(x)").unwrap();
        assert!(migrate(&mut conn).is_err());
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1);
        let has_conversation: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'conversation'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(has_conversation, 0, "step 2 rolled back whole");
    }
}
