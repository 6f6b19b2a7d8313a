//! Driving the real window from a whole-app test: a kittest harness around `Window` with the
//! app's theme, and waiting on it while the backend works on its own threads.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::window::Window;

use super::TIMEOUT;

/// The window as the app shows it, `size` in points, wired to a running backend.
pub fn window_harness(window: Window, size: egui::Vec2) -> Harness<'static, Window> {
    Harness::builder()
        .with_context_setup(|ctx| {
            switchboard::theme::install(ctx);
            egui_extras::install_image_loaders(ctx);
        })
        .with_size(size)
        .build_ui_state(|ui, w: &mut Window| w.ui(ui), window)
}

/// Steps the window until `cond` holds (the backend works on its own threads meanwhile).
pub fn wait_ui(
    h: &mut Harness<'_, Window>,
    what: &str,
    cond: impl FnMut(&Harness<'_, Window>) -> bool,
) {
    wait_ui_up_to(h, TIMEOUT, what, cond)
}

/// [`wait_ui`] for what takes longer than usual, such as a SIP transaction timing out.
pub fn wait_ui_up_to(
    h: &mut Harness<'_, Window>,
    timeout: Duration,
    what: &str,
    mut cond: impl FnMut(&Harness<'_, Window>) -> bool,
) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        h.step();
        if cond(h) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

/// Signs `user` in through the form, as they would, and waits for the greeting.
pub fn sign_in(h: &mut Harness<'_, Window>, user: &harness::User) {
    h.step();
    type_into(h, "Extension, phone number or email", &user.extension);
    type_into(h, "Password", &user.password);
    h.get_by_label("Sign in").click();
    wait_ui(h, "the signed-in window", |h| has(h, "Hello, "));
}

pub fn has(h: &Harness<'_, Window>, label: &str) -> bool {
    h.query_by_label_contains(label).is_some()
}

/// Focuses the field labelled `label` and types `text` into it.
pub fn type_into(h: &mut Harness<'_, Window>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.step();
    h.event(egui::Event::Text(text.into()));
    h.step();
}
