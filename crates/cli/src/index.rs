//! `plugboard index`: make a folder of plugin archives a catalogue that
//! `plugboard install ID@REQ --from DIR` installs from, by writing its
//! `index.json` with `plugboard-registry`.

use std::path::Path;
use std::process::ExitCode;

use plugboard_registry::{INDEX_FILE_NAME, write_index};

/// Indexes the folder, prints the entries, and reports every archive left
/// out on stderr (exiting non-zero; the index of the others is written).
pub fn index(dir: &Path) -> anyhow::Result<ExitCode> {
    let report = write_index(dir)?;
    let entries = &report.index.plugins;
    println!(
        "Wrote {} with {} archive(s):",
        dir.join(INDEX_FILE_NAME).display(),
        entries.len()
    );
    let width = |field: fn(&plugboard_registry::IndexEntry) -> String| {
        entries.iter().map(|e| field(e).len()).max().unwrap_or(0)
    };
    let (id_width, version_width) = (width(|e| e.id.to_string()), width(|e| e.version.to_string()));
    for entry in entries {
        let signer = match &entry.signer {
            Some(key_id) => format!("signed by key {key_id}"),
            None => "unsigned".to_string(),
        };
        println!(
            "  {:<id_width$}  {:<version_width$}  {}  {signer}  {}",
            entry.id.as_str(),
            entry.version.to_string(),
            entry.api,
            entry.file
        );
    }
    if entries.is_empty() {
        println!("  (none)");
    }
    for problem in &report.problems {
        eprintln!("error: {problem}");
    }
    if !report.problems.is_empty() {
        eprintln!(
            "error: {} archive(s) left out of the index (see above)",
            report.problems.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
