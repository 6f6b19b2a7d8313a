//! Session timers (RFC 4028): a call is kept alive by a refresh (re-INVITE or UPDATE) every
//! half interval, so that a side that vanished without a BYE does not leave the other with a
//! call that never ends.
//!
//! This module holds the negotiation (which headers to send, what a request or response we got
//! means) as pure functions, and [`Timers`], which owns one timer per call and says when it is
//! due; the engine does the SIP. Guarantees: a refresher refreshes at half the interval
//! (§10); the other side, when no refresh comes, is told at `SE - min(32, SE/3)` seconds
//! (§10), so that it can send a BYE before the session expires; nobody is asked to accept an
//! interval below our Min-SE (§9, answered with 422).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rsipstack::sip::{Header, Request, Response};
use tokio_util::sync::CancellationToken;

use crate::event::CallId;

/// The smallest Min-SE RFC 4028 §4 allows, in seconds.
pub const MIN_SE_FLOOR: u32 = 90;

/// What we ask for and accept.
#[derive(Clone, Debug)]
pub struct SessionTimerConfig {
    /// The interval our INVITEs ask for (Session-Expires), in seconds. RFC 4028 §4 recommends
    /// 1800.
    pub expires: u32,
    /// The shortest interval we accept (Min-SE), in seconds; requests asking for less are
    /// answered 422.
    pub min_se: u32,
    /// Send refreshes when we are the refresher. Off only in tests, to show that the other
    /// side then ends the call.
    pub send_refreshes: bool,
}

impl Default for SessionTimerConfig {
    fn default() -> Self {
        Self {
            expires: 1800,
            min_se: MIN_SE_FLOOR,
            send_refreshes: true,
        }
    }
}

/// Which side keeps the session alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresher {
    Us,
    Them,
}

/// A running session timer's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// Seconds.
    pub interval: u32,
    pub refresher: Refresher,
}

impl Session {
    /// When the refresher refreshes (§10: half the interval).
    pub fn refresh_after(&self) -> Duration {
        Duration::from_secs(u64::from(self.interval)) / 2
    }

    /// When the other side gives up waiting for a refresh (§10: the interval less a third of
    /// it, at most 32 s), leaving time for a BYE before the session expires.
    pub fn give_up_after(&self) -> Duration {
        let margin = (self.interval / 3).min(32);
        Duration::from_secs(u64::from(self.interval - margin))
    }
}

/// `Session-Expires: 90;refresher=uac` (compact form `x`), parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SessionExpires {
    delta: u32,
    /// `Some(true)` for `uac`, `Some(false)` for `uas`.
    uac_refreshes: Option<bool>,
}

fn session_expires(value: &str) -> Option<SessionExpires> {
    let mut parts = value.split(';');
    let delta = parts.next()?.trim().parse().ok()?;
    let mut uac_refreshes = None;
    for p in parts {
        if let Some((k, v)) = p.split_once('=')
            && k.trim().eq_ignore_ascii_case("refresher")
        {
            match v.trim().to_ascii_lowercase().as_str() {
                "uac" => uac_refreshes = Some(true),
                "uas" => uac_refreshes = Some(false),
                _ => {}
            }
        }
    }
    Some(SessionExpires {
        delta,
        uac_refreshes,
    })
}

/// The first number of a `Min-SE` value (it may carry parameters).
fn min_se(value: &str) -> Option<u32> {
    value.split(';').next()?.trim().parse().ok()
}

fn has_option_tag(headers: &rsipstack::sip::Headers, name: &str, tag: &str) -> bool {
    headers
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
        .any(|h| {
            h.value()
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(tag))
        })
}

fn header(req_or_resp: &rsipstack::sip::Headers, name: &str) -> Option<String> {
    req_or_resp
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .map(|h| h.value().to_string())
}

/// The headers for a request of ours that starts or refreshes a session (INVITE, re-INVITE,
/// UPDATE): `Supported: timer`, the interval (the current one when refreshing, else ours) and
/// our Min-SE. As refresher we name ourselves (`refresher=uac`, §7.4); otherwise we leave the
/// choice to the other side.
pub fn request_headers(config: &SessionTimerConfig, current: Option<Session>) -> Vec<Header> {
    let (interval, param) = match current {
        Some(s) if s.refresher == Refresher::Us => (s.interval, ";refresher=uac"),
        Some(s) => (s.interval, ""),
        None => (config.expires.max(config.min_se), ""),
    };
    vec![
        Header::Other("Supported".into(), "timer".into()),
        Header::Other("Session-Expires".into(), format!("{interval}{param}")),
        Header::Other("Min-SE".into(), config.min_se.to_string()),
    ]
}

