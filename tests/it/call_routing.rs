//! Incoming calls follow the user's call strategy, business hours and do-not-disturb, observed
//! from outside: a caller bot calls the user's line, on which the app and a desk-phone bot are
//! registered, and a mobile bot sits on the demo PBX's mobile network (0770090 + extension).
//! Each bot notes when it starts and stops ringing; the caller reaches voicemail when nobody
//! answers. The app writes the routing to the PBX through the manager account; the PBX's clock
//! is never changed: business hours are set around the present moment instead.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;
use client::settings::{AfterHours, CallStrategyMode, DayHours, SettingsForm};
use client::{Command, Commands, Event};

/// Long enough to tell one leg from the next on a loaded machine, short enough for the suite.
const RING: u32 = 5;
/// How far a measured ring may be from the chosen one: SIP set-up, a loaded 2-core machine.
const SLACK: f64 = 2.0;

/// When something rang and stopped ringing, in seconds after the caller dialled.
#[derive(Clone, Copy, Debug)]
struct Ring {
    start: f64,
    end: Option<f64>,
}

/// Each call that rang: when it started, when it stopped (answered or gone), which call.
type Rings<Id> = Arc<Mutex<Vec<(Instant, Option<Instant>, Id)>>>;

/// The rings that started after `dialled`, in seconds from it.
fn since<Id>(rings: &Rings<Id>, dialled: Instant) -> Vec<Ring> {
    let secs = |t: Instant| t.saturating_duration_since(dialled).as_secs_f64();
    rings
        .lock()
        .unwrap()
        .iter()
        .filter(|(start, _, _)| *start >= dialled)
        .map(|(start, end, _)| Ring {
            start: secs(*start),
            end: end.map(secs),
        })
        .collect()
}

/// A phone that never answers unless told, noting when each call rang.
struct Ringer {
    sip: sipcore::Handle,
    rings: Rings<sipcore::CallId>,
    _lease: Option<Lease>,
}

impl Ringer {
    fn register(extension: &str, password: &str, lease: Option<Lease>) -> Self {
        let (sip, events) = sipcore::start(
            sipcore::EngineConfig::default(),
            Arc::new(sipcore::RecordingMedia::default()),
            None,
        )
        .unwrap();
        sip.send(sipcore::Command::Register(sipcore::Account::new(
            extension,
            password,
            &harness::pbx::sip_addr().to_string(),
        )));
        harness::wait::next_matching(&events, TIMEOUT, "the bot registered", |e| {
            matches!(
                e,
                sipcore::Event::Registration(sipcore::RegistrationState::Registered { .. })
            )
            .then_some(())
        });
        let rings = Arc::new(Mutex::new(Vec::new()));
        let noted = rings.clone();
        std::thread::spawn(move || note_rings(events, noted));
        Self {
            sip,
            rings,
            _lease: lease,
        }
    }

    fn rings(&self, dialled: Instant) -> Vec<Ring> {
        since(&self.rings, dialled)
    }

    /// Answers the call ringing here, once it rings.
    fn answer_when_ringing(&self) -> sipcore::CallId {
        let call = harness::wait_for("the bot to ring", TIMEOUT, || {
            self.rings
                .lock()
                .unwrap()
                .iter()
                .find(|(_, end, _)| end.is_none())
                .map(|(_, _, c)| *c)
        })
        .unwrap();
        self.sip.send(sipcore::Command::Answer(call));
        call
    }
}

fn note_rings(events: Receiver<sipcore::Event>, rings: Rings<sipcore::CallId>) {
    for e in events {
        let now = Instant::now();
        let mut rings = rings.lock().unwrap();
        match e {
            sipcore::Event::IncomingCall { call, .. } => rings.push((now, None, call)),
            sipcore::Event::CallState {
                call,
                state: sipcore::CallState::Ended(_) | sipcore::CallState::Active { .. },
            } => {
                for r in rings.iter_mut().filter(|r| r.2 == call && r.1.is_none()) {
                    r.1 = Some(now);
                }
            }
            _ => {}
        }
    }
}

impl Drop for Ringer {
    fn drop(&mut self) {
        self.sip.shutdown_and_wait(Duration::from_secs(3));
    }
}

/// The app signed in on a demo-office line with the manager account, its desk phone beside it
/// and a mobile bot; the PBX's routing for the line is removed when the test ends.
struct Office {
    commands: Commands,
    app: Rings<client::model::CallId>,
    settings: SettingsForm,
    me: Lease,
    desk: Option<Ringer>,
    mobile: Ringer,
    mobile_number: String,
    _data: tempfile::TempDir,
}

