//! A real SIP phone on a leased extension for a whole-app test: a sipcore engine with a
//! headless media engine sending a tone (or a file), registered before it is returned.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use sipcore::media_adapter::{AudioSource, MediaEngine};

use super::{Lease, TIMEOUT};

/// A caller or an agent.
pub struct Phone {
    sip: sipcore::Handle,
    events: Receiver<sipcore::Event>,
    lease: Lease,
    next: u64,
}

impl Phone {
    pub fn register(lease: Lease) -> Self {
        Self::register_sending(lease, AudioSource::Tone(440.0))
    }

    /// A phone that sends `source` in its calls (a file: someone speaking).
    pub fn register_sending(lease: Lease, source: AudioSource) -> Self {
        let (media_tx, _media_rx) = std::sync::mpsc::channel();
        let engine = media::Engine::start(media::EngineConfig::headless(), media_tx).unwrap();
        let media = Arc::new(MediaEngine {
            engine,
            source,
            record_dir: None,
        });
        let (sip, events) = sipcore::start(sipcore::EngineConfig::default(), media, None).unwrap();
        let mut account = sipcore::Account::new(
            &lease.user.extension,
            &lease.user.password,
            &harness::pbx::sip_addr().to_string(),
        );
        account.display_name = Some(lease.user.name.clone());
        sip.send(sipcore::Command::Register(account));
        harness::wait::next_matching(&events, TIMEOUT, "the phone registered", |e| {
            matches!(
                e,
                sipcore::Event::Registration(sipcore::RegistrationState::Registered { .. })
            )
            .then_some(())
        });
        Self {
            sip,
            events,
            lease,
            next: 1,
        }
    }

    pub fn number(&self) -> &str {
        &self.lease.user.extension
    }

    /// Calls `target` and waits until it is answered (a queue answers at once, then plays
    /// music).
    pub fn call(&mut self, target: &str) -> sipcore::CallId {
        let call = self.dial(target);
        self.wait_active(call);
        call
    }

    /// Calls `target` without waiting for an answer.
    pub fn dial(&mut self, target: &str) -> sipcore::CallId {
        let call = sipcore::CallId(self.next);
        self.next += 1;
        self.sip.send(sipcore::Command::Dial {
            call,
            target: target.into(),
        });
        call
    }

    /// Waits until `call` ends unanswered or hung up: why.
    pub fn wait_ended(&self, call: sipcore::CallId) -> sipcore::EndReason {
        harness::wait::next_matching(&self.events, TIMEOUT, "the call to end", |e| match e {
            sipcore::Event::CallState {
                call: c,
                state: sipcore::CallState::Ended(reason),
            } if *c == call => Some(reason.clone()),
            _ => None,
        })
    }

    pub fn wait_active(&self, call: sipcore::CallId) {
        harness::wait::next_matching(&self.events, TIMEOUT, "the call answered", |e| {
            matches!(e, sipcore::Event::CallState { call: c, state: sipcore::CallState::Active { .. } } if *c == call)
                .then_some(())
        });
    }

    /// Waits for a call to ring and answers it.
    pub fn answer(&self) -> sipcore::CallId {
        let call =
            harness::wait::next_matching(&self.events, TIMEOUT, "a call to ring", |e| match e {
                sipcore::Event::IncomingCall { call, .. } => Some(*call),
                _ => None,
            });
        self.sip.send(sipcore::Command::Answer(call));
        self.wait_active(call);
        call
    }

    pub fn hang_up(&self, call: sipcore::CallId) {
        self.sip.send(sipcore::Command::HangUp(call));
    }
}

impl Drop for Phone {
    // Hangs up with a BYE before the test's process ends: a caller left in a queue would wait
    // there into the next run.
    fn drop(&mut self) {
        self.sip.shutdown_and_wait(Duration::from_secs(5));
    }
}