/// The session a 2xx to our INVITE, re-INVITE or UPDATE sets up; `None` when the response
/// carries no `Session-Expires`, which means no timer (§7.2).
pub fn from_response(resp: &Response) -> Option<Session> {
    let se = session_expires(&header(&resp.headers, "Session-Expires")?)?;
    Some(Session {
        interval: se.delta,
        // We sent the request, so we are its UAC. A 2xx must name the refresher; were it
        // missing, refreshing ourselves is the side that cannot go wrong.
        refresher: match se.uac_refreshes {
            Some(false) => Refresher::Them,
            _ => Refresher::Us,
        },
    })
}

/// The Min-SE a 422 asks for: what to retry with.
pub fn min_se_of(resp: &Response) -> Option<u32> {
    min_se(&header(&resp.headers, "Min-SE")?)
}

/// What to do with an INVITE, re-INVITE or UPDATE the other side sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Answer 422 with this `Min-SE` (§9): the interval asked for is below what we accept.
    TooSmall { min_se: u32 },
    /// Go on; `Some` when the request asks for a session timer, with its terms.
    Accept(Option<Session>),
}

/// Judges a request of the other side's (§9). The requester's choice of refresher is kept;
/// when it made none and supports timers it refreshes itself (it asked for the timer), else we do.
pub fn for_request(req: &Request, config: &SessionTimerConfig) -> Verdict {
    let floor = config.min_se.max(
        header(&req.headers, "Min-SE")
            .and_then(|v| min_se(&v))
            .unwrap_or(0),
    );
    let Some(se) = header(&req.headers, "Session-Expires").and_then(|v| session_expires(&v)) else {
        // A requester that supports timers but asked for none gets ours, and refreshes them
        // itself (§9: the UAS may add Session-Expires to its 2xx, naming the refresher).
        if has_option_tag(&req.headers, "Supported", "timer") {
            return Verdict::Accept(Some(Session {
                interval: config.expires.max(floor),
                refresher: Refresher::Them,
            }));
        }
        return Verdict::Accept(None);
    };
    if se.delta < config.min_se {
        return Verdict::TooSmall { min_se: floor };
    }
    let uac_refreshes = se
        .uac_refreshes
        .unwrap_or_else(|| has_option_tag(&req.headers, "Supported", "timer"));
    Verdict::Accept(Some(Session {
        interval: se.delta,
        refresher: if uac_refreshes {
            Refresher::Them
        } else {
            Refresher::Us
        },
    }))
}

/// The headers of our 2xx to a request that asked for `session` (§9): the interval and who
/// refreshes, from the request's point of view, and `Require: timer` when the requester is to
/// refresh, so that it knows we took part.
pub fn response_headers(session: Session) -> Vec<Header> {
    let who = match session.refresher {
        Refresher::Them => "uac",
        Refresher::Us => "uas",
    };
    let mut headers = vec![Header::Other(
        "Session-Expires".into(),
        format!("{};refresher={who}", session.interval),
    )];
    if session.refresher == Refresher::Them {
        headers.push(Header::Other("Require".into(), "timer".into()));
    }
    headers
}

/// A 422's headers: our floor.
pub fn too_small_headers(min_se: u32) -> Vec<Header> {
    vec![Header::Other("Min-SE".into(), min_se.to_string())]
}

/// What a call's timer says when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// We are the refresher: refresh now.
    Refresh,
    /// They are, and no refresh came in time: end the call.
    Expired,
}

/// A timer that went off, as its task reports it.
#[derive(Clone, Copy, Debug)]
pub struct Fired {
    pub call: CallId,
    pub due: Due,
    /// Which start of the call's timer this was: a refresh that arrived while the report was
    /// on its way has started a newer one, and the old report must not end the call.
    generation: u64,
}

type Notify = Arc<dyn Fn(Fired) + Send + Sync>;

struct Running {
    session: Session,
    cancel: CancellationToken,
    generation: u64,
}

