//! Work the window hands to a thread of its own (a file dialog, decoding a picture, parsing an
//! address book), so a frame never waits on the disk or the user. The thread repaints the
//! window when it is done, and the next frame takes the result.

use std::sync::mpsc::{Receiver, TryRecvError, channel};

pub struct Job<T>(Receiver<T>);

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on a new thread. `None` from it (a dialog cancelled) ends the job with
    /// nothing to show.
    pub fn spawn(ctx: &egui::Context, work: impl FnOnce() -> Option<T> + Send + 'static) -> Self {
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            if let Some(result) = work() {
                let _ = tx.send(result);
            }
            ctx.request_repaint();
        });
        Job(rx)
    }

    /// The job's result once it is there; the job is then over and `slot` empty again.
    pub fn take(slot: &mut Option<Job<T>>) -> Option<T> {
        let result = match slot.as_ref()?.0.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => None,
        };
        *slot = None;
        result
    }
}
