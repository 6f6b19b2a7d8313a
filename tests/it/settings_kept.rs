//! The Settings page through the whole app with the real store: a choice in every category is
//! made with the page's own controls and saved; the app quits, starts again on the same data
//! (signing in by itself, as "Remember me" asked), and the page shows every choice kept. The
//! call-center manager secret comes back from the keyring (or its private file), never from
//! the settings row.

use crate::support::window::*;
use crate::support::*;
use client::settings::{AfterHours, CallStrategyMode, RetentionDays, SettingsForm};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::window::Window;

fn start(data_dir: &std::path::Path, server: &str) -> Harness<'static, Window> {
    let (commands, events) = start_backend(test_config(data_dir));
    // Tall enough that the whole page is on screen, so that every click lands on its control.
    window_harness(
        Window::new(commands, events, Some(server.to_string())),
        egui::vec2(1000.0, 2600.0),
    )
}

/// Opens the dropdown labelled `label` and picks `option` in it.
fn pick(h: &mut Harness<'_, Window>, label: &str, option: &str) {
    h.get_by_label(label).click();
    // The popup opens on the frame after the click.
    h.step();
    h.step();
    h.get_by_label(option).click();
    h.step();
}

/// Sets the number field or slider labelled `label` to `value`.
fn set(h: &mut Harness<'_, Window>, label: &str, value: f64) {
    h.get_by_label(label).set_value_accesskit(value);
    h.step();
}

/// Clicks the checkbox or button labelled `label`.
fn click(h: &mut Harness<'_, Window>, label: &str) {
    h.get_by_label(label).click();
    h.step();
}

fn draft(h: &mut Harness<'_, Window>) -> SettingsForm {
    h.state_mut()
        .shell_mut()
        .expect("signed in")
        .settings
        .draft
        .clone()
}

#[test]
fn a_choice_in_every_category_is_saved_and_kept_after_a_restart() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);

    let mut h = start(data.path(), &server);
    sign_in(&mut h, &lease.user);
    h.get_by_label("Settings").click();
    h.step();
    assert!(!has(&h, "Unsaved changes"));

    // Profile, notifications.
    pick(&mut h, "Time zone", "Africa/Accra");
    pick(&mut h, "Ringtone", "Chime");
    set(&mut h, "Volume", 0.5);
    click(&mut h, "Mute all notifications");
    // Call strategy.
    pick(&mut h, "When someone calls", "Ring both at once");
    set(&mut h, "Ring for (seconds)", 35.0);
    type_into(&mut h, "Mobile number", "+1 555 0199");
    // Business hours: on, Saturday open 10:30 to 14:00, the rest forwarded.
    click(&mut h, "Use business hours");
    click(&mut h, "Saturday: closed");
    set(&mut h, "Saturday opens, hour", 10.0);
    set(&mut h, "Saturday opens, minute", 30.0);
    set(&mut h, "Saturday closes, hour", 14.0);
    pick(&mut h, "Outside business hours", "Forward to my mobile");
    set(&mut h, "Ring for, after hours (seconds)", 25.0);
    // Mailbox.
    pick(&mut h, "Delete voicemail after", "30 days");
    click(&mut h, "Email me when a voicemail arrives");
    type_into(&mut h, "Email address", "ada@example.com");
    click(&mut h, "Attach the voicemail to the email");
    click(&mut h, "Transcribe voicemail");
    // Call center: the manager account (its secret goes to the keyring, not the settings).
    let ami = harness::pbx::ami_addr().to_string();
    type_into(&mut h, "Manager address", &ami);
    type_into(&mut h, "Manager user", harness::pbx::DESK_AMI_USER);
    type_into(&mut h, "Manager secret", harness::pbx::DESK_AMI_SECRET);
    type_into(&mut h, "Queues you may log in to", "test657");
    // Security.
    pick(&mut h, "Encrypt calls (SRTP)", "When the other side can");
    // Network.
    type_into(&mut h, "STUN server (calls through NAT)", "127.0.0.1:3478");

    // Every control changed what the page holds.
    let chosen = draft(&mut h);
    assert_eq!(chosen.time_zone, "Africa/Accra");
    assert_eq!(chosen.notifications.ringtone, "chime");
    assert_eq!(chosen.notifications.volume, 0.5);
    assert!(chosen.notifications.mute_all);
    let strategy = &chosen.call_strategy;
    assert_eq!(strategy.mode, CallStrategyMode::Simultaneous);
    assert_eq!(strategy.ring_seconds, 35);
    assert_eq!(strategy.mobile_number, "+1 555 0199");
    let hours = &chosen.business_hours;
    assert!(hours.enabled);
    assert!(hours.days[5].open);
    assert_eq!(
        (hours.days[5].open_minute, hours.days[5].close_minute),
        (630, 840)
    );
    assert_eq!(hours.after_hours, AfterHours::Mobile);
    assert_eq!(hours.after_hours_ring_seconds, 25);
    let mailbox = &chosen.mailbox;
    assert_eq!(mailbox.delete_after, RetentionDays::Days(30));
    assert!(mailbox.email_notification && mailbox.attach_audio && mailbox.transcription);
    assert_eq!(mailbox.email_address, "ada@example.com");
    let cc = &chosen.call_center;
    assert_eq!(
        (cc.manager_address.as_str(), cc.manager_user.as_str()),
        (ami.as_str(), harness::pbx::DESK_AMI_USER)
    );
    assert_eq!(cc.manager_secret, harness::pbx::DESK_AMI_SECRET);
    assert_eq!(cc.queue_names(), ["test657"]);
    assert_eq!(
        chosen.encryption,
        client::settings::Encryption::WhenPossible
    );
    assert_eq!(chosen.stun_server, "127.0.0.1:3478");

    assert!(has(&h, "Unsaved changes"));
    h.get_by_label("Save").click();
    wait_ui(&mut h, "the save to be stored", |h| {
        !has(h, "Unsaved changes")
    });
    h.state_mut().quit();
    drop(h);

    // The next start signs in by itself and shows the same page.
    let mut h = start(data.path(), &server);
    wait_ui(&mut h, "the remembered sign-in", |h| has(h, "Hello, "));
    h.get_by_label("Settings").click();
    h.step();
    assert_eq!(draft(&mut h), chosen);
    // And shows it: each dropdown says its choice, Saturday is open.
    for (dropdown, choice) in [
        ("Ringtone", "Chime"),
        ("Time zone", "Africa/Accra"),
        ("When someone calls", "Ring both at once"),
        ("Outside business hours", "Forward to my mobile"),
        ("Delete voicemail after", "30 days"),
        ("Encrypt calls (SRTP)", "When the other side can"),
    ] {
        assert_eq!(
            h.get_by_label(dropdown).value().as_deref(),
            Some(choice),
            "{dropdown} after the restart"
        );
    }
    assert!(has(&h, "Saturday: open"));
    assert!(!has(&h, "Unsaved changes"));
    // The saved manager account is in use: the queue listed has its tile. (Settings has a
    // heading of the same name, so leave it first.)
    h.get_by_label("Voice").click();
    h.step();
    h.get_by_label("Call Center").click();
    wait_ui(&mut h, "the listed queue's tile", |h| {
        has(h, "0 waiting in Test657")
    });
    h.state_mut().quit();
    let profile = storage::paths::profile_dir(data.path(), &lease.user.extension, &server);
    let row: serde_json::Value = storage::Store::open(&profile)
        .unwrap()
        .setting("settings")
        .unwrap()
        .unwrap();
    assert!(
        !row.to_string().contains(harness::pbx::DESK_AMI_SECRET),
        "the manager secret is not in the settings row"
    );
}

