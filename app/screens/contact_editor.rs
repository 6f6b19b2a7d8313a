//! Adding and editing a local contact: name, extension, phone number and email, checked before
//! saving so that nothing unusable reaches the list.

pub use client::model::ContactDraft;

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
