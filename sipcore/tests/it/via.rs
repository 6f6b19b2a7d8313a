//! Where answers go (RFC 3261 §18.2.2, RFC 3581): a request whose top Via has no `rport` is
//! answered at the port its Via names, with `received`; one with `rport` at the port it was
//! sent from, with `rport=` filled in. Also a request from an RFC 2543 phone (no branch, no
//! From tag, no Contact, no Content-Length) rings, and our answers give it back its own From.

use std::net::UdpSocket;
use std::time::Duration;

use crate::support::*;

fn options(via_port: u16, rport: &str, to: std::net::SocketAddr, n: u32) -> String {
    format!(
        "OPTIONS sip:agent@{to} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{via_port}{rport};branch=z9hG4bK-via-{n}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:test@127.0.0.1>;tag=v{n}\r\nTo: <sip:agent@{to}>\r\n\
         Call-ID: via-{n}@switchboard.test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

fn receive(s: &UdpSocket) -> Option<String> {
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.recv(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn without_rport_the_answer_goes_to_the_via_port_and_with_rport_to_the_source() {
    let ua = Ua::start();
    let to = ua.handle.local_addr;
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let named = UdpSocket::bind("127.0.0.1:0").unwrap();
    let named_port = named.local_addr().unwrap().port();
    let source_port = sender.local_addr().unwrap().port();

    sender
        .send_to(options(named_port, "", to, 1).as_bytes(), to)
        .unwrap();
    let reply = receive(&named).expect("the answer at the Via's port");
    assert!(reply.starts_with("SIP/2.0 200"), "{reply}");
    let via = reply.lines().find(|l| l.starts_with("Via:")).unwrap();
    assert!(via.contains("received=127.0.0.1"), "{via}");
    assert!(!via.contains("rport"), "no rport was asked for: {via}");
    assert!(
        !reply.contains("x-switchboard"),
        "our marker stays inside: {reply}"
    );

    sender
        .send_to(options(named_port, ";rport", to, 2).as_bytes(), to)
        .unwrap();
    let reply = receive(&sender).expect("the answer at the source port");
    let via = reply.lines().find(|l| l.starts_with("Via:")).unwrap();
    assert!(via.contains(&format!("rport={source_port}")), "{via}");
    drop(ua);
}

#[test]
fn an_rfc_2543_invite_rings_and_is_answered_with_its_own_from() {
    let mut ua = Ua::start();
    let to = ua.handle.local_addr;
    let phone = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = phone.local_addr().unwrap().port();
    let invite = format!(
        "INVITE sip:agent@{to} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port}\r\n\
         From: <sip:+13035551111@127.0.0.1;user=phone>\r\nTo: sip:agent@{to}\r\n\
         Call-ID: legacy-1@127.0.0.1\r\nCSeq: 56 INVITE\r\nContent-Type: application/sdp\r\n\r\n\
         v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 49217 RTP/AVP 0\r\n"
    );
    phone.send_to(invite.as_bytes(), to).unwrap();
    let (call, from) = ua.wait_incoming("the legacy call");
    assert_eq!(from.number, "+13035551111");
    let ringing = harness::wait_for("180 Ringing", TIMEOUT, || {
        receive(&phone).filter(|r| r.starts_with("SIP/2.0 180"))
    })
    .unwrap();
    let from_line = ringing.lines().find(|l| l.starts_with("From:")).unwrap();
    assert_eq!(
        from_line, "From: <sip:+13035551111@127.0.0.1;user=phone>",
        "the caller's From as it sent it"
    );
    ua.handle.send(sipcore::Command::Reject {
        call,
        decline: true,
    });
    let refused = harness::wait_for("603", TIMEOUT, || {
        receive(&phone).filter(|r| r.starts_with("SIP/2.0 603"))
    })
    .unwrap();
    assert!(!refused.contains("sb2543"), "{refused}");
}
