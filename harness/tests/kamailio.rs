//! The harness's Kamailio: starts on a port of its own, answers OPTIONS as itself, two run side
//! by side, and dropping one stops exactly that process.

use std::time::Duration;

use harness::kamailio::{Algorithm, Kamailio, Options};

#[test]
fn two_instances_answer_on_their_own_ports_and_stop_on_drop() {
    let a = Kamailio::start().unwrap();
    let b = Kamailio::start_with(Options {
        algorithm: Algorithm::Sha256,
        nonce_expire: Duration::from_secs(5),
        ..Options::default()
    })
    .unwrap();
    assert_ne!(a.addr(), b.addr());
    for k in [&a, &b] {
        let reply = harness::sip_probe::options(k.addr(), Duration::from_secs(2)).unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("Server"),
            Some(format!("Switchboard test Kamailio {}", k.addr().port()).as_str())
        );
    }
    let pid = a.pid() as i32;
    let addr = a.addr();
    drop(a);
    assert!(
        !harness::process::pid_alive(pid),
        "Kamailio {pid} still runs"
    );
    assert!(harness::sip_probe::options(addr, Duration::from_millis(300)).is_err());
    // The other one is untouched.
    assert_eq!(
        harness::sip_probe::options(b.addr(), Duration::from_secs(2))
            .unwrap()
            .status,
        200
    );
}
