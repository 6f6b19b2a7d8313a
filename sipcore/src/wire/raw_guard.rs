//! Our own strict look at every UDP datagram before rsipstack parses it (RFC 3261 §7, §8.2,
//! §18.2; the RFC 4475 torture cases). rsipstack drops what its parser refuses without a word,
//! so a request that is wrong in a way a sender should hear about gets its answer here: 400 for
//! a malformed start line, a missing or overflowing header or a display name that is not
//! tokens, 505 for another SIP version, 501 (with Allow) for a method we do not know. A valid
//! request written in a tortuous way (folded lines, spaces around separators) is rewritten
//! plainly for the parser. Responses and keepalives pass as they are.
//!
//! It also decides where our answers go (RFC 3261 §18.2.2, RFC 3581): to the source port when
//! the top Via asks with `rport`, else to the port the Via names. rsipstack adds `rport=` to
//! every Via whose address differs from the source; a request without `rport` gets
//! [`NO_RPORT`] on its top Via here, and [`strip_rport_marker`] takes both away again once the
//! stack has parsed it, leaving `received`.

use std::borrow::Cow;
use std::net::SocketAddr;

/// A Via parameter of ours that says "the sender did not ask for rport". It never leaves the
/// process: [`strip_rport_marker`] removes it before a transaction sees the request.
pub const NO_RPORT: &str = "x-switchboard-no-rport";

/// The methods rsipstack knows; another one is 501 Not Implemented.
const METHODS: &[&str] = &[
    "ACK",
    "BYE",
    "CANCEL",
    "INFO",
    "INVITE",
    "MESSAGE",
    "NOTIFY",
    "OPTIONS",
    "PRACK",
    "PUBLISH",
    "REFER",
    "REGISTER",
    "SUBSCRIBE",
    "UPDATE",
];

/// The start of the From tag we give a request that has none (RFC 2543 senders write none,
/// and the stack matches transactions by it). [`untag`] takes it out of what we send back, so
/// the sender sees its own From again.
pub const LEGACY_TAG: &str = ";tag=sb2543-";

pub const ALLOW: &str =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE, NOTIFY, REFER, SUBSCRIBE, UPDATE";

/// What to do with a datagram.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Hand on to the stack, as it came or rewritten.
    Pass(Cow<'a, [u8]>),
    /// Answer it ourselves with this datagram, to this address, and hand nothing on.
    Answer(Vec<u8>, SocketAddr),
    /// Hand nothing on and answer nothing.
    Drop,
}

/// A request's fault and the status that says it.
#[derive(Debug, PartialEq, Eq)]
struct Fault {
    status: u16,
    reason: &'static str,
    allow: bool,
}

fn bad(reason: &'static str) -> Fault {
    Fault {
        status: 400,
        reason,
        allow: false,
    }
}

/// One header as written, its value unfolded and trimmed.
struct Header<'a> {
    name: &'a str,
    value: String,
}

/// The full name of a header (compact forms of RFC 3261 §7.3.3), lowercase.
fn full_name(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    match n.as_str() {
        "v" => "via",
        "f" => "from",
        "t" => "to",
        "i" => "call-id",
        "m" => "contact",
        "l" => "content-length",
        "c" => "content-type",
        "e" => "content-encoding",
        "s" => "subject",
        "k" => "supported",
        other => return other.to_string(),
    }
    .to_string()
}

/// Judges a datagram that arrived from `source`.
pub fn judge(datagram: &[u8], source: SocketAddr) -> Verdict<'_> {
    if datagram.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Pass(Cow::Borrowed(datagram));
    }
    let Ok(text) = std::str::from_utf8(datagram) else {
        // The parser refuses it too; a request we cannot read has no address to answer.
        return Verdict::Pass(Cow::Borrowed(datagram));
    };
    if text.starts_with("SIP/") {
        return Verdict::Pass(Cow::Borrowed(datagram));
    }
    let (head, body) = match text.find("\r\n\r\n") {
        Some(i) => (&text[..i], &text[i + 4..]),
        None => (text.trim_end_matches(['\r', '\n']), ""),
    };
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or("");
    let headers = unfold(lines);
    match check(start, &headers) {
        Err(fault) => match reply(&fault, &headers, source) {
            Some((bytes, to)) => Verdict::Answer(bytes, to),
            None => Verdict::Drop,
        },
        Ok(()) => Verdict::Pass(rewrite(datagram, text, start, &headers, body)),
    }
}

