//! How fast the busy lamp follows a phone through the real PBX: a watcher subscribes to the
//! dialog state of a peer's extension; the peer dials the echo test 9196 and hangs up, 30
//! times. Measured: from the peer's Dial command to the watcher's on-call event (INVITE to
//! Asterisk, its hint change, the dialog-info NOTIFY to the watcher), and from HangUp to idle.
//! Prints figures; asserts nothing. Run: `cargo bench -p sipcore --bench busy_lamp` with the PBX
//! up (`cargo xtask pbx up`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sipcore::{Account, CallId, Command, EngineConfig, Event, LineState, RecordingMedia};

const ROUNDS: u64 = 30;

fn wait(events: &std::sync::mpsc::Receiver<Event>, mut pred: impl FnMut(&Event) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(e) if pred(&e) => return,
            Ok(_) => {}
            Err(_) => panic!("timed out"),
        }
    }
}

fn engine(lease: &harness::Lease) -> (sipcore::Handle, std::sync::mpsc::Receiver<Event>) {
    let (handle, events) = sipcore::start(
        EngineConfig::default(),
        Arc::new(RecordingMedia::default()),
        None,
    )
    .unwrap();
    handle.send(Command::Register(Account::new(
        &lease.user.extension,
        &lease.user.password,
        &harness::pbx::sip_addr().to_string(),
    )));
    wait(&events, |e| {
        matches!(
            e,
            Event::Registration(sipcore::RegistrationState::Registered { .. })
        )
    });
    (handle, events)
}

fn summary(what: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}, {ROUNDS} rounds: median {:.2} ms, p90 {:.2} ms, min {:.2} ms, max {:.2} ms",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 9 / 10]),
        ms(times[0]),
        ms(times[times.len() - 1]),
    );
}

fn main() {
    // RUST_LOG=sipcore=debug shows where a slow round spends its time.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let pbx = harness::Pbx::ensure_up().expect("the PBX (cargo xtask pbx up)");
    let (watcher_lease, peer_lease) = (pbx.lease_any().unwrap(), pbx.lease_any().unwrap());
    let (watcher, lamps) = engine(&watcher_lease);
    let (peer, peer_events) = engine(&peer_lease);
    let ext = peer_lease.user.extension.clone();
    let is = |status: LineState| {
        let ext = ext.clone();
        move |e: &Event| matches!(e, Event::PhoneStatus { extension, status: s } if *extension == ext && *s == status)
    };
    watcher.send(Command::Watch {
        extensions: vec![ext.clone()],
    });
    wait(&lamps, is(LineState::Idle));
    let (mut busy, mut idle) = (Vec::new(), Vec::new());
    for n in 0..ROUNDS {
        let call = CallId(n + 1);
        let t0 = Instant::now();
        peer.send(Command::Dial {
            call,
            target: "9196".into(),
        });
        wait(&lamps, is(LineState::OnCall));
        busy.push(t0.elapsed());
        wait(
            &peer_events,
            |e| matches!(e, Event::CallState { call: c, state: sipcore::CallState::Active { .. } } if *c == call),
        );
        let t1 = Instant::now();
        peer.send(Command::HangUp(call));
        wait(&lamps, is(LineState::Idle));
        idle.push(t1.elapsed());
        wait(
            &peer_events,
            |e| matches!(e, Event::CallState { call: c, state: sipcore::CallState::Ended(_) } if *c == call),
        );
    }
    summary("busy lamp: peer's Dial to watcher's on-call", &mut busy);
    summary("busy lamp: peer's HangUp to watcher's idle", &mut idle);
    peer.shutdown_and_wait(Duration::from_secs(3));
    watcher.shutdown_and_wait(Duration::from_secs(3));
}
