//! Visual voicemail against the real PBX: a colleague leaves a message on Asterisk while the
//! app is closed (Asterisk keeps it in the user's IMAP box, Dovecot); after sign-in the
//! Voicemails tab lists it with the caller, its audio is the caller's tone, playing marks it
//! heard on the server, and deleting it removes it from the PBX, whose message-waiting count
//! drops to zero.

use std::time::Duration;

use crate::support::window::*;
use crate::support::*;
use egui_kittest::kittest::Queryable;
use switchboard::window::Window;

#[test]
fn a_voicemail_left_while_the_app_was_closed_is_listed_played_and_deleted_on_the_pbx() {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let mut caller = crate::support::phone::Phone::register(pbx.lease_any().unwrap());
    let caller_name = format!("Test User {}", caller.number());
    pbx.clear_voicemail(&me.user.extension).unwrap();
    let store = pbx.voicemail_store();

    // The app is closed: nobody is registered on the line, so the call goes to voicemail.
    let call = caller.dial(&me.user.extension);
    caller.wait_active(call);
    pbx.wait_for_message_recording(&me.user.extension, TIMEOUT)
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    caller.hang_up(call);
    harness::wait_for("the message in the user's IMAP box", TIMEOUT, || {
        (store.messages(&me.user.extension).len() == 1).then_some(())
    })
    .unwrap();

    let data = tempfile::tempdir().unwrap();
    let server = harness::pbx::sip_addr().to_string();
    let (mut h, _) = window_with_voicemail_server(data.path());
    sign_in(&mut h, &me.user);
    h.get_by_label_contains("Voicemails").click();
    let play = format!("Play voicemail from {caller_name}");
    wait_ui(&mut h, "the voicemail from the PBX", |h| has(h, &play));
    wait_ui(&mut h, "the PBX's count", |h| {
        has(h, "1 new, 0 old on the server")
    });

    // What was stored: the caller, a length near the recording's, and the caller's tone.
    let profile = storage::paths::profile_dir(data.path(), &me.user.extension, &server);
    let vm = {
        let store = storage::Store::open(&profile).unwrap();
        store.voicemails().unwrap().remove(0).voicemail
    };
    assert_eq!(vm.caller_number, caller.number());
    assert!(
        (2_000..15_000).contains(&vm.duration_ms),
        "{} ms recorded",
        vm.duration_ms
    );
    assert!(
        vm.server_ref
            .as_deref()
            .is_some_and(|r| r.starts_with("INBOX/"))
    );
    let samples = media::ogg_opus::OggOpusReader::read_all(&vm.audio_path).unwrap();
    assert!(
        harness::audio::has_tone(&samples, 48_000, 440.0, &[300.0, 600.0, 1000.0]),
        "the caller's 440 Hz tone is not in the stored recording"
    );

    // Playing it marks it heard on the server.
    h.get_by_label(&play).click();
    h.run();
    harness::wait_for("the message to be seen on the server", TIMEOUT, || {
        let account = mailbox::Account {
            addr: harness::voicemail_store::imap_addr().to_string(),
            user: me.user.extension.clone(),
            password: me.user.password.clone(),
            tls: None,
        };
        mailbox::list(&account).ok()?.first()?.seen.then_some(())
    })
    .unwrap();

    // Deleting it deletes it on the PBX, and the count there drops.
    h.get_by_label(&format!("Delete voicemail from {caller_name}"))
        .click();
    wait_ui(&mut h, "the list to empty", |h| has(h, "No voicemail."));
    harness::wait_for("the message gone from the IMAP box", TIMEOUT, || {
        store.messages(&me.user.extension).is_empty().then_some(())
    })
    .unwrap();
    // Asterisk counts the box again every 5 s (voicemail.conf), then tells the app.
    wait_ui_up_to(&mut h, 2 * TIMEOUT, "the PBX's count to drop", |h| {
        has(h, "0 new, 0 old on the server")
    });
}

/// The voicemail server down (nothing listens where Settings points): the user is told in
/// words, and the voicemails already stored stay listed.
#[test]
fn an_unreachable_voicemail_server_is_said_in_words() {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = closed.local_addr().unwrap().to_string();
    drop(closed);
    let data = tempfile::tempdir().unwrap();
    let server = harness::pbx::sip_addr().to_string();
    let (commands, events) = start_backend(client::BackendConfig {
        voicemail_server: Some(nowhere.clone()),
        ..test_config(data.path())
    });
    let mut h = window_harness(
        Window::new(commands, events, Some(server)),
        egui::vec2(1100.0, 720.0),
    );
    sign_in(&mut h, &me.user);
    wait_ui(&mut h, "the notice", |h| {
        h.query_by_label_contains(&format!(
            "Voicemails on the phone system could not be listed: The voicemail server at {nowhere} cannot be reached"
        ))
        .is_some()
    });
}

/// The window on a backend that reads voicemail from the harness PBX's store (and transcribes
/// with the suite's speech model when asked), and its commands.
pub fn window_with_voicemail_server(
    data: &std::path::Path,
) -> (egui_kittest::Harness<'static, Window>, client::Commands) {
    let (commands, events) = start_backend(client::BackendConfig {
        voicemail_server: Some(harness::voicemail_store::imap_addr().to_string()),
        speech_model: Some(harness::paths::speech_model()),
        ..test_config(data)
    });
    let h = window_harness(
        Window::new(
            commands.clone(),
            events,
            Some(harness::pbx::sip_addr().to_string()),
        ),
        egui::vec2(1100.0, 720.0),
    );
    (h, commands)
}