/// One timer per call. Starting a call's timer again (after each refresh) replaces the old one.
pub struct Timers {
    running: HashMap<CallId, Running>,
    /// Negotiated on an incoming INVITE, started when we answer it.
    pending: HashMap<CallId, Session>,
    notify: Notify,
    generations: u64,
}

impl Timers {
    /// `notify` is called from a timer task when a call's timer is due.
    pub fn new(notify: impl Fn(Fired) + Send + Sync + 'static) -> Self {
        Self {
            running: HashMap::new(),
            pending: HashMap::new(),
            notify: Arc::new(notify),
            generations: 0,
        }
    }

    /// Runs `session` for `call` from now, replacing any timer it had.
    pub fn start(&mut self, call: CallId, session: Session) {
        self.stop(call);
        let cancel = CancellationToken::new();
        let (after, due) = match session.refresher {
            Refresher::Us => (session.refresh_after(), Due::Refresh),
            Refresher::Them => (session.give_up_after(), Due::Expired),
        };
        self.generations += 1;
        let fired = Fired {
            call,
            due,
            generation: self.generations,
        };
        let notify = self.notify.clone();
        let token = cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = tokio::time::sleep(after) => notify(fired),
            }
        });
        tracing::debug!(%call, interval = session.interval, refresher = ?session.refresher, "session timer");
        self.running.insert(
            call,
            Running {
                session,
                cancel,
                generation: fired.generation,
            },
        );
    }

    /// The terms of the timer that fired, when it is still the call's current one.
    pub fn current(&self, fired: &Fired) -> Option<Session> {
        self.running
            .get(&fired.call)
            .filter(|r| r.generation == fired.generation)
            .map(|r| r.session)
    }

    /// Starts `session`, or stops the timer when there is none (a refresh without
    /// `Session-Expires` turns the timer off, §7.2 and §9).
    pub fn restart(&mut self, call: CallId, session: Option<Session>) {
        match session {
            Some(s) => self.start(call, s),
            None => self.stop(call),
        }
    }

    pub fn stop(&mut self, call: CallId) {
        self.pending.remove(&call);
        if let Some(r) = self.running.remove(&call) {
            r.cancel.cancel();
        }
    }

    /// The terms of `call`'s running timer.
    pub fn session(&self, call: CallId) -> Option<Session> {
        self.running.get(&call).map(|r| r.session)
    }

    /// Keeps the terms an incoming INVITE asked for until we answer it.
    pub fn negotiated(&mut self, call: CallId, session: Session) {
        self.pending.insert(call, session);
    }

    /// We answer the incoming INVITE of `call`: its timer starts, and these headers go in the 2xx.
    pub fn answering(&mut self, call: CallId) -> Vec<Header> {
        match self.pending.remove(&call) {
            Some(s) => {
                self.start(call, s);
                response_headers(s)
            }
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &str) -> Request {
        let text = format!(
            "INVITE sip:2001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n\
             From: <sip:1@127.0.0.1>;tag=a\r\nTo: <sip:2001@127.0.0.1>\r\nCall-ID: c1\r\n\
             CSeq: 1 INVITE\r\nMax-Forwards: 70\r\n{headers}Content-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).unwrap()
    }

    fn response(headers: &str) -> Response {
        let text = format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n\
             From: <sip:1@127.0.0.1>;tag=a\r\nTo: <sip:2001@127.0.0.1>;tag=b\r\nCall-ID: c1\r\n\
             CSeq: 1 INVITE\r\n{headers}Content-Length: 0\r\n\r\n"
        );
        Response::try_from(text.as_str()).unwrap()
    }

    #[test]
    fn the_refresher_refreshes_at_half_and_the_other_side_gives_up_before_expiry() {
        let s = Session {
            interval: 90,
            refresher: Refresher::Us,
        };
        assert_eq!(s.refresh_after(), Duration::from_secs(45));
        assert_eq!(s.give_up_after(), Duration::from_secs(60));
        let long = Session {
            interval: 1800,
            refresher: Refresher::Them,
        };
        assert_eq!(long.give_up_after(), Duration::from_secs(1768));
    }

    #[test]
    fn a_2xx_names_the_refresher_or_turns_the_timer_off() {
        let r = response("Session-Expires: 90;refresher=uac\r\nRequire: timer\r\n");
        assert_eq!(
            from_response(&r),
            Some(Session {
                interval: 90,
                refresher: Refresher::Us
            })
        );
        let r = response("x: 120 ; refresher = UAS\r\n");
        assert_eq!(
            from_response(&r),
            Some(Session {
                interval: 120,
                refresher: Refresher::Them
            })
        );
        assert_eq!(from_response(&response("")), None);
        assert_eq!(
            min_se_of(&response("Min-SE: 120\r\n")),
            Some(120),
            "a 422's floor"
        );
    }

    #[test]
    fn a_request_below_our_floor_gets_422_with_the_higher_min_se() {
        let config = SessionTimerConfig::default();
        assert_eq!(
            for_request(&request("Session-Expires: 60\r\n"), &config),
            Verdict::TooSmall { min_se: 90 }
        );
        assert_eq!(
            for_request(&request("Session-Expires: 60\r\nMin-SE: 120\r\n"), &config),
            Verdict::TooSmall { min_se: 120 }
        );
    }

    #[test]
    fn a_request_keeps_its_choice_of_refresher() {
        let config = SessionTimerConfig::default();
        let them = Session {
            interval: 90,
            refresher: Refresher::Them,
        };
        let us = Session {
            interval: 90,
            refresher: Refresher::Us,
        };
        assert_eq!(
            for_request(&request("Session-Expires: 90;refresher=uac\r\n"), &config),
            Verdict::Accept(Some(them))
        );
        assert_eq!(
            for_request(&request("Session-Expires: 90;refresher=uas\r\n"), &config),
            Verdict::Accept(Some(us))
        );
        // No choice made: a requester that supports timers refreshes, one that does not, we do.
        assert_eq!(
            for_request(
                &request("Supported: replaces, timer\r\nSession-Expires: 90\r\n"),
                &config
            ),
            Verdict::Accept(Some(them))
        );
        assert_eq!(
            for_request(&request("Session-Expires: 90\r\n"), &config),
            Verdict::Accept(Some(us))
        );
        // Supported but not asked for: our interval, refreshed by them.
        assert_eq!(
            for_request(&request("Supported: timer\r\n"), &config),
            Verdict::Accept(Some(Session {
                interval: config.expires,
                refresher: Refresher::Them
            }))
        );
        assert_eq!(
            for_request(&request("Supported: timer\r\nMin-SE: 3600\r\n"), &config),
            Verdict::Accept(Some(Session {
                interval: 3600,
                refresher: Refresher::Them
            }))
        );
        assert_eq!(
            for_request(&request("Supported: replaces\r\n"), &config),
            Verdict::Accept(None)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_timer_fires_once_and_a_restart_makes_the_old_report_stale() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut timers = Timers::new(move |f| {
            let _ = tx.send(f);
        });
        let call = CallId(1);
        let ours = Session {
            interval: 90,
            refresher: Refresher::Us,
        };
        timers.start(call, ours);
        let first = rx.recv().await.unwrap();
        assert_eq!(first.due, Due::Refresh);
        assert_eq!(timers.current(&first), Some(ours));
        let theirs = Session {
            interval: 90,
            refresher: Refresher::Them,
        };
        timers.start(call, theirs);
        assert_eq!(timers.current(&first), None, "replaced by the restart");
        let second = rx.recv().await.unwrap();
        assert_eq!(second.due, Due::Expired);
        timers.stop(call);
        assert_eq!(timers.current(&second), None);
    }

    #[test]
    fn our_headers_say_who_refreshes() {
        let config = SessionTimerConfig::default();
        let text = |h: Vec<Header>| {
            h.iter()
                .map(|h| format!("{}: {}", h.name(), h.value()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            text(request_headers(&config, None)),
            ["Supported: timer", "Session-Expires: 1800", "Min-SE: 90"]
        );
        let ours = Session {
            interval: 90,
            refresher: Refresher::Us,
        };
        assert_eq!(
            text(request_headers(&config, Some(ours)))[1],
            "Session-Expires: 90;refresher=uac"
        );
        assert_eq!(
            text(response_headers(Session {
                interval: 90,
                refresher: Refresher::Them
            })),
            ["Session-Expires: 90;refresher=uac", "Require: timer"]
        );
        assert_eq!(
            text(response_headers(ours)),
            ["Session-Expires: 90;refresher=uas"]
        );
    }
}