/// Header lines with their continuation lines (leading SP or HT) joined by one space.
fn unfold<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<Header<'a>> {
    let mut out: Vec<Header<'a>> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.value.push(' ');
                last.value.push_str(line.trim());
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        out.push(Header {
            name,
            value: value.trim().to_string(),
        });
    }
    out
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

fn check(start: &str, headers: &[Header]) -> Result<(), Fault> {
    let parts: Vec<&str> = start.split(' ').collect();
    let [method, uri, version] = parts[..] else {
        return Err(bad("Malformed Request-Line"));
    };
    if uri.is_empty() || uri.contains(['<', '>']) {
        return Err(bad("Malformed Request-URI"));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|h| full_name(h.name) == name)
            .map(|h| h.value.as_str())
    };
    for (name, reason) in [
        ("via", "Missing Via"),
        ("from", "Missing From"),
        ("to", "Missing To"),
        ("call-id", "Missing Call-ID"),
        ("cseq", "Missing CSeq"),
    ] {
        if find(name).is_none_or(str::is_empty) {
            return Err(bad(reason));
        }
    }
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(Fault {
            status: 505,
            reason: "Version Not Supported",
            allow: false,
        });
    }
    if !is_token(method) {
        return Err(bad("Malformed Method"));
    }
    let cseq = find("cseq").unwrap_or("");
    let number = cseq.split_whitespace().next().unwrap_or("");
    if number.parse::<u32>().is_err() {
        return Err(bad("Malformed CSeq"));
    }
    if let Some(v) = find("max-forwards")
        && v.parse::<u8>().is_err()
    {
        return Err(bad("Malformed Max-Forwards"));
    }
    if let Some(v) = find("expires")
        && v.parse::<u32>().is_err()
    {
        return Err(bad("Malformed Expires"));
    }
    for name in ["from", "to"] {
        let value = find(name).unwrap_or("");
        if let Some((display, _)) = value.split_once('<') {
            let display = display.trim();
            if !display.is_empty()
                && !display.starts_with('"')
                && !display.split_whitespace().all(is_token)
            {
                return Err(bad("Malformed display name"));
            }
        }
    }
    if !METHODS.contains(&method) {
        return Err(Fault {
            status: 501,
            reason: "Not Implemented",
            allow: true,
        });
    }
    Ok(())
}

/// Where an answer to a request with this top Via goes (RFC 3261 §18.2.2, RFC 3581 §4): the
/// source address, on the source port if `rport` is asked for, else on the Via's port (5060).
pub fn answer_to(top_via: &str, source: SocketAddr) -> SocketAddr {
    let mut params = top_via.split(';');
    let sent_by = params.next().unwrap_or("");
    let rport = params.any(|p| p.trim().eq_ignore_ascii_case("rport"));
    if rport {
        return source;
    }
    // `SIP/2.0/UDP host:port`: the port after the last colon, unless that is inside [v6].
    let host_port = sent_by.split_whitespace().last().unwrap_or("");
    let port = host_port
        .rsplit_once(':')
        .filter(|(h, _)| !h.ends_with('[') && (!h.contains('[') || h.ends_with(']')))
        .and_then(|(_, p)| p.trim().parse().ok())
        .unwrap_or(5060);
    SocketAddr::new(source.ip(), port)
}

