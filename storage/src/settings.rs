//! Settings by name, stored as JSON: the app's typed settings records round-trip through serde,
//! so a new field with a default never breaks an older database.

use serde::{Serialize, de::DeserializeOwned};

use crate::{Result, StorageError, Store};

impl Store {
    /// The stored value, or `None` when it was never saved.
    pub fn setting<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.setting_text(key)?
            .map(|t| {
                serde_json::from_str(&t).map_err(|e| StorageError::Decode(format!("{key}: {e}")))
            })
            .transpose()
    }

    /// The stored JSON text as it is, readable or not.
    pub fn setting_text(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM setting WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .map(Some)
            .or_else(|e| {
                if matches!(e, rusqlite::Error::QueryReturnedNoRows) {
                    Ok(None)
                } else {
                    Err(e.into())
                }
            })
    }

    /// Copies a setting's text, as it is, to `<key>.damaged` (replacing an older copy there):
    /// done before a setting that could not be read is replaced, so that what it held is not
    /// lost.
    pub fn set_aside_setting(&mut self, key: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO setting(key, value) SELECT ?2, value FROM setting WHERE key = ?1 \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, format!("{key}.damaged")),
        )?;
        Ok(())
    }

    pub fn set_setting<T: Serialize>(&mut self, key: &str, value: &T) -> Result<()> {
        let text = serde_json::to_string(value).map_err(|e| StorageError::Decode(e.to_string()))?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO setting(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, &text),
        )?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Notifications {
        ringtone: String,
        volume: f32,
    }

    #[test]
    fn a_setting_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        assert_eq!(s.setting::<Notifications>("notifications").unwrap(), None);
        let n = Notifications {
            ringtone: "chime".into(),
            volume: 0.5,
        };
        s.set_setting("notifications", &n).unwrap();
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(
            s.setting::<Notifications>("notifications").unwrap(),
            Some(n)
        );
    }

    #[test]
    fn a_full_disk_saves_nothing_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        s.set_setting("a", &"small").unwrap();
        // Cap the file at its current size: the next write needs a new page and fails.
        let pages: i64 = s
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        s.conn
            .execute_batch(&format!("PRAGMA max_page_count = {pages}"))
            .unwrap();
        let big = "x".repeat(200_000);
        let err = s.set_setting("b", &big).unwrap_err();
        assert!(matches!(err, StorageError::DiskFull), "{err}");
        assert!(err.to_string().starts_with("The disk is full"));
        assert_eq!(s.setting::<String>("b").unwrap(), None, "no partial row");
        assert_eq!(s.setting::<String>("a").unwrap().as_deref(), Some("small"));
    }

    #[test]
    fn an_unreadable_setting_is_an_error_and_can_be_set_aside_before_it_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        s.set_setting("n", &serde_json::json!({"ringtone": 3}))
            .unwrap();
        let err = s.setting::<Notifications>("n").unwrap_err();
        assert!(err.to_string().contains("n: "), "{err}");
        s.set_aside_setting("n").unwrap();
        let fresh = Notifications {
            ringtone: "Bell".into(),
            volume: 0.5,
        };
        s.set_setting("n", &fresh).unwrap();
        assert_eq!(s.setting::<Notifications>("n").unwrap(), Some(fresh));
        assert_eq!(
            s.setting_text("n.damaged").unwrap().as_deref(),
            Some(r#"{"ringtone":3}"#)
        );
        // Nothing to set aside: nothing is written.
        s.set_aside_setting("never").unwrap();
        assert_eq!(s.setting_text("never.damaged").unwrap(), None);
    }
}
