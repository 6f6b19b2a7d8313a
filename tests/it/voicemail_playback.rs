//! The Voicemails tab of the whole app, against the real PBX and a real profile store: a
//! voicemail kept in the profile (as the local mailbox will record them) is listed with its
//! transcript, played through the real media engine with a moving position, paused and resumed,
//! played to its end, marked heard, and deleted with its audio file.

use std::path::Path;

use crate::support::window::*;
use crate::support::*;
use egui_kittest::kittest::Queryable;
use switchboard::window::Window;

/// Three seconds of a 500 Hz tone, as a voicemail's audio.
fn record_voicemail(path: &Path) {
    let mut w = media::ogg_opus::OggOpusWriter::create(path, 24_000).unwrap();
    let mut tone = media::tone::ToneGenerator::new(media::Tone::Sine(500.0), 48_000);
    for _ in 0..150 {
        let mut frame = vec![0.0; media::devices::FRAME];
        tone.add_to(&mut frame);
        w.write_frame(&frame).unwrap();
    }
    w.finish().unwrap();
}

fn position(h: &egui_kittest::Harness<'_, Window>) -> f64 {
    use egui_kittest::kittest::NodeT;
    h.get_by_label("Position")
        .accesskit_node()
        .numeric_value()
        .unwrap_or(-1.0)
}

#[test]
fn a_stored_voicemail_plays_pauses_resumes_and_is_deleted_with_its_audio() {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);

    let profile = storage::paths::profile_dir(data.path(), &me.user.extension, &server);
    let audio = profile.join("voicemail").join("from-1002.opus");
    let id = {
        let mut store = storage::Store::open(&profile).unwrap();
        std::fs::create_dir_all(audio.parent().unwrap()).unwrap();
        record_voicemail(&audio);
        store
            .add_voicemail(&storage::voicemails::NewVoicemail {
                caller_name: Some("Grace Hopper".into()),
                caller_number: "1002".into(),
                received_at: 1_700_000_000_000,
                duration_ms: 3000,
                audio_path: audio.clone(),
                transcript: Some("Call me back about the release.".into()),
                server_ref: None,
            })
            .unwrap()
    };

    let (commands, events) = start_backend(test_config(data.path()));
    let mut h = window_harness(
        Window::new(commands, events, Some(server.clone())),
        egui::vec2(1100.0, 720.0),
    );
    sign_in(&mut h, &me.user);

    h.get_by_label_contains("Voicemails").click();
    wait_ui(&mut h, "the voicemail and its transcript", |h| {
        has(h, "Call me back about the release.")
    });
    assert!(
        h.query_by_label("new").is_some(),
        "an unheard voicemail is marked new"
    );

    // Play: the position moves as the engine plays the file.
    h.get_by_label("Play voicemail from Grace Hopper").click();
    wait_ui(&mut h, "playing", |h| {
        has(h, "Pause voicemail from Grace Hopper")
    });
    wait_ui(&mut h, "the position to move", |h| position(h) >= 0.4);

    // Pause keeps the place; play resumes from it.
    h.get_by_label("Pause voicemail from Grace Hopper").click();
    wait_ui(&mut h, "paused", |h| {
        has(h, "Play voicemail from Grace Hopper")
    });
    let paused_at = position(&h);
    std::thread::sleep(std::time::Duration::from_millis(500));
    h.step();
    assert_eq!(position(&h), paused_at, "the position moved while paused");
    h.get_by_label("Play voicemail from Grace Hopper").click();
    wait_ui(&mut h, "playing on from where it was", |h| {
        position(h) > paused_at + 0.2
    });
    // To the end: the player rewinds and offers play again.
    wait_ui(&mut h, "the end of the voicemail", |h| {
        has(h, "Play voicemail from Grace Hopper") && position(h) == 0.0
    });

    // Played once: heard, in the store too.
    {
        let store = storage::Store::open(&profile).unwrap();
        assert!(store.voicemail(id).unwrap().unwrap().heard);
    }

    h.get_by_label("Delete voicemail from Grace Hopper").click();
    wait_ui(&mut h, "the empty list", |h| has(h, "No voicemail."));
    assert!(!audio.exists(), "the audio file is left behind");
    let store = storage::Store::open(&profile).unwrap();
    assert_eq!(store.voicemail(id).unwrap(), None);
}
