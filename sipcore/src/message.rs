//! MESSAGE outside a dialog (RFC 3428), sent through [`crate::wire::out_of_dialog`] with its
//! digest retries, and the SIP INFO DTMF fallback's body.

use rsipstack::sip::{Header, StatusCodeKind};
use rsipstack::transaction::endpoint::EndpointInnerRef;

use crate::account::Account;
use crate::wire::digest::DigestSession;
use crate::wire::out_of_dialog::{self, OutOfDialog, RequestError};

/// Why a MESSAGE was not delivered, in the words the user reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("Sign in before sending messages.")]
    NotSignedIn,
    #[error("“{0}” is not an address.")]
    BadAddress(String),
    #[error("The server did not answer.")]
    NoAnswer,
    #[error("The message could not be sent: {0}.")]
    NotSent(RequestError),
    #[error("That address does not exist.")]
    NotFound,
    #[error("The server refused the message: sign in again.")]
    Refused,
    #[error("The recipient is not reachable right now.")]
    Unreachable,
    #[error("The message was not delivered ({0}).")]
    NotDelivered(rsipstack::sip::StatusCode),
}

/// Sends one MESSAGE (through `next_hop`, the outbound proxy, when there is one) and waits for
/// its final response.
pub async fn send(
    endpoint: EndpointInnerRef,
    account: &Account,
    target: &str,
    next_hop: Option<rsipstack::transport::SipAddr>,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(), MessageError> {
    let request = OutOfDialog {
        method: rsipstack::sip::Method::Message,
        target: target.to_string(),
        headers: vec![Header::ContentType(content_type.into())],
        body,
        call_id: None,
        contact: None,
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
        RequestError::BadUri(_) => MessageError::BadAddress(target.to_string()),
        RequestError::NoAnswer => MessageError::NoAnswer,
        e => MessageError::NotSent(e),
    })?
    .response;
    if resp.status_code.kind() == StatusCodeKind::Successful {
        return Ok(());
    }
    Err(match resp.status_code.code() {
        404 | 604 => MessageError::NotFound,
        401 | 403 | 407 => MessageError::Refused,
        480 => MessageError::Unreachable,
        _ => MessageError::NotDelivered(resp.status_code),
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
