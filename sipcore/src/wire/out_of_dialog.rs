//! One request outside any dialog (PUBLISH, MESSAGE, OPTIONS, the first SUBSCRIBE), hand-built
//! because the stack has no helper for them, sent as a client transaction to the account's
//! [`super::next_hop`] and answered through 401/407 challenges with our own digest code
//! ([`super::digest`]).

use rsipstack::sip::{Header, Method, Request, Response, SipMessage, StatusCode, StatusCodeKind};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::make_tag;
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::SipAddr;
use tracing::debug;

use crate::account::Account;
use crate::wire::digest::{self, Credentials, DigestSession};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("“{0}” is not an address")]
    BadUri(String),
    #[error("the request could not be sent: {0}")]
    Send(String),
    #[error("the server did not answer")]
    NoAnswer,
    #[error("{0}")]
    Digest(#[from] digest::DigestError),
}

/// What to send: everything but Via, Call-ID, CSeq and credentials, which each attempt gets
/// anew.
pub struct OutOfDialog {
    pub method: Method,
    /// The Request-URI; also the To.
    pub target: String,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
    /// The Call-ID to use; a new one when `None`.
    pub call_id: Option<String>,
    /// Our Contact, for a request that makes a dialog (SUBSCRIBE).
    pub contact: Option<rsipstack::sip::Uri>,
}

/// A final response, with the request as last sent (its CSeq and tags start a dialog).
pub struct Sent {
    pub request: Request,
    pub response: Response,
}

/// Sends `request` from `account` (to `next_hop`, [`super::next_hop::NextHop::destination`])
/// and returns the final response. Challenges are answered from `session`, whose nonce a later
/// request reuses; a 401/407 that proves the password wrong is returned like any other final
/// response.
pub async fn send(
    endpoint: &EndpointInnerRef,
    account: &Account,
    next_hop: Option<SipAddr>,
    session: &mut DigestSession,
    request: &OutOfDialog,
) -> Result<Sent, RequestError> {
    let uri = rsipstack::sip::Uri::try_from(request.target.as_str())
        .map_err(|_| RequestError::BadUri(request.target.clone()))?;
    let aor = rsipstack::sip::Uri::try_from(account.aor().as_str())
        .map_err(|_| RequestError::BadUri(account.aor()))?;
    let credentials = Credentials::of(account);
    let method_text = request.method.to_string();
    let uri_text = uri.to_string();
    let from_tag = make_tag();
    let call_id = match &request.call_id {
        Some(id) => id.clone().into(),
        None => rsipstack::transaction::make_call_id(
            endpoint.option.callid_suffix.as_deref(),
            endpoint.option.callid_format,
        ),
    };
    let mut auth = session.preemptive(&credentials, &method_text, &uri_text);
    let mut retries = 0;
    let mut seq = 1;
    loop {
        let via = endpoint
            .get_via(None, None)
            .map_err(|e| RequestError::Send(e.to_string()))?;
        let from = rsipstack::sip::typed::From {
            display_name: account.display_name.clone(),
            uri: aor.clone(),
            params: vec![],
        }
        .with_tag(from_tag.clone());
        let to = rsipstack::sip::typed::To {
            display_name: None,
            uri: uri.clone(),
            params: vec![],
        };
        // RFC 3261 §8.1.3.5: the retry keeps Call-ID and From tag, with a higher CSeq.
        let mut req = endpoint.make_request(
            request.method,
            uri.clone(),
            via,
            from,
            to,
            seq,
            Some(call_id.clone()),
        );
        if let Some(c) = &request.contact {
            req.headers
                .push(rsipstack::sip::typed::Contact::from(c.clone()).into());
        }
        req.headers.extend(request.headers.clone());
        if let Some(a) = &auth {
            req.headers.push(a.header());
        }
        req.headers
            .push(Header::ContentLength((request.body.len() as u32).into()));
        req.body = request.body.clone();
        let key = TransactionKey::from_request(&req, TransactionRole::Client)
            .map_err(|e| RequestError::Send(e.to_string()))?;
        let mut tx = Transaction::new_client(key, req.clone(), endpoint.clone(), None);
        tx.destination = next_hop.clone();
        tx.send()
            .await
            .map_err(|e| RequestError::Send(e.to_string()))?;
        let response = final_response(&mut tx).await?;
        let sent = Sent {
            request: req,
            response,
        };
        if !matches!(
            sent.response.status_code,
            StatusCode::Unauthorized | StatusCode::ProxyAuthenticationRequired
        ) {
            return Ok(sent);
        }
        let sent_nc = auth.as_ref().map(|a| a.nc);
        let retry = session.retry_after(
            &sent.response,
            &credentials,
            (&method_text, &uri_text),
            sent_nc,
            retries,
        )?;
        let Some(retry) = retry else {
            debug!(method = %request.method, "credentials refused");
            return Ok(sent);
        };
        retries += 1;
        seq += 1;
        auth = Some(retry);
    }
}

async fn final_response(tx: &mut Transaction) -> Result<Response, RequestError> {
    while let Some(msg) = tx.receive().await {
        if let SipMessage::Response(resp) = msg
            && resp.status_code.kind() != StatusCodeKind::Provisional
        {
            return Ok(resp);
        }
    }
    Err(RequestError::NoAnswer)
}
