//! Requests outside dialogs that we build by hand (the stack has no helper for them): MESSAGE
//! with a 401/407 retry (RFC 3428), and the SIP INFO DTMF fallback's body.

use rsipstack::dialog::authenticate::{AuthRetry, Credential, handle_client_authenticate};
use rsipstack::sip::{Header, SipMessage, StatusCode, StatusCodeKind};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::make_tag;
use rsipstack::transaction::transaction::Transaction;

use crate::account::Account;

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
    let uri = rsipstack::sip::Uri::try_from(target)
        .map_err(|e| format!("“{target}” is not an address ({e})."))?;
    let aor = rsipstack::sip::Uri::try_from(account.aor().as_str()).map_err(|e| e.to_string())?;
    let via = endpoint.get_via(None, None).map_err(|e| e.to_string())?;
    let from = rsipstack::sip::typed::From {
        display_name: account.display_name.clone(),
        uri: aor,
        params: vec![],
    }
    .with_tag(make_tag());
    let to = rsipstack::sip::typed::To {
        display_name: None,
        uri: uri.clone(),
        params: vec![],
    };
    let mut seq = 1;
    let mut request = endpoint.make_request(
        rsipstack::sip::Method::Message,
        uri,
        via,
        from,
        to,
        seq,
        None,
    );
    request
        .headers
        .push(Header::ContentType(content_type.into()));
    request
        .headers
        .push(Header::ContentLength((body.len() as u32).into()));
    request.body = body;
    let key = TransactionKey::from_request(&request, TransactionRole::Client)
        .map_err(|e| e.to_string())?;
    let mut tx = Transaction::new_client(key, request, endpoint.clone(), None);
    // The 401/407 retry copies this destination to its new transaction.
    tx.destination = next_hop;
    tx.send()
        .await
        .map_err(|e| format!("The message could not be sent: {e}"))?;
    let credential = Credential {
        username: account.username.clone(),
        password: account.password.clone(),
        realm: None,
        auth_username: account.auth_username.clone(),
    };
    let mut auth = AuthRetry::new();
    while let Some(msg) = tx.receive().await {
        let SipMessage::Response(resp) = msg else {
            continue;
        };
        match resp.status_code.kind() {
            StatusCodeKind::Provisional => continue,
            StatusCodeKind::Successful => return Ok(()),
            _ if matches!(
                resp.status_code,
                StatusCode::Unauthorized | StatusCode::ProxyAuthenticationRequired
            ) && auth.should_answer(&resp) =>
            {
                seq += 1;
                tx = handle_client_authenticate(seq, &tx, resp, &credential)
                    .await
                    .map_err(|e| e.to_string())?;
                tx.send().await.map_err(|e| e.to_string())?;
            }
            _ => {
                return Err(match resp.status_code.code() {
                    404 | 604 => "That address does not exist.".into(),
                    401 | 403 | 407 => "The server refused the message: sign in again.".into(),
                    480 => "The recipient is not reachable right now.".into(),
                    _ => format!("The message was not delivered ({}).", resp.status_code),
                });
            }
        }
    }
    Err("The server did not answer.".into())
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
