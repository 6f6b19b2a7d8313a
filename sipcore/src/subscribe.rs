//! The SUBSCRIBE requests of [`crate::subscription`] on the wire. The first one of a
//! subscription goes outside any dialog (RFC 6665 §4.1.2.1), through
//! [`crate::wire::out_of_dialog`] like MESSAGE, with our digest answers; refreshes and
//! unsubscribes go in the dialog the 2xx made (their challenges answered by
//! [`crate::wire::dialog_auth`]). Each answer becomes a [`subscription::Answer`].

use rsipstack::dialog::DialogId;
use rsipstack::sip::{Header, HeadersExt, Method, Request, Response, StatusCodeKind, Uri};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transport::SipAddr;

use crate::account::Account;
use crate::subscription::{Answer, Package};
use crate::wire::digest::DigestSession;
use crate::wire::out_of_dialog::{self, OutOfDialog};

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

/// What a first SUBSCRIBE says.
pub struct First {
    /// The watched resource's URI.
    pub target: String,
    pub call_id: String,
    pub package: Package,
    pub expires: u32,
    pub contact: Option<Uri>,
}

/// Sends a first SUBSCRIBE from `account` (to `next_hop`, the outbound proxy, when there is
/// one) and waits for its final response, answering its digest challenges.
pub async fn send(
    endpoint: EndpointInnerRef,
    account: &Account,
    first: First,
    next_hop: Option<SipAddr>,
) -> Outcome {
    let request = OutOfDialog {
        method: Method::Subscribe,
        target: first.target,
        headers: headers(first.package, first.expires),
        body: Vec::new(),
        call_id: Some(first.call_id),
        contact: first.contact,
    };
    let mut digest = DigestSession::new();
    match out_of_dialog::send(&endpoint, account, next_hop, &mut digest, &request).await {
        Ok(sent) if sent.response.status_code.kind() == StatusCodeKind::Successful => {
            Outcome::Accepted(Box::new((sent.request, sent.response)))
        }
        Ok(sent) => Outcome::Refused(Box::new(sent.response)),
        Err(e) => Outcome::Failed(e.to_string()),
    }
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
        Ok(None) => Answer::Unanswered("no final response".into()),
        Err(e) => Answer::Unanswered(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsipstack::sip::SipMessage;

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