/// Our answer to a faulty request: its Via, From, To (with a tag), Call-ID and CSeq, as RFC
/// 3261 §8.2.6 says, sent where [`answer_to`] says. `None` when there is no Via to answer to.
fn reply(fault: &Fault, headers: &[Header], source: SocketAddr) -> Option<(Vec<u8>, SocketAddr)> {
    let vias: Vec<&str> = headers
        .iter()
        .filter(|h| full_name(h.name) == "via")
        .flat_map(|h| h.value.split(','))
        .map(str::trim)
        .collect();
    let top = *vias.first()?;
    let to_addr = answer_to(top, source);
    let mut s = format!("SIP/2.0 {} {}\r\n", fault.status, fault.reason);
    for (i, via) in vias.iter().enumerate() {
        if i == 0 {
            let rport = if top.split(';').any(|p| p.trim() == "rport") {
                format!(";rport={}", source.port())
            } else {
                String::new()
            };
            let kept: Vec<&str> = via.split(';').filter(|p| p.trim() != "rport").collect();
            s.push_str(&format!(
                "Via: {};received={}{rport}\r\n",
                kept.join(";"),
                source.ip()
            ));
        } else {
            s.push_str(&format!("Via: {via}\r\n"));
        }
    }
    for (name, full) in [
        ("from", "From"),
        ("to", "To"),
        ("call-id", "Call-ID"),
        ("cseq", "CSeq"),
    ] {
        if let Some(h) = headers.iter().find(|h| full_name(h.name) == name) {
            let mut value = h.value.clone();
            if name == "to" && !value.to_ascii_lowercase().contains("tag=") {
                value.push_str(";tag=sb-refused");
            }
            s.push_str(&format!("{full}: {value}\r\n"));
        }
    }
    if fault.allow {
        s.push_str(&format!("Allow: {ALLOW}\r\n"));
    }
    s.push_str("Content-Length: 0\r\n\r\n");
    Some((s.into_bytes(), to_addr))
}

/// The request for the stack: as it came when it is written plainly and its top Via asks for
/// `rport`; otherwise with headers unfolded, spaces around separators taken out, and
/// [`NO_RPORT`] on the top Via.
fn rewrite<'a>(
    datagram: &'a [u8],
    text: &str,
    start: &str,
    headers: &[Header],
    body: &str,
) -> Cow<'a, [u8]> {
    let top_via = headers.iter().position(|h| full_name(h.name) == "via");
    let asks_rport = top_via.is_some_and(|i| {
        let first = headers[i].value.split(',').next().unwrap_or("");
        first.split(';').any(|p| {
            let p = p.trim();
            p.eq_ignore_ascii_case("rport") || p.to_ascii_lowercase().starts_with("rport=")
        })
    });
    let folded = text
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .contains("\r\n ")
        || text.contains("\r\n\t");
    let spaced = headers.iter().any(|h| h.name.ends_with([' ', '\t']));
    let from = headers.iter().position(|h| full_name(h.name) == "from");
    let untagged = from.is_some_and(|i| !has_tag(&headers[i].value));
    let no_length = !headers
        .iter()
        .any(|h| full_name(h.name) == "content-length");
    // RFC 2543 senders (no magic cookie in the branch) may leave out Contact; their From is
    // then where requests in the dialog go (RFC 3261 §8.1.1.8 needs Contact; the stack too).
    let legacy = top_via.is_some_and(|i| !headers[i].value.contains("branch=z9hG4bK"));
    let contact_from = (legacy
        && start.starts_with("INVITE ")
        && !headers.iter().any(|h| full_name(h.name) == "contact"))
    .then(|| from.map(|i| uri_of(&headers[i].value)))
    .flatten();
    if asks_rport && !folded && !spaced && !untagged && !no_length && contact_from.is_none() {
        return Cow::Borrowed(datagram);
    }
    let call_id = headers
        .iter()
        .find(|h| full_name(h.name) == "call-id")
        .map_or("", |h| h.value.as_str());
    let mut out = String::with_capacity(text.len() + 32);
    out.push_str(start);
    out.push_str("\r\n");
    for (i, h) in headers.iter().enumerate() {
        let name = h.name.trim();
        let value = if folded || spaced {
            tidy(&h.value)
        } else {
            h.value.clone()
        };
        out.push_str(name);
        out.push_str(": ");
        if Some(i) == top_via && !asks_rport {
            // The marker goes on the first Via value only.
            match value.split_once(',') {
                Some((first, rest)) => {
                    out.push_str(&format!("{first};{NO_RPORT},{rest}"));
                }
                None => out.push_str(&format!("{value};{NO_RPORT}")),
            }
        } else if Some(i) == from && untagged {
            out.push_str(&format!("{value}{LEGACY_TAG}{:016x}", fnv(call_id)));
        } else {
            out.push_str(&value);
        }
        out.push_str("\r\n");
    }
    if let Some(uri) = contact_from {
        out.push_str(&format!("Contact: <{uri}>\r\n"));
    }
    if no_length {
        // Over UDP the body is the rest of the datagram (RFC 3261 §18.3).
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    out.push_str(body);
    Cow::Owned(out.into_bytes())
}

