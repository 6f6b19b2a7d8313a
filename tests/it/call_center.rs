//! Call Center against the harness Asterisk's queues, through the manager interface with the
//! app's own `desk` account: callers are real SIP engines dialling a test queue and waiting on
//! its music; the agent is a real SIP engine that answers; the user drives the real window.
//! Each test has its own queue (test650…), so they run beside each other.

use std::time::Duration;

use crate::support::phone::Phone;
use crate::support::window::*;
use crate::support::*;
use egui_kittest::kittest::Queryable;
use switchboard::window::Window;

fn ami(action: &str, fields: &[(&str, &str)]) {
    let reply = Ami::login_default()
        .unwrap()
        .action(action, fields)
        .unwrap();
    assert_eq!(
        reply[0].get("Response"),
        Some("Success"),
        "{action}: {reply:?}"
    );
}

/// A test's queue as a fresh PBX has it: no figures, and no agents or callers left from an
/// earlier run that was cut short.
fn reset_queue(queue: &str) {
    let mut ami = Ami::login_default().unwrap();
    let status = ami.action("QueueStatus", &[("Queue", queue)]).unwrap();
    for m in &status {
        match m.get("Event") {
            Some("QueueMember") => {
                let interface = m.get("Location").unwrap_or_default();
                ami.action("QueueRemove", &[("Queue", queue), ("Interface", interface)])
                    .unwrap();
            }
            Some("QueueEntry") => {
                let channel = m.get("Channel").unwrap_or_default();
                ami.action("Hangup", &[("Channel", channel)]).unwrap();
            }
            _ => {}
        }
    }
    harness::wait_for("the queue to empty", TIMEOUT, || {
        let status = ami.action("QueueStatus", &[("Queue", queue)]).ok()?;
        (!status.iter().any(|m| m.get("Event") == Some("QueueEntry"))).then_some(())
    })
    .unwrap();
    ami.action("QueueReset", &[("Queue", queue)]).unwrap();
}

fn call_center(queues: &str, secret: &str) -> client::settings::CallCenter {
    client::settings::CallCenter {
        manager_address: harness::pbx::ami_addr().to_string(),
        manager_user: harness::pbx::DESK_AMI_USER.into(),
        manager_secret: secret.into(),
        queues: queues.into(),
    }
}

fn window(
    data: &std::path::Path,
    queues: &str,
    secret: &str,
) -> egui_kittest::Harness<'static, Window> {
    let (commands, events) = start_backend(client::BackendConfig {
        call_center: Some(call_center(queues, secret)),
        ..test_config(data)
    });
    let server = harness::pbx::sip_addr().to_string();
    window_harness(
        Window::new(commands, events, Some(server)),
        egui::vec2(1280.0, 900.0),
    )
}

/// Signing in without the window, as its form would (not remembered).
fn sign_in_command(
    user: &harness::User,
    trusted_ca: Option<std::path::PathBuf>,
) -> client::Command {
    client::Command::SignIn(client::command::SignIn {
        identity: user.extension.clone(),
        password: user.password.clone(),
        server: harness::pbx::sip_addr().to_string(),
        transport: Default::default(),
        trusted_ca,
        remember: false,
    })
}

fn open_call_center(h: &mut egui_kittest::Harness<'static, Window>) {
    h.get_by_label("Call Center").click();
    h.step();
}

