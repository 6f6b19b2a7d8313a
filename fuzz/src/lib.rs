//! Fuzz targets for everything Switchboard reads from the network, one function each, shared by
//! the coverage-guided runs (`cargo xtask fuzz`: cargo fuzz and libFuzzer, millions of inputs
//! per target) and the smoke test in `cargo xtask test` (`tests/smoke.rs`: the seeds and their
//! mutations on the stable toolchain). A target only has to return: a panic, an overflow or a
//! hang is the finding.
//!
//! | target | what it feeds |
//! |---|---|
//! | [`sip_datagram`] | a UDP datagram through the stack's parser and every check and parse an incoming request or response meets before its handler ([`sipcore::fuzzing::datagram`]) |
//! | [`sdp`] | an offer under each SRTP policy, our answer to it (which must read back), an answer to us |
//! | [`rtp`] | RTP and RTCP parsing, and SRTP unprotect with a fixed key |
//! | [`bodies`] | PIDF, dialog-info, message-summary, sipfrag, multipart |
//! | [`ami`] | the manager interface's framing, split at every point, and its typed events |
//!
//! Seeds: `../shared/conformance/rfc4475/*.dat` and the repo's sipp scenarios for SIP and SDP,
//! and small hand-made packets and bodies in [`seeds`].

pub fn sip_datagram(data: &[u8]) {
    sipcore::fuzzing::datagram(data);
}

pub fn sdp(data: &[u8]) {
    sipcore::fuzzing::sdp(data);
}

pub fn bodies(data: &[u8]) {
    sipcore::fuzzing::bodies(data);
}

pub fn rtp(data: &[u8]) {
    let _ = media::rtp::parse_rtp(data);
    let _ = media::rtp::parse_rtcp(data);
    let _ = media::rtp::is_rtcp(data);
    // SRTP checks the tag before it decrypts: any input is refused, never read past its end.
    // One session for the whole run, as a call has: making one per input (key derivation,
    // cipher set-up) held the target to under a thousand inputs a second. Inputs that fail
    // authentication leave it unchanged, so runs stay reproducible.
    thread_local! {
        static SRTP: std::cell::RefCell<Option<media::srtp::Session>> =
            std::cell::RefCell::new(
                media::srtp::Session::inbound(media::srtp::Suite::AesCm128HmacSha1_80, &[7u8; 30])
                    .ok(),
            );
    }
    let mut buf = [0u8; 2048 + media::srtp::MAX_TRAILER];
    let n = data.len().min(2048);
    buf[..n].copy_from_slice(&data[..n]);
    SRTP.with(|s| {
        if let Some(s) = s.borrow_mut().as_mut() {
            let _ = s.unprotect_rtp(&mut buf, n);
            let _ = s.unprotect_rtcp(&mut buf, n);
        }
    });
}

pub fn ami(data: &[u8]) {
    // The same bytes whole, and split in two where the first byte says (TCP cuts anywhere).
    let cut = data
        .first()
        .map_or(0, |b| *b as usize % (data.len().max(1)));
    for parts in [&[data][..], &[&data[..cut], &data[cut..]][..]] {
        let mut d = ami::frame::Decoder::default();
        for p in parts {
            d.push(p);
            while let Some(m) = d.next_message() {
                let _ = ami::event::Event::parse(&m);
            }
        }
    }
}

