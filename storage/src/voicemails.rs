//! Voicemails: who called, when, how long, the audio file, its transcript, and whether it was
//! heard. Retention removes old ones with their audio: the rows first, in one transaction, then
//! the files, so a crash in between leaves at worst an orphan file, never a row whose audio is
//! gone.

use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, Row};

use crate::{Result, StorageError, Store, file_refs};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVoicemail {
    pub caller_name: Option<String>,
    pub caller_number: String,
    /// Unix milliseconds.
    pub received_at: i64,
    pub duration_ms: u64,
    /// Where the audio is; paths inside the profile folder are stored relative to it.
    pub audio_path: PathBuf,
    pub transcript: Option<String>,
    /// The message on the PBX this voicemail was fetched from (its IMAP mailbox), if any.
    pub server_ref: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voicemail {
    pub id: i64,
    pub voicemail: NewVoicemail,
    /// `false` while new.
    pub heard: bool,
}

/// How long voicemails are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Retention {
    #[default]
    Forever,
    Days(u32),
}

impl Retention {
    /// Unix milliseconds before which voicemails are not kept at `now`; `None` to keep them
    /// all.
    pub fn cutoff(self, now: i64) -> Option<i64> {
        match self {
            Retention::Forever => None,
            Retention::Days(days) => Some(now.saturating_sub(i64::from(days) * DAY_MS)),
        }
    }
}

/// What a retention run did.
#[derive(Debug, Default)]
pub struct RetentionReport {
    pub voicemails_removed: usize,
    pub files_removed: usize,
    /// Audio files that were already gone: not an error, there was nothing left to do.
    pub files_already_gone: usize,
    /// Files that could not be removed (the rows are gone all the same), with why.
    pub files_left: Vec<(PathBuf, std::io::Error)>,
    /// The PBX messages of the removed voicemails that came from there: to delete there too.
    pub server_refs: Vec<String>,
}

const COLUMNS: &str = "id, caller_name, caller_number, received_at, duration_ms, audio_path, \
                       transcript, heard, server_ref";

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn from_row(dir: &Path, r: &Row) -> rusqlite::Result<Voicemail> {
    Ok(Voicemail {
        id: r.get(0)?,
        voicemail: NewVoicemail {
            caller_name: r.get(1)?,
            caller_number: r.get(2)?,
            received_at: r.get(3)?,
            duration_ms: r.get::<_, i64>(4)?.max(0) as u64,
            audio_path: file_refs::from_text(dir, &r.get::<_, String>(5)?),
            transcript: r.get(6)?,
            server_ref: r.get(8)?,
        },
        heard: r.get(7)?,
    })
}

fn not_found(id: i64) -> StorageError {
    StorageError::NotFound {
        what: "voicemail",
        id,
    }
}

