//! Faxes sent and received: the remote number, pages, where each stands, the document file and,
//! for ones we send, the cover page.

use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::{Result, StorageError, Store, file_refs};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaxDirection {
    Incoming,
    Outgoing,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaxStatus {
    Queued,
    Sending,
    Sent,
    Receiving,
    Received,
    /// With the reason in words ("The line was busy").
    Failed(String),
}

impl FaxStatus {
    fn as_str(&self) -> &'static str {
        match self {
            FaxStatus::Queued => "queued",
            FaxStatus::Sending => "sending",
            FaxStatus::Sent => "sent",
            FaxStatus::Receiving => "receiving",
            FaxStatus::Received => "received",
            FaxStatus::Failed(_) => "failed",
        }
    }

    fn failure(&self) -> Option<&str> {
        match self {
            FaxStatus::Failed(why) => Some(why),
            _ => None,
        }
    }

    fn parse(s: &str, failure: Option<String>) -> Self {
        match s {
            "queued" => FaxStatus::Queued,
            "sending" => FaxStatus::Sending,
            "sent" => FaxStatus::Sent,
            "receiving" => FaxStatus::Receiving,
            "received" => FaxStatus::Received,
            _ => FaxStatus::Failed(failure.unwrap_or_default()),
        }
    }
}

/// The first page of a fax we send.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CoverPage {
    pub to: String,
    pub from: String,
    pub subject: String,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFax {
    pub direction: FaxDirection,
    pub remote_number: String,
    /// Unix milliseconds: when it was queued or began to arrive.
    pub at: i64,
    pub pages: u32,
    pub status: FaxStatus,
    /// The PDF or TIFF; paths inside the profile folder are stored relative to it.
    pub document: PathBuf,
    pub cover_page: Option<CoverPage>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fax {
    pub id: i64,
    pub fax: NewFax,
}

const COLUMNS: &str =
    "id, direction, remote_number, at, pages, status, failure, document_path, cover_page";

fn from_row(dir: &Path, r: &Row) -> rusqlite::Result<Fax> {
    let direction: String = r.get(1)?;
    let status: String = r.get(5)?;
    let cover: Option<String> = r.get(8)?;
    Ok(Fax {
        id: r.get(0)?,
        fax: NewFax {
            direction: if direction == "incoming" {
                FaxDirection::Incoming
            } else {
                FaxDirection::Outgoing
            },
            remote_number: r.get(2)?,
            at: r.get(3)?,
            pages: r.get(4)?,
            status: FaxStatus::parse(&status, r.get(6)?),
            document: file_refs::from_text(dir, &r.get::<_, String>(7)?),
            // A cover page that no longer reads is shown as none rather than hiding the fax.
            cover_page: cover.and_then(|c| serde_json::from_str(&c).ok()),
        },
    })
}

fn not_found(id: i64) -> StorageError {
    StorageError::NotFound { what: "fax", id }
}

impl Store {
    pub fn add_fax(&mut self, f: &NewFax) -> Result<i64> {
        let document = file_refs::to_text(&self.dir, &f.document)?;
        let cover = f
            .cover_page
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StorageError::Decode(e.to_string()))?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO fax(direction, remote_number, at, pages, status, failure, document_path, cover_page)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            (
                match f.direction {
                    FaxDirection::Incoming => "incoming",
                    FaxDirection::Outgoing => "outgoing",
                },
                &f.remote_number,
                f.at,
                f.pages,
                f.status.as_str(),
                f.status.failure(),
                document,
                cover,
            ),
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    pub fn fax(&self, id: i64) -> Result<Option<Fax>> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM fax WHERE id = ?1"))?
            .query_row([id], |r| from_row(&self.dir, r))
            .optional()?)
    }

    /// Up to `limit` faxes older than `before` (an id; `None` for the newest), newest first.
    pub fn faxes(&self, before: Option<i64>, limit: usize) -> Result<Vec<Fax>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM fax WHERE id < ?1 ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map((before.unwrap_or(i64::MAX), limit as i64), |r| {
            from_row(&self.dir, r)
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Where a fax stands now, with the pages done so far.
    pub fn set_fax_status(&mut self, id: i64, status: &FaxStatus, pages: u32) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE fax SET status = ?2, failure = ?3, pages = ?4 WHERE id = ?1",
            (id, status.as_str(), status.failure(), pages),
        )?;
        if n == 0 {
            return Err(not_found(id));
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes a fax; its document is removed too when it lives in the profile folder (a file
    /// the user sent from their own folders is theirs). A document already gone is fine.
    pub fn delete_fax(&mut self, id: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        let document: Option<String> = tx
            .query_row(
                "DELETE FROM fax WHERE id = ?1 RETURNING document_path",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let document = document.ok_or_else(|| not_found(id))?;
        tx.commit()?;
        let path = file_refs::from_text(&self.dir, &document);
        if path.starts_with(&self.dir) {
            file_refs::remove(&path).map_err(|e| StorageError::Io { path, source: e })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_fax_keeps_its_cover_page_and_status_through_failure() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let mut fax = NewFax {
            direction: FaxDirection::Outgoing,
            remote_number: "+15550199".into(),
            at: 1000,
            pages: 0,
            status: FaxStatus::Queued,
            document: PathBuf::from("/home/u/Documents/contract.pdf"),
            cover_page: Some(CoverPage {
                to: "Legal".into(),
                from: "Ada".into(),
                subject: "Contract".into(),
                note: "Signed copy attached.".into(),
            }),
        };
        let id = s.add_fax(&fax).unwrap();
        assert_eq!(s.fax(id).unwrap().unwrap().fax, fax);
        s.set_fax_status(id, &FaxStatus::Failed("The line was busy".into()), 2)
            .unwrap();
        fax.status = FaxStatus::Failed("The line was busy".into());
        fax.pages = 2;
        assert_eq!(s.fax(id).unwrap().unwrap().fax, fax);
        s.set_fax_status(id, &FaxStatus::Sent, 3).unwrap();
        assert_eq!(s.fax(id).unwrap().unwrap().fax.status, FaxStatus::Sent);
        s.delete_fax(id).unwrap();
        assert_eq!(s.fax(id).unwrap(), None);
    }

    #[test]
    fn received_faxes_page_newest_first_and_take_their_document_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join("fax")).unwrap();
        let mut ids = Vec::new();
        for i in 0..5 {
            let document = dir.path().join(format!("fax/{i}.tiff"));
            std::fs::write(&document, b"II*").unwrap();
            ids.push(
                s.add_fax(&NewFax {
                    direction: FaxDirection::Incoming,
                    remote_number: format!("+1555010{i}"),
                    at: i,
                    pages: 1,
                    status: FaxStatus::Received,
                    document,
                    cover_page: None,
                })
                .unwrap(),
            );
        }
        let page = s.faxes(None, 2).unwrap();
        assert_eq!(
            page.iter().map(|f| f.id).collect::<Vec<_>>(),
            vec![ids[4], ids[3]]
        );
        let rest = s.faxes(Some(page[1].id), 10).unwrap();
        assert_eq!(rest.len(), 3);
        s.delete_fax(ids[0]).unwrap();
        assert!(!dir.path().join("fax/0.tiff").exists());
        std::fs::remove_file(dir.path().join("fax/1.tiff")).unwrap();
        s.delete_fax(ids[1]).unwrap();
        assert!(matches!(
            s.delete_fax(ids[1]),
            Err(StorageError::NotFound { .. })
        ));
    }
}
