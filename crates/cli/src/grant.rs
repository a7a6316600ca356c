//! `plugboard grant` and `plugboard revoke`: change what the user granted a
//! plugin, in the grants file of the config folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use plugboard_host::grants::EVERYTHING_REQUESTED;
use plugboard_host::grants::{GrantedLimit, format_limit_value};
use plugboard_host::policy::DEFAULT_STATE_QUOTA;
use plugboard_host::{CallLimits, Grant, Grants, Policy};
use plugboard_manifest::{Manifest, PluginId};
use plugboard_registry::{Origin, PluginDirs, discover};
use plugboard_state::GrantsFile;

use crate::{plugin_dirs, plugins_folder};

/// The permissions a user can type, for `--help`.
pub const PERMISSIONS_HELP: &str = "PERMISSION is one of:
  tasks.read, tasks.write, tasks.delete     read / create and update / delete the app's tasks
  state, state:<size>                       keep key-value state (the quota requested, or at most <size>)
  events.emit, events.emit:<topic>          emit custom events (every topic requested, or one)
  subscribe, subscribe:<event>              receive events (every kind requested, or one, e.g.
                                            subscribe:task-created, subscribe:custom:<topic>)
  network:<host>                            reach <host> over outgoing HTTP
  commands.invoke:<plugin>.<command>        run another plugin's command
  files.private                             a folder of its own in the data folder (files/<id>), seen as /private
  files.read:<folder>, files.write:<folder> read (or read and write) that host folder, an absolute path
                                            reached through no symbolic link
  files                                     every files item requested
  limit:<name>, limit:<name>=<value>        let a [limits] value above the host's default stand (what the
                                            manifest asks, or at most <value>): deadline, fuel, memory,
                                            tables, max-value, host-calls, emits-per-event
A plugin only ever gets what its manifest requests AND you granted; by default it gets nothing.";

/// The arguments of `plugboard grant`.
#[derive(Debug, clap::Args)]
pub struct GrantArgs {
    /// The plugin's id, e.g. auto-tag.
    id: String,
    /// What to grant (see below).
    #[arg(
        value_name = "PERMISSION",
        required_unless_present = "all_requested",
        conflicts_with = "all_requested"
    )]
    permissions: Vec<String>,
    /// Grant exactly what the plugin's manifest requests, each item spelled
    /// out (so a later version asking for more gets nothing more); the
    /// installed plugin's manifest unless --plugins is given.
    #[arg(long)]
    all_requested: bool,
    /// With --all-requested: the folder of plugin folders holding the plugin
    /// (or the plugin's own folder), instead of the installed plugins.
    #[arg(long, value_name = "DIR", requires = "all_requested")]
    plugins: Option<PathBuf>,
}

/// The arguments of `plugboard revoke`.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The plugin's id, e.g. auto-tag.
    id: String,
    /// What to take back (see below).
    #[arg(value_name = "PERMISSION", required = true)]
    permissions: Vec<String>,
}

