//! Keeps the PBX's copy of the user's call routing ([`crate::routing`]) current: written whole
//! when the manager connection comes up and whenever the strategy, hours, time zone or
//! do-not-disturb change; and what the app does by itself with an incoming call.

use super::Backend;
use crate::routing;
use crate::settings::SettingsForm;

impl Backend {
    /// Writes every routing key, over the call-center's manager connection; without one the
    /// PBX keeps its default and Settings says so.
    pub(super) fn push_routing(&self) {
        let Some(s) = self.session.engines() else {
            return;
        };
        let Some(q) = &s.queues else { return };
        let family = routing::family(&s.account.username);
        for (key, value) in routing::entries(&s.settings, s.settings.do_not_disturb) {
            q.client.send(ami::Action::DbPut {
                family: family.clone(),
                key,
                value,
            });
        }
    }

    /// The avatar menu's toggle: saved with the settings, so it outlives a restart, and told to
    /// colleagues as busy.
    pub(super) fn set_do_not_disturb(&mut self, on: bool) {
        let Some(s) = self.session.engines() else {
            return;
        };
        let mut form = s.settings.clone();
        form.do_not_disturb = on;
        self.save_settings(Box::new(form));
    }

    /// An incoming call that reaches the app while do-not-disturb is on (a PBX without the
    /// routing, or a colleague calling the app directly) is answered busy: the PBX then takes
    /// it to voicemail with the busy greeting.
    pub(super) fn refused_by_do_not_disturb(&self, call: sipcore::CallId) -> bool {
        let on = self
            .session
            .engines()
            .is_some_and(|s| s.settings.do_not_disturb);
        if on {
            self.sip(sipcore::Command::Reject {
                call,
                decline: false,
            });
        }
        on
    }
}

/// Whether the PBX's copy must be written again after the settings went from `old` to `new`.
pub(super) fn routing_changed(old: &SettingsForm, new: &SettingsForm) -> bool {
    old.call_strategy != new.call_strategy
        || old.business_hours != new.business_hours
        || old.time_zone != new.time_zone
        || old.do_not_disturb != new.do_not_disturb
}
