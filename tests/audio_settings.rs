//! The audio settings through the whole app on a real (virtual) sound card: signed in with real
//! devices, the Settings page runs the microphone meter, and "Play a test tone" goes out of the
//! real speaker and comes back in through the real microphone (the null sink's monitor), where
//! the meter shows it.

mod support;

use client::backend::BackendConfig;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use harness::audio::VirtualSoundCard;
use support::window::*;
use support::*;
use switchboard::window::Window;

/// The meter's reading in percent, from its accessible label "Microphone level N %".
fn meter(h: &Harness<'_, Window>) -> Option<u32> {
    (0..=100).find(|n| {
        h.query_by_label(&format!("Microphone level {n} %"))
            .is_some()
    })
}

#[test]
fn the_test_tone_plays_on_the_real_speaker_and_the_meter_hears_it() {
    let card = VirtualSoundCard::start("sb_app").expect("PulseAudio");
    card.export_env();
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let data = tempfile::tempdir().unwrap();

    let (commands, events) = start_backend(BackendConfig {
        headless_audio: false,
        ..test_config(data.path())
    });
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);
    let mut h = window_harness(
        Window::new(commands, events, Some(server)),
        // Tall enough for the whole Settings page: a click lands only on what is on screen.
        egui::vec2(1100.0, 3000.0),
    );
    sign_in(&mut h, &me.user);

    h.get_by_label("Settings").click();
    wait_ui(&mut h, "the microphone meter", |h| meter(h).is_some());
    // A quiet room: the null sink plays nothing yet.
    let quiet = meter(&h).unwrap();
    assert!(quiet < 20, "meter at {quiet} % before any sound");

    h.get_by_label_contains("Play a test tone").click();
    wait_ui(&mut h, "the meter to hear the test tone", |h| {
        meter(h).is_some_and(|m| m >= 50)
    });
    // One second of tone, then the room is quiet again.
    wait_ui(&mut h, "the meter to fall after the tone", |h| {
        meter(h).is_some_and(|m| m < 20)
    });
}