/// Inputs to start from, by target.
pub mod seeds {
    use std::path::PathBuf;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// The RFC 4475 torture messages and the SIP messages of the repo's sipp scenarios.
    pub fn sip() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let torture = root().join("../shared/conformance/rfc4475");
        if let Ok(dir) = std::fs::read_dir(&torture) {
            for e in dir.flatten() {
                if e.path().extension().is_some_and(|x| x == "dat") {
                    out.extend(std::fs::read(e.path()));
                }
            }
        }
        for text in sipp_messages() {
            out.push(text.into_bytes());
        }
        out
    }

    /// The SDP bodies of the sipp scenarios' messages.
    pub fn sdp() -> Vec<Vec<u8>> {
        sipp_messages()
            .into_iter()
            .filter_map(|m| m.split_once("\r\n\r\n").map(|(_, b)| b.to_string()))
            .filter(|b| b.starts_with("v=0"))
            .map(String::into_bytes)
            .collect()
    }

    /// Each `<send>` of the sipp scenarios, with sipp's keywords filled in plainly.
    fn sipp_messages() -> Vec<String> {
        let mut out = Vec::new();
        let Ok(dir) = std::fs::read_dir(root().join("tests/sipp")) else {
            return out;
        };
        for e in dir.flatten() {
            let Ok(xml) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            for part in xml.split("<![CDATA[").skip(1) {
                let Some((body, _)) = part.split_once("]]>") else {
                    continue;
                };
                let lines: Vec<String> = body.trim().lines().map(|l| fill(l.trim())).collect();
                let text = lines.join("\r\n");
                let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
                let body = if body.is_empty() {
                    String::new()
                } else {
                    format!("{body}\r\n")
                };
                let head = head.replace(
                    "Content-Length: [len]",
                    &format!("Content-Length: {}", body.len()),
                );
                out.push(format!("{head}\r\n\r\n{body}"));
            }
        }
        out
    }

    fn fill(line: &str) -> String {
        let mut s = line.to_string();
        for (k, v) in [
            ("[service]", "1001"),
            ("[remote_ip]", "127.0.0.1"),
            ("[remote_port]", "5060"),
            ("[local_ip]", "127.0.0.1"),
            ("[local_port]", "5070"),
            ("[media_port]", "40000"),
            ("[transport]", "UDP"),
            ("[branch]", "z9hG4bK-seed"),
            ("[pid]", "1"),
            ("[call_number]", "1"),
            ("[call_id]", "seed@127.0.0.1"),
            ("[peer_tag_param]", ";tag=peer"),
            ("[next_url]", "sip:1001@127.0.0.1:5060"),
            (
                "[field0]",
                "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
            ),
            ("[field1]", ""),
        ] {
            s = s.replace(k, v);
        }
        s
    }

    pub fn rtp() -> Vec<Vec<u8>> {
        let mut rtp = vec![0u8; 172];
        let h = media::rtp::RtpHeader {
            marker: true,
            payload_type: 0,
            sequence: 1,
            timestamp: 160,
            ssrc: 0x1234_5678,
        };
        let n = media::rtp::write_rtp(&h, &[0x55; 160], &mut rtp);
        rtp.truncate(n);
        let mut rtcp = vec![0u8; 64];
        let block = media::rtp::ReportBlock::default();
        let n = media::rtp::write_rtcp(1, None, Some(&block), &mut rtcp);
        rtcp.truncate(n);
        vec![rtp, rtcp]
    }

    pub fn bodies() -> Vec<Vec<u8>> {
        [
            r#"<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:1001@x"><tuple id="a"><status><basic>open</basic></status></tuple></presence>"#,
            r#"<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:1001@x"><dialog id="d"><state>confirmed</state></dialog></dialog-info>"#,
            "Messages-Waiting: yes\r\nMessage-Account: sip:1001@x\r\nVoice-Message: 2/8 (0/2)\r\n",
            "SIP/2.0 200 OK\r\n",
            "--unique-boundary-1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--unique-boundary-1--\r\n",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect()
    }

    pub fn ami() -> Vec<Vec<u8>> {
        [
            "Asterisk Call Manager/5.0.1\r\nResponse: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n",
            "Event: QueueCallerJoin\r\nQueue: support\r\nCallerIDNum: 1002\r\nCallerIDName: Grace\r\nPosition: 1\r\nCount: 1\r\nUniqueid: 1.1\r\n\r\n",
            "Event: QueueMemberStatus\r\nQueue: support\r\nInterface: PJSIP/1003\r\nStatus: 1\r\nPaused: 0\r\n\r\n",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect()
    }
}
