//! One voicemail as Asterisk's IMAP storage writes it: an email whose `X-Asterisk-VM-*`
//! headers say who called, when and for how long, with the recording attached as WAV.

use mailparse::{MailHeaderMap, ParsedMail};

use crate::MailboxError;

/// What a voicemail email says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voicemail {
    pub caller_number: String,
    pub caller_name: Option<String>,
    /// Unix milliseconds.
    pub received_at_ms: i64,
    pub duration_ms: u64,
}

/// Reads the headers of a voicemail email; `NotVoicemail` for any other mail in the box.
pub fn parse_headers(raw: &[u8]) -> Result<Voicemail, MailboxError> {
    let (headers, _) =
        mailparse::parse_headers(raw).map_err(|e| MailboxError::NotVoicemail(e.to_string()))?;
    let get = |name: &str| {
        headers
            .get_first_value(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let number = get("X-Asterisk-VM-Caller-ID-Num")
        .ok_or_else(|| MailboxError::NotVoicemail("no X-Asterisk-VM-Caller-ID-Num".into()))?;
    let received_at_ms = match get("X-Asterisk-VM-Orig-time").and_then(|t| t.parse::<i64>().ok()) {
        Some(secs) => secs * 1000,
        // Older Asterisks write only the Date header.
        None => get("Date")
            .and_then(|d| mailparse::dateparse(&d).ok())
            .map(|s| s * 1000)
            .ok_or_else(|| MailboxError::NotVoicemail("no time".into()))?,
    };
    let duration_ms = get("X-Asterisk-VM-Duration")
        .and_then(|d| d.parse::<u64>().ok())
        .unwrap_or(0)
        * 1000;
    let caller_name = get("X-Asterisk-VM-Caller-ID-Name")
        .filter(|n| n != &number && !n.eq_ignore_ascii_case("unknown"));
    Ok(Voicemail {
        caller_number: number,
        caller_name,
        received_at_ms,
        duration_ms,
    })
}

/// The recording attached to a voicemail email: the bytes of its first audio part.
pub fn audio(raw: &[u8]) -> Result<Vec<u8>, MailboxError> {
    let mail = mailparse::parse_mail(raw).map_err(|e| MailboxError::NotVoicemail(e.to_string()))?;
    first_audio(&mail)
        .ok_or_else(|| MailboxError::NotVoicemail("no recording attached".into()))?
        .get_body_raw()
        .map_err(|e| MailboxError::NotVoicemail(e.to_string()))
}

fn first_audio<'a>(mail: &'a ParsedMail<'a>) -> Option<&'a ParsedMail<'a>> {
    if mail.ctype.mimetype.starts_with("audio/") {
        return Some(mail);
    }
    mail.subparts.iter().find_map(first_audio)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A voicemail email as Asterisk 16 writes one, with `wav` as its attachment.
    pub(crate) fn sample(wav: &[u8]) -> Vec<u8> {
        let b64 = data_encoding::BASE64.encode(wav);
        format!(
            "Date: Mon, 07 Dec 2026 12:36:44 +0000\r\n\
             From: Asterisk PBX <asterisk@vm>\r\n\
             Subject: [PBX]: New message 1 in mailbox 2039\r\n\
             X-Asterisk-VM-Caller-ID-Num: 2038\r\n\
             X-Asterisk-VM-Caller-ID-Name: Test User 2038\r\n\
             X-Asterisk-VM-Duration: 7\r\n\
             X-Asterisk-VM-Orig-time: 1796647004\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"----voicemail_1\"\r\n\r\n\
             ------voicemail_1\r\n\
             Content-Type: text/plain; charset=ISO-8859-1\r\n\r\n\
             Dear Test User 2039: you were just left a 0:07 long message.\r\n\r\n\
             ------voicemail_1\r\n\
             Content-Type: audio/x-wav; name=\"msg0000.wav\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"msg0000.wav\"\r\n\r\n\
             {b64}\r\n\r\n\
             ------voicemail_1--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn caller_time_duration_and_recording_come_from_the_email() {
        let raw = sample(b"RIFF-not-really-a-wav");
        let vm = parse_headers(&raw).unwrap();
        assert_eq!(
            vm,
            Voicemail {
                caller_number: "2038".into(),
                caller_name: Some("Test User 2038".into()),
                received_at_ms: 1_796_647_004_000,
                duration_ms: 7000,
            }
        );
        assert_eq!(audio(&raw).unwrap(), b"RIFF-not-really-a-wav");
    }

    #[test]
    fn other_mail_in_the_box_is_not_a_voicemail() {
        let raw = b"From: someone\r\nSubject: lunch?\r\n\r\nAt noon.\r\n";
        assert!(matches!(
            parse_headers(raw),
            Err(MailboxError::NotVoicemail(_))
        ));
        assert!(matches!(audio(raw), Err(MailboxError::NotVoicemail(_))));
    }

    #[test]
    fn an_unknown_caller_has_no_name() {
        let raw = b"X-Asterisk-VM-Caller-ID-Num: 0155501234\r\nX-Asterisk-VM-Caller-ID-Name: Unknown\r\nX-Asterisk-VM-Orig-time: 10\r\n\r\n";
        let vm = parse_headers(raw).unwrap();
        assert_eq!(vm.caller_name, None);
        assert_eq!(vm.duration_ms, 0);
        assert_eq!(vm.received_at_ms, 10_000);
    }
}
