//! A small SIP user agent on top of sipcore: registers an account (or none, listening on an
//! address), answers or dials, echoes or plays audio, replies to texts, and prints every event
//! as a JSON line. The demo bots are agents; so is an operator checking an account:
//!
//!   cargo run -p sipcore --example agent -- --server 127.0.0.1:25060 --user 1002 --password … --auto-answer --echo

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use sipcore::media_adapter::{AudioSource, MediaEngine};
use sipcore::{Account, CallId, CallState, Command, EngineConfig, Event, RegistrationState};

#[derive(Parser, Debug)]
#[command(about = "A SIP user agent on Switchboard's engine; prints events as JSON lines")]
struct Args {
    /// Registrar / domain as host:port.
    #[arg(long)]
    server: Option<String>,
    /// Extension or SIP user to register.
    #[arg(long)]
    user: Option<String>,
    #[arg(long, env = "AGENT_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    #[arg(long)]
    display_name: Option<String>,
    /// Local SIP address to listen on (default: 127.0.0.1 and a free port).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Answer every incoming call.
    #[arg(long)]
    auto_answer: bool,
    /// Send back the caller's own audio.
    #[arg(long, conflicts_with_all = ["play", "tone"])]
    echo: bool,
    /// Play this Ogg Opus file to the other side, looping.
    #[arg(long)]
    play: Option<PathBuf>,
    /// Send a steady tone at this frequency (Hz).
    #[arg(long)]
    tone: Option<f32>,
    /// Reply to every text message with this text.
    #[arg(long)]
    reply_texts: Option<String>,
    /// Call this number or URI once registered (or at once without an account).
    #[arg(long)]
    dial: Option<String>,
    /// Hang up calls after this many seconds, and exit after a dialled call ends.
    #[arg(long)]
    duration: Option<u64>,
    /// Record what each call receives into this folder (Ogg Opus).
    #[arg(long)]
    record: Option<PathBuf>,
}

fn print(value: serde_json::Value) {
    println!("{value}");
}