#[test]
fn callers_wait_abandon_and_are_answered_and_the_history_survives_a_restart() {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let mut first = Phone::register(pbx.lease_any().unwrap());
    let mut second = Phone::register(pbx.lease_any().unwrap());
    let agent = Phone::register(pbx.lease_any().unwrap());
    reset_queue("test650");
    let data = tempfile::tempdir().unwrap();
    let mut h = window(data.path(), "test650", harness::pbx::DESK_AMI_SECRET);
    sign_in(&mut h, &me.user);
    open_call_center(&mut h);
    wait_ui(&mut h, "the empty tile", |h| has(h, "0 waiting in Test650"));

    let abandoning = first.call("650");
    second.call("650");
    wait_ui(&mut h, "two callers waiting", |h| {
        has(h, "2 waiting in Test650")
    });
    wait_ui(&mut h, "the longest wait counting up", |h| {
        has(h, "Longest wait 0:02")
    });

    first.hang_up(abandoning);
    wait_ui(&mut h, "one caller left", |h| {
        has(h, "1 waiting in Test650")
    });
    h.get_by_label("Open Test650").click();
    wait_ui(&mut h, "the abandoned call in the history", |h| {
        has(h, &format!("{} · abandoned after 0:0", first.number()))
    });

    // An agent logs in; Asterisk rings them with the waiting caller, they talk two seconds.
    let agent_interface = format!("PJSIP/{}", agent.number());
    ami(
        "QueueAdd",
        &[
            ("Queue", "test650"),
            ("Interface", &agent_interface),
            ("MemberName", "Agent Bot"),
        ],
    );
    let talking = agent.answer();
    std::thread::sleep(Duration::from_secs(2));
    agent.hang_up(talking);
    wait_ui(&mut h, "the answered call in the history", |h| {
        has(
            h,
            &format!("{} · answered by Agent Bot after 0:0", second.number()),
        ) && has(h, ", talked 0:0")
    });
    wait_ui(&mut h, "the day's totals", |h| {
        has(h, "Today: 1 answered · 1 abandoned")
    });
    ami(
        "QueueRemove",
        &[("Queue", "test650"), ("Interface", &agent_interface)],
    );
    h.state_mut().quit();
    drop(h);

    // The app starts again on the same profile (signing in by itself, as it remembers the
    // account): the history and the totals are still there.
    let mut h = window(data.path(), "test650", harness::pbx::DESK_AMI_SECRET);
    wait_ui(&mut h, "the remembered sign-in", |h| has(h, "Hello, "));
    open_call_center(&mut h);
    wait_ui(&mut h, "the totals after a restart", |h| {
        has(h, "Today: 1 answered · 1 abandoned")
    });
    h.get_by_label("Open Test650").click();
    wait_ui(&mut h, "the history after a restart", |h| {
        has(h, "answered by Agent Bot") && has(h, "abandoned after")
    });
    h.get_by_label("Abandoned").click();
    wait_ui(&mut h, "only the abandoned call", |h| {
        !has(h, "answered by Agent Bot")
    });
    assert!(has(&h, "abandoned after"));
}

#[test]
fn the_red_bubble_comes_once_a_wait_passes_the_average_hold_time() {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let mut caller = Phone::register(pbx.lease_any().unwrap());
    let agent = Phone::register(pbx.lease_any().unwrap());
    reset_queue("test651");
    let data = tempfile::tempdir().unwrap();
    let mut h = window(data.path(), "test651", harness::pbx::DESK_AMI_SECRET);
    sign_in(&mut h, &me.user);
    open_call_center(&mut h);
    h.get_by_label("Open Test651").click();

    // The average becomes known: a caller waits 5 s before a paused agent comes back.
    let agent_interface = format!("PJSIP/{}", agent.number());
    ami(
        "QueueAdd",
        &[
            ("Queue", "test651"),
            ("Interface", &agent_interface),
            ("MemberName", "Agent Bot"),
            ("Paused", "true"),
        ],
    );
    let call = caller.call("651");
    std::thread::sleep(Duration::from_secs(5));
    let pause = |paused: &str| {
        ami(
            "QueuePause",
            &[
                ("Queue", "test651"),
                ("Interface", &agent_interface),
                ("Paused", paused),
            ],
        )
    };
    pause("false");
    let talking = agent.answer();
    pause("true");
    agent.hang_up(talking);
    caller.hang_up(call);
    // The first answered call makes the average (5 s, or a little more as Asterisk rings the
    // agent): the tile shows the server's figure.
    let hold = harness::wait_for("the server's average hold time", TIMEOUT, || {
        let status = Ami::login_default()
            .ok()?
            .action("QueueStatus", &[("Queue", "test651")])
            .ok()?;
        let params = status
            .iter()
            .find(|m| m.get("Event") == Some("QueueParams"))?;
        let secs: u64 = params.get("Holdtime")?.parse().ok()?;
        (secs > 0).then_some(secs)
    })
    .unwrap();
    let shown = format!("average hold time {}", client::model::format_duration(hold));
    wait_ui(&mut h, &shown, |h| has(h, &shown));

    caller.call("651");
    wait_ui(&mut h, "the new caller", |h| has(h, "1 waiting in Test651"));
    assert!(
        !has(&h, "waiting longer than the queue's average"),
        "no bubble before the average"
    );
    wait_ui(&mut h, "the red bubble", |h| {
        has(h, "waiting longer than the queue's average")
    });
    ami(
        "QueueRemove",
        &[("Queue", "test651"), ("Interface", &agent_interface)],
    );
}

