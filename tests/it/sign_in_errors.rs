//! Signing in through the window when things go wrong, against the real PBX: a wrong password
//! and a lost network (every datagram to the PBX dropped by a relay) are each said in words on
//! the form, and what the user typed stays there, so that signing in again needs only a click.

use std::time::Duration;

use crate::support::window::*;
use crate::support::*;
use egui_kittest::kittest::Queryable;
use switchboard::window::Window;

const IDENTITY: &str = "Extension, phone number or email";

#[test]
fn a_wrong_password_and_a_lost_network_are_said_in_words_and_keep_what_was_typed() {
    let pbx = pbx();
    let lease = pbx.lease_any().unwrap();
    let user = &lease.user;
    let relay = harness::relay::Relay::start(harness::pbx::sip_addr(), true).unwrap();
    let data = tempfile::tempdir().unwrap();
    let (commands, events) = start_backend(test_config(data.path()));
    let server = relay.addr.to_string();
    let mut h = window_harness(
        Window::new(commands, events, Some(server.clone())),
        egui::vec2(1000.0, 720.0),
    );
    h.step();

    // A wrong password.
    type_into(&mut h, IDENTITY, &user.extension);
    type_into(&mut h, "Password", "not-the-password");
    h.get_by_label("Sign in").click();
    let rejected = format!("The server rejected the password for {}.", user.extension);
    wait_ui(&mut h, "the refusal in words", |h| has(h, &rejected));
    assert_eq!(
        h.get_by_label(IDENTITY).value().as_deref(),
        Some(user.extension.as_str())
    );
    assert_eq!(h.state().screen_name(), "sign-in");

    // The right password, with the network gone: nothing reaches the PBX, and after the
    // transaction's 32 s the form says the server cannot be reached.
    relay.set_up(false);
    h.get_by_label("Password").focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.event(egui::Event::Text(user.password.clone()));
    h.step();
    h.get_by_label("Sign in").click();
    wait_ui_up_to(
        &mut h,
        Duration::from_secs(60),
        "the lost network in words",
        |h| has(h, &format!("The server {server} is not reachable")),
    );
    assert!(relay.dropped() > 0);
    assert_eq!(
        h.get_by_label(IDENTITY).value().as_deref(),
        Some(user.extension.as_str())
    );

    // The network is back: the same form, untouched, signs in with one click.
    relay.set_up(true);
    h.get_by_label("Sign in").click();
    wait_ui(&mut h, "the signed-in window", |h| has(h, "Hello, "));
    h.state_mut().quit();
}
