//! "Delete voicemail after N days": at sign-in and every hour after (so at least once a day
//! whenever the app runs), voicemails older than the setting are deleted with their audio,
//! and those that came from the PBX are deleted there too. A sync never brings back what retention removed: messages past the cutoff are deleted
//! on the server instead of fetched ([`super::mailbox`]).

use std::time::Duration;

use super::{Backend, now_ms};
use crate::settings::RetentionDays;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// How often the backend does its housekeeping (retention, emails still to send).
pub(super) const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60 * 60);

/// Unix milliseconds before which voicemails are not kept; `None` to keep them all.
pub(super) fn cutoff(setting: RetentionDays, now_ms: i64) -> Option<i64> {
    match setting {
        RetentionDays::Never => None,
        RetentionDays::Days(days) => Some(now_ms - i64::from(days) * DAY.as_millis() as i64),
    }
}

impl Backend {
    pub(super) fn apply_retention(&mut self) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        let retention = match s.settings.mailbox.delete_after {
            RetentionDays::Never => storage::voicemails::Retention::Forever,
            RetentionDays::Days(d) => storage::voicemails::Retention::Days(d),
        };
        let report = match s.store.apply_voicemail_retention(retention, now_ms()) {
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
        assert_eq!(cutoff(RetentionDays::Never, 1_000), None);
        let now = 100 * DAY.as_millis() as i64;
        assert_eq!(
            cutoff(RetentionDays::Days(30), now),
            Some(70 * DAY.as_millis() as i64)
        );
    }
}
