//! Call set-up time through the real PBX: from the Dial command to the Active event (INVITE
//! out, 100/200 from Asterisk's echo test 9196, ACK, media started) over loopback, 30 calls.
//! Prints figures; asserts nothing. Run: `cargo bench -p sipcore --bench call_setup` with the
//! PBX up (`cargo xtask pbx up`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sipcore::{Account, CallId, CallState, Command, EngineConfig, Event, RecordingMedia};

const CALLS: u64 = 30;

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

fn main() {
    // RUST_LOG=sipcore=debug shows where a slow call spends its time.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let pbx = harness::Pbx::ensure_up().expect("the PBX (cargo xtask pbx up)");
    let lease = pbx.lease_any().unwrap();
    let (handle, events) = sipcore::start(
        EngineConfig::default(),
        Arc::new(RecordingMedia::default()),
        None,
    )
    .unwrap();
    let server = harness::pbx::sip_addr().to_string();
    handle.send(Command::Register(Account::new(
        &lease.user.extension,
        &lease.user.password,
        &server,
    )));
    wait(&events, |e| {
        matches!(
            e,
            Event::Registration(sipcore::RegistrationState::Registered { .. })
        )
    });
    let mut times = Vec::new();
    for n in 0..CALLS {
        let call = CallId(n + 1);
        let t0 = Instant::now();
        handle.send(Command::Dial {
            call,
            target: "9196".into(),
        });
        wait(
            &events,
            |e| matches!(e, Event::CallState { call: c, state: CallState::Active { .. } } if *c == call),
        );
        times.push(t0.elapsed());
        handle.send(Command::HangUp(call));
        wait(
            &events,
            |e| matches!(e, Event::CallState { call: c, state: CallState::Ended(_) } if *c == call),
        );
    }
    let slow: Vec<String> = times
        .iter()
        .enumerate()
        .filter(|(_, t)| t.as_millis() > 100)
        .map(|(i, t)| format!("#{i} {t:?}"))
        .collect();
    if !slow.is_empty() {
        println!("slow calls: {}", slow.join(", "));
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "call set-up to 9196 over loopback, {CALLS} calls: median {:.2} ms, p90 {:.2} ms, min {:.2} ms, max {:.2} ms",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 9 / 10]),
        ms(times[0]),
        ms(times[times.len() - 1]),
    );
    handle.send(Command::Shutdown);
}
