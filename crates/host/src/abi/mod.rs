//! The host side of each world version: `v2` implements the newest world
//! natively; `v1` adapts the older one onto it; `convert` is the edge
//! between the newest world's bindings and the embedder's contract types.

pub mod convert;
pub(crate) mod native;
mod since_2_2;
pub mod v1;
pub mod v2;
pub(crate) mod v3_dev;