/// The URI of a From, To or Contact value: inside `<>`, or up to the first `;`.
fn uri_of(value: &str) -> &str {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value.split(';').next().unwrap_or("").trim(),
    }
}

/// Whether a From or To value has a tag parameter (outside the URI's angle brackets).
fn has_tag(value: &str) -> bool {
    let params = value.rsplit_once('>').map_or(value, |(_, p)| p);
    params
        .split(';')
        .any(|p| p.trim().to_ascii_lowercase().starts_with("tag"))
}

/// FNV-1a: the same tag for every retransmission of a request, in any process.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A datagram we send, without the From tags we gave RFC 2543 requests ([`LEGACY_TAG`]).
pub fn untag(datagram: &[u8]) -> Cow<'_, [u8]> {
    let needle = LEGACY_TAG.as_bytes();
    if !datagram.windows(needle.len()).any(|w| w == needle) {
        return Cow::Borrowed(datagram);
    }
    let text = String::from_utf8_lossy(datagram);
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    while let Some(at) = rest.find(LEGACY_TAG) {
        out.push_str(&rest[..at]);
        let tail = &rest[at + LEGACY_TAG.len()..];
        let end = tail
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    // The length of the body is unchanged: the tags are only ever in headers.
    Cow::Owned(out.into_bytes())
}

/// Takes out the spaces around `/ ; = ,` and after `:` that RFC 3261 allows (SWS), outside
/// quoted strings, so that a lenient grammar reads what a strict parser would not.
fn tidy(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut quoted = false;
    let mut escaped = false;
    let mut pending_space = false;
    for c in value.chars() {
        if quoted {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
            continue;
        }
        match c {
            ' ' | '\t' => pending_space = true,
            '/' | ';' | '=' | ',' => {
                pending_space = false;
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push(c);
            }
            _ => {
                if pending_space && !out.is_empty() && !out.ends_with(['/', ';', '=', ',']) {
                    out.push(' ');
                }
                pending_space = false;
                if c == '"' {
                    quoted = true;
                }
                out.push(c);
            }
        }
    }
    out
}

