//! The host side of each world version: `v2` implements the newest world
//! natively; `v1` adapts the older one onto it.

pub mod v1;
pub mod v2;
