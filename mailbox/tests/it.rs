//! Against the harness PBX's real voicemail store (Dovecot, as Asterisk's IMAP storage uses
//! it): a voicemail email put in a leased user's box is listed with its caller, time and
//! duration, its recording decodes, heard and deleted reach the server; a wrong password and
//! a closed port are said in words.

use harness::voicemail_store::{tone_wav, voicemail_email};
use mailbox::{Account, MailboxError};

fn account(user: &harness::User) -> Account {
    Account {
        addr: harness::voicemail_store::imap_addr().to_string(),
        user: user.extension.clone(),
        password: user.password.clone(),
        tls: None,
    }
}

#[test]
fn a_voicemail_is_listed_played_heard_and_deleted_on_the_server() {
    let pbx = harness::Pbx::ensure_up().unwrap();
    let lease = pbx.lease_any().unwrap();
    let store = pbx.voicemail_store();
    store.clear(&lease.user.extension).unwrap();
    store
        .deliver(
            &lease.user.extension,
            &voicemail_email("1002", "Grace Hopper", 1_796_647_004, &tone_wav(440.0, 1.0)),
        )
        .unwrap();
    // Other mail in the box is not a voicemail and is left alone.
    store
        .deliver(
            &lease.user.extension,
            "From: a colleague\r\nSubject: lunch\r\n\r\nNoon?\r\n",
        )
        .unwrap();
    let account = account(&lease.user);

    let listed = mailbox::list(&account).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let vm = &listed[0];
    assert!(!vm.seen);
    assert_eq!(vm.voicemail.caller_number, "1002");
    assert_eq!(vm.voicemail.caller_name.as_deref(), Some("Grace Hopper"));
    assert_eq!(vm.voicemail.received_at_ms, 1_796_647_004_000);
    assert_eq!(vm.voicemail.duration_ms, 1000);

    let audio = mailbox::fetch_audio(&account, &vm.reference).unwrap();
    let pcm = mailbox::wav::decode(&audio).unwrap();
    assert_eq!((pcm.rate, pcm.duration_ms()), (8000, 1000));

    mailbox::mark_heard(&account, &vm.reference).unwrap();
    assert!(mailbox::list(&account).unwrap()[0].seen);

    mailbox::delete(&account, &vm.reference).unwrap();
    assert!(mailbox::list(&account).unwrap().is_empty());
    assert_eq!(
        store.messages(&lease.user.extension).len(),
        1,
        "the other mail stays"
    );
    // Deleting again is not an error: it is gone, as asked.
    mailbox::delete(&account, &vm.reference).unwrap();
    assert!(matches!(
        mailbox::fetch_audio(&account, &vm.reference),
        Err(MailboxError::Gone(_))
    ));
    store.clear(&lease.user.extension).unwrap();
}

#[test]
fn a_wrong_password_and_a_closed_port_are_said_in_words() {
    let pbx = harness::Pbx::ensure_up().unwrap();
    let lease = pbx.lease_any().unwrap();
    let mut wrong = account(&lease.user);
    wrong.password = "not-the-password".into();
    let err = mailbox::list(&wrong).unwrap_err();
    assert!(matches!(err, MailboxError::LoginRefused { .. }), "{err:?}");
    assert!(err.to_string().contains("refused the login"));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut nowhere = account(&lease.user);
    nowhere.addr = format!("127.0.0.1:{port}");
    let err = mailbox::list(&nowhere).unwrap_err();
    assert!(matches!(err, MailboxError::Unreachable { .. }), "{err:?}");
}

/// A real mail server (aiosmtpd) takes the voicemail email with its recording; a wrong
/// password and a closed port are said in words.
#[test]
fn a_voicemail_is_emailed_with_its_recording_and_a_wrong_password_is_said_in_words() {
    use mailbox::email::{Security, SmtpServer, VoicemailEmail, send};
    let server = harness::smtp::SmtpServer::start("ada", "mail-secret").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("vm.ogg");
    std::fs::write(&audio, b"OggS the recording").unwrap();
    let mut smtp = SmtpServer {
        host: "127.0.0.1".into(),
        port: server.addr.port(),
        security: Security::Plain,
        user: "ada".into(),
        password: "mail-secret".into(),
        extra_root_pem: None,
    };
    let email = VoicemailEmail {
        from: "Switchboard <1001@switchboard.test>".into(),
        to: "ada@switchboard.test".into(),
        caller: "Grace Hopper (1002)".into(),
        received: "Mon 7 Dec 2026, 12:36 UTC".into(),
        duration: "0:07".into(),
        transcript: None,
        attachment: Some(audio),
    };
    send(&smtp, &email).unwrap();
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("Subject: Voicemail from Grace Hopper (1002) (0:07)"));
    assert!(got[0].contains("filename=\"voicemail.ogg\""));

    smtp.password = "wrong".into();
    let err = send(&smtp, &email).unwrap_err();
    assert!(
        matches!(err, MailboxError::SmtpLoginRefused { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("refused the login"), "{err}");
    assert_eq!(
        server.messages().len(),
        1,
        "nothing taken without the login"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    smtp.port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = send(&smtp, &email).unwrap_err();
    assert!(matches!(err, MailboxError::Unreachable { .. }), "{err:?}");
}
