//! RFC 4475 torture messages, each sent as one UDP datagram to the running SIP stack, and the
//! replies compared with what `../shared/conformance/rfc4475/EXPECTED.md` says a user agent
//! should do. Prints the score n/50 with each miss.
//!
//! The messages' Via headers name documentation hosts; the stack answers to the datagram's source
//! address (it adds `received`) but to the port in the Via, 5060 by default, unless the Via asks
//! for `rport` (RFC 3261 §18.2.2, RFC 3581). So the test runs in
//! a network namespace of its own (`unshare`): 127.0.0.1:5060 is free there whatever runs on this
//! machine, and nothing can leave it.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sipcore::media_control::RecordingMedia;

/// Status codes received, by Call-ID.
type Replies = HashMap<String, Vec<u16>>;

const INSIDE: &str = "SWITCHBOARD_RFC4475_NETNS";

/// What EXPECTED.md asks of a user agent for one message.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// A final response with one of these codes.
    Codes(&'static [u16]),
    /// Processed as a normal incoming call: it rings (180) and is not refused.
    Rings,
    /// Rings, or one of these codes (where the RFC allows a liberal or a strict reading).
    RingsOr(&'static [u16]),
    /// No reply at all.
    Dropped,
    /// No reply, or one of these codes.
    DroppedOr(&'static [u16]),
}

const TABLE: &[(&str, Want)] = &[
    ("wsinv.dat", Want::Codes(&[481])),
    ("intmeth.dat", Want::Codes(&[501])),
    ("esc01.dat", Want::Rings),
    ("escnull.dat", Want::Codes(&[405])),
    ("esc02.dat", Want::Codes(&[501])),
    ("lwsdisp.dat", Want::Codes(&[200])),
    ("longreq.dat", Want::Rings),
    ("dblreq.dat", Want::Codes(&[405])),
    ("semiuri.dat", Want::Codes(&[200])),
    ("transports.dat", Want::Codes(&[200])),
    ("mpart01.dat", Want::Codes(&[200, 202, 415])),
    ("unreason.dat", Want::Dropped),
    ("noreason.dat", Want::Dropped),
    ("badinv01.dat", Want::Codes(&[400])),
    ("clerr.dat", Want::Codes(&[400])),
    ("ncl.dat", Want::Codes(&[400])),
    ("scalar02.dat", Want::Codes(&[400])),
    ("scalarlg.dat", Want::Dropped),
    ("quotbal.dat", Want::Codes(&[400])),
    ("ltgtruri.dat", Want::Codes(&[400])),
    ("lwsruri.dat", Want::Codes(&[400, 481])),
    ("lwsstart.dat", Want::RingsOr(&[400])),
    ("trws.dat", Want::Codes(&[400, 200])),
    ("escruri.dat", Want::RingsOr(&[400])),
    ("baddate.dat", Want::RingsOr(&[400])),
    ("regbadct.dat", Want::Codes(&[400, 405])),
    ("badaspec.dat", Want::Codes(&[400, 200])),
    ("baddn.dat", Want::Codes(&[400])),
    ("badvers.dat", Want::Codes(&[505])),
    ("mismatch01.dat", Want::Codes(&[400])),
    ("mismatch02.dat", Want::Codes(&[501, 400])),
    ("bigcode.dat", Want::Dropped),
    ("badbranch.dat", Want::Codes(&[400, 200])),
    ("insuf.dat", Want::Codes(&[400])),
    ("unkscm.dat", Want::Codes(&[416])),
    ("novelsc.dat", Want::Codes(&[416])),
    ("unksm2.dat", Want::Codes(&[405, 400])),
    ("bext01.dat", Want::Codes(&[420])),
    ("invut.dat", Want::Codes(&[415])),
    ("regaut01.dat", Want::Codes(&[405])),
    ("multi01.dat", Want::Codes(&[400])),
    ("mcl01.dat", Want::Codes(&[400])),
    ("bcast.dat", Want::Dropped),
    ("zeromf.dat", Want::Codes(&[200])),
    ("cparam01.dat", Want::Codes(&[405])),
    ("cparam02.dat", Want::Codes(&[405])),
    ("regescrt.dat", Want::Codes(&[405])),
    ("sdp01.dat", Want::Codes(&[406, 400])),
    ("inv2543.dat", Want::Rings),
    ("test.dat", Want::DroppedOr(&[400])),
];

/// The lowest score this stack has reached; the test fails if a change makes it worse.
const FLOOR: usize = 50;

/// The messages this stack is known to get wrong, and why. A miss not listed here fails the
/// test even when the score holds. Since our own pre-parse of each datagram
/// (`sipcore/src/wire/raw_guard.rs`) there are none.
const KNOWN_MISSES: &[(&str, &str)] = &[];

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/rfc4475")
}

/// What attributes a reply to its message: the Call-ID (full or compact form), or for a
/// message without one (insuf.dat) the branch of its top Via.
fn call_id(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let header = |names: &[&str]| {
        text.split("\r\n")
            .take_while(|l| !l.is_empty())
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                let name = name.trim().to_ascii_lowercase();
                names
                    .contains(&name.as_str())
                    .then(|| value.trim().to_string())
            })
    };
    header(&["call-id", "i"]).or_else(|| {
        let via = header(&["via", "v"])?;
        let branch = via
            .split(';')
            .find_map(|p| p.trim().strip_prefix("branch="))?;
        Some(format!("branch {}", branch.trim()))
    })
}