#[test]
fn the_user_logs_in_pauses_and_logs_out_and_asterisk_sees_each() {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    reset_queue("test652");
    let data = tempfile::tempdir().unwrap();
    let mut h = window(data.path(), "test652", harness::pbx::DESK_AMI_SECRET);
    sign_in(&mut h, &me.user);
    open_call_center(&mut h);
    let mine = format!("PJSIP/{}", me.user.extension);
    let shows = |what: &dyn Fn(&str) -> bool| {
        harness::wait_for("queue show to agree", TIMEOUT, || {
            let out = pbx.cli("queue show test652").ok()?;
            what(&out).then_some(())
        })
        .unwrap()
    };

    wait_ui(&mut h, "the log-in button", |h| has(h, "Log in to Test652"));
    h.get_by_label("Log in to Test652").click();
    wait_ui(&mut h, "logged in", |h| has(h, "Log out of Test652"));
    shows(&|out| out.contains(&mine) && !out.contains("paused"));

    type_into(&mut h, "Reason:", "Lunch");
    h.get_by_label("Pause in Test652").click();
    wait_ui(&mut h, "paused", |h| has(h, "You are paused: Lunch"));
    shows(&|out| out.contains(&mine) && out.contains("paused:Lunch"));

    h.get_by_label("Resume in Test652").click();
    wait_ui(&mut h, "resumed", |h| has(h, "Log out of Test652"));
    shows(&|out| out.contains(&mine) && !out.contains("paused"));

    h.get_by_label("Log out of Test652").click();
    wait_ui(&mut h, "logged out", |h| has(h, "Log in to Test652"));
    shows(&|out| !out.contains(&mine));
}

#[test]
fn a_queue_call_is_marked_with_its_queue_in_the_popup_and_in_my_calls() {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let mut caller = Phone::register(pbx.lease_any().unwrap());
    reset_queue("test653");
    let data = tempfile::tempdir().unwrap();
    let mut h = window(data.path(), "test653", harness::pbx::DESK_AMI_SECRET);
    sign_in(&mut h, &me.user);
    open_call_center(&mut h);
    h.get_by_label("Log in to Test653").click();
    wait_ui(&mut h, "logged in", |h| has(h, "Log out of Test653"));

    caller.call("653");
    wait_ui(&mut h, "the popup with the queue", |h| {
        has(h, "is calling") && has(h, "Through the Test653 queue")
    });
    h.get_by_label("Decline").click();
    h.step();
    h.get_by_label("Log out of Test653").click();
    h.get_by_label("Voice").click();
    h.step();
    h.get_by_label_contains("My Calls").click();
    wait_ui(&mut h, "the queue in My Calls", |h| {
        has(h, "Through the Test653 queue")
    });
}

#[test]
fn a_wrong_manager_secret_is_said_in_words() {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut h = window(data.path(), "test654", "not-the-secret");
    sign_in(&mut h, &me.user);
    open_call_center(&mut h);
    wait_ui(&mut h, "the refusal", |h| {
        has(
            h,
            &format!(
                "The queue service at {} refused the manager login.",
                harness::pbx::ami_addr()
            ),
        )
    });
}