/// Removes [`NO_RPORT`] and the `rport=` the stack added from a parsed request's top Via:
/// answers then go to the Via's port, with `received` (RFC 3261 §18.2.2).
pub fn strip_rport_marker(req: &mut rsipstack::sip::Request) {
    use rsipstack::sip::{Header, Param, ToTypedHeader};
    let is_marker = |p: &Param| matches!(p, Param::Other(name, _) if name.to_string() == NO_RPORT);
    let Some(Header::Via(via)) = req.headers.iter_mut().find(|h| matches!(h, Header::Via(_)))
    else {
        return;
    };
    let Ok(mut typed) = via.typed() else {
        return;
    };
    if !typed.params.iter().any(is_marker) {
        return;
    }
    typed
        .params
        .retain(|p| !matches!(p, Param::Rport(_)) && !is_marker(p));
    *via = typed.into();
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "192.0.2.7:41000";

    fn src() -> SocketAddr {
        SRC.parse().unwrap()
    }

    fn answer(raw: &str) -> (String, SocketAddr) {
        match judge(raw.as_bytes(), src()) {
            Verdict::Answer(bytes, to) => (String::from_utf8(bytes).unwrap(), to),
            other => panic!("not answered: {other:?}"),
        }
    }

    fn request(start: &str, extra: &str) -> String {
        format!(
            "{start}\r\nVia: SIP/2.0/UDP host.example.com:5070;branch=z9hG4bK1\r\n\
             From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\n\
             Call-ID: c1@example.com\r\nCSeq: 1 OPTIONS\r\n{extra}Content-Length: 0\r\n\r\n"
        )
    }

    #[test]
    fn faults_get_their_status_and_the_answer_goes_to_the_via_port_without_rport() {
        for (start, extra, status) in [
            ("OPTIONS  sip:b@example.com SIP/2.0", "", 400),
            ("OPTIONS sip:b@example.com SIP/7.0", "", 505),
            ("OPTIONS <sip:b@example.com> SIP/2.0", "", 400),
            ("NEWMETHOD sip:b@example.com SIP/2.0", "", 501),
            (
                "OPTIONS sip:b@example.com SIP/2.0",
                "Max-Forwards: 300\r\n",
                400,
            ),
            (
                "OPTIONS sip:b@example.com SIP/2.0",
                "Expires: 100000000000000000000\r\n",
                400,
            ),
        ] {
            let (text, to) = answer(&request(start, extra));
            assert!(
                text.starts_with(&format!("SIP/2.0 {status} ")),
                "{start}: {text}"
            );
            assert_eq!(to, "192.0.2.7:5070".parse().unwrap());
            assert!(text.contains(";received=192.0.2.7\r\n"), "{text}");
            assert!(text.contains("To: <sip:b@example.com>;tag="), "{text}");
            assert!(text.contains("Call-ID: c1@example.com\r\n"));
            assert_eq!(text.contains("Allow: "), status == 501);
        }
        let (text, _) = answer(
            &request("OPTIONS sip:b@example.com SIP/2.0", "")
                .replace("From: <", "From: Bell, Alexander <"),
        );
        assert!(text.starts_with("SIP/2.0 400 Malformed display name"));
        let (text, _) = answer(
            &request("OPTIONS sip:b@example.com SIP/2.0", "")
                .replace("CSeq: 1 ", "CSeq: 99999999999 "),
        );
        assert!(text.starts_with("SIP/2.0 400 Malformed CSeq"));
    }

    #[test]
    fn rport_sends_the_answer_to_the_source_port() {
        let raw = request("OPTIONS sip:b@example.com SIP/7.0", "")
            .replace("branch=z9hG4bK1", "rport;branch=z9hG4bK1");
        let (text, to) = answer(&raw);
        assert_eq!(to, src());
        assert!(
            text.contains(";received=192.0.2.7;rport=41000\r\n"),
            "{text}"
        );
        assert_eq!(
            answer_to("SIP/2.0/UDP [2001:db8::1]:5080;branch=x", src()).port(),
            5080
        );
        assert_eq!(
            answer_to("SIP/2.0/UDP [2001:db8::1];branch=x", src()).port(),
            5060
        );
    }

    #[test]
    fn a_missing_header_is_400_and_without_a_via_nothing_can_be_answered() {
        let raw = "INVITE sip:u@example.com SIP/2.0\r\nCSeq: 1 INVITE\r\n\
                   Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\nl: 0\r\n\r\n";
        let (text, to) = answer(raw);
        assert!(text.starts_with("SIP/2.0 400 Missing From"), "{text}");
        assert_eq!(to.port(), 5060);
        let no_via = "INVITE sip:u@example.com SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n";
        assert_eq!(judge(no_via.as_bytes(), src()), Verdict::Drop);
    }

    #[test]
    fn a_plain_request_with_rport_passes_untouched_and_one_without_gets_the_marker() {
        let plain = request("OPTIONS sip:b@example.com SIP/2.0", "")
            .replace("branch=z9hG4bK1", "rport;branch=z9hG4bK1");
        assert_eq!(
            judge(plain.as_bytes(), src()),
            Verdict::Pass(Cow::Borrowed(plain.as_bytes()))
        );
        let without = request("OPTIONS sip:b@example.com SIP/2.0", "");
        let Verdict::Pass(out) = judge(without.as_bytes(), src()) else {
            panic!()
        };
        let out = String::from_utf8(out.into_owned()).unwrap();
        assert!(
            out.contains(&format!("branch=z9hG4bK1;{NO_RPORT}\r\n")),
            "{out}"
        );
        for keepalive in ["\r\n\r\n", "\r\n"] {
            assert!(matches!(
                judge(keepalive.as_bytes(), src()),
                Verdict::Pass(Cow::Borrowed(_))
            ));
        }
        let response = "SIP/2.0 200 OK\r\n\r\n";
        assert!(matches!(
            judge(response.as_bytes(), src()),
            Verdict::Pass(_)
        ));
    }

    #[test]
    fn an_rfc_2543_request_gets_a_from_tag_and_a_length_which_never_go_back_out() {
        let raw = "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP gw.example.com\r\n\
                   From: <sip:+13035551111@gw.example.net;user=phone>\r\nTo: sip:b@example.com\r\n\
                   Call-ID: 2543@gw\r\nCSeq: 56 INVITE\r\n\r\nv=0\r\n";
        let Verdict::Pass(out) = judge(raw.as_bytes(), src()) else {
            panic!()
        };
        let out = String::from_utf8(out.into_owned()).unwrap();
        let tag = format!("{LEGACY_TAG}{:016x}", fnv("2543@gw"));
        assert!(out.contains(&format!("user=phone>{tag}\r\n")), "{out}");
        assert!(out.contains("Content-Length: 5\r\n"), "{out}");
        assert!(
            out.contains("Contact: <sip:+13035551111@gw.example.net;user=phone>\r\n"),
            "{out}"
        );
        let reply =
            format!("SIP/2.0 180 Ringing\r\nFrom: <sip:x@y>{tag}\r\nTo: <sip:b>;tag=ours\r\n\r\n");
        assert_eq!(
            untag(reply.as_bytes()).as_ref(),
            b"SIP/2.0 180 Ringing\r\nFrom: <sip:x@y>\r\nTo: <sip:b>;tag=ours\r\n\r\n"
        );
        assert!(matches!(untag(b"SIP/2.0 200 OK\r\n\r\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_tortuous_request_is_written_plainly_for_the_parser_and_keeps_its_quotes() {
        let raw = "INVITE sip:b@example.com SIP/2.0\r\nTO :\r\n sip:b@example.com ;   tag    = 1918\r\n\
                   from   : \"J R \\\\\\\"\"       <sip:a@example.com>\r\n  ;\r\n  tag = 98\r\n\
                   Call-ID: w@x\r\ncseq: 0009\r\n  INVITE\r\nVia  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390\r\n\
                   Content-Length: 0\r\n\r\n";
        let Verdict::Pass(out) = judge(raw.as_bytes(), src()) else {
            panic!()
        };
        let out = String::from_utf8(out.into_owned()).unwrap();
        assert!(out.contains("TO: sip:b@example.com;tag=1918\r\n"), "{out}");
        assert!(
            out.contains("from: \"J R \\\\\\\"\" <sip:a@example.com>;tag=98\r\n"),
            "{out}"
        );
        assert!(
            out.contains("Via: SIP/2.0/UDP 192.0.2.2;branch=390;"),
            "{out}"
        );
        assert!(out.contains("cseq: 0009 INVITE\r\n"), "{out}");
    }
}