/// Adds grants and prints what the plugin holds afterwards.
pub fn grant(
    args: &GrantArgs,
    config_dir: &Path,
    plugin_dirs: impl FnOnce() -> anyhow::Result<PluginDirs>,
) -> anyhow::Result<ExitCode> {
    check_id(&args.id)?;
    let mut file = GrantsFile::open(config_dir)?;
    let dirs = plugin_dirs();
    let grants = if args.all_requested {
        let (folder, manifest) = match &args.plugins {
            Some(dir) => plugins_folder::find_manifest(dir, &args.id)?,
            None => {
                let dirs = dirs.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
                match plugin_dirs::find_installed(dirs, &args.id) {
                    Some(plugin) => (plugin.dir, plugin.manifest),
                    None => anyhow::bail!(
                        "no plugin `{}` is installed in {}; pass --plugins DIR for a plugin folder",
                        args.id,
                        plugin_dirs::describe(dirs)
                    ),
                }
            }
        };
        let requested = requested(&manifest);
        if requested.is_empty() {
            println!(
                "{} ({}) requests no permission and no event; nothing to grant",
                args.id,
                folder.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "{} {} ({}) requests, and you grant it:",
            args.id,
            manifest.plugin.version,
            folder.display()
        );
        for grant in &requested {
            println!("  {grant}");
        }
        requested
    } else {
        let grants = parse_all(&args.permissions)?;
        for grant in &grants {
            check_folder(grant)?;
        }
        grants
    };
    // Granting a plugin another bundles grants that copy, and only what is
    // granted now: a table given to another copy of the id is not carried over.
    if let Ok(dirs) = &dirs
        && let Some(plugin) = discover(dirs).get(&args.id)
        && plugin.origin != Origin::User
        && plugin.origin != Origin::Builtin
    {
        let copy = plugboard::copy_of(plugin);
        if file
            .table()
            .binding(&args.id)
            .is_none_or(|binding| !binding.covers(&copy))
        {
            file.forget(&args.id);
            file.bind(&args.id, &copy);
        }
    }
    file.grant(&args.id, &grants);
    file.save()?;
    println!("Granted {}: {}", args.id, joined(&grants));
    print_holdings(&file, &args.id);
    Ok(ExitCode::SUCCESS)
}

/// Takes grants back and prints what the plugin holds afterwards.
pub fn revoke(args: &RevokeArgs, config_dir: &Path) -> anyhow::Result<ExitCode> {
    check_id(&args.id)?;
    let grants = parse_all(&args.permissions)?;
    let mut file = GrantsFile::open(config_dir)?;
    let before = file.grants_for(&args.id);
    file.revoke(&args.id, &grants);
    file.save()?;
    println!("Revoked from {}: {}", args.id, joined(&grants));
    for grant in &grants {
        if let Some(note) = not_held(&before, grant) {
            println!("note: {} {note}", args.id);
        }
    }
    print_holdings(&file, &args.id);
    Ok(ExitCode::SUCCESS)
}

/// Refuses what cannot be a plugin id, before anything is written.
pub fn check_id(id: &str) -> anyhow::Result<()> {
    PluginId::from_str(id)
        .map(drop)
        .map_err(|e| anyhow::anyhow!("{}", e.message()))
}

/// Parses every permission first, so a typo writes nothing.
pub fn parse_all(texts: &[String]) -> anyhow::Result<Vec<Grant>> {
    texts
        .iter()
        .map(|text| Grant::from_str(text).map_err(|bad| anyhow::anyhow!("{bad}; nothing was changed")))
        .collect()
}

/// Refuses a `files.read`/`files.write` grant of a folder that does not
/// exist or is reached through a symbolic link: the grant names the folder
/// itself, as the host checks it at load.
fn check_folder(grant: &Grant) -> anyhow::Result<()> {
    let Grant::Files(what) = grant else {
        return Ok(());
    };
    let Some((_, path)) = what.split_once(':') else {
        return Ok(());
    };
    let canonical = std::fs::canonicalize(path)
        .map_err(|e| anyhow::anyhow!("cannot grant {grant}: {path} cannot be opened ({e}); nothing was changed"))?;
    if canonical != Path::new(path) {
        anyhow::bail!(
            "cannot grant {grant}: {path} goes through a symbolic link (to {}); grant that folder instead; nothing \
             was changed",
            canonical.display()
        );
    }
    if !canonical.is_dir() {
        anyhow::bail!("cannot grant {grant}: {path} is not a folder; nothing was changed");
    }
    Ok(())
}

/// Everything a manifest requests, one grant per item.
pub fn requested(manifest: &Manifest) -> Vec<Grant> {
    let asked = &manifest.permissions;
    let mut grants: Vec<Grant> = asked
        .tasks
        .iter()
        .map(|access| Grant::Tasks(access.to_string()))
        .collect();
    if let Some(state) = &asked.state {
        grants.push(Grant::State(Some(state.quota.unwrap_or(DEFAULT_STATE_QUOTA))));
    }
    grants.extend(manifest.events.emits.iter().map(|topic| Grant::Emit(topic.clone())));
    grants.extend(
        manifest
            .events
            .subscribe
            .iter()
            .map(|kind| Grant::Subscribe(kind.to_string())),
    );
    grants.extend(
        asked
            .network
            .iter()
            .map(|host| Grant::Network(host.as_str().to_string())),
    );
    grants.extend(asked.commands.iter().map(|command| Grant::Command(command.to_string())));
    if let Some(files) = &asked.files {
        if files.private {
            grants.push(Grant::Files("private".into()));
        }
        grants.extend(files.read.iter().map(|p| Grant::Files(format!("read:{p}"))));
        grants.extend(files.write.iter().map(|p| Grant::Files(format!("write:{p}"))));
    }
    grants.extend(asked.app.iter().map(|permission| Grant::App(permission.to_string())));
    grants.extend(limits_above_defaults(manifest).into_iter().map(|limit| Grant::Limit {
        name: limit.name.to_string(),
        value: Some(format_limit_value(limit.name, limit.asked)),
    }));
    grants
}

/// A `[limits]` value a manifest asks for above the host's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitRequest {
    /// The limit, as the manifest names it.
    pub name: &'static str,
    /// What it asks, capped by the host's maximum (milliseconds, bytes or a count).
    pub asked: u64,
    /// The host's default.
    pub default: u64,
}

