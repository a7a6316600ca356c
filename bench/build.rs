//! Builds the Extism plugin of the comparison (`guests/extism-auto-tag`)
//! for `wasm32-unknown-unknown`, in release mode, into
//! `target/bench-guests`, and names the module for the benches.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    let bench = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let guest = bench.join("guests/extism-auto-tag");
    let target_dir = bench.join("../target/bench-guests");
    println!("cargo:rerun-if-changed={}", guest.join("src").display());
    println!("cargo:rerun-if-changed={}", guest.join("Cargo.toml").display());

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--locked", "--target", TARGET])
        .arg("--manifest-path")
        .arg(guest.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's settings are for the host, not for the guest.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("running cargo to build the Extism plugin");
    if !status.success() {
        panic!(
            "building the Extism plugin failed ({status}); is the {TARGET} target installed? \
             run `rustup target add {TARGET}`"
        );
    }
    let wasm = target_dir.join(TARGET).join("release/extism_auto_tag.wasm");
    println!("cargo:rustc-env=EXTISM_AUTO_TAG_WASM={}", wasm.display());
}
