//! The checks a user agent server makes on a request outside a dialog before acting on it
//! (RFC 3261 §8.2): what the parser lets through but is malformed, then method, URI scheme,
//! required extensions and body type. Each refusal is a status code with the headers that tell
//! the sender what we do accept. Pure functions, so the RFC 4475 torture messages test them on
//! bytes as well as through the running stack.

use rsipstack::sip::{Header, Method, Request, Scheme, StatusCode};

/// The methods we act on; sent in `Allow` with 405 and 501.
pub const ALLOWED: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, NOTIFY, INFO, UPDATE, REFER";

/// Option tags we implement, for `Require` (RFC 3261 §8.2.2.3): session timers (RFC 4028,
/// see `session_timer`). Replaces comes with its own work.
const SUPPORTED: &[&str] = &["timer"];

/// Headers that may appear once only (RFC 3261 §7.3.1, §20).
const SINGLE: &[&str] = &[
    "Call-ID",
    "CSeq",
    "From",
    "To",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    // One dialog to replace (RFC 3891 §3): two make the request ambiguous, a 400.
    "Replaces",
];

#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub status: StatusCode,
    pub headers: Vec<Header>,
    /// Why, for the log.
    pub why: String,
}

fn refuse(status: StatusCode, headers: Vec<Header>, why: impl Into<String>) -> Option<Refusal> {
    Some(Refusal {
        status,
        headers,
        why: why.into(),
    })
}

fn values<'a>(req: &'a Request, name: &'a str) -> impl Iterator<Item = String> + 'a {
    req.headers
        .iter()
        .filter(move |h| h.name().eq_ignore_ascii_case(name))
        .map(|h| h.value().to_string())
}

/// The first reason to refuse `req`, or `None` when it may go on to the call logic.
pub fn check(req: &Request) -> Option<Refusal> {
    if let Some(why) = malformed(req) {
        return refuse(StatusCode::BadRequest, vec![], why);
    }
    match &req.uri.scheme {
        // The parser leaves the scheme out when it does not know it and keeps the rest as
        // the host, e.g. `soap.beep://192.0.2.103`.
        None if req.uri.host_with_port.host.to_string().contains("://") => {
            return refuse(
                StatusCode::UnsupportedUriScheme,
                vec![],
                format!("Request-URI {}", req.uri.host_with_port.host),
            );
        }
        None | Some(Scheme::Sip) | Some(Scheme::Sips) => {}
        Some(Scheme::Other(s)) if s.eq_ignore_ascii_case("tel") => {}
        Some(Scheme::Other(s)) => {
            return refuse(
                StatusCode::UnsupportedUriScheme,
                vec![],
                format!("Request-URI scheme {s}"),
            );
        }
    }
    if req.method == Method::Subscribe {
        // We serve no event package to subscribers: the only notifications we send are a
        // transfer's progress, inside the implicit subscription of the REFER that asked for it.
        // A 489 lists what is supported (RFC 6665 §8.2.2), not a 405.
        let event = values(req, "Event").next().unwrap_or_default();
        return refuse(
            StatusCode::BadEvent,
            vec![Header::Other("Allow-Events".into(), "refer".into())],
            format!("event package {:?} is not served here", event.trim()),
        );
    }
    if matches!(
        req.method,
        Method::Register | Method::Publish | Method::PRack
    ) {
        return refuse(
            StatusCode::MethodNotAllowed,
            vec![Header::Other("Allow".into(), ALLOWED.into())],
            format!("{} is not for a user agent", req.method),
        );
    }
    if !matches!(req.method, Method::Ack | Method::Cancel) {
        let unsupported: Vec<String> = values(req, "Require")
            .flat_map(|v| {
                v.split(',')
                    .map(|t| t.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|t| !t.is_empty() && !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(t)))
            .collect();
        if !unsupported.is_empty() {
            let list = unsupported.join(", ");
            return refuse(
                StatusCode::BadExtension,
                vec![Header::Other("Unsupported".into(), list.clone())],
                format!("requires {list}"),
            );
        }
    }
    if req.method == Method::Invite {
        return invite_body(req);
    }
    None
}

/// What the parser accepts but RFC 3261 does not: duplicated single headers, a CSeq for another
/// method, a Content-Length that is not the body's, an unclosed quote, empty Via elements.
fn malformed(req: &Request) -> Option<String> {
    for name in SINGLE {
        if values(req, name).count() > 1 {
            return Some(format!("{name} appears more than once"));
        }
    }
    if let Some(cseq) = values(req, "CSeq").next() {
        let method = cseq.split_whitespace().nth(1).unwrap_or("");
        if !method.eq_ignore_ascii_case(&req.method.to_string()) {
            return Some(format!("CSeq method {method} is not {}", req.method));
        }
    }
    if let Some(len) = values(req, "Content-Length").next() {
        match len.trim().parse::<usize>() {
            // Over UDP a datagram can carry more than the length (RFC 3261 §18.3: the rest is
            // ignored), never less.
            Ok(n) if n <= req.body.len() => {}
            Ok(n) => return Some(format!("Content-Length {n} but {} octets", req.body.len())),
            Err(_) => return Some(format!("Content-Length {len}")),
        }
    }
    for name in ["From", "To", "Contact"] {
        if values(req, name).any(|v| !quotes_balance(&v)) {
            return Some(format!("unclosed quote in {name}"));
        }
    }
    for via in values(req, "Via") {
        let empty_element = via.split(',').any(|v| v.trim().is_empty())
            || via.split(';').skip(1).any(|p| p.trim().is_empty());
        if empty_element {
            return Some(format!("empty element in Via {via}"));
        }
    }
    None
}

/// Whether every quoted string closes; `\"` inside one is an escaped quote (RFC 3261 §25.1).
fn quotes_balance(value: &str) -> bool {
    let mut inside = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if inside => {
                chars.next();
            }
            '"' => inside = !inside,
            _ => {}
        }
    }
    !inside
}

