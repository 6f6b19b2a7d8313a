//! The foundation's own proof: real user agents register with and call the real Asterisk, and
//! AMI answers for the queue. If these fail, every other integration test would too.

use crate::support::*;

/// A contact line for `ext` in `pjsip show contacts`, once Asterisk has registered it.
fn contact_of(pbx: &Pbx, ext: &str) -> Option<String> {
    contacts_of(pbx, ext).into_iter().next()
}

/// The contact URIs Asterisk holds for `ext` (without the status and round-trip columns, which
/// change between two looks).
fn contacts_of(pbx: &Pbx, ext: &str) -> Vec<String> {
    let out = pbx.cli("pjsip show contacts").unwrap_or_default();
    out.lines()
        .filter(|l| l.trim_start().starts_with("Contact:") && l.contains(&format!("{ext}/sip:")))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

#[test]
fn sipp_registers_1002_with_digest_auth_and_asterisk_lists_the_contact() {
    let pbx = pbx();
    let lease = pbx.lease("1002").unwrap();
    run_sipp(
        &sipp_scenario("register"),
        &lease.user,
        &lease.user.extension,
        TIMEOUT,
    )
    .unwrap();
    let contact = wait_for("Asterisk to list 1002's contact", TIMEOUT, || {
        contact_of(&pbx, "1002")
    })
    .unwrap();
    assert!(contact.contains("127.0.0.1"), "{contact}");
}

#[test]
fn a_wrong_password_is_refused() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    // An earlier test binary may have left a contact of its own on this pooled extension until
    // it expires; what matters is that the failed attempt adds none.
    let before = contacts_of(&pbx, &lease.user.extension);
    let mut wrong = lease.user.clone();
    wrong.password.push('x');
    let err = run_sipp(
        &sipp_scenario("register"),
        &wrong,
        &wrong.extension,
        TIMEOUT,
    )
    .unwrap_err();
    // The scenario expects 200 after the challenge; Asterisk answers 401 again instead.
    let text = format!("{err:#}");
    assert!(
        text.contains("expecting '200'") && text.contains("401 Unauthorized"),
        "{text}"
    );
    assert_eq!(contacts_of(&pbx, &lease.user.extension), before);
}

#[test]
fn a_registered_baresip_calls_the_echo_test_and_is_answered() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let mut phone = Baresip::start(&lease.user).unwrap();
    let ext = lease.user.extension.clone();
    // baresip's own word that it registered: a contact Asterisk lists for this pooled
    // extension could be a stale one from an earlier test.
    phone.wait_for_output("200 OK", TIMEOUT).unwrap();
    wait_for("Asterisk to list baresip", TIMEOUT, || {
        contact_of(&pbx, &ext)
    })
    .unwrap();
    phone.command("/dial 9196").unwrap();
    phone.wait_for_output("Call established", TIMEOUT).unwrap();
    // Asterisk's own view: a channel of this endpoint sits in the Echo application.
    let channel = wait_for("an Echo channel for the caller", TIMEOUT, || {
        let out = pbx.cli("core show channels concise").ok()?;
        out.lines()
            .find(|l| l.starts_with(&format!("PJSIP/{ext}-")) && l.contains("!Echo!"))
            .map(str::to_string)
    })
    .unwrap();
    assert!(channel.contains("!9196!"), "{channel}");
    phone.command("/hangup").unwrap();
    wait_for("the echo channel to go", TIMEOUT, || {
        let out = pbx.cli("core show channels concise").ok()?;
        (!out.contains(&format!("PJSIP/{ext}-"))).then_some(())
    })
    .unwrap();
}

#[test]
fn ami_logs_in_and_reports_the_support_queue_with_its_members() {
    pbx();
    let mut ami = Ami::login_default().unwrap();
    let reply = ami.action("QueueStatus", &[("Queue", "support")]).unwrap();
    assert_eq!(reply[0].get("Response"), Some("Success"), "{reply:?}");
    let params = reply
        .iter()
        .find(|m| m.get("Event") == Some("QueueParams"))
        .expect("a QueueParams event");
    assert_eq!(params.get("Queue"), Some("support"));
    let members: Vec<&str> = reply
        .iter()
        .filter(|m| m.get("Event") == Some("QueueMember"))
        .filter_map(|m| m.get("Location"))
        .collect();
    assert!(members.contains(&"PJSIP/1003"), "{members:?}");
    assert!(members.contains(&"PJSIP/1004"), "{members:?}");
    assert!(reply.last().and_then(|m| m.get("Event")) == Some("QueueStatusComplete"));
}

#[test]
fn ami_refuses_a_wrong_secret() {
    pbx();
    let err = Ami::login(harness::pbx::ami_addr(), "switchboard", "wrong")
        .err()
        .unwrap();
    assert!(err.to_string().contains("refused"), "{err:#}");
}

/// A plain HTTP/1.0 GET on loopback: enough to read what the PBX serves.
fn http_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET /{path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(
        body.starts_with("HTTP/1.1 200") || body.starts_with("HTTP/1.0 200"),
        "{body}"
    );
    body.split_once("\r\n\r\n").unwrap().1.to_string()
}

#[test]
fn the_pbx_serves_the_office_directory_as_xml_and_vcard() {
    pbx();
    for file in ["phonebook.xml", "directory.vcf"] {
        let body = http_get(&harness::pbx::directory_url(file));
        let parsed = client::directory::parse(&body).unwrap();
        assert_eq!(parsed.entries.len(), 10, "{file}");
        assert!(parsed.skipped.is_empty(), "{file}: {:?}", parsed.skipped);
        let grace = parsed
            .entries
            .iter()
            .find(|e| e.name == "Grace Hopper")
            .unwrap();
        assert_eq!(grace.extension.as_deref(), Some("1002"));
        assert_eq!(grace.email.as_deref(), Some("grace@switchboard.test"));
    }
}
