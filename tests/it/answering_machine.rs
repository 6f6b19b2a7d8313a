//! Messages taken by the app itself, for a phone system without voicemail: the user records a
//! greeting of their own, a colleague calls, nobody answers for the ring duration, the app
//! answers with that greeting, the caller speaks a sentence (espeak-ng) and hangs up. The message is listed with the caller and without the
//! greeting's silence, transcribed on the machine (word error rate printed), emailed with its
//! recording, and the call is in My Calls as missed, "Sent to voicemail".

use std::time::Duration;

use crate::support::window::*;
use crate::support::*;
use client::settings::{SettingsForm, Smtp, SmtpSecurity};
use egui_kittest::kittest::Queryable;
use sipcore::media_adapter::AudioSource;

const SAID: &str = "Hello, this is Grace from accounting. Please call me back about the \
                    quarterly budget before Friday afternoon.";

/// The user's greeting lasts three seconds (the test's app has no microphone: silence); the
/// caller waits four before speaking.
const GREETING_SECS: u64 = 3;
const WAIT_FOR_TONE_SECS: usize = 4;

#[test]
fn an_unanswered_call_leaves_a_message_here_that_is_transcribed_and_emailed() {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    pbx.clear_voicemail(&me.user.extension).unwrap();
    let mail = harness::smtp::SmtpServer::start("ada", "mail-secret").unwrap();

    // The caller's side: silence through the greeting, the sentence, a breath.
    let files = tempfile::tempdir().unwrap();
    let speech = files.path().join("speech.ogg");
    let sentence =
        harness::audio::wav_samples(&harness::audio::spoken_wav(SAID, &[48_000]).unwrap()).unwrap();
    let mut samples = vec![0.0; WAIT_FOR_TONE_SECS * 48_000];
    samples.extend_from_slice(&sentence);
    samples.extend(std::iter::repeat_n(0.0, 2 * 48_000));
    media::ogg_opus::write_pcm(&speech, 48_000, &samples, 32_000).unwrap();
    let mut caller = crate::support::phone::Phone::register_sending(
        pbx.lease_any().unwrap(),
        AudioSource::File(speech),
    );
    let caller_name = format!("Test User {}", caller.number());

    let data = tempfile::tempdir().unwrap();
    let (mut h, commands) = crate::visual_voicemail::window_with_voicemail_server(data.path());
    sign_in(&mut h, &me.user);
    let mut form = SettingsForm::default();
    form.call_strategy.ring_seconds = 5;
    form.mailbox.take_messages = true;
    form.mailbox.transcription = true;
    form.mailbox.email_notification = true;
    form.mailbox.email_address = "ada@switchboard.test".into();
    form.mailbox.attach_audio = true;
    form.mailbox.smtp = Smtp {
        host: "127.0.0.1".into(),
        port: mail.addr.port(),
        security: SmtpSecurity::Plain,
        user: mail.user.clone(),
        password: "mail-secret".into(),
    };
    commands.send(client::Command::SaveSettings(Box::new(form)));
    h.run();
    let profile = storage::paths::profile_dir(
        data.path(),
        &me.user.extension,
        &harness::pbx::sip_addr().to_string(),
    );

    // The user's own greeting, recorded from the microphone.
    commands.send(client::Command::RecordGreeting);
    std::thread::sleep(Duration::from_secs(GREETING_SECS));
    commands.send(client::Command::StopRecordingGreeting);
    harness::wait_for("the greeting kept", TIMEOUT, || {
        profile.join("greeting.ogg").is_file().then_some(())
    })
    .unwrap();

    // It rings here for five seconds, then the app answers (the PBX would wait twenty).
    let call = caller.dial(&me.user.extension);
    let ringing = |h: &egui_kittest::Harness<'_, _>| {
        h.query_all_by_label_contains("Incoming call")
            .next()
            .is_some()
    };
    wait_ui(&mut h, "the call ringing", ringing);
    caller.wait_active(call);
    wait_ui(&mut h, "the ringing call gone", |h| !ringing(h));
    let spoken_secs = samples.len() / 48_000;
    std::thread::sleep(Duration::from_secs(spoken_secs as u64));
    caller.hang_up(call);

    h.get_by_label_contains("Voicemails").click();
    let play = format!("Play voicemail from {caller_name}");
    wait_ui(&mut h, "the message in the list", |h| has(h, &play));
    let store = storage::Store::open(&profile).unwrap();
    // Its words differ from run to run (the call's audio, Whisper's fallback decoding): the
    // test waits for a transcript and scores it.
    let transcript = harness::wait_for("its transcript", TRANSCRIBING, || {
        store
            .voicemails()
            .ok()?
            .first()?
            .voicemail
            .transcript
            .clone()
    })
    .unwrap();
    wait_ui(&mut h, "its transcript in the list", |h| {
        has(h, &transcript)
    });
    let vm = store.voicemails().unwrap().remove(0).voicemail;
    assert_eq!(vm.caller_number, caller.number());
    assert!(vm.server_ref.is_none(), "taken here, not on the PBX");
    // What followed the user's greeting (not the nine-second default): the sentence and the
    // breath.
    let said_ms = (spoken_secs - WAIT_FOR_TONE_SECS) as u64 * 1000;
    assert!(
        vm.duration_ms + 2_500 > said_ms && vm.duration_ms < said_ms + 2_500,
        "{} ms kept for {said_ms} ms said",
        vm.duration_ms
    );
    let errors = transcribe::score::word_errors(SAID, &transcript);
    println!(
        "message taken here: {transcript:?}; word error rate {:.0} %",
        errors.rate() * 100.0
    );
    assert!(errors.rate() <= 0.5, "most words missed: {transcript:?}");

    // Emailed with its recording and transcript.
    harness::wait_for("the email", TIMEOUT, || {
        (mail.messages().len() == 1).then_some(())
    })
    .unwrap();
    let email = &mail.messages()[0];
    assert!(email.contains("filename=\"voicemail.ogg\""), "{email}");
    assert!(
        email.contains(&format!("Voicemail from {caller_name}")),
        "{email}"
    );

    // My Calls: a missed call that went to voicemail.
    let history = store
        .history_page(storage::HistoryFilter::All, "", None, 10)
        .unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.entry.kind == storage::CallKind::Missed
                && e.entry.result == "Sent to voicemail"),
        "{history:#?}"
    );
}
