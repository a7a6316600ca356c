//! What the comparison benchmarks share: the plugins and events, and the
//! three hosts plugboard is measured against, each doing the work the
//! auto-tag example does for one `task-created` event:
//! - [`bare`]: the same component on bare wasmtime, through
//!   `wasmtime::component::bindgen!` with host functions that do nothing
//!   but return;
//! - [`native`]: the same rule as a Rust function over the host's task;
//! - [`extism`]: the same rule as an Extism plugin that gets the task as
//!   JSON and calls a host function with the change.
//!
//! The benches are in `benches/compare.rs`; `cargo bench --manifest-path
//! bench/Cargo.toml` runs them.

pub mod bare;
pub mod extism_host;
pub mod native;
pub mod plugins;
