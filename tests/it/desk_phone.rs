//! The desk-phone question: when the line also rings on another device (a desk phone registered
//! on the same extension at the real PBX), the window asks after sign-in where calls should be
//! handled, and keeps the answer in the settings so it is not asked again.

use std::sync::Arc;

use egui_kittest::kittest::Queryable;

use crate::support::window::*;
use crate::support::*;
use client::settings::SettingsForm;
use switchboard::window::Window;

#[test]
fn a_desk_phone_on_the_line_is_noticed_and_the_answer_is_kept() {
    let pbx = pbx();
    // A demo-office line: those may have two devices.
    let me = pbx.lease("1006").unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = format!("127.0.0.1:{}", harness::pbx::SIP_PORT);

    // The desk phone: another user agent registered on the same extension.
    let (desk, desk_events) = sipcore::start(
        sipcore::EngineConfig::default(),
        Arc::new(sipcore::RecordingMedia::default()),
        None,
    )
    .unwrap();
    desk.send(sipcore::Command::Register(sipcore::Account::new(
        &me.user.extension,
        &me.user.password,
        &server,
    )));
    harness::wait::next_matching(&desk_events, TIMEOUT, "the desk phone to register", |e| {
        matches!(
            e,
            sipcore::Event::Registration(sipcore::RegistrationState::Registered { .. })
        )
        .then_some(())
    });

    let (commands, events) = start_backend(test_config(data.path()));
    let mut h = window_harness(
        Window::new(commands, events, Some(server.clone())),
        egui::vec2(1100.0, 720.0),
    );
    sign_in(&mut h, &me.user);
    wait_ui(&mut h, "the desk-phone question", |h| {
        has(h, "Where should calls be handled?")
    });
    h.get_by_label("On the desk phone").click();
    wait_ui(&mut h, "the question to go", |h| {
        !has(h, "Where should calls be handled?")
    });

    // The answer is the Call Strategy setting, saved in the profile.
    let profile = storage::paths::profile_dir(data.path(), &me.user.extension, &server);
    harness::wait_for("the answer to be saved", TIMEOUT, || {
        let store = storage::Store::open(&profile).ok()?;
        let form: SettingsForm = store.setting("settings").ok()??;
        (form.call_strategy.use_desk_phone && form.call_strategy.desk_phone_asked).then_some(())
    })
    .unwrap();
    desk.shutdown_and_wait(std::time::Duration::from_secs(3));
}
