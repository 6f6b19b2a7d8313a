//! `message/sipfrag` (RFC 3420) as carried by NOTIFYs of a REFER subscription (RFC 3515 §2.4.5):
//! the status line of the call the transferee placed.
//!
//! rsipstack has `ReferStatus::parse`, but it looks for `Event` and `Subscription-State` among
//! untyped headers while its own parser makes them typed, so it never matches; hence this.

use super::BodyError;

/// The status code of the sipfrag's status line, e.g. 180 for `SIP/2.0 180 Ringing`.
pub fn status(body: &[u8]) -> Result<u16, BodyError> {
    let text = std::str::from_utf8(body).map_err(|_| BodyError::NotUtf8)?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or_else(|| BodyError::Unexpected("empty sipfrag".into()))?;
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next().map(str::parse::<u16>)) {
        (Some(v), Some(Ok(code)))
            if v.eq_ignore_ascii_case("SIP/2.0") && (100..700).contains(&code) =>
        {
            Ok(code)
        }
        _ => Err(BodyError::Unexpected(format!("not a status line: {line}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_status_line() {
        assert_eq!(status(b"SIP/2.0 100 Trying\r\n"), Ok(100));
        assert_eq!(status(b"SIP/2.0 200 OK\r\n"), Ok(200));
        // RFC 3420 allows headers after the start line.
        assert_eq!(
            status(b"SIP/2.0 603 Declined\r\nContent-Length: 0\r\n\r\n"),
            Ok(603)
        );
    }

    #[test]
    fn rejects_what_is_not_a_status_line() {
        assert!(status(b"").is_err());
        assert!(status(b"INVITE sip:a@b SIP/2.0\r\n").is_err());
        assert!(status(b"SIP/2.0 abc\r\n").is_err());
        assert!(status(b"SIP/2.0 9999 Big\r\n").is_err());
        assert!(status(&[0xff, 0xfe]).is_err());
    }
}
