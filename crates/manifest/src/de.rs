//! How manifest values are read from TOML so that a bad value is reported at its own
//! line: checks run inside the visitor of the value, where the TOML deserializer still
//! knows the value's span (array items included).

use std::fmt;
use std::marker::PhantomData;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};

use crate::error::InvalidValue;

/// Reads a string and parses it with `T::from_str`; `expecting` completes
/// "invalid type: integer `3`, expected …".
pub(crate) fn parsed<'de, D, T>(deserializer: D, expecting: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = InvalidValue>,
{
    deserializer.deserialize_str(ParsedVisitor {
        expecting,
        parsed: PhantomData,
    })
}

struct ParsedVisitor<T> {
    expecting: &'static str,
    parsed: PhantomData<T>,
}

impl<T: FromStr<Err = InvalidValue>> Visitor<'_> for ParsedVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        text.parse().map_err(E::custom)
    }
}

/// Reads an integer that must lie in `range`.
pub(crate) fn integer_in<'de, D>(deserializer: D, range: RangeInclusive<u64>) -> Result<u64, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_u64(IntegerVisitor { range })
}

struct IntegerVisitor {
    range: RangeInclusive<u64>,
}

impl Visitor<'_> for IntegerVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (*self.range.start(), *self.range.end()) {
            (0, u64::MAX) => f.write_str("a non-negative integer"),
            (1, u64::MAX) => f.write_str("a positive integer"),
            (low, high) => write!(f, "an integer from {low} to {high}"),
        }
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
        if self.range.contains(&value) {
            Ok(value)
        } else {
            Err(E::custom(format!(
                "{value} is out of range; expected {}",
                Expecting(&self)
            )))
        }
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
        match u64::try_from(value) {
            Ok(value) => self.visit_u64(value),
            Err(_) => Err(E::custom(format!("{value} is negative; expected {}", Expecting(&self)))),
        }
    }
}

/// Shows a visitor's `expecting` text inside another message.
struct Expecting<'a, V>(&'a V);

impl<'de, V: Visitor<'de>> fmt::Display for Expecting<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
}

/// Refuses a list that names the same thing twice: a repeated entry is a copy-paste
/// slip, and for permissions it hides what was really meant.
pub(crate) fn refuse_duplicates<T, K>(items: &[T], key: impl Fn(&T) -> K) -> Result<(), String>
where
    K: PartialEq + fmt::Display,
{
    for (position, item) in items.iter().enumerate() {
        let name = key(item);
        if items[..position].iter().any(|earlier| key(earlier) == name) {
            return Err(format!(
                "\"{name}\" is listed more than once; remove the repeated entry"
            ));
        }
    }
    Ok(())
}

/// Reads a list and refuses an entry that appears twice.
pub(crate) fn unique_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: de::Deserialize<'de> + PartialEq + fmt::Display,
{
    let items = <Vec<T> as de::Deserialize>::deserialize(deserializer)?;
    refuse_duplicates(&items, |item| item.to_string()).map_err(de::Error::custom)?;
    Ok(items)
}