impl Office {
    fn start(line: &str) -> Self {
        let pbx = pbx();
        let me = pbx.lease(line).unwrap();
        let mobile_lease = pbx.lease_any().unwrap();
        let mobile_number = format!("0770090{}", mobile_lease.user.extension);
        let mobile = Ringer::register(
            &mobile_lease.user.extension.clone(),
            &mobile_lease.user.password.clone(),
            Some(mobile_lease),
        );
        let desk = Ringer::register(&me.user.extension, &me.user.password, None);
        let data = tempfile::tempdir().unwrap();
        let (commands, events) = start_backend(test_config(data.path()));
        commands.send(Command::SignIn(client::command::SignIn {
            identity: me.user.extension.clone(),
            password: me.user.password.clone(),
            server: harness::pbx::sip_addr().to_string(),
            transport: Default::default(),
            trusted_ca: None,
            remember: false,
        }));
        let settings = harness::wait::next_matching(&events, TIMEOUT, "signed in", |e| match e {
            Event::SignedIn { settings, .. } => Some((**settings).clone()),
            _ => None,
        });
        let app = Rings::default();
        let noted = app.clone();
        std::thread::spawn(move || note_app_rings(events, noted));
        Self {
            commands,
            app,
            settings,
            me,
            desk: Some(desk),
            mobile,
            mobile_number,
            _data: data,
        }
    }

    fn desk(&self) -> &Ringer {
        self.desk.as_ref().expect("the desk phone")
    }

    /// Saves settings with the manager account and waits until the PBX holds them.
    fn choose(&mut self, change: impl FnOnce(&mut SettingsForm)) {
        let mut form = self.settings.clone();
        form.call_center = client::settings::CallCenter {
            manager_address: harness::pbx::ami_addr().to_string(),
            manager_user: harness::pbx::DESK_AMI_USER.into(),
            manager_secret: harness::pbx::DESK_AMI_SECRET.into(),
            queues: String::new(),
        };
        form.call_strategy.ring_seconds = RING;
        form.call_strategy.mobile_number = self.mobile_number.clone();
        change(&mut form);
        self.commands
            .send(Command::SaveSettings(Box::new(form.clone())));
        self.wait_for_routing(&form);
        self.settings = form;
    }

    fn wait_for_routing(&self, form: &SettingsForm) {
        let want = client::routing::entries(form, form.do_not_disturb);
        let family = client::routing::family(&self.me.user.extension);
        let mut ami = Ami::login_default().unwrap();
        harness::wait_for("the PBX to hold the routing", TIMEOUT, || {
            want.iter()
                .all(|(key, value)| db_get(&mut ami, &family, key).as_deref() == Some(value))
                .then_some(())
        })
        .unwrap();
    }

    /// The app's own incoming calls, with when each rang and stopped.
    fn app_rang(&self, dialled: Instant) -> Vec<Ring> {
        since(&self.app, dialled)
    }
}

/// Notes when the app shows an incoming call and when it goes, as the window would see it.
fn note_app_rings(events: Receiver<Event>, rings: Rings<client::model::CallId>) {
    for e in events {
        let now = Instant::now();
        let mut rings = rings.lock().unwrap();
        match e {
            Event::Call(c)
                if c.direction == client::model::Direction::Incoming
                    && !rings.iter().any(|r| r.2 == c.id) =>
            {
                rings.push((now, None, c.id))
            }
            Event::CallRemoved(id) => {
                for r in rings.iter_mut().filter(|r| r.2 == id && r.1.is_none()) {
                    r.1 = Some(now);
                }
            }
            _ => {}
        }
    }
}

impl Drop for Office {
    fn drop(&mut self) {
        self.commands.send(Command::Quit);
        forget_routing(&self.me.user.extension);
    }
}

fn db_get(ami: &mut Ami, family: &str, key: &str) -> Option<String> {
    let replies = ami
        .action("DBGet", &[("Family", family), ("Key", key)])
        .ok()?;
    replies
        .iter()
        .find(|m| m.get("Event") == Some("DBGetResponse"))
        .and_then(|m| m.get("Val"))
        .map(str::to_string)
        .or_else(|| {
            // Asterisk leaves out `Val` for an empty value.
            replies
                .iter()
                .any(|m| m.get("Event") == Some("DBGetResponse"))
                .then(String::new)
        })
}

/// Back to the dialplan's default for the line, for whichever test leases it next.
fn forget_routing(extension: &str) {
    let mut ami = Ami::login_default().unwrap();
    let _ = ami.action(
        "DBDelTree",
        &[("Family", &client::routing::family(extension))],
    );
}

