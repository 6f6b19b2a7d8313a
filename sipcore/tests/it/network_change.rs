//! Registering again when the local address changes, in network namespaces this test makes:
//! the engine's and a registrar's (sipp), joined by a veth pair. The test moves the engine's
//! address from 10.77.0.1 to 10.77.0.2 with `ip`, as a DHCP renewal or a change of network
//! would; sipp's trace of what the registrar received shows where each REGISTER came from. Needs root (CI runs as
//! root), `ip`, `unshare` and `nsenter`; the namespaces vanish with the test.

use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;
use harness::process::ChildGuard;
use sipcore::{EngineConfig, Event, RegistrationState};

#[test]
fn a_new_local_address_is_noticed_and_registered_from() {
    // The namespace belongs to one thread: the engine's threads and the processes it starts
    // inherit it, the rest of the test binary stays where it was.
    std::thread::spawn(in_a_namespace_of_our_own)
        .join()
        .unwrap();
}

fn in_a_namespace_of_our_own() {
    harness::private_pbx::enter_own_network_namespace();
    // The registrar's namespace, held open by a sleeping process.
    let holder = ChildGuard::spawn(
        "namespace holder",
        Command::new("unshare").args(["-n", "sleep", "120"]),
    )
    .unwrap();
    let pid = holder.pid().to_string();
    let ours = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
    harness::wait_for("the registrar's namespace", TIMEOUT, || {
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()?;
        (theirs != ours).then_some(())
    })
    .unwrap();
    run(&[
        "ip", "link", "add", "sbveth0", "type", "veth", "peer", "name", "sbveth1", "netns", &pid,
    ]);
    for cmd in [
        &["ip", "link", "set", "lo", "up"][..],
        &["ip", "addr", "add", "10.77.0.254/24", "dev", "sbveth1"],
        &["ip", "link", "set", "sbveth1", "up"],
    ] {
        let mut all = vec!["nsenter", "-t", &pid, "-n"];
        all.extend_from_slice(cmd);
        run(&all);
    }
    run(&["ip", "addr", "add", "10.77.0.1/24", "dev", "sbveth0"]);
    run(&["ip", "link", "set", "sbveth0", "up"]);

    let dir = tempfile::tempdir().unwrap();
    let mut sipp = ChildGuard::spawn(
        "sipp",
        Command::new("nsenter")
            .current_dir(dir.path())
            .args(["-t", &pid, "-n", "sipp", "-sf"])
            .arg(harness::peers::sipp_scenario("registrar-moving-contact"))
            // Two registrations, each followed by a mailbox SUBSCRIBE (refused).
            .args(["-i", "10.77.0.254", "-p", "5060", "-m", "4", "-nostdin"])
            .args(["-trace_err", "-trace_msg", "-timeout", "60s"])
            .stdout(Stdio::null()),
    )
    .unwrap();

    let config = EngineConfig {
        bind_ip: IpAddr::from([10, 77, 0, 1]),
        address_check: Duration::from_millis(300),
        ..Default::default()
    };
    let mut ua = Ua::start_with(config);
    ua.handle
        .send(sipcore::Command::Register(sipcore::Account::new(
            "2001",
            "not-checked",
            "10.77.0.254:5060",
        )));
    let registered =
        |e: &Event| matches!(e, Event::Registration(RegistrationState::Registered { .. }));
    ua.wait("registered from 10.77.0.1", registered);
    run(&["ip", "addr", "del", "10.77.0.1/24", "dev", "sbveth0"]);
    run(&["ip", "addr", "add", "10.77.0.2/24", "dev", "sbveth0"]);
    ua.wait("registered again from 10.77.0.2", |e| {
        assert!(
            !matches!(e, Event::Registration(RegistrationState::Unregistered)),
            "the move is not a sign-out"
        );
        registered(e)
    });
    harness::wait_for("sipp to finish", TIMEOUT, || {
        (!sipp.is_running()).then_some(())
    })
    .unwrap();
    let code = sipp.stop().and_then(|s| s.code());
    let trace: String = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    assert_eq!(code, Some(0), "sipp failed:\n{trace}");
    // The Contact of every REGISTER the registrar received, in order (retransmissions too).
    let contacts: Vec<&str> = trace
        .split("REGISTER sip:")
        .skip(1)
        .filter_map(|m| m.lines().find(|l| l.starts_with("Contact:")))
        .collect();
    let moved = contacts
        .iter()
        .position(|c| c.contains("@10.77.0.2:"))
        .unwrap_or_else(|| panic!("no REGISTER from the new address: {contacts:?}"));
    assert!(moved > 0 && contacts[..moved].iter().all(|c| c.contains("@10.77.0.1:")));
    assert!(
        contacts[moved..].iter().all(|c| c.contains("@10.77.0.2:")),
        "nothing more from the vanished address, not even an un-REGISTER: {contacts:?}"
    );
}

fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
