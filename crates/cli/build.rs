//! Embeds the plugin templates (`templates/<lang>/` at the repository root)
//! into the binary, so that an installed `plugboard new` has them: writes
//! `templates.rs` into OUT_DIR, one `(language, [(path, bytes)])` entry per
//! folder, the files in path order. Build outputs of a template tried in
//! place (`target/`, `node_modules/`, `__pycache__/`, `*.wasm`) are left out.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

const SKIPPED_FOLDERS: &[&str] = &["target", "node_modules", "__pycache__"];

fn files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a folder entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if path.is_dir() {
            if !SKIPPED_FOLDERS.contains(&name.as_str()) {
                files(root, &path, out);
            }
        } else if !name.ends_with(".wasm") {
            let relative = path
                .strip_prefix(root)
                .expect("under the template")
                .to_string_lossy()
                .into_owned();
            out.push((relative, path));
        }
    }
}

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let templates = manifest_dir.join("../../templates");
    println!("cargo:rerun-if-changed={}", templates.display());
    let mut languages: Vec<PathBuf> = fs::read_dir(&templates)
        .unwrap_or_else(|e| panic!("reading {}: {e}", templates.display()))
        .map(|entry| entry.expect("a folder entry").path())
        .filter(|path| path.is_dir())
        .collect();
    languages.sort();
    let mut code =
        String::from("/// Every template: its language and its files.\npub const TEMPLATES: &[Template] = &[\n");
    for dir in &languages {
        let language = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let mut listed = Vec::new();
        files(dir, dir, &mut listed);
        let _ = writeln!(code, "    ({language:?}, &[");
        for (relative, path) in listed {
            let absolute = path.canonicalize().expect("the template file exists");
            let _ = writeln!(code, "        ({relative:?}, include_bytes!({absolute:?})),");
        }
        code.push_str("    ]),\n");
    }
    code.push_str("];\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("templates.rs");
    fs::write(&out, code).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
