//! Times as the user reads them, in the time zone chosen in settings: "14:05" today,
//! "Yesterday 09:12", "Mon 09:12" this week, "3 Nov 2026" before.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use chrono_tz::Tz;

/// The zone from its IANA name; UTC when the name is unknown (an old or hand-edited setting).
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

/// Every IANA zone name, for the settings dropdown.
pub fn zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
}

/// `at_ms` relative to `now_ms`, both Unix milliseconds, in `tz`.
pub fn short(at_ms: i64, now_ms: i64, tz: Tz) -> String {
    let (Some(at), Some(now)) = (
        DateTime::<Utc>::from_timestamp_millis(at_ms),
        DateTime::<Utc>::from_timestamp_millis(now_ms),
    ) else {
        return "unknown time".to_string();
    };
    let at = tz.from_utc_datetime(&at.naive_utc());
    let now = tz.from_utc_datetime(&now.naive_utc());
    let days = (now.date_naive() - at.date_naive()).num_days();
    match days {
        0 => at.format("%H:%M").to_string(),
        1 => at.format("Yesterday %H:%M").to_string(),
        2..=6 => at.format("%a %H:%M").to_string(),
        _ if at.year() == now.year() => at.format("%-d %b").to_string(),
        _ => at.format("%-d %b %Y").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_595_200_000; // 2026-11-25 08:26:40 UTC

    #[test]
    fn formats_relative_to_today_in_the_users_zone() {
        let utc = zone("UTC");
        assert_eq!(short(NOW - 60_000, NOW, utc), "08:25");
        assert_eq!(short(NOW - 86_400_000, NOW, utc), "Yesterday 08:26");
        assert_eq!(short(NOW - 3 * 86_400_000, NOW, utc), "Sun 08:26");
        assert_eq!(short(NOW - 40 * 86_400_000, NOW, utc), "16 Oct");
        assert_eq!(short(NOW - 400 * 86_400_000, NOW, utc), "21 Oct 2025");
    }

    #[test]
    fn the_same_moment_reads_differently_in_another_zone() {
        // 08:26 UTC is 17:26 in Tokyo and 03:26 in New York.
        assert_eq!(short(NOW, NOW, zone("Asia/Tokyo")), "17:26");
        assert_eq!(short(NOW, NOW, zone("America/New_York")), "03:26");
    }

    #[test]
    fn an_unknown_zone_falls_back_to_utc() {
        assert_eq!(zone("Mars/Olympus"), chrono_tz::UTC);
        assert!(zone_names().any(|n| n == "Europe/Paris"));
    }
}
