//! The SUBSCRIBE requests of [`crate::subscription`] on the wire. The first one of a
//! subscription goes outside any dialog (RFC 6665 §4.1.2.1) and the stack has no helper for it,
//! so it is built here like MESSAGE, with the 401/407 retry; refreshes and unsubscribes go in
//! the dialog the 2xx made. Each answer becomes a [`subscription::Answer`].

use rsipstack::dialog::DialogId;
use rsipstack::dialog::authenticate::{AuthRetry, Credential, handle_client_authenticate};
use rsipstack::sip::{Header, HeadersExt, Request, Response, SipMessage, StatusCode};
use rsipstack::sip::{StatusCodeKind, Uri};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::make_tag;
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::SipAddr;

use crate::account::Account;
use crate::subscription::{Answer, Package};

/// How a first SUBSCRIBE ended.
pub enum Outcome {
    /// 2xx: the request as last sent (its CSeq starts the dialog's) and the response.
    Accepted(Box<(Request, Response)>),
    Refused(Box<Response>),
    Failed(String),
}

/// `Event`, `Accept` and `Expires` for a SUBSCRIBE of `package`.
pub fn headers(package: Package, expires: u32) -> Vec<Header> {
    vec![
        Header::Other("Event".into(), package.event().into()),
        Header::Other("Accept".into(), package.body_type().into()),
        Header::Expires(expires.into()),
    ]
}

/// A first SUBSCRIBE from `account` to `target` (the watched resource's URI).
pub fn request(
    endpoint: &EndpointInnerRef,
    account: &Account,
    target: &str,
    call_id: &str,
    package: Package,
    expires: u32,
    contact: Option<Uri>,
) -> Result<Request, String> {
    let uri = Uri::try_from(target).map_err(|e| format!("“{target}” is not an address ({e})"))?;
    let aor = Uri::try_from(account.aor().as_str()).map_err(|e| e.to_string())?;
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
    let mut request = endpoint.make_request(
        rsipstack::sip::Method::Subscribe,
        uri,
        via,
        from,
        to,
        1,
        Some(call_id.to_string().into()),
    );
    if let Some(c) = contact {
        request
            .headers
            .push(rsipstack::sip::typed::Contact::from(c).into());
    }
    request.headers.extend(headers(package, expires));
    request.headers.push(Header::ContentLength(0u32.into()));
    Ok(request)
}

/// Sends a first SUBSCRIBE (to `destination` when there is an outbound proxy) and waits for
/// its final response, answering one digest challenge.
pub async fn send(
    endpoint: EndpointInnerRef,
    request: Request,
    credential: Option<Credential>,
    destination: Option<SipAddr>,
) -> Outcome {
    let key = match TransactionKey::from_request(&request, TransactionRole::Client) {
        Ok(k) => k,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let mut tx = Transaction::new_client(key, request, endpoint, None);
    tx.destination = destination.clone();
    if let Err(e) = tx.send().await {
        return Outcome::Failed(e.to_string());
    }
    let mut seq = 1;
    let mut auth = AuthRetry::new();
    while let Some(msg) = tx.receive().await {
        let SipMessage::Response(resp) = msg else {
            continue;
        };
        match resp.status_code.kind() {
            StatusCodeKind::Provisional => continue,
            StatusCodeKind::Successful => {
                return Outcome::Accepted(Box::new((tx.original.clone(), resp)));
            }
            _ if matches!(
                resp.status_code,
                StatusCode::Unauthorized | StatusCode::ProxyAuthenticationRequired
            ) && auth.should_answer(&resp) =>
            {
                let Some(cred) = &credential else {
                    return Outcome::Refused(Box::new(resp));
                };
                seq += 1;
                tx = match handle_client_authenticate(seq, &tx, resp, cred).await {
                    Ok(t) => t,
                    Err(e) => return Outcome::Failed(e.to_string()),
                };
                tx.destination = destination.clone();
                if let Err(e) = tx.send().await {
                    return Outcome::Failed(e.to_string());
                }
            }
            _ => return Outcome::Refused(Box::new(resp)),
        }
    }
    Outcome::Failed("no answer".into())
}

/// The refusal a final error response says, with its hints for trying again.
pub fn refusal(resp: &Response) -> Answer {
    let number = |name: &str| {
        resp.header_value(name)
            .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
    };
    Answer::Refused {
        code: resp.status_code.code(),
        min_expires: number("Min-Expires"),
        retry_after: number("Retry-After"),
    }
}

/// The lifetime a 2xx grants (its `Expires`).
pub fn granted(resp: &Response) -> Option<u32> {
    resp.header_value("Expires")?.trim().parse().ok()
}

/// The answer to a refresh or an unsubscribe sent in `dialog`.
pub fn in_dialog_answer(dialog: DialogId, result: rsipstack::Result<Option<Response>>) -> Answer {
    match result {
        Ok(Some(resp)) if resp.status_code.kind() == StatusCodeKind::Successful => {
            Answer::Accepted {
                dialog,
                expires: granted(&resp),
            }
        }
        Ok(Some(resp)) => refusal(&resp),
        Ok(None) => Answer::NoAnswer("no final response".into()),
        Err(e) => Answer::NoAnswer(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(text: &str) -> Response {
        match SipMessage::try_from(text).unwrap() {
            SipMessage::Response(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn refusals_carry_min_expires_and_retry_after() {
        let r = response(
            "SIP/2.0 423 Interval Too Brief\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\n\
             From: <sip:a@b>;tag=1\r\nTo: <sip:c@b>;tag=2\r\nCall-ID: x\r\nCSeq: 1 SUBSCRIBE\r\n\
             Min-Expires: 60\r\nRetry-After: 30 (busy)\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(
            refusal(&r),
            Answer::Refused {
                code: 423,
                min_expires: Some(60),
                retry_after: Some(30)
            }
        );
        let ok = response(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\n\
             From: <sip:a@b>;tag=1\r\nTo: <sip:c@b>;tag=2\r\nCall-ID: x\r\nCSeq: 1 SUBSCRIBE\r\n\
             Expires: 599\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(granted(&ok), Some(599));
    }
}