/// The status code of a response datagram.
fn status(bytes: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(bytes);
    let mut parts = text.strip_prefix("SIP/2.0 ")?.split(' ');
    parts.next()?.parse().ok()
}

fn judge(want: Want, codes: &[u16]) -> bool {
    let finals: Vec<u16> = codes.iter().copied().filter(|c| *c >= 200).collect();
    let rings = codes.contains(&180) && finals.is_empty();
    match want {
        Want::Codes(ok) => !finals.is_empty() && finals.iter().all(|c| ok.contains(c)),
        Want::Rings => rings,
        Want::RingsOr(ok) => rings || (!finals.is_empty() && finals.iter().all(|c| ok.contains(c))),
        Want::Dropped => codes.is_empty(),
        Want::DroppedOr(ok) => codes.iter().all(|c| ok.contains(c)),
    }
}

fn probe(n: usize, to: SocketAddr) -> (String, Vec<u8>) {
    let id = format!("probe-{n}@switchboard.test");
    let msg = format!(
        "OPTIONS sip:probe@{to} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bK-probe-{n}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:test@127.0.0.1>;tag=p{n}\r\nTo: <sip:probe@{to}>\r\n\
         Call-ID: {id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    (id, msg.into_bytes())
}

/// This test's name as the test binary knows it (`rfc4475::torture_…`): it shares the binary
/// with the other modules, so `--exact` needs the module path.
fn this_test() -> String {
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_crate, rest)| rest);
    format!("{module}::torture_messages_get_the_expected_replies_or_are_dropped")
}