#[test]
fn unreadable_saved_settings_are_said_in_words_and_kept_until_the_user_saves() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);
    // A settings row this version cannot read: damaged on disk, or written by a newer app.
    let damaged = serde_json::json!({"time_zone": 42, "appearance": "Sepia"});
    let profile = storage::paths::profile_dir(data.path(), &lease.user.extension, &server);
    storage::Store::open(&profile)
        .unwrap()
        .set_setting("settings", &damaged)
        .unwrap();
    let stored = || {
        let store = storage::Store::open(&profile).unwrap();
        (
            store.setting_text("settings").unwrap(),
            store.setting_text("settings.damaged").unwrap(),
        )
    };
    let (before, _) = stored();

    let mut h = start(data.path(), &server);
    sign_in(&mut h, &lease.user);
    wait_ui(&mut h, "the notice about the settings", |h| {
        has(
            h,
            "Your saved settings could not be read, so the defaults are in use",
        )
    });
    assert!(has(
        &h,
        "(A stored value could not be read: settings: unknown variant `Sepia`"
    ));
    h.get_by_label("Settings").click();
    h.step();
    assert_eq!(draft(&mut h), SettingsForm::default());
    // Signing in and opening the page wrote nothing over the row.
    assert_eq!(stored(), (before.clone(), None));

    // Saving keeps the unreadable row aside, then stores the user's choice.
    pick(&mut h, "Ringtone", "Chime");
    h.get_by_label("Save").click();
    wait_ui(&mut h, "the save to be stored", |h| {
        !has(h, "Unsaved changes")
    });
    h.state_mut().quit();
    drop(h);
    let (now, aside) = stored();
    assert_eq!(aside, before, "the unreadable row is kept aside");
    let saved: SettingsForm = serde_json::from_str(&now.unwrap()).unwrap();
    assert_eq!(saved.notifications.ringtone, "chime");
}
