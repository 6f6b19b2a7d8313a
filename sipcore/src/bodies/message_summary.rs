//! Message waiting (RFC 3842 `application/simple-message-summary`): a text body with
//! `Messages-Waiting: yes|no` and per-class counts such as `Voice-Message: 2/8 (0/2)`.

use super::BodyError;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MessageSummary {
    pub waiting: bool,
    pub account: Option<String>,
    /// Voice messages: new and old (urgent counts are folded in).
    pub new: u32,
    pub old: u32,
}

pub fn parse(body: &[u8]) -> Result<MessageSummary, BodyError> {
    let text = std::str::from_utf8(body).map_err(|_| BodyError::NotUtf8)?;
    let mut summary = MessageSummary::default();
    let mut saw_waiting = false;
    for line in text.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("Messages-Waiting") {
            saw_waiting = true;
            summary.waiting = match value.to_ascii_lowercase().as_str() {
                "yes" => true,
                "no" => false,
                other => {
                    return Err(BodyError::Unexpected(format!("Messages-Waiting: {other}")));
                }
            };
        } else if name.eq_ignore_ascii_case("Message-Account") {
            summary.account = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("Voice-Message") {
            let (new, old) = counts(value)
                .ok_or_else(|| BodyError::Unexpected(format!("Voice-Message: {value}")))?;
            summary.new = new;
            summary.old = old;
        }
    }
    if !saw_waiting {
        return Err(BodyError::Unexpected("no Messages-Waiting line".into()));
    }
    Ok(summary)
}

/// `new/old` with an optional `(urgent-new/urgent-old)`; urgent ones are already counted.
fn counts(value: &str) -> Option<(u32, u32)> {
    let main = value.split('(').next()?.trim();
    let (new, old) = main.split_once('/')?;
    Some((new.trim().parse().ok()?, old.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rfc_3842_example() {
        let body = "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\n\
                    Voice-Message: 2/8 (0/2)\r\nFax-Message: 0/0\r\n";
        let s = parse(body.as_bytes()).unwrap();
        assert_eq!(
            s,
            MessageSummary {
                waiting: true,
                account: Some("sip:alice@vmail.example.com".into()),
                new: 2,
                old: 8,
            }
        );
    }

    #[test]
    fn reads_what_asterisk_sends() {
        let s = parse(b"Messages-Waiting: no\r\nMessage-Account: sip:*97@127.0.0.1\r\nVoice-Message: 0/1 (0/0)\r\n").unwrap();
        assert_eq!((s.waiting, s.new, s.old), (false, 0, 1));
    }

    /// RFC 3842 §5.2's example NOTIFY body, with its optional message headers after the
    /// blank line.
    #[test]
    fn reads_the_rfc_3842_notify_example_with_message_headers() {
        let body = "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\n\
                    Voice-Message: 4/8 (1/2)\r\n\r\n\
                    To: <alice@atlanta.example.com>\r\nFrom: <bob@biloxi.example.com>\r\n\
                    Subject: carpool tomorrow?\r\nDate: Sun, 09 Mar 2003 11:01:44 -0500\r\n\
                    Priority: normal\r\nMessage-ID: 13784434989@vmail.example.com\r\n";
        let s = parse(body.as_bytes()).unwrap();
        assert_eq!((s.waiting, s.new, s.old), (true, 4, 8));
    }

    #[test]
    fn names_and_values_are_case_blind_and_counts_optional() {
        let s = parse(b"messages-waiting: YES\nvoice-message: 3/0\n").unwrap();
        assert_eq!((s.waiting, s.new, s.old), (true, 3, 0));
        let s = parse(b"Messages-Waiting: no\r\n").unwrap();
        assert_eq!((s.waiting, s.new, s.old), (false, 0, 0));
    }

    #[test]
    fn malformed_bodies_are_errors() {
        assert!(parse(b"").is_err());
        assert!(parse(b"Messages-Waiting: yes\r\nVoice-Message: -1/0\r\n").is_err());
        assert!(parse(b"Messages-Waiting: yes\r\nVoice-Message: 99999999999/0\r\n").is_err());
        assert!(parse(b"Voice-Message: 1/0\r\n").is_err());
        assert!(parse(b"Messages-Waiting: maybe\r\n").is_err());
        assert!(parse(b"Messages-Waiting: yes\r\nVoice-Message: lots\r\n").is_err());
        assert!(parse(&[0xff]).is_err());
    }
}
