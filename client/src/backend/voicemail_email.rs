//! Voicemail by email: each voicemail that arrives while "Email me when a voicemail arrives" is
//! on is marked to be emailed in the store, and sent through the user's SMTP server on a worker
//! thread; one that could not be sent stays marked and is tried again at the next sync, the
//! next sign-in or the hourly housekeeping, so a server that was down or a password that was
//! wrong loses nothing. The user is told of a failure once, until a send works again.

use chrono::TimeZone;

use super::{Backend, Input};

/// Where the sends stand: one batch at a time.
#[derive(Debug, Default)]
pub(super) enum Sending {
    #[default]
    Idle,
    Running,
}

impl Backend {
    /// Marks voicemails that just arrived to be emailed, when the user asked for emails, and
    /// sends what is waiting.
    pub(super) fn email_new_voicemails(&mut self, ids: &[i64]) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        if !s.settings.mailbox.email_notification {
            return;
        }
        for id in ids {
            if let Err(e) = s.store.set_voicemail_email_pending(*id, true) {
                tracing::warn!("voicemail {id} not marked for email: {e}");
            }
        }
        self.send_pending_emails();
    }

    /// Sends every voicemail still waiting for its email, on a worker.
    pub(super) fn send_pending_emails(&mut self) {
        let transcripts_coming = self.transcripts_coming();
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        let m = &s.settings.mailbox;
        if !m.email_notification || matches!(s.sending, Sending::Running) {
            return;
        }
        let mut pending = match s.store.voicemails_to_email() {
            Ok(p) => p,
            Err(e) => return self.notice(format!("Voicemails could not be read: {e}")),
        };
        // Those whose transcript is on its way go with it, when it comes.
        pending.retain(|vm| !(transcripts_coming && vm.voicemail.transcript.is_none()));
        if pending.is_empty() {
            return;
        }
        if m.smtp.host.trim().is_empty() {
            if !std::mem::replace(&mut self.email_failing, true) {
                self.notice(
                    "Voicemails cannot be emailed: no outgoing mail server is set in \
                     Settings → Mailbox.",
                );
            }
            return;
        }
        let server = mailbox::email::SmtpServer {
            host: m.smtp.host.trim().to_string(),
            port: m.smtp.port,
            security: crate::convert::smtp_security(m.smtp.security),
            user: m.smtp.user.trim().to_string(),
            password: m.smtp.password.clone(),
            extra_root_pem: s
                .account
                .trusted_ca
                .as_ref()
                .and_then(|p| std::fs::read(p).ok()),
        };
        let record = super::session::account_record(s);
        let from = if record.email.trim().is_empty() {
            format!(
                "Switchboard <{}@{}>",
                s.account.username,
                host_of(&s.account.server)
            )
        } else {
            format!("Switchboard <{}>", record.email.trim())
        };
        let tz: chrono_tz::Tz = s.settings.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let emails: Vec<(i64, mailbox::email::VoicemailEmail)> = pending
            .into_iter()
            .map(|vm| {
                let v = vm.voicemail;
                let name = super::voicemail::caller_name(
                    &s.store,
                    &v.caller_number,
                    v.caller_name.clone(),
                );
                let caller = match &name {
                    Some(name) => format!("{name} ({})", v.caller_number),
                    None => v.caller_number.clone(),
                };
                let email = mailbox::email::VoicemailEmail {
                    from: from.clone(),
                    to: m.email_address.trim().to_string(),
                    caller,
                    received: tz
                        .timestamp_millis_opt(v.received_at)
                        .single()
                        .map(|t| t.format("%a %-d %b %Y, %H:%M %Z").to_string())
                        .unwrap_or_default(),
                    duration: crate::model::format_duration(v.duration_ms.div_ceil(1000)),
                    transcript: v.transcript.clone(),
                    attachment: m.attach_audio.then(|| v.audio_path.clone()),
                };
                (vm.id, email)
            })
            .collect();
        s.sending = Sending::Running;
        let inbox = self.inbox.clone();
        std::thread::Builder::new()
            .name("voicemail email".into())
            .spawn(move || {
                let results = emails
                    .into_iter()
                    .map(|(id, email)| (id, mailbox::email::send(&server, &email)))
                    .collect();
                let _ = inbox.send(Input::EmailsSent(results));
            })
            .expect("spawning a thread");
    }

    pub(super) fn emails_sent(&mut self, results: Vec<(i64, Result<(), mailbox::MailboxError>)>) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        s.sending = Sending::Idle;
        let mut failure = None;
        for (id, result) in results {
            match result {
                Ok(()) => {
                    if let Err(e) = s.store.set_voicemail_email_pending(id, false) {
                        tracing::warn!("voicemail {id} emailed but still marked: {e}");
                    }
                }
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        match failure {
            None => self.email_failing = false,
            Some(e) => {
                if !std::mem::replace(&mut self.email_failing, true) {
                    self.notice(format!(
                        "A voicemail could not be emailed; it will be tried again later: {e}"
                    ));
                }
            }
        }
    }
}

/// The host part of `host[:port]`, for a sender address when the profile has no email.
fn host_of(server: &str) -> &str {
    server
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(server, |(host, _)| host)
}