/// The `[limits]` values above the host's defaults in `manifest`: each one is
/// a request the user grants (`limit:<name>`), or the plugin runs with the
/// default.
pub fn limits_above_defaults(manifest: &Manifest) -> Vec<LimitRequest> {
    let asked = &manifest.limits;
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let capped = CallLimits::from_manifest(asked);
    let defaults = CallLimits::default();
    [
        (
            "deadline",
            asked.deadline.map(|_| millis(capped.deadline)),
            millis(defaults.deadline),
        ),
        ("fuel", asked.fuel.map(|_| capped.fuel), defaults.fuel),
        ("memory", asked.memory.map(|_| capped.memory), defaults.memory),
        (
            "tables",
            asked.tables.map(|_| u64::from(capped.table_elements)),
            u64::from(defaults.table_elements),
        ),
        (
            "max-value",
            asked.max_value.map(|_| capped.max_value),
            defaults.max_value,
        ),
        (
            "host-calls",
            asked.host_calls.map(|_| capped.host_calls),
            defaults.host_calls,
        ),
        (
            "emits-per-event",
            asked.emits_per_event.map(|_| u64::from(capped.emits)),
            u64::from(defaults.emits),
        ),
    ]
    .into_iter()
    .filter_map(|(name, asked, default)| {
        let asked = asked?;
        (asked > default).then_some(LimitRequest { name, asked, default })
    })
    .collect()
}

/// The value of limit `name` in `limits` (milliseconds, bytes or a count).
fn limit_in_force(limits: &CallLimits, name: &str) -> u64 {
    match name {
        "deadline" => u64::try_from(limits.deadline.as_millis()).unwrap_or(u64::MAX),
        "fuel" => limits.fuel,
        "memory" => limits.memory,
        "tables" => u64::from(limits.table_elements),
        "max-value" => limits.max_value,
        "host-calls" => limits.host_calls,
        "emits-per-event" => u64::from(limits.emits),
        _ => 0,
    }
}

/// Whether `held` lets limit `name` be `asked`.
pub fn limit_held(held: &Grants, name: &str, asked: u64) -> bool {
    match held.limit(name) {
        Some(GrantedLimit::AsRequested) => true,
        Some(GrantedLimit::AtMost(most)) => most >= asked,
        None => false,
    }
}

