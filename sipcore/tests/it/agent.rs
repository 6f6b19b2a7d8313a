//! The command-line agent (the demo bots) as a real process: it echoes a caller's audio and
//! answers texts, printing its events as JSON lines.

use std::io::{BufRead, BufReader};
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::support::{TIMEOUT, account, pbx};
use harness::audio::has_tone;
use sipcore::media_adapter::{AudioSource, MediaEngine};
use sipcore::{CallId, CallState, Command, EngineConfig, Event};

/// Starts the agent for `user` and waits for its "registered" line.
fn start_agent(
    user: &harness::User,
    extra: &[&str],
) -> (
    harness::process::ChildGuard,
    std::sync::mpsc::Receiver<String>,
) {
    let mut cmd = Process::new(harness::paths::built_example("agent"));
    cmd.args([
        "--server",
        &format!("127.0.0.1:{}", harness::pbx::SIP_PORT),
        "--user",
        &user.extension,
    ])
    .env("AGENT_PASSWORD", &user.password)
    .args(extra)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    let mut child = harness::process::ChildGuard::spawn("agent", &mut cmd).unwrap();
    let stdout = child.take_stdout().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = rx
        .iter()
        .find(|l| l.contains(r#""state":"registered""#))
        .expect("the agent registers");
    assert!(line.starts_with('{'), "JSON lines: {line}");
    (child, rx)
}

#[test]
fn the_echo_bot_answers_and_sends_our_audio_back() {
    let pbx = pbx();
    let bot = pbx.lease_any().unwrap();
    let (_agent, _lines) = start_agent(&bot.user, &["--auto-answer", "--echo"]);
    let dir = tempfile::tempdir().unwrap();
    let (tx, media_events) = std::sync::mpsc::channel();
    let engine = media::Engine::start(media::EngineConfig::headless(), tx).unwrap();
    let media = Arc::new(MediaEngine {
        engine,
        source: AudioSource::Tone(852.0),
        record_dir: Some(dir.path().to_path_buf()),
    });
    let (handle, events) = sipcore::start(EngineConfig::default(), media.clone(), None).unwrap();
    let me = pbx.lease_any().unwrap();
    handle.send(Command::Register(account(&me.user)));
    let id = CallId(1);
    let mut dialled = false;
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let e = events
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("events");
        match e {
            Event::Registration(sipcore::RegistrationState::Registered { .. }) if !dialled => {
                dialled = true;
                handle.send(Command::Dial {
                    call: id,
                    target: bot.user.extension.clone(),
                });
            }
            Event::CallState {
                call,
                state: CallState::Active { .. },
            } if call == id => break,
            _ => {}
        }
    }
    let mut reports = 0;
    harness::wait_for("three seconds of statistics", TIMEOUT, || {
        if let Ok(media::MediaEvent::Stats { .. }) =
            media_events.recv_timeout(Duration::from_millis(100))
        {
            reports += 1;
        }
        (reports >= 3).then_some(())
    })
    .unwrap();
    handle.send(Command::HangUp(id));
    let path = media.recording_path(id).unwrap();
    let pcm = harness::wait_for("the recording", TIMEOUT, || {
        media::ogg_opus::OggOpusReader::read_all(&path).ok()
    })
    .unwrap();
    assert!(
        has_tone(&pcm[pcm.len() / 2..], 48000, 852.0, &[440.0, 1000.0]),
        "our 852 Hz came back"
    );
    handle.send(Command::Shutdown);
}

#[test]
fn the_text_bot_replies_to_a_message() {
    let pbx = pbx();
    let bot = pbx.lease_any().unwrap();
    let (_agent, lines) = start_agent(&bot.user, &["--reply-texts", "Hello from the bot"]);
    let me = pbx.lease_any().unwrap();
    let (handle, events) = sipcore::start(
        EngineConfig::default(),
        Arc::new(sipcore::RecordingMedia::default()),
        None,
    )
    .unwrap();
    handle.send(Command::Register(account(&me.user)));
    let deadline = std::time::Instant::now() + TIMEOUT;
    let mut sent = false;
    let reply = loop {
        match events
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("events")
        {
            Event::Registration(sipcore::RegistrationState::Registered { .. }) if !sent => {
                sent = true;
                handle.send(Command::SendMessage {
                    id: 1,
                    target: bot.user.extension.clone(),
                    content_type: "text/plain".into(),
                    body: "ping".into(),
                });
            }
            Event::MessageReceived { body, from, .. } => break (body, from),
            _ => {}
        }
    };
    assert_eq!(reply.0, "Hello from the bot");
    assert_eq!(reply.1.number, bot.user.extension);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(r#""event":"message""#) && l.contains("ping"))
    );
    handle.send(Command::Shutdown);
}