/// RFC 3261 §8.2.3: we only understand SDP, unencoded, and must be able to answer with it.
fn invite_body(req: &Request) -> Option<Refusal> {
    let accept_sdp = || {
        vec![
            Header::Other("Accept".into(), "application/sdp".into()),
            Header::Other("Accept-Encoding".into(), "identity".into()),
        ]
    };
    if !req.body.is_empty() {
        let ctype = values(req, "Content-Type").next().unwrap_or_default();
        let media = ctype.split(';').next().unwrap_or("").trim();
        if crate::bodies::multipart::sdp_part(&ctype, &req.body).is_none() {
            return refuse(
                StatusCode::UnsupportedMediaType,
                accept_sdp(),
                format!("body of type {media:?}"),
            );
        }
        if let Some(enc) = values(req, "Content-Encoding").next()
            && !enc.trim().eq_ignore_ascii_case("identity")
        {
            return refuse(
                StatusCode::UnsupportedMediaType,
                accept_sdp(),
                format!("body encoded as {enc}"),
            );
        }
    }
    let accepts: Vec<String> = values(req, "Accept")
        .flat_map(|v| {
            v.split(',')
                .map(|t| {
                    t.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let takes_sdp = accepts.is_empty()
        || accepts
            .iter()
            .any(|a| a == "application/sdp" || a == "application/*" || a == "*/*");
    if !takes_sdp {
        return refuse(
            StatusCode::NotAcceptable,
            vec![],
            format!("accepts only {}", accepts.join(", ")),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str) -> Request {
        Request::try_from(text.replace('\n', "\r\n").as_bytes()).expect("parses")
    }

    fn options(extra: &str) -> Request {
        request(&format!(
            "OPTIONS sip:a@example.com SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\n\
             To: <sip:a@example.com>\nFrom: <sip:b@example.com>;tag=1\nCall-ID: x\n\
             CSeq: 1 OPTIONS\nMax-Forwards: 70\n{extra}Content-Length: 0\n\n"
        ))
    }

    #[test]
    fn a_plain_request_passes() {
        assert_eq!(check(&options("")), None);
    }

    #[test]
    fn a_required_extension_we_lack_is_420_naming_it() {
        let r = check(&options("Require: foo, timer, replaces\n")).unwrap();
        assert_eq!(r.status, StatusCode::BadExtension);
        assert_eq!(
            r.headers,
            vec![Header::Other("Unsupported".into(), "foo, replaces".into())]
        );
    }

    #[test]
    fn session_timers_may_be_required() {
        assert_eq!(check(&options("Require: timer\n")), None);
    }

    #[test]
    fn a_cseq_for_another_method_or_a_second_call_id_is_400() {
        let r = request(
            "OPTIONS sip:a@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nTo: <sip:a@h>\n\
             From: <sip:b@h>;tag=1\nCall-ID: x\nCSeq: 1 INVITE\nContent-Length: 0\n\n",
        );
        assert_eq!(check(&r).unwrap().status, StatusCode::BadRequest);
        let r = options("Call-ID: y\n");
        assert_eq!(check(&r).unwrap().status, StatusCode::BadRequest);
    }

    #[test]
    fn a_subscribe_to_any_package_is_489_listing_what_we_serve() {
        let r = request(
            "SUBSCRIBE sip:a@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nTo: <sip:a@h>\n\
             From: <sip:b@h>;tag=1\nCall-ID: x\nCSeq: 1 SUBSCRIBE\nEvent: x-unknown\n\
             Expires: 60\nContent-Length: 0\n\n",
        );
        let r = check(&r).unwrap();
        assert_eq!(r.status, StatusCode::BadEvent);
        assert_eq!(
            r.headers,
            vec![Header::Other("Allow-Events".into(), "refer".into())]
        );
    }

    #[test]
    fn two_replaces_headers_are_400() {
        let one = "Replaces: 98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff\n";
        assert_eq!(check(&options(one)), None);
        let r = check(&options(&format!("{one}{one}"))).unwrap();
        assert_eq!(r.status, StatusCode::BadRequest);
        assert!(r.why.contains("Replaces"), "{}", r.why);
    }

    #[test]
    fn quoted_display_names_may_hold_escaped_quotes() {
        assert!(quotes_balance(r#""Joe \"the\" Smith" <sip:j@h>"#));
        assert!(quotes_balance(r#""a\"b" <sip:j@h>"#));
        assert!(!quotes_balance(r#""Mr. J. User <sip:j@h>"#));
    }

    #[test]
    fn register_is_405_with_allow() {
        let r = request(
            "REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nTo: <sip:a@h>\n\
             From: <sip:a@h>;tag=1\nCall-ID: x\nCSeq: 1 REGISTER\nContent-Length: 0\n\n",
        );
        let r = check(&r).unwrap();
        assert_eq!(r.status, StatusCode::MethodNotAllowed);
        assert_eq!(
            r.headers,
            vec![Header::Other("Allow".into(), ALLOWED.into())]
        );
    }

    #[test]
    fn an_invite_with_a_body_we_cannot_read_is_415_and_one_refusing_sdp_is_406() {
        let invite = |extra: &str, body: &str| {
            request(&format!(
                "INVITE sip:a@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n\
                 To: <sip:a@h>\nFrom: <sip:b@h>;tag=1\nCall-ID: x\nCSeq: 1 INVITE\n{extra}\
                 Content-Length: {}\n\n{body}",
                body.len()
            ))
        };
        let r = check(&invite("Content-Type: text/plain\n", "hello")).unwrap();
        assert_eq!(r.status, StatusCode::UnsupportedMediaType);
        let r = check(&invite("Accept: text/nobody\n", "")).unwrap();
        assert_eq!(r.status, StatusCode::NotAcceptable);
        assert_eq!(
            check(&invite("Content-Type: application/sdp\n", "v=0\r\n")),
            None
        );
    }
}
