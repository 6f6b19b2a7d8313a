//! Adding and editing a local contact: name, extension, phone number and email, checked before
//! saving so that nothing unusable reaches the list.

use crate::model::Contact;

/// The editor's fields; `id` is `None` for a new contact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactDraft {
    pub id: Option<i64>,
    pub name: String,
    pub extension: String,
    pub number: String,
    pub email: String,
}

impl ContactDraft {
    pub fn from_contact(c: &Contact) -> Self {
        Self {
            id: Some(c.id),
            name: c.name.clone(),
            extension: c.extension.clone().unwrap_or_default(),
            number: c.number.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
        }
    }

    /// What is wrong, in words, or `None` when it can be saved.
    pub fn problem(&self) -> Option<&'static str> {
        let dialable = |s: &str| {
            let s = s.trim();
            s.is_empty() || crate::dial_string::normalize(s).is_some()
        };
        if self.name.trim().is_empty() {
            Some("Give the contact a name.")
        } else if self.extension.trim().is_empty() && self.number.trim().is_empty() {
            Some("Give an extension or a phone number to call.")
        } else if !dialable(&self.extension) || !dialable(&self.number) {
            Some("That extension or phone number has characters a phone cannot dial.")
        } else if !self.email.trim().is_empty() && !self.email.contains('@') {
            Some("That email address has no @.")
        } else {
            None
        }
    }
}

pub enum EditorOutcome {
    Save(ContactDraft),
    Delete(i64),
    Cancel,
}

/// The editor as a modal dialog over the window.
pub fn show(ctx: &egui::Context, draft: &mut ContactDraft) -> Option<EditorOutcome> {
    let mut outcome = None;
    let title = if draft.id.is_some() {
        "Edit contact"
    } else {
        "New contact"
    };
    egui::Modal::new(egui::Id::unique("contact-editor")).show(ctx, |ui| {
        ui.set_width(320.0);
        ui.heading(title);
        for (label, value) in [
            ("Name", &mut draft.name),
            ("Extension", &mut draft.extension),
            ("Phone number", &mut draft.number),
            ("Email", &mut draft.email),
        ] {
            let caption = ui.label(label);
            ui.add(egui::TextEdit::singleline(value).desired_width(f32::INFINITY))
                .labelled_by(caption.id);
        }
        let problem = draft.problem();
        if let Some(p) = problem {
            ui.weak(p);
        }
        ui.horizontal(|ui| {
            if ui
                .add_enabled(problem.is_none(), egui::Button::new("Save contact"))
                .clicked()
            {
                outcome = Some(EditorOutcome::Save(draft.clone()));
            }
            if ui.button("Cancel").clicked() {
                outcome = Some(EditorOutcome::Cancel);
            }
            if let Some(id) = draft.id
                && ui.button("Delete contact").clicked()
            {
                outcome = Some(EditorOutcome::Delete(id));
            }
        });
    });
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(name: &str, ext: &str, number: &str, email: &str) -> ContactDraft {
        ContactDraft {
            id: None,
            name: name.into(),
            extension: ext.into(),
            number: number.into(),
            email: email.into(),
        }
    }

    #[test]
    fn a_contact_needs_a_name_and_something_to_call() {
        assert!(draft("", "1002", "", "").problem().is_some());
        assert!(draft("Grace", "", "", "").problem().is_some());
        assert!(draft("Grace", "", "hello!", "").problem().is_some());
        assert!(draft("Grace", "1002", "", "grace").problem().is_some());
        assert_eq!(draft("Grace", "1002", "", "").problem(), None);
        assert_eq!(
            draft("Grace", "", "+1 555 0100", "g@x.test").problem(),
            None
        );
    }
}
