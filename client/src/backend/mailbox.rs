//! Visual voicemail: the voicemails the PBX keeps in the user's IMAP box (see the `mailbox`
//! crate) are brought into the store, so they are listed, played and searched like the rest.
//!
//! A sync lists the box, fetches the recording of each message not yet stored and writes it
//! as Ogg Opus in the profile, on a worker thread; its result comes back on the inbox, where
//! the new voicemails are added, those deleted elsewhere (on the phone, by another device)
//! are removed, and those heard elsewhere are marked heard. It runs after sign-in, whenever
//! the message-waiting count changes and on Refresh; one at a time, with one more queued if
//! asked meanwhile. Playing a voicemail marks it heard on the server, deleting it deletes it
//! there; the PBX's message-waiting count follows at its next poll.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{Backend, Input};

/// What a sync brought back.
pub(crate) struct Synced {
    /// Every voicemail on the server, by reference, and whether it was heard there.
    on_server: HashMap<String, bool>,
    /// The ones fetched this time, their audio written.
    fetched: Vec<storage::voicemails::NewVoicemail>,
    /// Messages whose recording could not be fetched or read, with why.
    failed: Vec<(String, mailbox::MailboxError)>,
}

/// The IMAP account for the user's box, when a voicemail server is set: `host:port` for plain
/// IMAP, `imaps://host:port` over TLS.
fn account(server: &str, account: &sipcore::Account) -> Result<Option<mailbox::Account>, String> {
    let server = server.trim();
    if server.is_empty() {
        return Ok(None);
    }
    let (addr, tls) = match server.strip_prefix("imaps://") {
        Some(rest) => {
            let anchors =
                sipcore::TrustAnchors::load(account.trusted_ca.as_deref()).map_err(|e| {
                    format!("The voicemail server's certificate cannot be checked: {e}")
                })?;
            (rest, Some(anchors.client_config()))
        }
        None => (server.strip_prefix("imap://").unwrap_or(server), None),
    };
    Ok(Some(mailbox::Account {
        addr: addr.to_string(),
        user: account.username.clone(),
        password: account.password.clone(),
        tls,
    }))
}

impl Backend {
    fn mailbox_account(&self) -> Option<mailbox::Account> {
        let s = self.session.engines()?;
        match account(&s.settings.mailbox.voicemail_server, &s.account) {
            Ok(a) => a,
            Err(why) => {
                self.notice(why);
                None
            }
        }
    }

    /// Starts a sync, or queues one after the running one.
    pub(super) fn sync_mailbox(&mut self) {
        let Some(account) = self.mailbox_account() else {
            return;
        };
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        if s.syncing.busy() {
            return;
        }
        let known: HashSet<String> = match s.store.voicemails_on_server() {
            Ok(v) => v.into_iter().map(|(_, r)| r).collect(),
            Err(e) => return self.notice(format!("Voicemails could not be read: {e}")),
        };
        s.syncing.start();
        let dir = s.store.dir().join("voicemail");
        let cutoff =
            super::retention::retention(s.settings.mailbox.delete_after).cutoff(super::now_ms());
        let inbox = self.inbox.clone();
        std::thread::Builder::new()
            .name("voicemail sync".into())
            .spawn(move || {
                let result = sync(&account, &known, &dir, cutoff);
                let _ = inbox.send(Input::MailboxSynced(result));
            })
            .expect("spawning a thread");
    }

