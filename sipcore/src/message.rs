//! MESSAGE outside a dialog (RFC 3428), sent through [`crate::out_of_dialog`] with its digest
//! retries, and the SIP INFO DTMF fallback's body.

use rsipstack::sip::{Header, StatusCodeKind};
use rsipstack::transaction::endpoint::EndpointInnerRef;

use crate::account::Account;
use crate::digest::DigestSession;
use crate::out_of_dialog::{self, OutOfDialog};

/// Sends one MESSAGE (through `next_hop`, the outbound proxy, when there is one) and waits for
/// its final response; `Err` says why it failed, in words.
pub async fn send(
    endpoint: EndpointInnerRef,
    account: &Account,
    target: &str,
    next_hop: Option<rsipstack::transport::SipAddr>,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(), String> {
    let request = OutOfDialog {
        method: rsipstack::sip::Method::Message,
        target: target.to_string(),
        headers: vec![Header::ContentType(content_type.into())],
        body,
    };
    let resp = out_of_dialog::send(
        &endpoint,
        account,
        next_hop,
        &mut DigestSession::new(),
        &request,
    )
    .await
    .map_err(|e| match e {
        out_of_dialog::RequestError::BadUri(_) => format!("“{target}” is not an address."),
        out_of_dialog::RequestError::NoAnswer => "The server did not answer.".to_string(),
        e => format!("The message could not be sent: {e}."),
    })?;
    if resp.status_code.kind() == StatusCodeKind::Successful {
        return Ok(());
    }
    Err(match resp.status_code.code() {
        404 | 604 => "That address does not exist.".into(),
        401 | 403 | 407 => "The server refused the message: sign in again.".into(),
        480 => "The recipient is not reachable right now.".into(),
        _ => format!("The message was not delivered ({}).", resp.status_code),
    })
}

/// The `application/dtmf-relay` body for one digit.
pub fn dtmf_info_body(digit: char) -> String {
    format!("Signal={digit}\r\nDuration=160\r\n")
}

/// The digit of an INFO carrying `application/dtmf-relay` or `application/dtmf`.
pub fn dtmf_from_info(req: &rsipstack::sip::Request) -> Option<char> {
    use rsipstack::sip::HeadersExt;
    let ct = req.header_value("Content-Type")?.to_ascii_lowercase();
    let body = std::str::from_utf8(&req.body).ok()?;
    let digit = if ct.contains("dtmf-relay") {
        body.lines()
            .find_map(|l| {
                l.split_once('=')
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case("signal"))
            })
            .map(|(_, v)| v.trim())?
            .chars()
            .next()?
    } else if ct.contains("application/dtmf") {
        body.trim().chars().next()?
    } else {
        return None;
    };
    matches!(digit, '0'..='9' | '*' | '#' | 'A'..='D').then_some(digit)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dtmf_info_bodies_round_trip() {
        assert_eq!(super::dtmf_info_body('5'), "Signal=5\r\nDuration=160\r\n");
    }
}