/// A caller bot on the test pool.
fn caller() -> crate::support::phone::Phone {
    crate::support::phone::Phone::register(pbx().lease_any().unwrap())
}

/// Calls `number` and waits until the call is answered (by a bot or voicemail): when.
fn call_until_answered(caller: &mut crate::support::phone::Phone, number: &str) -> (Instant, f64) {
    let dialled = Instant::now();
    let call = caller.call(number);
    let answered = dialled.elapsed().as_secs_f64();
    caller.hang_up(call);
    (dialled, answered)
}

fn near(measured: f64, expected: f64) -> bool {
    (measured - expected).abs() <= SLACK
}

#[track_caller]
fn assert_rang(what: &str, rings: &[Ring], from: f64, to: f64) {
    assert_eq!(rings.len(), 1, "{what} rang {rings:?}");
    let r = rings[0];
    let end = r.end.unwrap_or(f64::INFINITY);
    assert!(
        near(r.start, from) && near(end, to),
        "{what} rang from {:.1} s to {end:.1} s; expected {from} s to {to} s",
        r.start
    );
}

/// Business hours on, with today open from an hour ago to an hour from now (`open`), or today
/// closed; in a time zone far from UTC, so that the zone is what decides.
fn hours_around_now(form: &mut SettingsForm, open: bool) {
    use chrono::{Datelike, Timelike};
    let zone = "Pacific/Auckland";
    let tz: chrono_tz::Tz = zone.parse().unwrap();
    let now = chrono::Utc::now().with_timezone(&tz);
    let minute = (now.hour() * 60 + now.minute()) as u16;
    form.time_zone = zone.into();
    form.business_hours.enabled = true;
    let today = now.weekday().num_days_from_monday() as usize;
    form.business_hours.days[today] = DayHours {
        open,
        open_minute: minute.saturating_sub(60),
        close_minute: (minute + 60).min(24 * 60),
    };
}

#[test]
fn in_business_hours_desk_then_mobile_rings_each_for_the_ring_time_then_voicemail() {
    let mut office = Office::start("1004");
    office.choose(|f| {
        f.call_strategy.mode = CallStrategyMode::DeskThenMobile;
        hours_around_now(f, true);
    });
    assert!(client::routing::open_at(
        &office.settings.business_hours,
        &office.settings.time_zone,
        chrono::Utc::now()
    ));
    let (dialled, voicemail) = call_until_answered(&mut caller(), &office.me.user.extension);
    let r = RING as f64;
    println!(
        "desk then mobile: desk {:?}, app {:?}, mobile {:?}, voicemail at {voicemail:.1} s",
        office.desk().rings(dialled),
        office.app_rang(dialled),
        office.mobile.rings(dialled)
    );
    assert_rang("the desk phone", &office.desk().rings(dialled), 0.0, r);
    assert_rang("the app", &office.app_rang(dialled), 0.0, r);
    assert_rang("the mobile", &office.mobile.rings(dialled), r, 2.0 * r);
    assert!(
        near(voicemail, 2.0 * r),
        "voicemail answered at {voicemail:.1} s"
    );
}

#[test]
fn mobile_then_desk_and_the_desk_answers() {
    let mut office = Office::start("1005");
    office.choose(|f| f.call_strategy.mode = CallStrategyMode::MobileThenDesk);
    let mut caller = caller();
    let dialled = Instant::now();
    let call = caller.dial(&office.me.user.extension);
    // The desk phone rings second, and answers: the caller talks to it, not to voicemail.
    let answered = office.desk().answer_when_ringing();
    caller.wait_active(call);
    let r = RING as f64;
    assert_rang("the mobile", &office.mobile.rings(dialled), 0.0, r);
    let desk = office.desk().rings(dialled);
    assert!(
        near(desk[0].start, r),
        "the desk rang at {:.1} s",
        desk[0].start
    );
    let app = office.app_rang(dialled);
    assert!(
        app.iter().all(|a| a.start > r - SLACK),
        "the app rang before the mobile's turn ended: {app:?}"
    );
    caller.hang_up(call);
    let _ = answered;
}

#[test]
fn desk_only_never_rings_the_mobile() {
    let mut office = Office::start("1007");
    office.choose(|f| f.call_strategy.mode = CallStrategyMode::DeskOnly);
    let (dialled, voicemail) = call_until_answered(&mut caller(), &office.me.user.extension);
    let r = RING as f64;
    assert_rang("the desk phone", &office.desk().rings(dialled), 0.0, r);
    assert_rang("the app", &office.app_rang(dialled), 0.0, r);
    assert!(office.mobile.rings(dialled).is_empty(), "the mobile rang");
    assert!(near(voicemail, r), "voicemail answered at {voicemail:.1} s");
}

