//! Byte sizes as a manifest writes them: an integer number of bytes, or a string with
//! a unit: B, KiB, MiB, GiB (1024-based) or KB, MB, GB (1000-based).

use std::fmt;
use std::ops::RangeInclusive;

use serde::de::{self, Deserializer, Visitor};

use crate::error::InvalidValue;

/// One kibibyte.
pub const KIB: u64 = 1024;
/// One mebibyte.
pub const MIB: u64 = 1024 * KIB;
/// One gibibyte.
pub const GIB: u64 = 1024 * MIB;

const FORM: &str = "an integer number of bytes or a string with a unit (B, KiB, MiB, GiB, KB, MB, GB), e.g. \"64MiB\"";

const UNITS: [(&str, u64); 7] = [
    ("B", 1),
    ("KiB", KIB),
    ("MiB", MIB),
    ("GiB", GIB),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
];

/// Parses "64MiB"-style text.
pub fn parse(text: &str) -> Result<u64, InvalidValue> {
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    if number.is_empty() {
        return Err(InvalidValue::new(format!(
            "\"{text}\" is not a byte size; expected {FORM}"
        )));
    }
    let Some(&(_, unit_bytes)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        let problem = if unit.is_empty() {
            "has no unit (write an integer, not a string, for a number of bytes)".to_owned()
        } else {
            format!("has an unknown unit \"{unit}\"")
        };
        return Err(InvalidValue::new(format!(
            "byte size \"{text}\" {problem}; expected {FORM}"
        )));
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(unit_bytes))
        .ok_or_else(|| InvalidValue::new(format!("byte size \"{text}\" is too large")))
}

/// Shows a size in the largest 1024-based unit that writes it exactly ("64KiB", "1500B").
pub fn format(bytes: u64) -> String {
    [("GiB", GIB), ("MiB", MIB), ("KiB", KIB)]
        .iter()
        .find(|(_, unit_bytes)| bytes != 0 && bytes.is_multiple_of(*unit_bytes))
        .map_or_else(
            || format!("{bytes}B"),
            |(unit, unit_bytes)| format!("{}{unit}", bytes / unit_bytes),
        )
}

/// Reads a byte size (integer or string) that must lie in `range`.
pub(crate) fn deserialize_in<'de, D>(deserializer: D, range: RangeInclusive<u64>) -> Result<u64, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_any(ByteSizeVisitor { range })
}

struct ByteSizeVisitor {
    range: RangeInclusive<u64>,
}

impl ByteSizeVisitor {
    fn check<E: de::Error>(&self, bytes: u64, written: &str) -> Result<u64, E> {
        if self.range.contains(&bytes) {
            return Ok(bytes);
        }
        let (relation, bound) = if bytes < *self.range.start() {
            ("less than the minimum", self.range.start())
        } else {
            ("more than the maximum", self.range.end())
        };
        Err(E::custom(format!(
            "byte size {written} is {relation} of {}",
            format(*bound)
        )))
    }
}

impl Visitor<'_> for ByteSizeVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a byte size from {} to {}, written as {FORM}",
            format(*self.range.start()),
            format(*self.range.end())
        )
    }

    fn visit_u64<E: de::Error>(self, bytes: u64) -> Result<u64, E> {
        self.check(bytes, &bytes.to_string())
    }

    fn visit_i64<E: de::Error>(self, bytes: i64) -> Result<u64, E> {
        match u64::try_from(bytes) {
            Ok(bytes) => self.visit_u64(bytes),
            Err(_) => Err(E::custom(format!("byte size {bytes} is negative; expected {FORM}"))),
        }
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<u64, E> {
        let bytes = parse(text).map_err(E::custom)?;
        self.check(bytes, &format!("\"{text}\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_binary_and_decimal_units() {
        assert_eq!(parse("10B"), Ok(10));
        assert_eq!(parse("64KiB"), Ok(64 * 1024));
        assert_eq!(parse("1MiB"), Ok(1 << 20));
        assert_eq!(parse("4GiB"), Ok(4 << 30));
        assert_eq!(parse("5KB"), Ok(5_000));
        assert_eq!(parse("5MB"), Ok(5_000_000));
        assert_eq!(parse("1GB"), Ok(1_000_000_000));
    }

    #[test]
    fn refuses_other_forms_with_the_expected_form() {
        for (text, problem) in [
            ("MiB", "is not a byte size"),
            ("1024", "has no unit"),
            ("1mib", "unknown unit \"mib\""),
            ("1 MiB", "unknown unit \" MiB\""),
            ("1.5MiB", "unknown unit \".5MiB\""),
            ("1TiB", "unknown unit \"TiB\""),
        ] {
            let message = parse(text).expect_err(text).to_string();
            assert!(message.contains(problem), "{text}: {message}");
            assert!(message.contains("KiB, MiB, GiB"), "{text}: {message}");
        }
        assert!(
            parse("99999999999GiB")
                .expect_err("overflows")
                .to_string()
                .contains("too large")
        );
    }

    #[test]
    fn formats_in_the_largest_exact_unit() {
        assert_eq!(format(0), "0B");
        assert_eq!(format(1500), "1500B");
        assert_eq!(format(64 * KIB), "64KiB");
        assert_eq!(format(GIB), "1GiB");
    }
}
