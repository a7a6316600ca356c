//! `plugboard list`: every installed plugin (or every plugin of a plugins
//! folder), with its version, world, where it is installed, what it is
//! granted and whether it is enabled, disabled or quarantined; then the
//! plugins plugboard still keeps grants or a quarantine record for.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use plugboard_host::{CallLimits, Grants, Policy, QuarantineRecord, QuarantineStore as _};
use plugboard_manifest::Manifest;
use plugboard_registry::{Discovered, Discovery, Origin, PluginDirs, discover, resolve};
use plugboard_state::{GrantsFile, QuarantineFile};

use crate::{describe, grant, plugin_dirs, plugins_folder};
use plugboard::DisabledPlugins;

/// The arguments of `plugboard list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// A folder of plugin folders to list instead of the installed plugins.
    #[arg(long, value_name = "DIR")]
    plugins: Option<PathBuf>,
    /// Also load the plugins as `run` does, with what you granted, and show
    /// how each says it is (its `lifecycle.health`, task-events 2.2 and
    /// later); slower, as it starts every plugin.
    #[arg(long)]
    health: bool,
}

/// A column's value when there is no manifest to read it from.
const UNKNOWN: &str = "-";

/// One line of the listing.
struct Row {
    id: String,
    version: String,
    world: String,
    origin: String,
    grants: String,
    status: String,
}

/// What `list` reads besides the plugins.
struct Records {
    grants: GrantsFile,
    quarantine: QuarantineFile,
    disabled: DisabledPlugins,
}

impl Records {
    /// The row of a plugin whose manifest is known; `plugin` is the copy
    /// discovery found, whose grants are those bound to it.
    fn row(&self, manifest: &Manifest, origin: String, plugin: Option<&Discovered>) -> Row {
        let id = manifest.plugin.id.as_str();
        let (grants, withheld) = match plugin {
            Some(plugin) => self.grants.table().grants_for_copy(id, &plugboard::copy_of(plugin)),
            None => (self.grants.grants_for(id), false),
        };
        let mut summary = grants_summary(&grants, Some(manifest));
        if withheld {
            summary.push_str(" (what you granted it went to another copy of it: granted only the defaults)");
        }
        Row {
            id: id.to_string(),
            version: manifest.plugin.version.to_string(),
            world: manifest.plugin.api.to_string(),
            origin,
            grants: summary,
            status: self.status(id),
        }
    }

    /// The row of a plugin known only by its id.
    fn bare_row(&self, id: &str) -> Row {
        Row {
            id: id.to_string(),
            version: self
                .quarantine
                .get(id)
                .map_or_else(|| UNKNOWN.to_string(), |r| r.version.clone()),
            world: UNKNOWN.into(),
            origin: UNKNOWN.into(),
            grants: grants_summary(&self.grants.grants_for(id), None),
            status: self.status(id),
        }
    }

    /// `enabled`, `disabled`, `QUARANTINED since ... for kind: reason (strikes: N)`.
    fn status(&self, id: &str) -> String {
        let mut parts = Vec::new();
        if self.disabled.contains(id) {
            parts.push("disabled".to_string());
        }
        if let Some(record) = self.quarantine.get(id) {
            parts.push(quarantined(record));
        } else {
            let strikes = self.quarantine.strikes(id);
            if strikes.total() > 0 {
                let counts: Vec<String> = plugboard_host::AbuseKind::ALL
                    .into_iter()
                    .filter(|kind| strikes.count(*kind) > 0)
                    .map(|kind| format!("{kind} {}", strikes.count(kind)))
                    .collect();
                parts.push(format!("strikes: {}", counts.join(", ")));
            }
        }
        if parts.is_empty() {
            return "enabled".to_string();
        }
        if !parts.iter().any(|p| p == "disabled" || p.starts_with("QUARANTINED")) {
            parts.insert(0, "enabled".to_string());
        }
        parts.join("; ")
    }
}