/// What the manifest requests that the policy in force leaves out, as the
/// user would grant it.
pub fn not_granted(manifest: &Manifest, in_force: &Policy, limits: &CallLimits) -> Vec<String> {
    let in_force = in_force.describe();
    let holds_state = in_force.iter().any(|p| p.starts_with("state:"));
    let mut missing: Vec<String> = Policy::new(manifest, &Grants::everything_requested())
        .describe()
        .into_iter()
        // A smaller quota than requested is still state granted.
        .filter(|p| !(in_force.contains(p) || holds_state && p.starts_with("state:")))
        .collect();
    for limit in limits_above_defaults(manifest) {
        if limit_in_force(limits, limit.name) < limit.asked {
            missing.push(format!(
                "limit:{}={} (runs with {})",
                limit.name,
                format_limit_value(limit.name, limit.asked),
                format_limit_value(limit.name, limit_in_force(limits, limit.name))
            ));
        }
    }
    missing
}

/// Grants as the user types them, comma separated; `nothing` when empty.
pub fn joined(grants: &[Grant]) -> String {
    if grants.is_empty() {
        return "nothing".to_string();
    }
    grants.iter().map(Grant::to_string).collect::<Vec<_>>().join(", ")
}

fn print_holdings(file: &GrantsFile, id: &str) {
    println!("{id} now holds: {}", joined(&file.grants_for(id).list()));
    println!("(saved in {})", file.path().display());
}

/// Why revoking `grant` changes nothing, when it does not: the plugin did
/// not hold it, or holds it only through a grant of its whole kind.
fn not_held(before: &Grants, grant: &Grant) -> Option<String> {
    let held = before.list();
    let same_kind = |g: &&Grant| std::mem::discriminant(*g) == std::mem::discriminant(grant);
    if held.contains(grant) || matches!(grant, Grant::State(_)) && held.iter().any(|g| same_kind(&g)) {
        return None;
    }
    let whole_kind = |g: &&Grant| {
        matches!(g, Grant::Emit(item) | Grant::Subscribe(item) | Grant::Network(item) | Grant::Command(item) | Grant::Files(item) | Grant::App(item)
            if item == EVERYTHING_REQUESTED)
    };
    match held.iter().filter(same_kind).find(whole_kind) {
        Some(whole) => Some(format!(
            "holds `{whole}`, which still covers `{grant}`; revoke `{whole}` and grant the rest one by one"
        )),
        None => Some(format!("did not hold `{grant}`; nothing to take back")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
[plugin]
id = "p"
name = "p"
version = "1.0.0"
api = "task-events@2"
[events]
subscribe = ["task-created", "custom:news"]
emits = ["digest"]
[permissions]
tasks = ["read", "delete"]
state = {}
network = ["api.example.com"]
commands = ["other.run"]
"#,
            Path::new("plugin.toml"),
        )
        .unwrap()
    }

    #[test]
    fn all_requested_is_the_request_spelled_out() {
        let manifest = manifest();
        let grants = requested(&manifest);
        assert_eq!(
            joined(&grants),
            "tasks.read, tasks.delete, state:1MiB, events.emit:digest, subscribe:task-created, \
             subscribe:custom:news, network:api.example.com, commands.invoke:other.run"
        );
        let mut spelled_out = Grants::none();
        for grant in &grants {
            spelled_out.grant(grant);
        }
        assert_eq!(
            Policy::new(&manifest, &spelled_out),
            Policy::new(&manifest, &Grants::everything_requested())
        );
        for grant in &grants {
            assert_eq!(&Grant::from_str(&grant.to_string()).unwrap(), grant, "{grant}");
        }
    }

    #[test]
    fn revoking_what_is_not_held_says_so() {
        let mut held = Grants::none();
        held.grant(&Grant::Tasks("read".into()));
        held.grant(&Grant::Subscribe("*".into()));
        let parse = |text: &str| Grant::from_str(text).unwrap();
        assert_eq!(not_held(&held, &parse("tasks.read")), None);
        assert_eq!(not_held(&held, &parse("subscribe")), None);
        assert!(
            not_held(&held, &parse("tasks.write"))
                .unwrap()
                .contains("did not hold `tasks.write`")
        );
        assert!(
            not_held(&held, &parse("subscribe:task-created"))
                .unwrap()
                .contains("holds `subscribe`, which still covers")
        );
    }
}
