//! The backend's side of local contacts: saving, deleting and importing them in the store, then
//! sending the list again. Directory contacts are the directory's; only local ones change here.

use super::Backend;
use crate::convert;
use crate::directory::Entry;
use crate::event::Event;
use crate::model::ContactDraft;

fn optional(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

impl Backend {
    pub(super) fn save_contact(&mut self, draft: ContactDraft) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        if let Some(problem) = draft.problem() {
            return self.notice(problem);
        }
        let mut contact = storage::Contact {
            id: draft.id.unwrap_or(0),
            name: draft.name.trim().to_string(),
            extension: optional(&draft.extension),
            numbers: optional(&draft.number).into_iter().collect(),
            email: optional(&draft.email),
            avatar: None,
            source: storage::ContactSource::Local,
            favourite: false,
        };
        let result = match draft.id {
            None => s.store.add_contact(&contact).map(|_| ()),
            Some(id) => match s.store.contacts() {
                Ok(all) => match all.into_iter().find(|c| c.id == id) {
                    // Keep what the editor does not show (picture, favourite).
                    Some(old) if old.source == storage::ContactSource::Local => {
                        contact.avatar = old.avatar;
                        contact.favourite = old.favourite;
                        s.store.update_contact(&contact)
                    }
                    Some(_) => {
                        return self
                            .notice("Contacts from the company directory are changed there.");
                    }
                    None => s.store.add_contact(&contact).map(|_| ()),
                },
                Err(e) => Err(e),
            },
        };
        if let Err(e) = result {
            self.notice(format!("The contact could not be saved: {e}"));
        }
        self.send_contacts();
    }

    pub(super) fn delete_contact(&mut self, id: i64) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        let local = s
            .store
            .contacts()
            .ok()
            .and_then(|all| all.into_iter().find(|c| c.id == id))
            .is_some_and(|c| c.source == storage::ContactSource::Local);
        if !local {
            return self.notice("Contacts from the company directory are changed there.");
        }
        if let Err(e) = s.store.delete_contact(id) {
            self.notice(format!("The contact could not be deleted: {e}"));
        }
        self.send_contacts();
    }

    /// Adds the people of an imported file, skipping anyone already a local contact with the
    /// same name and number, so that importing the same file twice adds nobody twice.
    pub(super) fn import_contacts(&mut self, entries: Vec<Entry>) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        let existing = s.store.contacts().unwrap_or_default();
        let (mut added, mut already) = (0, 0);
        let mut failed = None;
        for e in entries {
            let contact = convert::stored_contact(e, storage::ContactSource::Local);
            let same = |c: &storage::Contact| {
                c.source == storage::ContactSource::Local
                    && c.name == contact.name
                    && c.extension == contact.extension
                    && c.numbers == contact.numbers
            };
            if existing.iter().any(same) {
                already += 1;
                continue;
            }
            match s.store.add_contact(&contact) {
                Ok(_) => added += 1,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let people = |n: usize| if n == 1 { "contact" } else { "contacts" };
        let mut text = format!("Imported {added} {}.", people(added));
        if already > 0 {
            text.push_str(&format!(" {already} were already in your contacts."));
        }
        if let Some(e) = failed {
            text.push_str(&format!(" The rest could not be saved: {e}"));
        }
        self.notice(text);
        self.send_contacts();
    }

    /// Sends the stored contacts (directory and local) to the window, and tells sipcore whose
    /// phone status and presence to watch ([`crate::watching`]).
    pub(super) fn send_contacts(&mut self) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        match s.store.contacts() {
            Ok(list) => {
                let change = s.watching.contacts(list.iter().filter_map(|c| {
                    let kept = c.source == storage::ContactSource::Local || c.favourite;
                    c.extension.as_deref().map(|e| (e, kept))
                }));
                let contacts = list.into_iter().map(convert::contact).collect();
                self.emit(Event::Contacts(contacts));
                self.watch(change);
            }
            Err(e) => self.notice(e.to_string()),
        }
    }

    /// The window shows the contacts with these extensions now.
    pub(super) fn contacts_on_screen(&mut self, extensions: Vec<String>) {
        let change = self
            .session
            .engines_mut()
            .and_then(|s| s.watching.on_screen(extensions));
        self.watch(change);
    }

    /// Gives sipcore the new watch list; the ones left out are "not known" from now on.
    fn watch(&mut self, change: Option<crate::watching::Change>) {
        let Some(change) = change else {
            return;
        };
        for extension in change.dropped {
            self.emit(Event::ContactStatus {
                extension,
                presence: Some(crate::model::Presence::Unknown),
                phone: Some(crate::model::PhoneStatus::Unknown),
            });
        }
        self.sip(sipcore::Command::Watch {
            extensions: change.watch,
        });
    }
}