impl Store {
    pub fn add_voicemail(&mut self, v: &NewVoicemail) -> Result<i64> {
        let audio = file_refs::to_text(&self.dir, &v.audio_path)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO voicemail(caller_name, caller_number, received_at, duration_ms, audio_path, transcript, server_ref)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            (
                &v.caller_name,
                &v.caller_number,
                v.received_at,
                v.duration_ms as i64,
                audio,
                &v.transcript,
                &v.server_ref,
            ),
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Marks a voicemail to be emailed (a send failed, or it just arrived), or emailed.
    pub fn set_voicemail_email_pending(&mut self, id: i64, pending: bool) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE voicemail SET email_pending = ?2 WHERE id = ?1",
            (id, pending),
        )?;
        if n == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }

    /// The voicemails whose email is still to be sent, oldest first.
    pub fn voicemails_to_email(&self) -> Result<Vec<Voicemail>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM voicemail WHERE email_pending ORDER BY received_at, id"
        ))?;
        let rows = stmt.query_map([], |r| from_row(&self.dir, r))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The voicemails fetched from the PBX, with their message there.
    pub fn voicemails_on_server(&self) -> Result<Vec<(i64, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, server_ref FROM voicemail WHERE server_ref IS NOT NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn voicemail(&self, id: i64) -> Result<Option<Voicemail>> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM voicemail WHERE id = ?1"))?
            .query_row([id], |r| from_row(&self.dir, r))
            .optional()?)
    }

    /// Every voicemail, newest first.
    pub fn voicemails(&self) -> Result<Vec<Voicemail>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM voicemail ORDER BY received_at DESC, id DESC"
        ))?;
        let rows = stmt.query_map([], |r| from_row(&self.dir, r))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many are not heard yet (the badge).
    pub fn new_voicemail_count(&self) -> Result<usize> {
        let n: i64 =
            self.conn
                .query_row("SELECT count(*) FROM voicemail WHERE NOT heard", [], |r| {
                    r.get(0)
                })?;
        Ok(n as usize)
    }

    pub fn set_voicemail_heard(&mut self, id: i64, heard: bool) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute("UPDATE voicemail SET heard = ?2 WHERE id = ?1", (id, heard))?;
        if n == 0 {
            return Err(not_found(id));
        }
        tx.commit()?;
        Ok(())
    }

    /// The transcript, when transcription finishes after the voicemail arrived.
    pub fn set_voicemail_transcript(&mut self, id: i64, transcript: Option<&str>) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE voicemail SET transcript = ?2 WHERE id = ?1",
            (id, transcript),
        )?;
        if n == 0 {
            return Err(not_found(id));
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes one voicemail and its audio file.
    pub fn delete_voicemail(&mut self, id: i64) -> Result<RetentionReport> {
        self.remove_voicemails("id = ?1", id)?
            .ok_or_else(|| not_found(id))
    }

    /// Deletes every voicemail received before `now` less the retention period, with its
    /// audio. `Forever` deletes nothing.
    pub fn apply_voicemail_retention(
        &mut self,
        retention: Retention,
        now: i64,
    ) -> Result<RetentionReport> {
        let Some(cutoff) = retention.cutoff(now) else {
            return Ok(RetentionReport::default());
        };
        Ok(self
            .remove_voicemails("received_at < ?1", cutoff)?
            .unwrap_or_default())
    }

    /// Deletes the rows matching `condition` (one of ours, with one parameter) in one
    /// transaction, then their files. `None` when no row matched.
    fn remove_voicemails(
        &mut self,
        condition: &'static str,
        param: i64,
    ) -> Result<Option<RetentionReport>> {
        let tx = self.conn.transaction()?;
        let removed: Vec<(String, Option<String>)> = tx
            .prepare(&format!(
                "DELETE FROM voicemail WHERE {condition} RETURNING audio_path, server_ref"
            ))?
            .query_map([param], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        tx.commit()?;
        if removed.is_empty() {
            return Ok(None);
        }
        let mut report = RetentionReport {
            voicemails_removed: removed.len(),
            ..Default::default()
        };
        let mut files = Vec::new();
        for (file, server_ref) in removed {
            files.push(file);
            report.server_refs.extend(server_ref);
        }
        for text in files {
            let path = file_refs::from_text(&self.dir, &text);
            match file_refs::remove(&path) {
                Ok(true) => report.files_removed += 1,
                Ok(false) => report.files_already_gone += 1,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "voicemail audio left behind");
                    report.files_left.push((path, e));
                }
            }
        }
        Ok(Some(report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(dir: &Path, name: &str, received_at: i64) -> NewVoicemail {
        NewVoicemail {
            caller_name: Some("Grace Hopper".into()),
            caller_number: "1002".into(),
            received_at,
            duration_ms: 12_500,
            audio_path: dir.join("voicemail").join(name),
            transcript: None,
            server_ref: None,
        }
    }

    #[test]
    fn a_voicemail_waits_for_its_email_until_sent() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let a = s.add_voicemail(&vm(dir.path(), "a.ogg", 1000)).unwrap();
        let b = s.add_voicemail(&vm(dir.path(), "b.ogg", 2000)).unwrap();
        assert!(s.voicemails_to_email().unwrap().is_empty());
        s.set_voicemail_email_pending(b, true).unwrap();
        s.set_voicemail_email_pending(a, true).unwrap();
        let ids: Vec<i64> = s
            .voicemails_to_email()
            .unwrap()
            .iter()
            .map(|v| v.id)
            .collect();
        assert_eq!(ids, [a, b], "oldest first");
        s.set_voicemail_email_pending(a, false).unwrap();
        assert_eq!(s.voicemails_to_email().unwrap()[0].id, b);
        assert!(s.set_voicemail_email_pending(999, true).is_err());
    }

    #[test]
    fn a_voicemail_from_the_server_is_kept_once_and_found_by_its_message_there() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let mut from_server = vm(dir.path(), "a.ogg", 1000);
        from_server.server_ref = Some("7/12".into());
        let a = s.add_voicemail(&from_server).unwrap();
        s.add_voicemail(&vm(dir.path(), "b.ogg", 2000)).unwrap();
        assert!(
            s.add_voicemail(&from_server).is_err(),
            "the same message twice"
        );
        assert_eq!(
            s.voicemails_on_server().unwrap(),
            vec![(a, "7/12".to_string())]
        );
        assert_eq!(
            s.voicemail(a)
                .unwrap()
                .unwrap()
                .voicemail
                .server_ref
                .as_deref(),
            Some("7/12")
        );
        // Removed by retention, it is named for deletion on the server.
        let report = s
            .apply_voicemail_retention(Retention::Days(1), 1500 + DAY_MS)
            .unwrap();
        assert_eq!(report.voicemails_removed, 1);
        assert_eq!(report.server_refs, ["7/12"]);
    }

    #[test]
    fn a_voicemail_is_new_until_heard_and_gains_its_transcript() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let a = s.add_voicemail(&vm(dir.path(), "a.ogg", 1000)).unwrap();
        let b = s.add_voicemail(&vm(dir.path(), "b.ogg", 2000)).unwrap();
        assert_eq!(s.new_voicemail_count().unwrap(), 2);
        s.set_voicemail_heard(a, true).unwrap();
        s.set_voicemail_transcript(b, Some("Call me back about the launch."))
            .unwrap();
        assert_eq!(s.new_voicemail_count().unwrap(), 1);
        let all = s.voicemails().unwrap();
        assert_eq!(all.iter().map(|v| v.id).collect::<Vec<_>>(), vec![b, a]);
        assert_eq!(
            all[0].voicemail.audio_path,
            dir.path().join("voicemail/b.ogg")
        );
        assert_eq!(
            all[0].voicemail.transcript.as_deref(),
            Some("Call me back about the launch.")
        );
        assert!(all[1].heard && !all[0].heard);
        assert!(matches!(
            s.set_voicemail_heard(999, true),
            Err(StorageError::NotFound { .. })
        ));
    }

    #[test]
    fn retention_removes_old_voicemails_with_their_audio_and_tolerates_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join("voicemail")).unwrap();
        let now = 100 * DAY_MS;
        let mut ids = Vec::new();
        for (name, age_days, file_exists) in [
            ("old.ogg", 40, true),
            ("old-gone.ogg", 35, false),
            ("recent.ogg", 5, true),
        ] {
            let v = vm(dir.path(), name, now - age_days * DAY_MS);
            if file_exists {
                std::fs::write(&v.audio_path, b"OggS").unwrap();
            }
            ids.push(s.add_voicemail(&v).unwrap());
        }

        let kept = s
            .apply_voicemail_retention(Retention::Forever, now)
            .unwrap();
        assert_eq!(kept.voicemails_removed, 0);
        assert_eq!(s.voicemails().unwrap().len(), 3);

        let report = s
            .apply_voicemail_retention(Retention::Days(30), now)
            .unwrap();
        assert_eq!(report.voicemails_removed, 2);
        assert_eq!(report.files_removed, 1);
        assert_eq!(report.files_already_gone, 1);
        assert!(report.files_left.is_empty());
        let left: Vec<_> = s.voicemails().unwrap().iter().map(|v| v.id).collect();
        assert_eq!(left, vec![ids[2]]);
        assert!(!dir.path().join("voicemail/old.ogg").exists());
        assert!(dir.path().join("voicemail/recent.ogg").exists());

        let one = s.delete_voicemail(ids[2]).unwrap();
        assert_eq!((one.voicemails_removed, one.files_removed), (1, 1));
        assert!(!dir.path().join("voicemail/recent.ogg").exists());
        assert!(matches!(
            s.delete_voicemail(ids[2]),
            Err(StorageError::NotFound { .. })
        ));
    }

    #[test]
    fn a_file_that_cannot_be_removed_is_reported_and_its_row_is_still_gone() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        // A directory where the audio file should be: remove_file fails on it.
        let v = vm(dir.path(), "stuck.ogg", 0);
        std::fs::create_dir_all(&v.audio_path).unwrap();
        s.add_voicemail(&v).unwrap();
        let report = s
            .apply_voicemail_retention(Retention::Days(1), DAY_MS * 10)
            .unwrap();
        assert_eq!(report.voicemails_removed, 1);
        assert_eq!(report.files_left.len(), 1);
        assert!(s.voicemails().unwrap().is_empty());
    }
}
