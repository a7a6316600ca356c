//! `plugboard list`: every plugin of a plugins folder, or every plugin the
//! config grants something or the data folder quarantines, with what it is
//! granted and whether it is enabled.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use plugboard_host::{Grants, GrantsFile, Policy, Quarantine, QuarantineRecord};
use plugboard_manifest::Manifest;

use crate::{describe, grant, plugins_folder};

/// The arguments of `plugboard list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// A folder of plugin folders to list; without it, the plugins the
    /// config grants something and the quarantined ones are listed.
    #[arg(long, value_name = "DIR")]
    plugins: Option<PathBuf>,
}

/// A column's value when there is no manifest to read it from.
const UNKNOWN: &str = "-";

/// One line of the listing.
struct Row {
    id: String,
    version: String,
    world: String,
    grants: String,
    status: String,
}

/// Lists the plugins; fails when the grants, the quarantine or a manifest
/// cannot be read.
pub fn list(args: &ListArgs, config_dir: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let grants = GrantsFile::open(config_dir)?;
    let quarantine = Quarantine::open(data_dir)?;
    let mut rows = Vec::new();
    let mut shown = BTreeSet::new();
    let mut unreadable = 0;
    match &args.plugins {
        Some(dir) => {
            println!("Plugins in {}:", dir.display());
            for folder in plugins_folder::plugin_folders(dir)? {
                match Manifest::from_dir(&folder) {
                    Ok(manifest) => {
                        let id = manifest.plugin.id.as_str().to_string();
                        rows.push(Row {
                            version: manifest.plugin.version.to_string(),
                            world: manifest.plugin.api.to_string(),
                            grants: grants_summary(&grants.grants_for(&id), Some(&manifest)),
                            status: status(quarantine.get(&id)),
                            id: id.clone(),
                        });
                        shown.insert(id);
                    }
                    Err(error) => {
                        eprintln!("error: skipping {}: {error}", folder.display());
                        unreadable += 1;
                    }
                }
            }
        }
        None => {
            println!(
                "Plugins with grants in {} or in quarantine (add --plugins DIR to list a plugins folder):",
                grants.path().display()
            );
            for id in granted_ids(&grants)? {
                rows.push(Row {
                    version: UNKNOWN.into(),
                    world: UNKNOWN.into(),
                    grants: grants_summary(&grants.grants_for(&id), None),
                    status: status(quarantine.get(&id)),
                    id: id.clone(),
                });
                shown.insert(id);
            }
        }
    }
    let mut elsewhere = Vec::new();
    for record in quarantine.list().filter(|r| !shown.contains(&r.plugin)) {
        elsewhere.push(Row {
            id: record.plugin.clone(),
            version: record.version.clone(),
            world: UNKNOWN.into(),
            grants: grants_summary(&grants.grants_for(&record.plugin), None),
            status: status(Some(record)),
        });
    }
    if rows.is_empty() && elsewhere.is_empty() {
        println!("  (none)");
    }
    print_rows(&rows, &elsewhere, args.plugins.as_deref());
    if unreadable > 0 {
        eprintln!("error: {unreadable} plugin manifest(s) could not be read (see above)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_rows(rows: &[Row], elsewhere: &[Row], dir: Option<&Path>) {
    let all = || rows.iter().chain(elsewhere);
    // A column nobody knows (no plugins folder, so no manifests) is left out.
    let width = |field: fn(&Row) -> &str| {
        let known = all().any(|r| field(r) != UNKNOWN);
        known.then(|| all().map(|r| field(r).len()).max().unwrap_or(0))
    };
    let columns = [width(|r| &r.id), width(|r| &r.version), width(|r| &r.world)];
    let print = |row: &Row| {
        let mut line = String::from(" ");
        for (value, width) in [&row.id, &row.version, &row.world].into_iter().zip(columns) {
            if let Some(width) = width {
                line.push_str(&format!(" {value:<width$} "));
            }
        }
        println!("{line} {}  {}", row.grants, row.status);
    };
    rows.iter().for_each(print);
    if !elsewhere.is_empty() {
        match dir {
            Some(dir) => println!("Quarantined, not in {}:", dir.display()),
            None => println!("Quarantined, with no grants of their own:"),
        }
        elsewhere.iter().for_each(print);
    }
}

/// `granted: ...`, and with the manifest known, what it requests but was
/// not granted.
fn grants_summary(grants: &Grants, manifest: Option<&Manifest>) -> String {
    let mut summary = format!("granted: {}", grant::joined(&grants.list()));
    if let Some(manifest) = manifest {
        let missing = grant::not_granted(manifest, &Policy::new(manifest, grants));
        if !missing.is_empty() {
            summary.push_str(&format!(" (not granted: {})", missing.join(", ")));
        }
    }
    summary
}

/// `enabled`, or `QUARANTINED since ... for kind: reason`.
fn status(record: Option<&QuarantineRecord>) -> String {
    match record {
        None => "enabled".to_string(),
        Some(record) => format!("QUARANTINED {}", describe::quarantined_since(record)),
    }
}

/// The ids of the plugins with a table of their own in the grants file.
// `GrantsFile` does not list its plugins, so their table names are read here.
fn granted_ids(grants: &GrantsFile) -> anyhow::Result<Vec<String>> {
    let text = match std::fs::read_to_string(grants.path()) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", grants.path().display())),
    };
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", grants.path().display()))?;
    Ok(match table.get("plugins").and_then(toml::Value::as_table) {
        Some(plugins) => plugins.keys().cloned().collect(),
        None => Vec::new(),
    })
}
