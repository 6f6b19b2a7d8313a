//! Voicemail by email, transcripts and "delete after N days", against the real PBX's voicemail
//! store and a real mail server (aiosmtpd): a voicemail that arrives is emailed with its
//! recording when asked and without it when not; a refused login is said in words and the
//! email is sent once the password is right; a spoken voicemail is transcribed on the machine
//! (the suite's Whisper model), shown, found by what was said, and its email carries the
//! transcript; voicemails past the retention are deleted here and on the PBX.

use std::time::Duration;

use crate::support::window::*;
use crate::support::*;
use client::settings::{RetentionDays, SettingsForm, Smtp, SmtpSecurity};
use egui_kittest::kittest::Queryable;
use harness::voicemail_store::{tone_wav, voicemail_email};
use switchboard::window::Window;

struct Signed {
    h: egui_kittest::Harness<'static, Window>,
    commands: client::Commands,
    me: Lease,
    data: tempfile::TempDir,
    server: String,
}

/// The app signed in on a leased line with an empty voicemail box on the PBX.
fn signed_in() -> Signed {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    pbx.clear_voicemail(&me.user.extension).unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = harness::pbx::sip_addr().to_string();
    let (mut h, commands) = crate::visual_voicemail::window_with_voicemail_server(data.path());
    sign_in(&mut h, &me.user);
    Signed {
        h,
        commands,
        me,
        data,
        server,
    }
}

impl Signed {
    fn save(&mut self, change: impl FnOnce(&mut SettingsForm)) {
        let mut form = SettingsForm::default();
        form.mailbox.voicemail_server = harness::voicemail_store::imap_addr().to_string();
        change(&mut form);
        self.commands
            .send(client::Command::SaveSettings(Box::new(form)));
        self.h.run();
    }

    /// A voicemail arrives on the PBX: in the user's box, and the app told to look.
    fn voicemail_arrives(&mut self, caller: &str, at_secs: i64) {
        self.voicemail_arrives_saying(caller, at_secs, &tone_wav(440.0, 2.0));
    }

    /// [`Signed::voicemail_arrives`] with this recording (8 kHz WAV, as Asterisk's).
    fn voicemail_arrives_saying(&mut self, caller: &str, at_secs: i64, wav: &[u8]) {
        pbx()
            .voicemail_store()
            .deliver(
                &self.me.user.extension,
                &voicemail_email(caller, &format!("Caller {caller}"), at_secs, wav),
            )
            .unwrap();
        self.commands.send(client::Command::Refresh);
    }

