//! Where an incoming call rings: the user's call strategy, business hours and do-not-disturb,
//! as the routing the PBX follows.
//!
//! # Design
//! The routing is carried out by the PBX, as FreePBX's Follow Me is: the app writes it to the
//! PBX's database (family `switchboard/<extension>`, through the manager interface the
//! administrator gives for the call-center tiles) and the dialplan (`pbx/asterisk/
//! extensions.conf`, `[user-call]`) reads it at each call. That is the only place where all of
//! it can hold:
//! - the mobile must ring while the app is closed, and a SIP phone cannot make a second
//!   device ring before it has rung itself (a 302 only moves the call after we are tried);
//! - "mobile only" and do-not-disturb mean the line's other devices (a desk phone registered on
//!   the same extension) must stay silent, which only the PBX that forks to them can do;
//! - "both at once" from the app would need a local bridge, holding two media streams on the
//!   user's machine (and its network) for the length of every call;
//! - business hours are read in the user's time zone at each call, so the switch at the
//!   boundary needs neither the app nor a restart.
//!
//! What the app does as a phone by itself: with "desk" meaning the desk phone, an incoming
//! call is shown without ringing here (the desk phone rings); do-not-disturb also answers
//! calls that still reach the app (from a PBX without the routing) with 486 Busy Here, so the
//! PBX takes them to voicemail with the busy greeting.
//!
//! Without manager access the PBX keeps its default (the line rings 20 s, then voicemail), and
//! Settings says so in one line.

use chrono::{Datelike, Timelike};

use crate::settings::{AfterHours, BusinessHours, CallStrategyMode, SettingsForm, WEEKDAYS};

/// The database family that holds one user's routing.
pub fn family(extension: &str) -> String {
    format!("switchboard/{extension}")
}

/// The keys the dialplan reads under [`family`], with their values: every key each time, so
/// that what the PBX holds never mixes an old choice with a new one.
pub fn entries(settings: &SettingsForm, do_not_disturb: bool) -> Vec<(String, String)> {
    let strategy = &settings.call_strategy;
    let mobile = mobile_number(&strategy.mobile_number);
    let hours = &settings.business_hours;
    let mut out = vec![
        (
            "dnd".to_string(),
            if do_not_disturb { "1" } else { "0" }.to_string(),
        ),
        (
            "open".to_string(),
            legs(strategy.mode, strategy.ring_seconds, mobile.is_some()),
        ),
        (
            "closed".to_string(),
            after_hours(hours, mobile.is_some()).to_string(),
        ),
        ("mobile".to_string(), mobile.unwrap_or_default()),
        (
            "hours".to_string(),
            if hours.enabled { "on" } else { "off" }.to_string(),
        ),
        ("tz".to_string(), settings.time_zone.clone()),
    ];
    for (day, name) in hours.days.iter().zip(WEEKDAYS) {
        let key = format!("hours/{}", name[..3].to_lowercase());
        let value = if day.open && day.close_minute > day.open_minute {
            format!(
                "{}-{}",
                clock(day.open_minute),
                // Asterisk's ranges include their last minute.
                clock(day.close_minute.saturating_sub(1))
            )
        } else {
            "closed".to_string()
        };
        out.push((key, value));
    }
    out
}

/// The legs of the call strategy, `where/seconds` joined by commas. Without a mobile number a
/// leg to it would fail at once, so the desk alone rings (for the strategies that have one)
/// and "mobile only" goes to voicemail.
pub fn legs(mode: CallStrategyMode, ring_seconds: u32, has_mobile: bool) -> String {
    let s = ring_seconds.clamp(5, 120);
    match (mode, has_mobile) {
        (CallStrategyMode::DeskThenMobile, true) => format!("desk/{s},mobile/{s}"),
        (CallStrategyMode::MobileThenDesk, true) => format!("mobile/{s},desk/{s}"),
        (CallStrategyMode::MobileOnly, true) => format!("mobile/{s}"),
        (CallStrategyMode::Simultaneous, true) => format!("both/{s}"),
        (CallStrategyMode::MobileOnly, false) => String::new(),
        _ => format!("desk/{s}"),
    }
}

/// What the PBX does outside business hours: "" is voicemail at once, "busy" answers 486.
fn after_hours(hours: &BusinessHours, has_mobile: bool) -> String {
    match hours.after_hours {
        AfterHours::Voicemail => String::new(),
        AfterHours::Busy => "busy".to_string(),
        AfterHours::Mobile if has_mobile => {
            format!("mobile/{}", hours.after_hours_ring_seconds.clamp(5, 120))
        }
        AfterHours::Mobile => String::new(),
    }
}

/// The mobile number as the PBX dials it: digits, with a leading `+` kept. A SIP address is
/// not a mobile number: the dialplan dials numbers.
fn mobile_number(input: &str) -> Option<String> {
    crate::dial_string::normalize(input).filter(|n| {
        n.trim_start_matches('+')
            .chars()
            .all(|c| c.is_ascii_digit())
    })
}

