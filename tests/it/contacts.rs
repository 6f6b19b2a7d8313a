//! Contacts in the whole app against the real PBX and a real profile store: the company
//! directory set in Settings is fetched over HTTP and refreshed while the app runs; the user adds,
//! edits and deletes a contact of their own; and imports a vCard file after a preview that counts
//! what was skipped.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::window::*;
use crate::support::*;
use client::backend::BackendConfig;
use egui_kittest::kittest::Queryable;
use switchboard::window::Window;

/// A company directory on a local HTTP server, whose list the test can change.
fn serve_directory(body: Arc<Mutex<String>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/directory.vcf", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let text = body.lock().unwrap().clone();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/vcard\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    url
}

fn card(name: &str, ext: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{name}\r\nTEL;TYPE=WORK:{ext}\r\nEND:VCARD\r\n")
}

#[test]
fn directory_from_settings_refreshes_and_local_contacts_are_added_edited_imported_and_deleted() {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);
    let directory = Arc::new(Mutex::new(card("Grace Hopper", "1002")));
    let url = serve_directory(directory.clone());

    let (commands, events) = start_backend(BackendConfig {
        directory_refresh: Some(Duration::from_secs(1)),
        ..test_config(data.path())
    });
    let mut h = window_harness(
        Window::new(commands, events, Some(server.clone())),
        egui::vec2(1100.0, 720.0),
    );
    sign_in(&mut h, &me.user);
    assert!(has(&h, "No contacts yet."));

    // The directory's address, set in Settings, fills the list.
    h.get_by_label("Settings").click();
    h.step();
    type_into(&mut h, "Company directory (phonebook or vCard URL)", &url);
    h.get_by_label("Save").click();
    h.get_by_label("Voice").click();
    wait_ui(&mut h, "the directory's contacts", |h| {
        has(h, "Grace Hopper, ")
    });

    // The directory changes on the server; the app picks it up on its own.
    directory
        .lock()
        .unwrap()
        .push_str(&card("Katherine Johnson", "1007"));
    wait_ui(&mut h, "the refreshed directory", |h| {
        has(h, "Katherine Johnson, ")
    });

    // Add a contact of one's own; a bad number is refused before saving.
    h.get_by_label("Add contact").click();
    wait_ui(&mut h, "the contact editor", |h| has(h, "New contact"));
    type_into(&mut h, "Name", "Dorothy Vaughan");
    type_into(&mut h, "Phone number", "call me!");
    assert!(has(&h, "characters a phone cannot dial"));
    h.get_by_label("Cancel").click();
    wait_ui(&mut h, "the editor to close", |h| !has(h, "New contact"));
    assert!(
        !has(&h, "Dorothy Vaughan, "),
        "a cancelled contact was saved"
    );
    h.get_by_label("Add contact").click();
    wait_ui(&mut h, "the contact editor", |h| has(h, "New contact"));
    type_into(&mut h, "Name", "Dorothy Vaughan");
    type_into(&mut h, "Phone number", "+1 555 0100");
    h.get_by_label("Save contact").click();
    wait_ui(&mut h, "the new contact", |h| has(h, "Dorothy Vaughan, "));

    // Edit it: hover the row, press its edit button, change the name.
    let row = h.get_by_label_contains("Dorothy Vaughan, ").rect();
    h.hover_at(row.center());
    h.step();
    h.get_by_label("Edit Dorothy Vaughan").click();
    wait_ui(&mut h, "the contact editor", |h| has(h, "Edit contact"));
    type_into(&mut h, "Name", " Johnson");
    h.get_by_label("Save contact").click();
    wait_ui(&mut h, "the edited contact", |h| {
        has(h, "Dorothy Vaughan Johnson, ")
    });
    // Directory contacts are not editable here.
    let row = h.get_by_label_contains("Grace Hopper, ").rect();
    h.hover_at(row.center());
    h.step();
    assert!(h.query_by_label("Edit Grace Hopper").is_none());

    // Import a vCard file: a preview counts what will be added and what was skipped.
    let file = data.path().join("team.vcf");
    std::fs::write(
        &file,
        format!(
            "{}{}BEGIN:VCARD\r\nVERSION:3.0\r\nTEL:1009\r\nEND:VCARD\r\n",
            card("Mary Jackson", "1008"),
            card("Annie Easley", "+1 555 0199")
        ),
    )
    .unwrap();
    let ctx = h.ctx.clone();
    h.state_mut()
        .shell_mut()
        .unwrap()
        .contacts_file_picked(&ctx, file.clone());
    wait_ui(&mut h, "the import preview", |h| {
        has(h, "2 contacts to import, 1 row skipped.")
    });
    h.get_by_label("Import").click();
    wait_ui(&mut h, "the imported contacts", |h| {
        has(h, "Mary Jackson, ") && has(h, "Annie Easley, ") && has(h, "Imported 2 contacts.")
    });
    // The same file again adds nobody twice.
    h.state_mut()
        .shell_mut()
        .unwrap()
        .contacts_file_picked(&ctx, file);
    wait_ui(&mut h, "the second preview", |h| {
        has(h, "2 contacts to import")
    });
    h.get_by_label("Import").click();
    wait_ui(&mut h, "the second import", |h| {
        has(h, "2 were already in your contacts.")
    });

    // Delete the edited contact from its editor.
    let row = h.get_by_label_contains("Dorothy Vaughan Johnson, ").rect();
    h.hover_at(row.center());
    h.step();
    h.get_by_label("Edit Dorothy Vaughan Johnson").click();
    wait_ui(&mut h, "the contact editor", |h| has(h, "Edit contact"));
    h.get_by_label("Delete contact").click();
    wait_ui(&mut h, "the contact gone", |h| {
        !has(h, "Dorothy Vaughan Johnson, ")
    });

    // All of it is in the profile's store: directory contacts apart from the user's own.
    let store = storage::Store::open(&storage::paths::profile_dir(
        data.path(),
        &me.user.extension,
        &server,
    ))
    .unwrap();
    let all = store.contacts().unwrap();
    let local: Vec<&str> = all
        .iter()
        .filter(|c| c.source == storage::ContactSource::Local)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(local.len(), 2, "{local:?}");
    assert!(local.contains(&"Mary Jackson") && local.contains(&"Annie Easley"));
    assert_eq!(
        all.iter()
            .filter(|c| c.source == storage::ContactSource::Directory)
            .count(),
        2
    );
}
