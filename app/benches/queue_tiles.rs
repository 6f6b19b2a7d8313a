//! The call-center tiles' two figures, printed, not asserted:
//! - from a caller's Dial (its INVITE to the harness Asterisk's queue test656) to the first
//!   drawn frame whose tile says "1 waiting in Test656": Asterisk's QueueCallerJoin, the
//!   manager-interface client, the backend, the repaint wake-up and one frame of the real
//!   `Window`; 15 rounds;
//! - the CPU time of a frame of the Call Center screen with 20 queues and 200 waiting callers,
//!   one tile open (layout by egui_kittest, no GPU).
//!
//! Prints `row: NAME = VALUE` lines for `cargo xtask bench`. Run:
//! `cargo bench -p switchboard --bench queue_tiles` (brings the PBX up if it is down).

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use client::backend::{self, BackendConfig};
use client::call_center::{
    Agent, AgentState, CallCenterView, Link, Membership, QueueTile, QueueTotals, Waiting,
};
use client::command::{Command, Commands, SignIn, Transport};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sipcore::media_adapter::{AudioSource, MediaEngine};
use switchboard::screens::call_center::CallCenter;
use switchboard::window::Window;

const ROUNDS: usize = 15;
const TIMEOUT: Duration = Duration::from_secs(20);

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(times: &mut [Duration], p: usize) -> Duration {
    times.sort();
    times[(times.len() * p / 100).min(times.len() - 1)]
}

/// Draws frames as the backend wakes the window, until `label` shows.
fn frame_showing(h: &mut Harness<'_, Window>, wake: &mpsc::Receiver<()>, label: &str) -> Instant {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        h.step();
        if h.query_by_label_contains(label).is_some() {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "timed out waiting for '{label}'");
        let _ = wake.recv_timeout(Duration::from_millis(200));
        while wake.try_recv().is_ok() {}
    }
}

fn caller_to_tile() -> Vec<Duration> {
    let pbx = harness::Pbx::ensure_up().expect("the harness PBX");
    let me = pbx.lease_any().unwrap();
    let caller = pbx.lease_any().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (wake_tx, wake) = mpsc::sync_channel(64);
    let config = BackendConfig {
        headless_audio: true,
        data_dir: data.path().to_path_buf(),
        call_center: Some(client::settings::CallCenter {
            manager_address: harness::pbx::ami_addr().to_string(),
            manager_user: harness::pbx::DESK_AMI_USER.into(),
            manager_secret: harness::pbx::DESK_AMI_SECRET.into(),
            queues: "test656".into(),
        }),
        ..Default::default()
    };
    let (commands, events) = backend::start(
        config,
        Arc::new(move || {
            let _ = wake_tx.try_send(());
        }),
    );
    let server = harness::pbx::sip_addr().to_string();
    let mut h = Harness::builder()
        .with_context_setup(switchboard::theme::install)
        .with_size(egui::vec2(1280.0, 900.0))
        .build_ui_state(
            |ui, w: &mut Window| w.ui(ui),
            Window::new(commands.clone(), events, Some(server.clone())),
        );
    commands.send(Command::SignIn(SignIn {
        identity: me.user.extension.clone(),
        password: me.user.password.clone(),
        server: server.clone(),
        transport: Transport::Udp,
        trusted_ca: None,
        remember: false,
    }));
    frame_showing(&mut h, &wake, "Hello, ");
    h.get_by_label("Call Center").click();
    frame_showing(&mut h, &wake, "0 waiting in Test656");

    let (media_tx, _media_rx) = mpsc::channel();
    let engine = media::Engine::start(media::EngineConfig::headless(), media_tx).unwrap();
    let media = Arc::new(MediaEngine {
        engine,
        source: AudioSource::Tone(440.0),
        record_dir: None,
    });
    let (peer, peer_events) =
        sipcore::start(sipcore::EngineConfig::default(), media, None).unwrap();
    peer.send(sipcore::Command::Register(sipcore::Account::new(
        &caller.user.extension,
        &caller.user.password,
        &server,
    )));
    harness::wait::next_matching(&peer_events, TIMEOUT, "the caller registered", |e| {
        matches!(
            e,
            sipcore::Event::Registration(sipcore::RegistrationState::Registered { .. })
        )
        .then_some(())
    });
    let mut times = Vec::new();
    for round in 0..ROUNDS {
        let call = sipcore::CallId(round as u64 + 1);
        let dialled = Instant::now();
        peer.send(sipcore::Command::Dial {
            call,
            target: "656".into(),
        });
        let shown = frame_showing(&mut h, &wake, "1 waiting in Test656");
        times.push(shown - dialled);
        peer.send(sipcore::Command::HangUp(call));
        frame_showing(&mut h, &wake, "0 waiting in Test656");
    }
    peer.send(sipcore::Command::Shutdown);
    commands.send(Command::Quit);
    times
}

fn big_view() -> CallCenterView {
    let tiles = (0..20)
        .map(|q| QueueTile {
            queue: format!("queue{q:02}"),
            number: Some(format!("{}", 700 + q)),
            waiting: (0..10)
                .map(|i| Waiting {
                    uniqueid: format!("{q}.{i}"),
                    position: i + 1,
                    caller_number: format!("+1555010{q:02}{i}"),
                    caller_name: format!("Caller {q}-{i}"),
                    joined_at: -(i64::from(i) * 7_000),
                })
                .collect(),
            hold_secs: 20,
            talk_secs: 90,
            service_level_secs: 60,
            service_level_perf: 87.5,
            agents: (0..8)
                .map(|a| Agent {
                    name: format!("Agent {a}"),
                    interface: format!("PJSIP/{}", 1000 + a),
                    state: AgentState::Available,
                    calls_taken: a,
                    last_call: 0,
                })
                .collect(),
            mine: Membership::LoggedIn,
            today: QueueTotals {
                answered: 40,
                abandoned: 3,
            },
        })
        .collect();
    CallCenterView {
        link: Link::Live,
        tiles,
    }
}

fn frame_times() -> Vec<Duration> {
    let view = big_view();
    let (commands, _rx) = Commands::channel();
    let mut now_ms = 60_000;
    let mut h = Harness::builder()
        .with_context_setup(switchboard::theme::install)
        .with_size(egui::vec2(1280.0, 900.0))
        .build_ui_state(
            move |ui, s: &mut CallCenter| {
                now_ms += 1000;
                s.ui(ui, Some(&view), None, chrono_tz::UTC, now_ms, &commands)
            },
            CallCenter::default(),
        );
    h.run();
    h.get_by_label("Open Queue00").click();
    h.run();
    (0..300)
        .map(|_| {
            let t = Instant::now();
            h.step();
            t.elapsed()
        })
        .collect()
}

fn main() {
    // `cargo bench` passes --bench; nothing else is taken.
    let mut frames = frame_times();
    let median = percentile(&mut frames, 50);
    let p99 = percentile(&mut frames, 99);
    println!(
        "row: call center frame, 20 queues and 200 waiting callers, median / p99 = {:.2} / {:.2} ms",
        ms(median),
        ms(p99)
    );
    let mut shown = caller_to_tile();
    println!(
        "row: caller's INVITE to the tile showing them waiting, median / p90 ({ROUNDS} rounds) = {:.1} / {:.1} ms",
        ms(percentile(&mut shown, 50)),
        ms(percentile(&mut shown, 90))
    );
}
