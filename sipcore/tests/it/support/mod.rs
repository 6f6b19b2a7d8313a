//! An engine under test: started against the harness PBX with a recording media double, with
//! a way to wait for the event a test expects.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use sipcore::{
    Account, CallId, CallState, Command, EngineConfig, Event, Handle, LineState, Party,
    RecordingMedia,
};

pub const TIMEOUT: Duration = Duration::from_secs(20);

pub struct Ua {
    pub handle: Handle,
    pub events: Receiver<Event>,
    pub media: Arc<RecordingMedia>,
    pub seen: Vec<Event>,
    pub lease: Option<harness::Lease>,
}

impl Ua {
    pub fn start() -> Self {
        Self::start_with(EngineConfig::default())
    }

    pub fn start_with(config: EngineConfig) -> Self {
        init_logging();
        let media = Arc::new(RecordingMedia::default());
        let (handle, events) = sipcore::start(config, media.clone(), None).expect("engine starts");
        Self {
            handle,
            events,
            media,
            seen: Vec::new(),
            lease: None,
        }
    }

    /// An engine the test started itself, with media of its own (`self.media` then records
    /// nothing).
    pub fn from_parts(handle: Handle, events: Receiver<Event>) -> Self {
        init_logging();
        Self {
            handle,
            events,
            media: Arc::new(RecordingMedia::default()),
            seen: Vec::new(),
            lease: None,
        }
    }

    /// Starts an engine and registers a leased test extension.
    pub fn registered(pbx: &harness::Pbx) -> Self {
        let mut ua = Self::start();
        ua.register(pbx);
        ua
    }

    /// Leases a test extension and registers it.
    pub fn register(&mut self, pbx: &harness::Pbx) {
        let lease = pbx.lease_any().unwrap();
        self.handle.send(Command::Register(account(&lease.user)));
        self.wait("registered", |e| {
            matches!(
                e,
                Event::Registration(sipcore::RegistrationState::Registered { .. })
            )
        });
        self.lease = Some(lease);
    }

    pub fn extension(&self) -> String {
        self.lease
            .as_ref()
            .map(|l| l.user.extension.clone())
            .unwrap_or_default()
    }

    /// Waits for the first event (from now on) that matches, and returns it.
    pub fn wait(&mut self, what: &str, pred: impl FnMut(&Event) -> bool) -> Event {
        self.wait_up_to(TIMEOUT, what, pred)
    }

    /// Waits for the next call to ring here: its id, and who calls.
    pub fn wait_incoming(&mut self, what: &str) -> (CallId, Party) {
        match self.wait(what, |e| matches!(e, Event::IncomingCall { .. })) {
            Event::IncomingCall { call, from } => (call, from),
            _ => unreachable!("the wait matched an incoming call"),
        }
    }

    pub fn wait_up_to(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pred: impl FnMut(&Event) -> bool,
    ) -> Event {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(e) => {
                    self.seen.push(e.clone());
                    if pred(&e) {
                        return e;
                    }
                }
                Err(_) => panic!(
                    "timed out waiting for {what}; events so far: {:#?}",
                    self.seen
                ),
            }
        }
    }
}

impl Drop for Ua {
    fn drop(&mut self) {
        self.handle.send(Command::Shutdown);
        // Let the un-REGISTER reach Asterisk before the process ends, so a pooled extension
        // carries no stale contact into the next test binary.
        let deadline = Instant::now() + Duration::from_secs(3);
        while let Ok(e) = self
            .events
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if matches!(
                e,
                Event::Registration(sipcore::RegistrationState::Unregistered)
            ) {
                break;
            }
        }
    }
}

pub fn init_logging() {
    // RUST_LOG=sipcore=debug,rsipstack=debug shows the SIP traffic of a failing test.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub fn account(user: &harness::User) -> Account {
    let mut a = Account::new(
        &user.extension,
        &user.password,
        &format!("127.0.0.1:{}", harness::pbx::SIP_PORT),
    );
    a.display_name = Some(user.name.clone());
    a.expires = 120;
    a
}

pub fn pbx() -> harness::Pbx {
    harness::Pbx::ensure_up().expect("harness PBX")
}

/// The state in `e` when it is a state change of call `id`.
pub fn state_of(e: &Event, id: CallId) -> Option<&CallState> {
    match e {
        Event::CallState { call, state } if *call == id => Some(state),
        _ => None,
    }
}

/// Waits until `ua` hears that `extension`'s phone is `status` (the busy lamp).
pub fn wait_phone(ua: &mut Ua, extension: &str, status: LineState) {
    ua.wait(&format!("{extension} to be {status:?}"), |e| {
        matches!(e, Event::PhoneStatus { extension: x, status: s } if x == extension && *s == status)
    });
}