    pub(super) fn mailbox_synced(&mut self, result: Result<Synced, mailbox::MailboxError>) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        let again = s.syncing.finish();
        let synced = match result {
            Ok(synced) => synced,
            Err(e) => {
                if !std::mem::replace(&mut self.mailbox_failing, true) {
                    self.notice(format!(
                        "Voicemails on the phone system could not be listed: {e}"
                    ));
                }
                return;
            }
        };
        self.mailbox_failing = false;
        let mut problems = Vec::new();
        let mut added = Vec::new();
        for vm in &synced.fetched {
            match s.store.add_voicemail(vm) {
                Ok(id) => added.push(id),
                Err(e) => problems.push(format!("a voicemail could not be saved: {e}")),
            }
        }
        match s.store.voicemails_on_server() {
            Ok(stored) => {
                for (id, reference) in stored {
                    match synced.on_server.get(&reference) {
                        // Deleted on the phone or by another device: gone here too.
                        None => {
                            if let Err(e) = s.store.delete_voicemail(id) {
                                problems.push(format!("a deleted voicemail stayed: {e}"));
                            }
                        }
                        // Heard on the phone or by another device.
                        Some(true) => {
                            if let Err(e) = s.store.set_voicemail_heard(id, true) {
                                tracing::warn!("marking voicemail {id} heard: {e}");
                            }
                        }
                        Some(false) => {}
                    }
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
        for (reference, e) in &synced.failed {
            tracing::warn!(%reference, "voicemail not fetched: {e}");
            problems.push(e.to_string());
        }
        if let Some(first) = problems.first() {
            self.notice(format!(
                "Some voicemails could not be brought over ({} in all): {first}",
                problems.len()
            ));
        }
        self.send_voicemails();
        self.transcribe_voicemails();
        self.email_new_voicemails(&added);
        // Emails that failed earlier go with this sync's.
        self.send_pending_emails();
        if again {
            self.sync_mailbox();
        }
    }

    /// The voicemail's message on the server, when it came from there.
    fn server_reference(&self, id: i64) -> Option<mailbox::Reference> {
        let s = self.session.engines()?;
        let vm = s.store.voicemail(id).ok()??;
        vm.voicemail.server_ref?.parse().ok()
    }

    /// Marks a voicemail heard on the server too, in the background.
    pub(super) fn heard_on_server(&self, id: i64) {
        self.on_server(id, "marked heard", mailbox::mark_heard);
    }

    /// Deletes a voicemail on the server too, in the background. Called before the local row
    /// goes, while its reference can still be read.
    pub(super) fn delete_on_server(&self, id: i64) {
        self.on_server(id, "deleted", mailbox::delete);
    }

    /// Deletes a message on the server that is no longer stored here (retention).
    pub(super) fn delete_reference_on_server(&self, reference: mailbox::Reference) {
        self.act_on_server(reference, "deleted", mailbox::delete);
    }

    fn on_server(
        &self,
        id: i64,
        what: &'static str,
        act: fn(&mailbox::Account, &mailbox::Reference) -> Result<(), mailbox::MailboxError>,
    ) {
        if let Some(reference) = self.server_reference(id) {
            self.act_on_server(reference, what, act);
        }
    }

    fn act_on_server(
        &self,
        reference: mailbox::Reference,
        what: &'static str,
        act: fn(&mailbox::Account, &mailbox::Reference) -> Result<(), mailbox::MailboxError>,
    ) {
        let Some(account) = self.mailbox_account() else {
            return;
        };
        let inbox = self.inbox.clone();
        std::thread::Builder::new()
            .name("voicemail on server".into())
            .spawn(move || {
                if let Err(e) = act(&account, &reference) {
                    let text =
                        format!("The voicemail could not be {what} on the phone system: {e}");
                    let _ = inbox.send(Input::Notice(text));
                }
            })
            .expect("spawning a thread");
    }
}

/// Lists the box and fetches what is not stored yet (on the worker thread). Messages older
/// than `cutoff` are past the user's retention: deleted on the server, never brought over.
fn sync(
    account: &mailbox::Account,
    known: &HashSet<String>,
    dir: &Path,
    cutoff: Option<i64>,
) -> Result<Synced, mailbox::MailboxError> {
    let mut listed = mailbox::list(account)?;
    let mut expired_failed = Vec::new();
    listed.retain(|l| {
        let expired = cutoff.is_some_and(|c| l.voicemail.received_at_ms < c);
        if expired && let Err(e) = mailbox::delete(account, &l.reference) {
            expired_failed.push((l.reference.to_string(), e));
        }
        !expired
    });
    let mut synced = Synced {
        on_server: listed
            .iter()
            .map(|l| (l.reference.to_string(), l.seen))
            .collect(),
        fetched: Vec::new(),
        failed: expired_failed,
    };
    for l in listed {
        let reference = l.reference.to_string();
        if known.contains(&reference) {
            continue;
        }
        match fetch(account, &l, dir) {
            Ok(vm) => synced.fetched.push(vm),
            Err(e) => synced.failed.push((reference, e)),
        }
    }
    Ok(synced)
}

fn fetch(
    account: &mailbox::Account,
    l: &mailbox::Listed,
    dir: &Path,
) -> Result<storage::voicemails::NewVoicemail, mailbox::MailboxError> {
    let wav = mailbox::fetch_audio(account, &l.reference)?;
    let pcm = mailbox::wav::decode(&wav)?;
    let path = audio_path(dir, &l.reference);
    let written = std::fs::create_dir_all(dir)
        .map_err(|e| e.to_string())
        .and_then(|_| {
            media::ogg_opus::write_pcm(&path, pcm.rate, &pcm.samples, 24_000)
                .map_err(|e| e.to_string())
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(mailbox::MailboxError::BadAudio(e));
    }
    let v = &l.voicemail;
    Ok(storage::voicemails::NewVoicemail {
        caller_name: v.caller_name.clone(),
        caller_number: v.caller_number.clone(),
        received_at: v.received_at_ms,
        // The header rounds to whole seconds; the recording knows.
        duration_ms: pcm.duration_ms(),
        audio_path: path,
        transcript: None,
        server_ref: Some(l.reference.to_string()),
    })
}

/// One file per message: its folder, UIDVALIDITY and UID name it for good.
fn audio_path(dir: &Path, r: &mailbox::Reference) -> PathBuf {
    let folder: String = r
        .folder
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    dir.join(format!("server-{folder}-{}-{}.ogg", r.validity, r.uid))
}