/// Lists the plugins; fails when the grants, the quarantine or the disabled
/// list cannot be read, and exits non-zero when a manifest cannot.
pub fn list(args: &ListArgs, dirs: &PluginDirs, config_dir: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let records = Records {
        grants: GrantsFile::open(config_dir)?,
        quarantine: QuarantineFile::open(data_dir)?,
        disabled: DisabledPlugins::open(data_dir)?,
    };
    let mut rows = Vec::new();
    let mut unreadable = 0;
    let elsewhere_ids: Vec<String>;
    let elsewhere_title;
    match &args.plugins {
        Some(dir) => {
            println!("Plugins in {}:", dir.display());
            for folder in plugins_folder::plugin_folders(dir)? {
                match Manifest::from_dir(&folder) {
                    Ok(manifest) => rows.push(records.row(&manifest, UNKNOWN.into(), None)),
                    Err(error) => {
                        eprintln!("error: skipping {}: {error}", folder.display());
                        unreadable += 1;
                    }
                }
            }
            let shown: BTreeSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            elsewhere_ids = records
                .quarantine
                .list()
                .into_iter()
                .map(|r| r.plugin)
                .filter(|id| !shown.contains(id.as_str()))
                .collect();
            elsewhere_title = format!("Quarantined, not in {}:", dir.display());
        }
        None => {
            println!("Plugins installed in {}:", plugin_dirs::describe(dirs));
            let discovery = discover(dirs);
            for problem in &discovery.problems {
                if plugin_dirs::is_note(&problem.error) {
                    eprintln!("note: {}", problem.error);
                } else {
                    eprintln!("error: {}", problem.error);
                    unreadable += 1;
                }
            }
            let order = resolve(&discovery.plugins);
            for plugin in &discovery.plugins {
                let mut row = records.row(&plugin.manifest, origin(plugin, &discovery), Some(plugin));
                if let Some(blocked) = order.blocked.iter().find(|b| b.plugin.id() == plugin.id()) {
                    row.status = match row.status.as_str() {
                        "enabled" => format!("cannot load: {}", blocked.error),
                        status => format!("{status}; cannot load: {}", blocked.error),
                    };
                }
                rows.push(row);
            }
            let shown: BTreeSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            let known: BTreeSet<String> = records
                .grants
                .plugins()
                .map(str::to_string)
                .chain(records.quarantine.list().into_iter().map(|r| r.plugin))
                .collect();
            elsewhere_ids = known.into_iter().filter(|id| !shown.contains(id.as_str())).collect();
            elsewhere_title = "Not installed, with grants or a quarantine record kept \
                               (`plugboard remove ID --purge` deletes them):"
                .to_string();
        }
    }
    if args.health && !rows.is_empty() {
        add_health(&mut rows, args, dirs, config_dir, data_dir)?;
    }
    let elsewhere: Vec<Row> = elsewhere_ids.iter().map(|id| records.bare_row(id)).collect();
    if rows.is_empty() {
        println!("  (none)");
    }
    print_rows(&rows, &elsewhere, &elsewhere_title);
    if unreadable > 0 {
        eprintln!("error: {unreadable} plugin folder(s) could not be read (see above)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens a host on the same folders as `run` (with the grants you gave,
/// no timers) and adds each loaded plugin's health to its status; a plugin
/// the host did not load says so.
fn add_health(
    rows: &mut [Row],
    args: &ListArgs,
    dirs: &PluginDirs,
    config_dir: &Path,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let config = crate::run::folders_config(args.plugins.as_deref(), dirs, config_dir, data_dir, false);
    let host = plugboard::Host::builder(config)
        .task_store(crate::tasks::open_store(data_dir)?)
        .open()?;
    for row in rows.iter_mut() {
        let health = match host.health_blocking(&row.id) {
            Some(health) => health.to_string(),
            None => "not loaded".to_string(),
        };
        row.status = format!("{}; {}", row.status, plugboard::display::escaped(&health));
    }
    Ok(())
}

/// `user`, `builtin`, `bundled by ID`, or `user (hides builtin 1.0.0)`.
fn origin(plugin: &Discovered, discovery: &Discovery) -> String {
    let name = plugin_dirs::origin_name(&plugin.origin);
    let hidden = match plugin.origin {
        Origin::User => plugin_dirs::hidden_builtin(discovery, plugin.id().as_str()),
        Origin::Builtin | Origin::Bundled { .. } => None,
    };
    match hidden {
        Some(builtin) => format!("{name} (hides builtin {})", builtin.manifest.plugin.version),
        None => name,
    }
}

fn print_rows(rows: &[Row], elsewhere: &[Row], elsewhere_title: &str) {
    let all = || rows.iter().chain(elsewhere);
    // A column nobody knows (no manifests, or no plugin folders) is left out.
    let width = |field: fn(&Row) -> &str| {
        let known = all().any(|r| field(r) != UNKNOWN);
        known.then(|| all().map(|r| field(r).len()).max().unwrap_or(0))
    };
    let columns = [
        width(|r| &r.id),
        width(|r| &r.version),
        width(|r| &r.world),
        width(|r| &r.origin),
    ];
    let print = |row: &Row| {
        let mut line = String::from(" ");
        for (value, width) in [&row.id, &row.version, &row.world, &row.origin]
            .into_iter()
            .zip(columns)
        {
            if let Some(width) = width {
                line.push_str(&format!(" {value:<width$} "));
            }
        }
        println!("{line} {}  {}", row.grants, row.status);
    };
    rows.iter().for_each(print);
    if !elsewhere.is_empty() {
        println!("{elsewhere_title}");
        elsewhere.iter().for_each(print);
    }
}

/// `granted: ...`, and with the manifest known, what it requests but was
/// not granted.
fn grants_summary(grants: &Grants, manifest: Option<&Manifest>) -> String {
    let mut summary = format!("granted: {}", grant::joined(&grants.list()));
    if let Some(manifest) = manifest {
        let missing = grant::not_granted(
            manifest,
            &Policy::new(manifest, grants),
            &CallLimits::granted(&manifest.limits, grants),
        );
        if !missing.is_empty() {
            summary.push_str(&format!(" (not granted: {})", missing.join(", ")));
        }
    }
    summary
}

/// `QUARANTINED since ... for kind: reason (strikes: N)`.
fn quarantined(record: &QuarantineRecord) -> String {
    format!(
        "QUARANTINED {} (strikes: {})",
        plugboard::display::escaped(&describe::quarantined_since(record)),
        record.strikes
    )
}
