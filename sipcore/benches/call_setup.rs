//! Call set-up time through the real PBX, 30 calls to Asterisk's echo test 9196 over loopback:
//! from the Dial command to the Active event (INVITE, 401, INVITE with credentials, 100 and
//! 200 from Asterisk, ACK, media started), and the part of it from sending the INVITE with
//! credentials to receiving its 200 OK, timed from rsipstack's own "udp send" and "udp
//! received" log events. Prints figures; asserts nothing. Run:
//! `cargo bench -p sipcore --bench call_setup` (brings the PBX up if it is down).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

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

/// One SIP datagram as rsipstack logged it.
#[derive(Clone, Copy, PartialEq)]
enum Wire {
    InviteSent,
    OkReceived,
}

/// Collects the moments INVITEs leave and 200 OKs to INVITEs arrive.
#[derive(Clone, Default)]
struct WireClock(Arc<Mutex<Vec<(Wire, Instant)>>>);

#[derive(Default)]
struct Fields {
    message: String,
    cseq: String,
    raw: String,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "message" => self.message = text,
            "cseq" => self.cseq = text,
            "raw_message" => self.raw = text,
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for WireClock {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let at = Instant::now();
        let mut f = Fields::default();
        event.record(&mut f);
        if !f.cseq.ends_with("INVITE") {
            return;
        }
        let wire = match f.message.as_str() {
            "udp send" if f.raw.starts_with("\"INVITE ") => Wire::InviteSent,
            "udp received" if f.raw.starts_with("\"SIP/2.0 200") => Wire::OkReceived,
            _ => return,
        };
        self.0.lock().unwrap().push((wire, at));
    }
}

fn summary(what: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}, {} calls: median {:.2} ms, p90 {:.2} ms, min {:.2} ms, max {:.2} ms",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[times.len() * 9 / 10]),
        ms(times[0]),
        ms(times[times.len() - 1]),
    );
}

fn main() {
    // RUST_LOG=sipcore=debug shows where a slow call spends its time.
    let clock = WireClock::default();
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_filter(EnvFilter::from_default_env()))
        .with(
            clock.clone().with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("rsipstack::transport", tracing::Level::INFO),
            ),
        )
        .init();
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
    let mut wire_times = Vec::new();
    for n in 0..CALLS {
        let call = CallId(n + 1);
        clock.0.lock().unwrap().clear();
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
        // The last INVITE before the 200 OK is the one with credentials.
        let seen = clock.0.lock().unwrap().clone();
        let ok = seen.iter().position(|(w, _)| *w == Wire::OkReceived);
        let sent = ok.and_then(|i| seen[..i].iter().rposition(|(w, _)| *w == Wire::InviteSent));
        if let (Some(ok), Some(sent)) = (ok, sent) {
            wire_times.push(seen[ok].1 - seen[sent].1);
        }
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
    summary("Dial → Active for a call to 9196 over loopback", &mut times);
    if wire_times.is_empty() {
        println!("rsipstack logged no INVITE/200 OK pair: its log events have changed");
    } else {
        summary(
            "INVITE (with credentials) sent → 200 OK received",
            &mut wire_times,
        );
    }
    handle.send(Command::Shutdown);
}