#[test]
fn mobile_only_leaves_the_desk_and_the_app_silent() {
    let mut office = Office::start("1010");
    office.choose(|f| f.call_strategy.mode = CallStrategyMode::MobileOnly);
    let (dialled, voicemail) = call_until_answered(&mut caller(), &office.me.user.extension);
    let r = RING as f64;
    assert_rang("the mobile", &office.mobile.rings(dialled), 0.0, r);
    assert!(office.desk().rings(dialled).is_empty(), "the desk rang");
    assert!(office.app_rang(dialled).is_empty(), "the app rang");
    assert!(near(voicemail, r), "voicemail answered at {voicemail:.1} s");
}

#[test]
fn both_at_once_and_the_mobile_answers() {
    let mut office = Office::start("1004");
    office.choose(|f| f.call_strategy.mode = CallStrategyMode::Simultaneous);
    let mut caller = caller();
    let dialled = Instant::now();
    let call = caller.dial(&office.me.user.extension);
    std::thread::sleep(Duration::from_secs(2));
    office.mobile.answer_when_ringing();
    caller.wait_active(call);
    let desk = office.desk().rings(dialled);
    let mobile = office.mobile.rings(dialled);
    assert!(
        near(desk[0].start, 0.0) && near(mobile[0].start, 0.0),
        "{desk:?} {mobile:?}"
    );
    // The mobile's answer stops the desk phone ringing.
    harness::wait_for("the desk phone to stop", TIMEOUT, || {
        office.desk().rings(dialled)[0].end
    })
    .unwrap();
    caller.hang_up(call);
}

#[test]
fn after_hours_the_after_hours_choice_applies() {
    let mut office = Office::start("1005");
    office.choose(|f| {
        f.call_strategy.mode = CallStrategyMode::DeskThenMobile;
        hours_around_now(f, false);
        f.business_hours.after_hours = AfterHours::Mobile;
        f.business_hours.after_hours_ring_seconds = RING;
    });
    let (dialled, voicemail) = call_until_answered(&mut caller(), &office.me.user.extension);
    let r = RING as f64;
    assert_rang("the mobile", &office.mobile.rings(dialled), 0.0, r);
    assert!(
        office.desk().rings(dialled).is_empty(),
        "the desk rang after hours"
    );
    assert!(near(voicemail, r), "voicemail answered at {voicemail:.1} s");

    // Busy after hours: the caller is told busy and nothing rings.
    office.choose(|f| f.business_hours.after_hours = AfterHours::Busy);
    let mut caller = caller();
    let dialled = Instant::now();
    let call = caller.dial(&office.me.user.extension);
    let reason = caller.wait_ended(call);
    assert_eq!(reason, sipcore::EndReason::Busy);
    assert!(office.desk().rings(dialled).is_empty() && office.mobile.rings(dialled).is_empty());
}

#[test]
fn do_not_disturb_sends_callers_to_voicemail_at_once_and_the_app_answers_busy_by_itself() {
    let mut office = Office::start("1007");
    office.choose(|f| f.call_strategy.mode = CallStrategyMode::Simultaneous);
    office.commands.send(Command::SetDoNotDisturb(true));
    let mut dnd = office.settings.clone();
    dnd.do_not_disturb = true;
    office.wait_for_routing(&dnd);
    let (dialled, voicemail) = call_until_answered(&mut caller(), &office.me.user.extension);
    assert!(voicemail < SLACK, "voicemail answered at {voicemail:.1} s");
    assert!(office.desk().rings(dialled).is_empty() && office.mobile.rings(dialled).is_empty());
    assert!(office.app_rang(dialled).is_empty(), "the app rang");

    // Without the PBX's routing (another PBX, or the keys gone), a call that reaches the app
    // is answered busy by the app itself.
    forget_routing(&office.me.user.extension);
    // The desk phone goes too: its 20 s of ringing would hide the app's refusal.
    office.desk.take();
    let mut caller = caller();
    let dialled = Instant::now();
    let call = caller.dial(&office.me.user.extension);
    caller.wait_active(call); // voicemail, with the busy greeting
    assert!(
        dialled.elapsed().as_secs_f64() < 20.0 - SLACK,
        "the app did not refuse: the line rang its full 20 s"
    );
    assert!(office.app_rang(dialled).is_empty(), "the app rang");
    caller.hang_up(call);
}