fn clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Whether `now` is inside business hours in the user's time zone: what Settings shows beside
/// the hours, computed as the dialplan computes it.
pub fn open_at(hours: &BusinessHours, time_zone: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
    if !hours.enabled {
        return true;
    }
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let local = now.with_timezone(&tz);
    let day = hours.days[local.weekday().num_days_from_monday() as usize];
    let minute = (local.hour() * 60 + local.minute()) as u16;
    day.open && day.open_minute <= minute && minute < day.close_minute
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::DayHours;
    use chrono::TimeZone;

    fn value<'a>(entries: &'a [(String, String)], key: &str) -> &'a str {
        &entries.iter().find(|(k, _)| k == key).unwrap().1
    }

    #[test]
    fn each_strategy_becomes_its_legs_in_order() {
        use CallStrategyMode::*;
        assert_eq!(legs(DeskThenMobile, 20, true), "desk/20,mobile/20");
        assert_eq!(legs(MobileThenDesk, 15, true), "mobile/15,desk/15");
        assert_eq!(legs(DeskOnly, 20, true), "desk/20");
        assert_eq!(legs(MobileOnly, 30, true), "mobile/30");
        assert_eq!(legs(Simultaneous, 25, true), "both/25");
        // No mobile number: only the desk can ring.
        assert_eq!(legs(DeskThenMobile, 20, false), "desk/20");
        assert_eq!(legs(Simultaneous, 20, false), "desk/20");
        assert_eq!(legs(MobileOnly, 20, false), "");
        // A ring too short to reach a phone, or long enough to never reach voicemail.
        assert_eq!(legs(DeskOnly, 0, true), "desk/5");
        assert_eq!(legs(DeskOnly, 900, true), "desk/120");
    }

    #[test]
    fn a_mobile_that_is_not_a_number_is_left_out() {
        let mut s = SettingsForm::default();
        s.call_strategy.mode = CallStrategyMode::MobileThenDesk;
        s.call_strategy.mobile_number = "me@mobile.example".into();
        let e = entries(&s, false);
        assert_eq!(value(&e, "mobile"), "");
        assert_eq!(value(&e, "open"), "desk/20");
    }

    #[test]
    fn every_key_is_written_with_the_hours_in_the_dialplans_form() {
        let mut s = SettingsForm::default();
        s.call_strategy.mobile_number = "+44 7700 900-123".into();
        s.business_hours.enabled = true;
        s.business_hours.after_hours = AfterHours::Mobile;
        s.business_hours.days[0] = DayHours {
            open: true,
            open_minute: 8 * 60 + 30,
            close_minute: 24 * 60,
        };
        s.time_zone = "Europe/Paris".into();
        let e = entries(&s, true);
        assert_eq!(value(&e, "dnd"), "1");
        assert_eq!(value(&e, "mobile"), "+447700900123");
        assert_eq!(value(&e, "open"), "desk/20,mobile/20");
        assert_eq!(value(&e, "closed"), "mobile/15");
        assert_eq!(value(&e, "hours"), "on");
        assert_eq!(value(&e, "tz"), "Europe/Paris");
        assert_eq!(value(&e, "hours/mon"), "08:30-23:59");
        assert_eq!(value(&e, "hours/tue"), "09:00-16:59");
        assert_eq!(value(&e, "hours/sat"), "closed");
        assert_eq!(e.len(), 13);
    }

    #[test]
    fn after_hours_choices() {
        let mut s = SettingsForm::default();
        s.business_hours.after_hours = AfterHours::Busy;
        assert_eq!(value(&entries(&s, false), "closed"), "busy");
        s.business_hours.after_hours = AfterHours::Voicemail;
        assert_eq!(value(&entries(&s, false), "closed"), "");
        // Forward to a mobile that is not given: voicemail.
        s.business_hours.after_hours = AfterHours::Mobile;
        assert_eq!(value(&entries(&s, false), "closed"), "");
        assert_eq!(value(&entries(&s, false), "dnd"), "0");
    }

    #[test]
    fn open_hours_are_read_in_the_users_time_zone() {
        let mut hours = BusinessHours::default();
        // Monday 2026-12-07, 08:30 UTC is 09:30 in Paris: open there, closed in London.
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 7, 8, 30, 0).unwrap();
        assert!(open_at(&hours, "Europe/London", now), "off means open");
        hours.enabled = true;
        assert!(open_at(&hours, "Europe/Paris", now));
        assert!(!open_at(&hours, "Europe/London", now));
        // Saturday is closed by default.
        let saturday = chrono::Utc
            .with_ymd_and_hms(2026, 12, 12, 12, 0, 0)
            .unwrap();
        assert!(!open_at(&hours, "Europe/Paris", saturday));
        // Closing time itself is closed.
        let five = chrono::Utc.with_ymd_and_hms(2026, 12, 7, 16, 0, 0).unwrap();
        assert!(!open_at(&hours, "Europe/Paris", five));
    }
}
