//! The `[limits]` table: the per-call resource limits a plugin asks for. The sandbox
//! enforces them; here they are read and kept within what a host can safely grant.

use std::ops::RangeInclusive;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::byte_size::{GIB, KIB, MIB};
use crate::de::integer_in;

/// The `[limits]` table; a field left out (`None`) takes the host's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", expecting = "the [limits] table")]
pub struct Limits {
    /// Wall-clock time per call.
    #[serde(default, deserialize_with = "deadline")]
    pub deadline: Option<Duration>,
    /// Wasm fuel per call.
    #[serde(default, deserialize_with = "fuel")]
    pub fuel: Option<u64>,
    /// Linear memory cap in bytes.
    #[serde(default, deserialize_with = "memory")]
    pub memory: Option<u64>,
    /// Table elements cap.
    #[serde(default, deserialize_with = "tables")]
    pub tables: Option<u32>,
    /// Wasm stack size in bytes.
    #[serde(default, deserialize_with = "stack")]
    pub stack: Option<u64>,
    /// Largest value passed to or returned from a call, in bytes.
    #[serde(default, deserialize_with = "max_value")]
    pub max_value: Option<u64>,
    /// Host calls per event.
    #[serde(default, deserialize_with = "host_calls")]
    pub host_calls: Option<u64>,
    /// Events emitted per event handled.
    #[serde(default, deserialize_with = "emits_per_event")]
    pub emits_per_event: Option<u32>,
}

impl Limits {
    /// Deadline: at least 1ms, the epoch tick's order of magnitude; at most 60s, since
    /// the app waits on the call.
    pub const DEADLINE: RangeInclusive<Duration> = Duration::from_millis(1)..=Duration::from_secs(60);
    /// Fuel: any positive amount; zero fuel could not run a single instruction.
    pub const FUEL: RangeInclusive<u64> = 1..=u64::MAX;
    /// Memory: at least one 64KiB wasm page; at most 4GiB, all a 32-bit memory can address.
    pub const MEMORY: RangeInclusive<u64> = 64 * KIB..=4 * GIB;
    /// Table elements: some, and at most a million, which no real plugin approaches.
    pub const TABLES: RangeInclusive<u64> = 1..=1_000_000;
    /// Stack: 16KiB is barely enough for a handler; over 16MiB hides runaway recursion.
    pub const STACK: RangeInclusive<u64> = 16 * KIB..=16 * MIB;
    /// Largest value: 1KiB holds a task; 256MiB bounds what the host copies per call.
    pub const MAX_VALUE: RangeInclusive<u64> = KIB..=256 * MIB;
    /// Host calls per event: some, and at most ten million.
    pub const HOST_CALLS: RangeInclusive<u64> = 1..=10_000_000;
    /// Emitted events per event: none is a valid limit; over 10,000 is an event storm.
    pub const EMITS_PER_EVENT: RangeInclusive<u64> = 0..=10_000;
}

fn deadline<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    crate::duration::deserialize_in(deserializer, Limits::DEADLINE).map(Some)
}

fn fuel<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    integer_in(deserializer, Limits::FUEL).map(Some)
}

fn memory<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    crate::byte_size::deserialize_in(deserializer, Limits::MEMORY).map(Some)
}

fn tables<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let count = integer_in(deserializer, Limits::TABLES)?;
    // Limits::TABLES ends far below u32::MAX, so the conversion cannot fail.
    Ok(u32::try_from(count).ok())
}

fn stack<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    crate::byte_size::deserialize_in(deserializer, Limits::STACK).map(Some)
}

fn max_value<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    crate::byte_size::deserialize_in(deserializer, Limits::MAX_VALUE).map(Some)
}

fn host_calls<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    integer_in(deserializer, Limits::HOST_CALLS).map(Some)
}

fn emits_per_event<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let count = integer_in(deserializer, Limits::EMITS_PER_EVENT)?;
    // Limits::EMITS_PER_EVENT ends far below u32::MAX, so the conversion cannot fail.
    Ok(u32::try_from(count).ok())
}
