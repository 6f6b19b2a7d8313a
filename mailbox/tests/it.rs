//! Against the harness PBX's real voicemail store (Dovecot, as Asterisk's IMAP storage uses
//! it): a voicemail email put in a leased user's box is listed with its caller, time and
//! duration, its recording decodes, heard and deleted reach the server; a wrong password and
//! a closed port are said in words.

use mailbox::{Account, MailboxError};

fn account(user: &harness::User) -> Account {
    Account {
        addr: harness::voicemail_store::imap_addr().to_string(),
        user: user.extension.clone(),
        password: user.password.clone(),
        tls: None,
    }
}

fn wav_of_a_second() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..8000 {
        let t = i as f32 / 8000.0;
        w.write_sample(((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
    out.into_inner()
}

fn voicemail_email(wav: &[u8]) -> String {
    format!(
        "Date: Mon, 07 Dec 2026 12:36:44 +0000\r\n\
         From: Asterisk PBX <asterisk@vm>\r\n\
         Subject: [PBX]: New message 1\r\n\
         X-Asterisk-VM-Caller-ID-Num: 1002\r\n\
         X-Asterisk-VM-Caller-ID-Name: Grace Hopper\r\n\
         X-Asterisk-VM-Duration: 1\r\n\
         X-Asterisk-VM-Orig-time: 1796647004\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nA message.\r\n\
         --b1\r\nContent-Type: audio/x-wav; name=\"msg0000.wav\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        data_encoding::BASE64.encode(wav)
    )
}

#[test]
fn a_voicemail_is_listed_played_heard_and_deleted_on_the_server() {
    let pbx = harness::Pbx::ensure_up().unwrap();
    let lease = pbx.lease_any().unwrap();
    let store = pbx.voicemail_store();
    store.clear(&lease.user.extension).unwrap();
    store
        .deliver(&lease.user.extension, &voicemail_email(&wav_of_a_second()))
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
