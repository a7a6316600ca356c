//! `plugboard-codegen`: writes the C and C++ guest bindings of every world
//! in `wit/` into `sdk-c/generated/<world>/`, with wit-bindgen's C and C++
//! generators; `--check` writes nothing and fails, naming each file, when
//! what is committed differs from what `wit/` produces.
//!
//! Every folder of `wit/` holding a `.wit` file is one world release
//! (`task-events@2.1.0`), so a new release folder is picked up without a
//! change here. For each it writes:
//! - `plugin.wit`: the world's WIT, as in `wit/`, so the SDK carries what its
//!   bindings come from;
//! - `plugin.h`, `plugin.c`: the C bindings;
//! - `plugin_cpp.h`, `plugin.cpp`, `wit.h`: the C++ bindings (with one
//!   repair of the generator's output, see
//!   `keep_nested_option_strings_alive`);
//! - `plugin_component_type.o`: the world's type information as a wasm
//!   object file, which both bindings link in, so the core module carries
//!   the exact world it was built against and `plugboard componentize` needs
//!   no other WIT.
//!
//! It never writes outside `sdk-c/generated/`, and it deletes there only the
//! files it would not write itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Parser;
use wit_bindgen_core::{Files, WorldGenerator};
use wit_parser::Resolve;

/// Where the bindings go, relative to the repository root.
const GENERATED: &str = "sdk-c/generated";

/// The world every release folder defines.
const WORLD: &str = "plugin";

#[derive(Debug, Parser)]
#[command(about = "Writes sdk-c/generated/ from wit/ (or, with --check, checks it)")]
struct Args {
    /// Write nothing; exit non-zero naming each stale, missing or extra file.
    #[arg(long)]
    check: bool,
    /// The repository root (holding wit/ and sdk-c/); by default the one
    /// this crate sits in.
    #[arg(long)]
    root: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let root = args
        .root
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let result = if args.check { check(&root) } else { write(&root) };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Every file `sdk-c/generated/` should hold, by its path relative to it.
fn expected(root: &Path) -> anyhow::Result<BTreeMap<PathBuf, Vec<u8>>> {
    let wit = root.join("wit");
    let mut worlds = Vec::new();
    for entry in std::fs::read_dir(&wit).with_context(|| format!("cannot read {}", wit.display()))? {
        let path = entry.with_context(|| format!("cannot read {}", wit.display()))?.path();
        if path.is_dir() && has_wit_file(&path)? {
            worlds.push(path);
        }
    }
    if worlds.is_empty() {
        bail!("{} holds no world folder (a folder with a .wit file)", wit.display());
    }
    worlds.sort();
    let mut files = BTreeMap::new();
    for folder in worlds {
        let name = folder
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: the folder name is not UTF-8", folder.display()))?
            .to_string();
        for (file, bytes) in world_files(&folder).with_context(|| format!("{}", folder.display()))? {
            files.insert(Path::new(&name).join(file), bytes);
        }
    }
    Ok(files)
}

fn has_wit_file(dir: &Path) -> anyhow::Result<bool> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry.with_context(|| format!("cannot read {}", dir.display()))?.path();
        if path.extension().is_some_and(|e| e == "wit") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The bindings of the world in `folder`, by file name.
fn world_files(folder: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(folder)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    sources.retain(|p| p.extension().is_some_and(|e| e == "wit"));
    sources.sort();
    if sources.len() != 1 {
        bail!(
            "a world folder holds exactly one .wit file (it holds {})",
            sources.len()
        );
    }
    out.push(("plugin.wit".to_string(), std::fs::read(&sources[0])?));

    let mut c = wit_bindgen_c::Opts::default().build();
    out.extend(generate(folder, c.as_mut()).context("the C generator failed")?);
    let mut cpp = wit_bindgen_cpp::Opts::default().build(None);
    for (name, bytes) in generate(folder, cpp.as_mut()).context("the C++ generator failed")? {
        let bytes = if name.ends_with(".cpp") {
            keep_nested_option_strings_alive(&bytes)
        } else {
            bytes
        };
        // Both generators write the same component-type object.
        match out.iter().find(|(existing, _)| *existing == name) {
            Some((_, existing)) if *existing == bytes => {}
            Some(_) => bail!("the C and C++ generators both write {name}, differently"),
            None => out.push((name, bytes)),
        }
    }
    Ok(out)
}

fn generate(folder: &Path, generator: &mut dyn WorldGenerator) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve.push_dir(folder)?;
    let world = resolve.select_world(&[package], Some(WORLD))?;
    let mut files = Files::default();
    generator.generate(&mut resolve, world, &mut files)?;
    Ok(files
        .iter()
        .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
        .collect())
}

