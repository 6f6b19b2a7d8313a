//! Marketplace apps the user installed, and each app's own settings. The settings are the app's
//! JSON, read and written through serde by whoever knows their shape; reinstalling (an update)
//! keeps them.

use rusqlite::{OptionalExtension, Row};
use serde::{Serialize, de::DeserializeOwned};

use crate::{Result, StorageError, Store};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledApp {
    /// The marketplace's id for the app.
    pub app_id: String,
    pub name: String,
    pub version: String,
    /// Unix milliseconds.
    pub installed_at: i64,
    pub enabled: bool,
}

fn from_row(r: &Row) -> rusqlite::Result<InstalledApp> {
    Ok(InstalledApp {
        app_id: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        installed_at: r.get(3)?,
        enabled: r.get(4)?,
    })
}

fn not_installed(app_id: &str) -> StorageError {
    StorageError::AppNotInstalled(app_id.to_owned())
}

impl Store {
    /// Installs an app, or updates its name, version and enabled state if it is installed
    /// already; its settings stay either way.
    pub fn install_app(&mut self, app: &InstalledApp) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO installed_app(app_id, name, version, installed_at, enabled)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(app_id) DO UPDATE SET name = excluded.name, version = excluded.version,
               installed_at = excluded.installed_at, enabled = excluded.enabled",
            (
                &app.app_id,
                &app.name,
                &app.version,
                app.installed_at,
                app.enabled,
            ),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every installed app, by name.
    pub fn installed_apps(&self) -> Result<Vec<InstalledApp>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT app_id, name, version, installed_at, enabled FROM installed_app
             ORDER BY name COLLATE NOCASE",
        )?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Removes an app and its settings. Removing one that is not installed does nothing.
    pub fn uninstall_app(&mut self, app_id: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM installed_app WHERE app_id = ?1", [app_id])?;
        tx.commit()?;
        Ok(())
    }

    pub fn set_app_enabled(&mut self, app_id: &str, enabled: bool) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE installed_app SET enabled = ?2 WHERE app_id = ?1",
            (app_id, enabled),
        )?;
        if n == 0 {
            return Err(not_installed(app_id));
        }
        tx.commit()?;
        Ok(())
    }

    /// The app's settings, or `None` for an app that is not installed.
    pub fn app_settings<T: DeserializeOwned>(&self, app_id: &str) -> Result<Option<T>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT settings FROM installed_app WHERE app_id = ?1",
                [app_id],
                |r| r.get(0),
            )
            .optional()?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StorageError::Decode(format!("{app_id}: {e}")))
        })
        .transpose()
    }

    pub fn set_app_settings<T: Serialize>(&mut self, app_id: &str, settings: &T) -> Result<()> {
        let text =
            serde_json::to_string(settings).map_err(|e| StorageError::Decode(e.to_string()))?;
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE installed_app SET settings = ?2 WHERE app_id = ?1",
            (app_id, text),
        )?;
        if n == 0 {
            return Err(not_installed(app_id));
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crm(version: &str) -> InstalledApp {
        InstalledApp {
            app_id: "com.example.crm".into(),
            name: "CRM lookup".into(),
            version: version.into(),
            installed_at: 1,
            enabled: true,
        }
    }

    #[test]
    fn an_update_keeps_the_apps_settings_and_uninstall_drops_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        s.install_app(&crm("1.0")).unwrap();
        assert_eq!(
            s.app_settings::<serde_json::Value>("com.example.crm")
                .unwrap(),
            Some(json!({}))
        );
        let settings = json!({"url": "https://crm.example.com", "pop_up_on_ring": true});
        s.set_app_settings("com.example.crm", &settings).unwrap();
        s.install_app(&crm("1.1")).unwrap();
        s.set_app_enabled("com.example.crm", false).unwrap();
        let apps = s.installed_apps().unwrap();
        assert_eq!(apps.len(), 1);
        assert_eq!((apps[0].version.as_str(), apps[0].enabled), ("1.1", false));
        assert_eq!(
            s.app_settings::<serde_json::Value>("com.example.crm")
                .unwrap(),
            Some(settings)
        );
        s.uninstall_app("com.example.crm").unwrap();
        assert!(s.installed_apps().unwrap().is_empty());
        assert_eq!(
            s.app_settings::<serde_json::Value>("com.example.crm")
                .unwrap(),
            None
        );
        assert!(matches!(
            s.set_app_settings("com.example.crm", &json!({})),
            Err(StorageError::AppNotInstalled(_))
        ));
    }
}
