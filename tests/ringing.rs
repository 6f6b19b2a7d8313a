//! An incoming call rings on the real (virtual) sound card, and "Mute all notifications" takes
//! effect at once: the next call shows its popup without a ringtone. The sound server itself
//! says whether anything is playing.

mod support;

use std::sync::Arc;
use std::time::Duration;

use client::backend::BackendConfig;
use egui_kittest::kittest::Queryable;
use harness::audio::VirtualSoundCard;
use support::window::*;
use support::*;
use switchboard::window::Window;

fn playing(card: &VirtualSoundCard) -> usize {
    card.pactl(&["list", "short", "sink-inputs"])
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// Waits until nothing has played for a while: a device that the engine reopens (after an
/// error, or a fallback) is gone from the card for a moment without being closed.
fn wait_closed(h: &mut egui_kittest::Harness<'_, Window>, card: &VirtualSoundCard, what: &str) {
    let mut quiet_since: Option<std::time::Instant> = None;
    wait_ui(h, what, |_| {
        if playing(card) > 0 {
            quiet_since = None;
            return false;
        }
        quiet_since
            .get_or_insert_with(std::time::Instant::now)
            .elapsed()
            > Duration::from_millis(500)
    });
}

#[test]
fn a_call_rings_on_the_sound_card_until_notifications_are_muted() {
    let card = VirtualSoundCard::start("sb_ring").expect("PulseAudio");
    card.export_env();
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let caller = pbx.lease_any().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);

    let (commands, events) = start_backend(BackendConfig {
        headless_audio: false,
        ..test_config(data.path())
    });
    let mut h = window_harness(
        Window::new(commands, events, Some(server.clone())),
        egui::vec2(1100.0, 2400.0),
    );
    sign_in(&mut h, &me.user);
    assert_eq!(playing(&card), 0, "something plays while idle");

    let (peer, peer_events) = sipcore::start(
        sipcore::EngineConfig::default(),
        Arc::new(sipcore::RecordingMedia::default()),
        None,
    )
    .unwrap();
    peer.send(sipcore::Command::Register(sipcore::Account::new(
        &caller.user.extension,
        &caller.user.password,
        &server,
    )));
    harness::wait::next_matching(&peer_events, TIMEOUT, "the caller to register", |e| {
        matches!(
            e,
            sipcore::Event::Registration(sipcore::RegistrationState::Registered { .. })
        )
        .then_some(())
    });

    // A call rings: the ringtone is a stream on the sound card.
    peer.send(sipcore::Command::Dial {
        call: sipcore::CallId(1),
        target: me.user.extension.clone(),
    });
    wait_ui(&mut h, "the incoming call popup", |h| has(h, "is calling"));
    wait_ui(&mut h, "the ringtone to play", |_| playing(&card) >= 1);
    peer.send(sipcore::Command::HangUp(sipcore::CallId(1)));
    wait_ui(&mut h, "the popup to go", |h| !has(h, "is calling"));
    wait_closed(
        &mut h,
        &card,
        "the ringtone to stop and its device to close",
    );

    // Mute all notifications, save: the device closes after its short linger. The settings
    // page's level meter opens the devices; wait for that, or a slow open could land after the
    // check below and still be lingering when the muted call comes in.
    h.get_by_label("Settings").click();
    wait_ui(
        &mut h,
        "the settings page's meter to open the devices",
        |_| playing(&card) >= 1,
    );
    h.get_by_label("Mute all notifications").click();
    h.step();
    h.get_by_label("Save").click();
    h.step();
    let profile = storage::paths::profile_dir(data.path(), &me.user.extension, &server);
    wait_for("the setting to be saved", TIMEOUT, || {
        let store = storage::Store::open(&profile).ok()?;
        let form: client::settings::SettingsForm = store.setting("settings").ok()??;
        form.notifications.mute_all.then_some(())
    })
    .unwrap();
    h.get_by_label("Voice").click();
    wait_closed(
        &mut h,
        &card,
        "the speaker to close after the settings page",
    );

    // The next call shows its popup, silently.
    peer.send(sipcore::Command::Dial {
        call: sipcore::CallId(2),
        target: me.user.extension.clone(),
    });
    wait_ui(&mut h, "the second popup", |h| has(h, "is calling"));
    // An absence can only be checked over a while; a second is dozens of media ticks.
    for _ in 0..20 {
        h.step();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(playing(&card), 0, "a muted call rang");
    }
    peer.send(sipcore::Command::HangUp(sipcore::CallId(2)));
    wait_ui(&mut h, "the second popup to go", |h| !has(h, "is calling"));
    peer.shutdown_and_wait(Duration::from_secs(3));
}
