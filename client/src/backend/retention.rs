//! "Delete voicemail after N days": at sign-in and every hour after (so at least once a day
//! whenever the app runs), voicemails older than the setting are deleted with their audio,
//! and those that came from the PBX are deleted there too. A sync never brings back what
//! retention removed: messages past the cutoff are deleted on the server instead of fetched
//! ([`super::mailbox`]).

use std::time::Duration;

use super::{Backend, now_ms};
use crate::settings::RetentionDays;

/// How often the backend does its housekeeping (retention, emails still to send).
pub(super) const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60 * 60);

/// The setting as the store applies it.
pub(super) fn retention(setting: RetentionDays) -> storage::voicemails::Retention {
    match setting {
        RetentionDays::Never => storage::voicemails::Retention::Forever,
        RetentionDays::Days(d) => storage::voicemails::Retention::Days(d),
    }
}

impl Backend {
    pub(super) fn apply_retention(&mut self) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        let kept = retention(s.settings.mailbox.delete_after);
        let report = match s.store.apply_voicemail_retention(kept, now_ms()) {
            Ok(r) => r,
            Err(e) => return self.notice(format!("Old voicemails could not be deleted: {e}")),
        };
        for (path, e) in &report.files_left {
            tracing::warn!("voicemail audio {} left behind: {e}", path.display());
        }
        for reference in &report.server_refs {
            if let Ok(r) = reference.parse() {
                self.delete_reference_on_server(r);
            }
        }
        if report.voicemails_removed > 0 {
            tracing::info!(removed = report.voicemails_removed, "voicemail retention");
            self.send_voicemails();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_the_setting_before_now() {
        const DAY_MS: i64 = 24 * 60 * 60 * 1000;
        assert_eq!(retention(RetentionDays::Never).cutoff(1_000), None);
        let now = 100 * DAY_MS;
        assert_eq!(
            retention(RetentionDays::Days(30)).cutoff(now),
            Some(70 * DAY_MS)
        );
    }
}
