//! The company directory: fetched over HTTP(S) on a thread of its own when the user signs in,
//! when its address changes in Settings, and every quarter of an hour, then stored as the
//! directory's contacts. A failed periodic fetch keeps the last good list. The directory also
//! names the user: their own entry fills in their profile.

use std::time::Duration;

use super::{Backend, BackendConfig, Input};
use crate::convert;
use crate::directory::Entry;
use crate::settings::SettingsForm;

const DEFAULT_REFRESH: Duration = Duration::from_secs(15 * 60);
/// A directory server that takes longer than this is treated as down.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the directory could not be had, in words.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Http(#[from] ureq::Error),
    #[error("{0}")]
    Parse(#[from] crate::directory::DirectoryError),
}

/// The directory the user set in Settings, else the one the app was started with.
pub(super) fn directory_url(config: &BackendConfig, settings: &SettingsForm) -> Option<String> {
    Some(settings.directory_url.trim().to_string())
        .filter(|u| !u.is_empty())
        .or_else(|| config.directory_url.clone())
}

/// Fetches and parses the company directory.
fn fetch_directory(url: &str) -> Result<Vec<Entry>, FetchError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .build()
        .into();
    let body = agent.get(url).call()?.body_mut().read_to_string()?;
    let parsed = crate::directory::parse(&body)?;
    if !parsed.skipped.is_empty() {
        tracing::info!(skipped = parsed.skipped.len(), "directory entries skipped");
    }
    Ok(parsed.entries)
}

/// How often the directory is fetched again: as configured, or every 15 minutes.
pub(super) fn refresh_period(configured: Option<Duration>) -> Duration {
    configured.unwrap_or(DEFAULT_REFRESH)
}

impl Backend {
    /// Sends the stored contacts at once, and starts a fetch of the directory when there is one.
    pub(super) fn load_contacts(&mut self) {
        let Some(s) = self.session.engines() else {
            return;
        };
        if let Some(url) = directory_url(&self.config, &s.settings) {
            let inbox = self.inbox.clone();
            let _ = std::thread::Builder::new()
                .name("directory-fetch".into())
                .spawn(move || {
                    let result = fetch_directory(&url);
                    let _ = inbox.send(Input::Directory { url, result });
                });
        }
        self.send_contacts();
    }

    pub(super) fn directory_fetched(
        &mut self,
        url: String,
        result: Result<Vec<Entry>, FetchError>,
    ) {
        let Some(s) = self.session.engines() else {
            return;
        };
        // The address changed while this fetch ran: its list is not the directory any more.
        if directory_url(&self.config, &s.settings).as_deref() != Some(url.as_str()) {
            return;
        }
        let entries = match result {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!("directory {url}: {e}");
                // Said once, not every quarter of an hour while the server stays down.
                if !self.directory_failing {
                    self.directory_failing = true;
                    self.notice(format!(
                        "The company directory could not be loaded: {e}. The last list is kept."
                    ));
                }
                return;
            }
        };
        self.directory_failing = false;
        let me = s.account.username.clone();
        let (own, others): (Vec<Entry>, Vec<Entry>) = entries
            .into_iter()
            .partition(|e| e.extension.as_deref() == Some(me.as_str()));
        if let Some(own) = own.first() {
            self.found_self_in_directory(own);
        }
        let contacts: Vec<storage::Contact> = others
            .into_iter()
            .map(|e| convert::stored_contact(e, storage::ContactSource::Directory))
            .collect();
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        if let Err(e) = s
            .store
            .replace_contacts(storage::ContactSource::Directory, &contacts)
        {
            self.notice(format!("The company directory could not be saved: {e}"));
        }
        self.send_contacts();
    }
}