fn event_json(e: &Event) -> serde_json::Value {
    match e {
        Event::Registration(s) => match s {
            RegistrationState::Registering => {
                json!({"event": "registration", "state": "registering"})
            }
            RegistrationState::Registered {
                expires_secs,
                other_devices,
            } => {
                json!({"event": "registration", "state": "registered", "expires": expires_secs, "other_devices": other_devices})
            }
            RegistrationState::Failed { reason, retrying } => {
                json!({"event": "registration", "state": "failed", "reason": reason.to_string(), "retrying": retrying})
            }
            RegistrationState::Unregistered => {
                json!({"event": "registration", "state": "unregistered"})
            }
        },
        Event::IncomingCall { call, from } => {
            json!({"event": "incoming_call", "call": call.0, "from": from.number, "name": from.name})
        }
        Event::CallState { call, state } => {
            let (name, detail) = match state {
                CallState::Dialing => ("dialing", None),
                CallState::Ringing { early_media } => {
                    ("ringing", Some(json!({"early_media": early_media})))
                }
                CallState::Incoming => ("incoming", None),
                CallState::Active { hold } => (
                    "active",
                    Some(json!({"hold": format!("{hold:?}").to_lowercase()})),
                ),
                CallState::Ended(r) => ("ended", Some(json!({"reason": r.to_string()}))),
            };
            json!({"event": "call", "call": call.0, "state": name, "detail": detail})
        }
        Event::SessionRefreshed { call, by_us } => {
            json!({"event": "session_refreshed", "call": call.0, "by_us": by_us})
        }
        Event::Dtmf { call, digit } => {
            json!({"event": "dtmf", "call": call.0, "digit": digit.to_string()})
        }
        Event::Transfer {
            call,
            target,
            state,
        } => {
            json!({"event": "transfer", "call": call.0, "target": target, "state": format!("{state:?}")})
        }
        Event::MessageWaiting { new, old } => {
            json!({"event": "message_waiting", "new": new, "old": old})
        }
        Event::PhoneStatus { extension, status } => {
            json!({"event": "phone_status", "extension": extension, "status": format!("{status:?}").to_lowercase()})
        }
        Event::Presence {
            extension,
            availability,
            note,
        } => {
            json!({"event": "presence", "extension": extension, "availability": format!("{availability:?}").to_lowercase(), "note": note})
        }
        Event::TransferredBy {
            call,
            new_call,
            target,
        } => {
            json!({"event": "transferred_by", "call": call.0, "new_call": new_call.0, "target": target.number})
        }
        Event::MessageReceived {
            from,
            content_type,
            body,
        } => {
            json!({"event": "message", "from": from.number, "content_type": content_type, "body": body})
        }
        Event::MessageResult { id, result } => {
            json!({"event": "message_result", "id": id, "ok": result.is_ok(),
            "error": result.as_ref().err().map(ToString::to_string)})
        }
        Event::OwnPresence(state) => {
            json!({"event": "own_presence", "state": format!("{state:?}")})
        }
        Event::Conference { members } => {
            json!({"event": "conference", "members": members.iter().map(|c| c.0).collect::<Vec<_>>()})
        }
        Event::Error(e) => json!({"event": "error", "message": e.to_string()}),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let source = if args.echo {
        AudioSource::Echo
    } else if let Some(f) = &args.play {
        AudioSource::File(f.clone())
    } else if let Some(t) = args.tone {
        AudioSource::Tone(t)
    } else {
        AudioSource::Tone(440.0)
    };
    let (media_tx, _media_rx) = std::sync::mpsc::channel();
    let engine = media::Engine::start(media::EngineConfig::headless(), media_tx)?;
    let media = Arc::new(MediaEngine {
        engine,
        source,
        record_dir: args.record.clone(),
    });
    let mut config = EngineConfig::default();
    if let Some(l) = args.listen {
        config.bind_ip = l.ip();
        config.sip_port = l.port();
    }
    let (handle, events) = sipcore::start(config, media, None)?;
    print(json!({"event": "listening", "address": handle.local_addr.to_string()}));

    let mut registered = false;
    if let (Some(server), Some(user)) = (&args.server, &args.user) {
        let mut account = Account::new(user, args.password.as_deref().unwrap_or(""), server);
        account.display_name = args.display_name.clone();
        handle.send(Command::Register(account));
    } else {
        registered = true;
    }

    // Ctrl-C, or a test or the demo stopping us by PID: leave the loop and unregister, so
    // that no stale contact stays on the PBX to ring (or answer) in the next one's place.
    let ctrl_c = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, ctrl_c.clone())?;
    }
    let dial_id = CallId(1);
    let mut dialled = false;
    let mut answered_at: std::collections::HashMap<CallId, Instant> = Default::default();
    let mut next_message = 1u64;
    loop {
        if ctrl_c.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        if registered
            && !dialled
            && let Some(target) = &args.dial
        {
            dialled = true;
            handle.send(Command::Dial {
                call: dial_id,
                target: target.clone(),
            });
        }
        if let Some(secs) = args.duration {
            for (call, t) in answered_at.clone() {
                if t.elapsed() >= Duration::from_secs(secs) {
                    let _ = handle.send(Command::HangUp(call));
                    answered_at.remove(&call);
                }
            }
        }
        let event = match events.recv_timeout(Duration::from_millis(200)) {
            Ok(e) => e,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(_) => break,
        };
        print(event_json(&event));
        match &event {
            Event::Registration(RegistrationState::Registered { .. }) => registered = true,
            Event::IncomingCall { call, .. } if args.auto_answer => {
                // A bot serves every caller at once; holding the others is a person's phone.
                handle.send(Command::AnswerAlongside(*call));
            }
            Event::CallState {
                call,
                state: CallState::Active { .. },
            } => {
                answered_at.entry(*call).or_insert_with(Instant::now);
            }
            Event::CallState {
                call,
                state: CallState::Ended(_),
            } => {
                answered_at.remove(call);
                if *call == dial_id && args.duration.is_some() {
                    break;
                }
            }
            Event::MessageReceived { from, .. } => {
                if let Some(reply) = &args.reply_texts {
                    let _ = handle.send(Command::SendMessage {
                        id: next_message,
                        target: from.number.clone(),
                        content_type: "text/plain;charset=UTF-8".into(),
                        body: reply.clone(),
                    });
                    next_message += 1;
                }
            }
            _ => {}
        }
    }
    handle.shutdown_and_wait(Duration::from_secs(2));
    Ok(())
}