#[test]
fn without_a_manager_account_the_section_says_what_to_ask_for() {
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (commands, events) = start_backend(test_config(data.path()));
    let mut h = window_harness(
        Window::new(commands, events, Some(harness::pbx::sip_addr().to_string())),
        egui::vec2(1100.0, 720.0),
    );
    sign_in(&mut h, &me.user);
    open_call_center(&mut h);
    wait_ui(&mut h, "the explanation", |h| {
        has(h, "Queues need a manager account on your phone system")
    });
}

/// `tls://` in the manager address: the tiles come over TLS, the server checked against the
/// company CA picked at sign-in; without that CA the tiles say it could not be reached
/// securely.
#[test]
fn the_queue_service_is_reached_over_tls_with_the_company_ca() {
    use client::call_center::Link;
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    let ca = pbx.tls_ca().unwrap();
    for trusted_ca in [Some(ca), None] {
        let data = tempfile::tempdir().unwrap();
        let mut settings = call_center("test658", harness::pbx::DESK_AMI_SECRET);
        settings.manager_address = format!("tls://{}", harness::pbx::ami_tls_addr());
        let (commands, events) = start_backend(client::BackendConfig {
            call_center: Some(settings),
            ..test_config(data.path())
        });
        commands.send(sign_in_command(&me.user, trusted_ca.clone()));
        let secure = trusted_ca.is_some();
        harness::wait::next_matching(&events, TIMEOUT, "the tiles", |e| match e {
            client::Event::CallCenter(Some(v)) if secure => {
                (v.link == Link::Live && v.tiles[0].queue == "test658").then_some(())
            }
            client::Event::CallCenter(Some(v)) => match &v.link {
                Link::Down { reason, .. } if reason.contains("could not be reached securely") => {
                    Some(())
                }
                _ => None,
            },
            _ => None,
        });
        commands.send(client::Command::Quit);
    }
}

/// The manager interface goes away with its Asterisk (a private one, in a network namespace
/// of this test's own) and comes back: the tiles say so, then show the server's state again.
#[test]
fn the_tiles_reconnect_when_asterisk_restarts() {
    use client::call_center::{Link, Membership};
    let pbx = pbx();
    let me = pbx.lease_any().unwrap();
    std::thread::spawn(move || {
        // The backend's threads inherit the namespace from this one.
        harness::private_pbx::enter_own_network_namespace();
        let mut asterisk = harness::private_pbx::PrivatePbx::start(&pbx).unwrap();
        let data = tempfile::tempdir().unwrap();
        let (commands, events) = start_backend(client::BackendConfig {
            call_center: Some(call_center("test655", harness::pbx::DESK_AMI_SECRET)),
            ..test_config(data.path())
        });
        commands.send(sign_in_command(&me.user, None));
        let tiles = |what: &str, ok: &dyn Fn(&client::call_center::CallCenterView) -> bool| {
            harness::wait::next_matching(&events, Duration::from_secs(60), what, |e| match e {
                client::Event::CallCenter(Some(v)) if ok(v) => Some(()),
                _ => None,
            })
        };
        tiles("the live tile", &|v| v.link == Link::Live && v.tiles.len() == 1);
        commands.send(client::Command::QueueLogIn("test655".into()));
        tiles("logged in", &|v| v.tiles[0].mine == Membership::LoggedIn);

        asterisk.stop();
        tiles("reconnecting", &|v| {
            matches!(&v.link, Link::Down { retrying: true, reason } if reason.contains("127.0.0.1:5038"))
        });
        asterisk.boot().unwrap();
        // A restarted Asterisk has forgotten dynamic members: the tile says what it says.
        tiles("live again, as the server is", &|v| {
            v.link == Link::Live && v.tiles[0].mine == Membership::LoggedOut
        });
        commands.send(client::Command::Quit);
    })
    .join()
    .unwrap();
}