    fn store(&self) -> storage::Store {
        let profile =
            storage::paths::profile_dir(self.data.path(), &self.me.user.extension, &self.server);
        storage::Store::open(&profile).unwrap()
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The plain-text parts of a delivered email, decoded.
fn plain_text(raw: &str) -> String {
    fn collect(part: &mailparse::ParsedMail, out: &mut String) {
        if part.ctype.mimetype == "text/plain" {
            out.push_str(&part.get_body().unwrap());
        }
        for sub in &part.subparts {
            collect(sub, out);
        }
    }
    let mut out = String::new();
    collect(&mailparse::parse_mail(raw.as_bytes()).unwrap(), &mut out);
    out
}

fn smtp(server: &harness::smtp::SmtpServer, password: &str) -> Smtp {
    Smtp {
        host: "127.0.0.1".into(),
        port: server.addr.port(),
        security: SmtpSecurity::Plain,
        user: server.user.clone(),
        password: password.into(),
    }
}

#[test]
fn a_voicemail_is_emailed_with_or_without_its_recording_and_a_refused_login_loses_nothing() {
    let mail = harness::smtp::SmtpServer::start("ada", "mail-secret").unwrap();
    let mut app = signed_in();
    let emailed = |f: &mut SettingsForm, password: &str, attach: bool| {
        f.mailbox.email_notification = true;
        f.mailbox.email_address = "ada@switchboard.test".into();
        f.mailbox.attach_audio = attach;
        f.mailbox.smtp = smtp(&mail, password);
    };

    // The wrong password: the user is told, and the voicemail waits for its email.
    app.save(|f| emailed(f, "wrong", true));
    app.voicemail_arrives("1002", now_secs());
    wait_ui(&mut app.h, "the refused login, in words", |h| {
        h.query_by_label_contains("A voicemail could not be emailed; it will be tried again later")
            .is_some()
            && h.query_by_label_contains("refused the login").is_some()
    });
    assert!(mail.messages().is_empty());
    assert_eq!(app.store().voicemails_to_email().unwrap().len(), 1);

    // The right password: what waited is sent, with the recording.
    app.save(|f| emailed(f, "mail-secret", true));
    harness::wait_for("the first email", TIMEOUT, || {
        (mail.messages().len() == 1).then_some(())
    })
    .unwrap();
    let first = &mail.messages()[0];
    assert!(
        first.contains("Subject: Voicemail from Caller 1002 (1002) (0:02)"),
        "{first}"
    );
    assert!(first.contains("To: ada@switchboard.test"));
    assert!(first.contains("filename=\"voicemail.ogg\""));
    harness::wait_for("nothing left to email", TIMEOUT, || {
        app.store()
            .voicemails_to_email()
            .ok()?
            .is_empty()
            .then_some(())
    })
    .unwrap();

    // Without the recording when not asked.
    app.save(|f| emailed(f, "mail-secret", false));
    app.voicemail_arrives("1003", now_secs());
    harness::wait_for("the second email", TIMEOUT, || {
        (mail.messages().len() == 2).then_some(())
    })
    .unwrap();
    let second = mail
        .messages()
        .into_iter()
        .find(|m| m.contains("Caller 1003"))
        .unwrap();
    assert!(!second.contains("voicemail.ogg"), "{second}");
    pbx().clear_voicemail(&app.me.user.extension).unwrap();
}

#[test]
fn a_spoken_voicemail_is_transcribed_here_found_by_its_words_and_emailed_with_its_transcript() {
    const SAID: &str = "Hello, this is Grace from accounting. Please call me back about the \
                        quarterly budget before Friday afternoon.";
    let mail = harness::smtp::SmtpServer::start("ada", "mail-secret").unwrap();
    let mut app = signed_in();
    app.save(|f| {
        f.mailbox.transcription = true;
        f.mailbox.email_notification = true;
        f.mailbox.email_address = "ada@switchboard.test".into();
        f.mailbox.smtp = smtp(&mail, "mail-secret");
    });
    // The caller is a contact: the list shows the contact's name, not their phone's.
    app.commands
        .send(client::Command::SaveContact(client::model::ContactDraft {
            name: "Grace Hopper".into(),
            number: "1002".into(),
            ..Default::default()
        }));
    app.voicemail_arrives_saying(
        "1002",
        now_secs(),
        &harness::audio::spoken_wav(SAID, &[8000]).unwrap(),
    );

    // Heard over the phone's band (8 kHz, as Asterisk records it), by Whisper on this machine.
    // Its words are not the same on every run (Whisper's fallback decoding), so the test waits
    // for a transcript and scores it, rather than for one word.
    let transcript = harness::wait_for("the transcript", TRANSCRIBING, || {
        app.store()
            .voicemails()
            .ok()?
            .first()?
            .voicemail
            .transcript
            .clone()
    })
    .unwrap();
    app.h.get_by_label_contains("Voicemails").click();
    wait_ui(&mut app.h, "the transcript in the list", |h| {
        has(h, &transcript)
    });
    let errors = transcribe::score::word_errors(SAID, &transcript);
    println!(
        "transcript: {transcript:?}; word error rate {:.0} % ({errors:?})",
        errors.rate() * 100.0
    );
    assert!(errors.rate() <= 0.5, "most words missed: {transcript:?}");

    // Found by what was said: the longest word said that the transcript has.
    let said = transcribe::score::words(SAID);
    let word = transcribe::score::words(&transcript)
        .into_iter()
        .filter(|w| said.contains(w))
        .max_by_key(|w| w.len())
        .expect("a word said is in the transcript");
    app.h.get_by_label("Search").click();
    app.h.get_by_label("Search").type_text(&word);
    app.h.run();
    assert!(
        app.h
            .query_by_label("Play voicemail from Grace Hopper")
            .is_some()
    );

    // The email waited for the transcript and carries it.
    harness::wait_for("the email", TIMEOUT, || {
        (mail.messages().len() == 1).then_some(())
    })
    .unwrap();
    let email = &mail.messages()[0];
    assert!(
        email.contains("Voicemail from Grace Hopper (1002)"),
        "{email}"
    );
    let text = plain_text(email);
    assert!(text.contains(&transcript), "{text}");
    assert!(!text.contains("No transcript."), "{text}");
    pbx().clear_voicemail(&app.me.user.extension).unwrap();
}

#[test]
fn voicemails_past_the_retention_are_deleted_here_and_on_the_pbx() {
    let mut app = signed_in();
    let store = pbx().voicemail_store();
    let day = 24 * 60 * 60;
    // Kept forever at first: an old and a recent voicemail are both brought over.
    app.voicemail_arrives("1004", now_secs() - 40 * day);
    app.voicemail_arrives("1005", now_secs() - 2 * day);
    harness::wait_for("both voicemails stored", TIMEOUT, || {
        (app.store().voicemails().ok()?.len() == 2).then_some(())
    })
    .unwrap();

    // Delete after 30 days: the old one goes here and on the PBX; the recent one stays.
    app.save(|f| f.mailbox.delete_after = RetentionDays::Days(30));
    harness::wait_for("the old voicemail gone here", TIMEOUT, || {
        let left = app.store().voicemails().ok()?;
        (left.len() == 1 && left[0].voicemail.caller_number == "1005").then_some(())
    })
    .unwrap();
    harness::wait_for("and on the PBX", TIMEOUT, || {
        (store.messages(&app.me.user.extension).len() == 1).then_some(())
    })
    .unwrap();

    // One older than the retention arriving later is deleted on the PBX, never brought over.
    app.voicemail_arrives("1006", now_secs() - 31 * day);
    std::thread::sleep(Duration::from_secs(1));
    harness::wait_for("the expired arrival deleted on the PBX", TIMEOUT, || {
        (store.messages(&app.me.user.extension).len() == 1).then_some(())
    })
    .unwrap();
    assert_eq!(app.store().voicemails().unwrap().len(), 1);
    pbx().clear_voicemail(&app.me.user.extension).unwrap();
}
