//! Durations as a manifest writes them: an integer and a unit, "500ms", "30s", "5m",
//! "1h", "1d". One spelling only, so every manifest reads the same.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};

use crate::error::InvalidValue;

const FORM: &str = "an integer and a unit (ms, s, m, h, d), e.g. \"500ms\", \"30s\", \"5m\"";

/// Units from largest to smallest, in milliseconds.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses "30s"-style text.
pub fn parse(text: &str) -> Result<Duration, InvalidValue> {
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    if number.is_empty() {
        return Err(InvalidValue::new(format!(
            "\"{text}\" is not a duration; expected {FORM}"
        )));
    }
    let Some(&(_, unit_millis)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        let problem = if unit.is_empty() {
            "has no unit".to_owned()
        } else {
            format!("has an unknown unit \"{unit}\"")
        };
        return Err(InvalidValue::new(format!(
            "duration \"{text}\" {problem}; expected {FORM}"
        )));
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(unit_millis))
        .map(Duration::from_millis)
        .ok_or_else(|| InvalidValue::new(format!("duration \"{text}\" is too large")))
}

/// Shows a duration in the largest unit that writes it exactly ("90s", "1h").
pub fn format(duration: Duration) -> String {
    let millis = duration.as_millis();
    UNITS
        .iter()
        .find(|(_, unit_millis)| millis != 0 && millis.is_multiple_of(u128::from(*unit_millis)))
        .map_or_else(
            || format!("{millis}ms"),
            |(unit, unit_millis)| format!("{}{unit}", millis / u128::from(*unit_millis)),
        )
}

/// Reads a duration string that must lie in `range`.
pub(crate) fn deserialize_in<'de, D>(deserializer: D, range: RangeInclusive<Duration>) -> Result<Duration, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_str(DurationVisitor { range })
}

struct DurationVisitor {
    range: RangeInclusive<Duration>,
}

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a duration string from \"{}\" to \"{}\", written as {FORM}",
            format(*self.range.start()),
            format(*self.range.end())
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        let duration = parse(text).map_err(E::custom)?;
        if self.range.contains(&duration) {
            return Ok(duration);
        }
        let (relation, bound) = if duration < *self.range.start() {
            ("shorter than the minimum", self.range.start())
        } else {
            ("longer than the maximum", self.range.end())
        };
        Err(E::custom(format!(
            "duration \"{text}\" is {relation} of {}",
            format(*bound)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("2d"), Ok(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_other_forms_with_the_expected_form() {
        for (text, problem) in [
            ("", "is not a duration"),
            ("s", "is not a duration"),
            ("1.5s", "unknown unit \".5s\""),
            ("10", "has no unit"),
            ("10 s", "unknown unit \" s\""),
            ("10sec", "unknown unit \"sec\""),
            ("-1s", "is not a duration"),
            ("99999999999999999999d", "is too large"),
            ("999999999999999999d", "is too large"),
        ] {
            let message = parse(text).expect_err(text).to_string();
            assert!(message.contains(problem), "{text}: {message}");
            if !problem.contains("too large") {
                assert!(message.contains("e.g. \"500ms\""), "{text}: {message}");
            }
        }
    }

    #[test]
    fn formats_in_the_largest_exact_unit() {
        assert_eq!(format(Duration::from_millis(1)), "1ms");
        assert_eq!(format(Duration::from_secs(60)), "1m");
        assert_eq!(format(Duration::from_secs(90)), "90s");
        assert_eq!(format(Duration::from_secs(30 * 86_400)), "30d");
        assert_eq!(format(Duration::ZERO), "0ms");
    }
}
