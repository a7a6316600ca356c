//! Dates as scripts write them (`YYYY-MM-DD`, UTC) and as the output shows
//! task timestamps and moments such as a quarantine's (milliseconds since the
//! Unix epoch).

use plugboard_contract::task_store::Timestamp;

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day number since 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses `YYYY-MM-DD` into midnight UTC of that day.
pub fn parse(text: &str) -> Result<Timestamp, String> {
    let bad = || format!("due date {text:?}: expected a date like \"2025-07-01\"");
    let mut parts = text.split('-');
    let (Some(year), Some(month), Some(day), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(bad());
    }
    let number = |part: &str| part.parse::<i64>().map_err(|_| bad());
    let (year, month, day) = (number(year)?, number(month)?, number(day)?);
    let days = days_from_civil(year, month, day);
    if !(1..=12).contains(&month) || civil_from_days(days) != (year, month, day) {
        return Err(format!("due date {text:?}: there is no such day"));
    }
    Ok(days * MS_PER_DAY)
}

/// `YYYY-MM-DD`, with ` HH:MM UTC` when the time is not midnight.
pub fn format(timestamp: Timestamp) -> String {
    let (year, month, day) = civil_from_days(timestamp.div_euclid(MS_PER_DAY));
    let date = format!("{year:04}-{month:02}-{day:02}");
    match timestamp.rem_euclid(MS_PER_DAY) / 60_000 {
        0 => date,
        minutes => format!("{date} {:02}:{:02} UTC", minutes / 60, minutes % 60),
    }
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, for a moment rather than a due date.
pub fn format_time(timestamp: Timestamp) -> String {
    let (year, month, day) = civil_from_days(timestamp.div_euclid(MS_PER_DAY));
    let seconds = timestamp.rem_euclid(MS_PER_DAY) / 1000;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
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