#[test]
fn torture_messages_get_the_expected_replies_or_are_dropped() {
    if std::env::var_os(INSIDE).is_none() {
        // Re-run this very test inside a fresh network namespace.
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new("unshare")
            .args(["--map-root-user", "--net"])
            .arg(&exe)
            .args(["--exact", &this_test(), "--nocapture"])
            .env(INSIDE, "1")
            .output()
            .expect("unshare (util-linux) runs");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "the run inside the namespace failed");
        return;
    }
    let up = std::process::Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("ip (iproute2) runs");
    assert!(up.success());

    let (handle, _events) = sipcore::start(
        sipcore::EngineConfig::default(),
        Arc::new(RecordingMedia::default()),
        None,
    )
    .unwrap();
    let stack = handle.local_addr;
    // Replies go to the Via port: 5060 unless the message names one (quotbal.dat says 5050).
    let ports = [5060u16, 5050];
    let sockets: Vec<UdpSocket> = ports
        .iter()
        .map(|p| {
            let s = UdpSocket::bind(("127.0.0.1", *p)).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            s
        })
        .collect();
    let mut replies: Replies = HashMap::new();
    // Receives until `done` holds for what has arrived, or `limit` passes; true when it held.
    let receive_until =
        |replies: &mut Replies, limit: Duration, done: &dyn Fn(&Replies) -> bool| {
            let deadline = Instant::now() + limit;
            let mut buf = vec![0u8; 65536];
            while Instant::now() < deadline {
                for s in &sockets {
                    if let Ok(n) = s.recv(&mut buf) {
                        let d = &buf[..n];
                        if let (Some(id), Some(code)) = (call_id(d), status(d)) {
                            replies.entry(id).or_default().push(code);
                        }
                    }
                }
                if done(replies) {
                    return true;
                }
            }
            false
        };
    let answered = |id: String, at_least: u16| {
        move |r: &Replies| {
            r.get(&id)
                .is_some_and(|codes| codes.iter().any(|c| *c >= at_least))
        }
    };

    for (n, (file, want)) in TABLE.iter().enumerate() {
        let bytes = std::fs::read(corpus().join(file)).unwrap();
        sockets[0].send_to(&bytes, stack).unwrap();
        // An OPTIONS after each message: its answer shows the stack is still alive and has
        // worked through the message before it.
        let (id, p) = probe(n, stack);
        sockets[0].send_to(&p, stack).unwrap();
        assert!(
            receive_until(&mut replies, Duration::from_secs(10), &answered(id, 200)),
            "the stack stopped answering after {file}"
        );
        // A reply the message should get may still be on its way (a loaded machine runs the
        // reply's task after the probe's): give it a moment, without making a miss a hang.
        let wanted = match want {
            Want::Codes(_) => Some(200),
            Want::Rings | Want::RingsOr(_) => Some(180),
            Want::Dropped | Want::DroppedOr(_) => None,
        };
        if let (Some(at_least), Some(cid)) = (wanted, call_id(&bytes)) {
            receive_until(
                &mut replies,
                Duration::from_secs(1),
                &answered(cid, at_least),
            );
        }
    }
    // Late replies are still counted up to a last probe.
    let (id, p) = probe(TABLE.len(), stack);
    sockets[0].send_to(&p, stack).unwrap();
    assert!(receive_until(
        &mut replies,
        Duration::from_secs(10),
        &answered(id, 200)
    ));

    let mut score = 0;
    let mut lines = Vec::new();
    let mut unexplained = Vec::new();
    for (file, want) in TABLE {
        let bytes = std::fs::read(corpus().join(file)).unwrap();
        let codes = call_id(&bytes)
            .and_then(|id| replies.get(&id).cloned())
            .unwrap_or_default();
        let ok = judge(*want, &codes);
        score += ok as usize;
        let why = KNOWN_MISSES
            .iter()
            .find(|(f, _)| f == file)
            .map(|(_, why)| *why);
        if !ok {
            unexplained.extend(why.is_none().then_some(*file));
        }
        lines.push(format!(
            "{} {file:<15} want {want:?}, got {codes:?}{}",
            if ok { "pass" } else { "MISS" },
            match (ok, why) {
                (false, Some(why)) => format!(": {why}"),
                _ => String::new(),
            }
        ));
    }
    println!("RFC 4475 torture messages: {score}/{}", TABLE.len());
    for l in &lines {
        println!("  {l}");
    }
    assert_eq!(TABLE.len(), 50, "every file of the corpus is in the table");
    assert!(
        score >= FLOOR,
        "the score fell to {score}/50 (it was at least {FLOOR})"
    );
    assert!(
        unexplained.is_empty(),
        "new misses, not in KNOWN_MISSES: {unexplained:?}"
    );
    handle.send(sipcore::Command::Shutdown);
}
