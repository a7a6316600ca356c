//! Dates as scripts write them (`YYYY-MM-DD`, UTC) and as the output shows
//! task timestamps and moments such as a quarantine's (milliseconds since the
//! Unix epoch).

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use plugboard_contract::task_store::Timestamp;

/// Parses `YYYY-MM-DD` into midnight UTC of that day.
pub fn parse(text: &str) -> Result<Timestamp, String> {
    let bad = || format!("due date {text:?}: expected a date like \"2025-07-01\"");
    // chrono accepts unpadded fields; scripts must write the full form.
    let shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape {
        return Err(bad());
    }
    let date =
        NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("due date {text:?}: there is no such day"))?;
    Ok(date.and_time(NaiveTime::MIN).and_utc().timestamp_millis())
}

/// The moment in UTC; a timestamp beyond chrono's range (some 262,000
/// years) shows as the nearest one it can hold.
fn utc(timestamp: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(timestamp).unwrap_or(if timestamp < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// `YYYY-MM-DD`, with ` HH:MM UTC` when the time is not midnight.
pub fn format(timestamp: Timestamp) -> String {
    let time = utc(timestamp);
    if timestamp.rem_euclid(86_400_000) < 60_000 {
        time.format("%Y-%m-%d").to_string()
    } else {
        time.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, for a moment rather than a due date.
pub fn format_time(timestamp: Timestamp) -> String {
    utc(timestamp).format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse("1970-01-01"), Ok(0));
        assert_eq!(parse("2025-07-01"), Ok(1_751_328_000_000));
        for text in ["2000-02-29", "1969-12-31", "2024-12-31", "2100-03-01"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
        assert_eq!(format(1_751_328_000_000 + 90 * 60_000), "2025-07-01 01:30 UTC");
    }

    #[test]
    fn moments_show_seconds_in_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_700_000_000_000), "2023-11-14 22:13:20");
        assert_eq!(format_time(1_751_328_000_000 + 3_599_999), "2025-07-01 00:59:59");
        assert_eq!(format_time(-1000), "1969-12-31 23:59:59");
        // A moment beyond the calendar's range shows as its end, never a panic.
        assert!(format_time(i64::MAX).starts_with('+'), "{}", format_time(i64::MAX));
        assert!(!format(i64::MIN).is_empty());
    }

    #[test]
    fn impossible_or_malformed_dates_are_refused() {
        for text in [
            "2023-02-29",
            "2025-13-01",
            "2025-00-10",
            "2025-7-1",
            "July 1",
            "2025-07-01-02",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
