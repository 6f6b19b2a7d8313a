//! How fast a colleague's phone status reaches the window, through the whole real path: a peer
//! on 1003 (Alan Turing) dials the echo test 9196 and hangs up, 30 times, while the window,
//! signed in as 1001 with the company directory, shows the contact list. Measured: from the
//! peer's Dial command to the first drawn frame whose contact row says "Alan Turing, on the
//! phone" (INVITE to Asterisk, its hint change, the dialog-info NOTIFY, sipcore, the backend,
//! the repaint wake-up and one frame of the real `Window`), and from HangUp to "available".
//! The frame is laid out by egui_kittest without a GPU, so painting is not included.
//! Prints figures; asserts nothing. Run: `cargo bench -p switchboard --bench status_to_window`
//! (brings the PBX up if it is down).

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use client::backend::{self, BackendConfig};
use client::command::{Command, SignIn, Transport};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::window::Window;

const ROUNDS: usize = 30;
const TIMEOUT: Duration = Duration::from_secs(20);

/// Draws a frame each time the backend asks for a repaint, until `label` is on screen; returns
/// when the backend asked for that frame and when it was drawn.
fn frame_showing(
    h: &mut Harness<'_, Window>,
    wake: &mpsc::Receiver<Instant>,
    label: &str,
) -> (Instant, Instant) {
    let deadline = Instant::now() + TIMEOUT;
    let mut woken = Instant::now();
    loop {
        h.step();
        if h.query_by_label(label).is_some() {
            return (woken, Instant::now());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            panic!("timed out waiting for '{label}'");
        }
        // As eframe does: sleep until the backend wakes the window (or a second passes, as a
        // running call timer would).
        if let Ok(at) = wake.recv_timeout(left.min(Duration::from_secs(1))) {
            woken = at;
        }
        while let Ok(at) = wake.try_recv() {
            woken = at;
        }
    }
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
    let pbx = harness::Pbx::ensure_up().expect("the harness PBX must come up");
    let me = pbx.lease("1001").unwrap();
    let alan = pbx.lease("1003").unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = harness::pbx::sip_addr().to_string();

    let (wake_tx, wake) = mpsc::sync_channel(64);
    let config = BackendConfig {
        headless_audio: true,
        directory_url: Some(harness::pbx::directory_url("phonebook.xml")),
        directory_refresh: None,
        data_dir: data.path().to_path_buf(),
        call_center: None,
        voicemail_server: None,
        speech_model: None,
    };
    let (commands, events) = backend::start(
        config,
        Arc::new(move || {
            let _ = wake_tx.try_send(Instant::now());
        }),
    );
    commands.send(Command::SignIn(SignIn {
        identity: me.user.extension.clone(),
        password: me.user.password.clone(),
        server: server.clone(),
        transport: Transport::Udp,
        trusted_ca: None,
        remember: false,
    }));
    let window = Window::new(commands, events, Some(server.clone()));
    let mut h = Harness::builder()
        .with_context_setup(|ctx| {
            switchboard::theme::install(ctx);
            egui_extras::install_image_loaders(ctx);
        })
        .with_size(egui::vec2(1100.0, 720.0))
        .build_ui_state(|ui, w: &mut Window| w.ui(ui), window);

    let (peer, peer_events) = sipcore::start(
        sipcore::EngineConfig::default(),
        Arc::new(sipcore::RecordingMedia::default()),
        None,
    )
    .unwrap();
    peer.send(sipcore::Command::Register(sipcore::Account::new(
        &alan.user.extension,
        &alan.user.password,
        &server,
    )));
    frame_showing(&mut h, &wake, "Alan Turing, available");

    let (mut busy, mut busy_wake, mut idle, mut idle_wake) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS as u64 {
        let call = sipcore::CallId(round + 1);
        let start = Instant::now();
        peer.send(sipcore::Command::Dial {
            call,
            target: "9196".into(),
        });
        let (woken, drawn) = frame_showing(&mut h, &wake, "Alan Turing, on the phone");
        busy_wake.push(woken.saturating_duration_since(start));
        busy.push(drawn - start);
        // Let the peer's call settle before hanging up, as a person would.
        harness::wait::next_matching(&peer_events, TIMEOUT, "the peer's call", |e| {
            matches!(
                e,
                sipcore::Event::CallState { call: c, state: sipcore::CallState::Active { .. } }
                    if *c == call
            )
            .then_some(())
        });
        std::thread::sleep(Duration::from_millis(100));
        while wake.try_recv().is_ok() {}
        let start = Instant::now();
        peer.send(sipcore::Command::HangUp(call));
        let (woken, drawn) = frame_showing(&mut h, &wake, "Alan Turing, available");
        idle_wake.push(woken.saturating_duration_since(start));
        idle.push(drawn - start);
        std::thread::sleep(Duration::from_millis(100));
        while wake.try_recv().is_ok() {}
    }
    summary("peer's Dial → backend wakes the window", &mut busy_wake);
    summary("peer's Dial → window shows on the phone", &mut busy);
    summary("peer's HangUp → backend wakes the window", &mut idle_wake);
    summary("peer's HangUp → window shows available", &mut idle);
    peer.shutdown_and_wait(TIMEOUT);
}