/// The one repair made to the C++ generator's output. wit-bindgen-cpp (0.60
/// and 0.61) lowers an `option<option<string>>` argument of a host call
/// (`task-patch.project`) by moving the inner option into a local that is
/// destroyed, freeing the string, before the host reads it; the host then
/// reads freed memory (an `invalid utf-8` trap, or another text). Binding
/// the local by reference keeps the string in the caller's argument until
/// the call returns. Lines of any other shape are left as they are.
fn keep_nested_option_strings_alive(source: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(source) else {
        return source.to_vec();
    };
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let repaired = trimmed
            .strip_prefix("std::optional<wit::string> payload")
            .and_then(|rest| rest.split_once(" = (std::move("))
            .and_then(|(number, rest)| {
                let value = rest.strip_suffix(")).value();\n")?;
                number
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| format!("{indent}std::optional<wit::string> &payload{number} = ({value}).value();\n"))
            });
        out.push_str(repaired.as_deref().unwrap_or(line));
    }
    out.into_bytes()
}

/// Every file now in `sdk-c/generated/`, by its path relative to it.
fn on_disk(root: &Path) -> anyhow::Result<BTreeMap<PathBuf, Vec<u8>>> {
    let base = root.join(GENERATED);
    let mut files = BTreeMap::new();
    if !base.exists() {
        return Ok(files);
    }
    let mut pending = vec![base.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
            let path = entry.with_context(|| format!("cannot read {}", dir.display()))?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
                let relative = path
                    .strip_prefix(&base)
                    .context("a file found under the folder is inside it")?
                    .to_path_buf();
                files.insert(relative, bytes);
            }
        }
    }
    Ok(files)
}

/// Writes every expected file and deletes the others.
fn write(root: &Path) -> anyhow::Result<ExitCode> {
    let expected = expected(root)?;
    let base = root.join(GENERATED);
    for relative in on_disk(root)?.keys() {
        if !expected.contains_key(relative) {
            let path = base.join(relative);
            std::fs::remove_file(&path).with_context(|| format!("cannot delete {}", path.display()))?;
            println!("deleted {GENERATED}/{}", relative.display());
        }
    }
    for (relative, bytes) in &expected {
        let path = base.join(relative);
        if std::fs::read(&path).ok().as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {GENERATED}/{}", relative.display());
    }
    remove_empty_folders(&base)?;
    Ok(ExitCode::SUCCESS)
}

fn remove_empty_folders(base: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(base).with_context(|| format!("cannot read {}", base.display()))? {
        let path = entry?.path();
        if path.is_dir() && std::fs::read_dir(&path)?.next().is_none() {
            std::fs::remove_dir(&path).with_context(|| format!("cannot delete {}", path.display()))?;
        }
    }
    Ok(())
}

/// Names each file that differs from what `wit/` produces.
fn check(root: &Path) -> anyhow::Result<ExitCode> {
    let expected = expected(root)?;
    let actual = on_disk(root)?;
    let mut problems = Vec::new();
    for (relative, bytes) in &expected {
        match actual.get(relative) {
            None => problems.push(format!("{GENERATED}/{}: missing", relative.display())),
            Some(found) if found != bytes => problems.push(format!(
                "{GENERATED}/{}: stale (differs from what wit/ produces)",
                relative.display()
            )),
            Some(_) => {}
        }
    }
    for relative in actual.keys() {
        if !expected.contains_key(relative) {
            problems.push(format!(
                "{GENERATED}/{}: extra (wit/ produces no such file)",
                relative.display()
            ));
        }
    }
    if problems.is_empty() {
        println!("{GENERATED} is current ({} files)", expected.len());
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    eprintln!("run `cargo run -p plugboard-codegen` to regenerate the C and C++ bindings from wit/");
    Ok(ExitCode::FAILURE)
}

#[cfg(test)]
mod tests {
    use super::keep_nested_option_strings_alive;

    #[test]
    fn the_inner_option_of_a_nested_option_argument_is_borrowed_not_moved_out() {
        let generated = "  if (((patch).project).has_value()) {\n    std::optional<wit::string> payload11 = (std::move((patch).project)).value();\n    if ((payload11).has_value()) {\n";
        let repaired = String::from_utf8(keep_nested_option_strings_alive(generated.as_bytes())).unwrap();
        assert_eq!(
            repaired,
            "  if (((patch).project).has_value()) {\n    std::optional<wit::string> &payload11 = ((patch).project).value();\n    if ((payload11).has_value()) {\n"
        );
    }

    #[test]
    fn other_lines_are_left_as_they_are() {
        let generated = "    std::string_view payload3 = (std::move((patch).title)).value().get_view();\n    types::Status payload9 = (std::move((patch).status)).value();\n";
        assert_eq!(
            keep_nested_option_strings_alive(generated.as_bytes()),
            generated.as_bytes()
        );
    }
}
