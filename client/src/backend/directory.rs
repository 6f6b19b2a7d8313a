//! The company directory: fetched over HTTP(S) on a thread of its own when the user signs in,
//! when its address changes in Settings, and every quarter of an hour, then stored as the
//! directory's contacts. A failed periodic fetch keeps the last good list.

use std::time::Duration;

use super::{Backend, BackendConfig, Input};
use crate::directory::Entry;
use crate::settings::SettingsForm;

const DEFAULT_REFRESH: Duration = Duration::from_secs(15 * 60);
/// A directory server that takes longer than this is treated as down.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// The directory the user set in Settings, else the one the app was started with.
pub(super) fn directory_url(config: &BackendConfig, store: &storage::Store) -> Option<String> {
    let saved: Option<SettingsForm> = store.setting("settings").ok().flatten();
    saved
        .map(|f| f.directory_url.trim().to_string())
        .filter(|u| !u.is_empty())
        .or_else(|| config.directory_url.clone())
}

/// Fetches and parses the company directory.
pub(super) fn fetch_directory(url: &str) -> Result<Vec<Entry>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .build()
        .into();
    let body = agent
        .get(url)
        .call()
        .map_err(|e| e.to_string())?
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let parsed = crate::directory::parse(&body).map_err(|e| e.to_string())?;
    if !parsed.skipped.is_empty() {
        tracing::info!(skipped = parsed.skipped.len(), "directory entries skipped");
    }
    Ok(parsed.entries)
}

/// Asks the backend to fetch the directory again every `every`, for as long as it runs.
pub(super) fn start_refresh_timer(inputs: std::sync::mpsc::Sender<Input>, every: Option<Duration>) {
    let every = every.unwrap_or(DEFAULT_REFRESH);
    let _ = std::thread::Builder::new()
        .name("directory-refresh".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                if inputs.send(Input::RefreshDirectory).is_err() {
                    return;
                }
            }
        });
}

impl Backend {
    /// Sends the stored contacts at once, and starts a fetch of the directory when there is one.
    pub(super) fn load_contacts(&mut self) {
        let Some(s) = self.session.as_ref() else {
            return;
        };
        if let Some(url) = directory_url(&self.config, &s.store) {
            let inputs = self.inputs.clone();
            let _ = std::thread::Builder::new()
                .name("directory-fetch".into())
                .spawn(move || {
                    let result = fetch_directory(&url);
                    let _ = inputs.send(Input::Directory { url, result });
                });
        }
        self.send_contacts();
    }

    pub(super) fn directory_fetched(&mut self, url: String, result: Result<Vec<Entry>, String>) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        // The address changed while this fetch ran: its list is not the directory any more.
        if directory_url(&self.config, &s.store).as_deref() != Some(url.as_str()) {
            return;
        }
        match result {
            Ok(entries) => {
                self.directory_failing = false;
                let contacts: Vec<storage::Contact> = entries
                    .into_iter()
                    .filter(|e| e.extension.as_deref() != Some(s.account.username.as_str()))
                    .map(|e| storage::Contact {
                        id: 0,
                        name: e.name,
                        extension: e.extension,
                        numbers: e.numbers,
                        email: e.email,
                        avatar: None,
                        source: storage::ContactSource::Directory,
                        favourite: false,
                    })
                    .collect();
                if let Err(e) = s
                    .store
                    .replace_contacts(storage::ContactSource::Directory, &contacts)
                {
                    self.notice(format!("The company directory could not be saved: {e}"));
                }
                self.send_contacts();
            }
            Err(e) => {
                tracing::warn!("directory {url}: {e}");
                // Said once, not every quarter of an hour while the server stays down.
                if !self.directory_failing {
                    self.directory_failing = true;
                    self.notice(format!(
                        "The company directory could not be loaded: {e}. The last list is kept."
                    ));
                }
            }
        }
    }
}
