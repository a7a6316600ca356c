//! Compiles every guest crate of the guest workspace (`sdk-rust/`: the SDK,
//! the example plugins, `tests/fixtures/*`) for `wasm32-wasip2`, in release mode,
//! into `target/guests`, and writes a module naming each component.
//!
//! No `.wasm` is committed: fixtures are always built from their source.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let repo = manifest_dir
        .join("../..")
        .canonicalize()
        .expect("the repository root exists");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_dir = repo.join("target/guests");

    for dir in ["sdk-rust", "examples", "tests/fixtures", "wit"] {
        println!("cargo:rerun-if-changed={}", repo.join(dir).display());
    }

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&repo)
        .args(["build", "--release", "--workspace", "--target", TARGET])
        .arg("--manifest-path")
        .arg(repo.join("sdk-rust/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's settings are for the host, not for the guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("running cargo to build the guest plugins");
    if !status.success() {
        panic!(
            "building the guest plugins failed ({status}); is the {TARGET} target installed? \
             run `rustup target add {TARGET}`"
        );
    }

    let release = target_dir.join(TARGET).join("release");
    let mut components: Vec<(String, PathBuf)> = fs::read_dir(&release)
        .expect("the guest build wrote its release folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .map(|p| (p.file_stem().unwrap_or_default().to_string_lossy().into_owned(), p))
        .collect();
    components.sort();

    let mut code = String::new();
    for (stem, path) in &components {
        let name = stem.to_uppercase().replace('-', "_");
        let _ = writeln!(
            code,
            "/// `{stem}.wasm`, built from source.\npub const {name}: Component = Component {{ name: {stem:?}, path: {path:?}, bytes: include_bytes!({path:?}) }};"
        );
    }
    let _ = writeln!(code, "/// Every component built.\npub const ALL: &[Component] = &[");
    for (stem, _) in &components {
        let _ = writeln!(code, "    {},", stem.to_uppercase().replace('-', "_"));
    }
    let _ = writeln!(code, "];");
    fs::write(out_dir.join("components.rs"), code).expect("writing components.rs");
}
