//! `plugboard install`: verify an archive, show the user what the plugin is
//! and what it asks for, take their consent, unpack it into the user's
//! plugins folder and record what they granted.
//!
//! Nothing is written before the user agreed, and an install that fails
//! halfway leaves the previous version in place: the archive is unpacked
//! into a hidden folder beside the plugin's, the grants are saved, and only
//! then is the new folder swapped in.

use std::io::{BufRead, IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use plugboard_archive::{UnpackLimits, Verified};
use plugboard_host::grants::{Binding, UNSIGNED};
use plugboard_host::{CallLimits, Grant, Grants, Policy, QuarantineStore as _};
use plugboard_manifest::{Manifest, format_byte_size};
use plugboard_registry::{BUNDLED_DEPS_FOLDER, Origin, PluginDirs};
use plugboard_state::{GrantsFile, QuarantineFile};

use crate::archive::{self, TrustedKeysArg};
use crate::catalogue::{self, Catalogue};
use crate::grant;
use crate::plugin_dirs::{self, Installed};
use plugboard::DisabledPlugins;
use plugboard::display;

/// The arguments of `plugboard install`.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// The plugin archive (`<id>-<version>.plugin`); with --from, the
    /// plugin's id and a version requirement, e.g. `auto-tag@^1.2` (just
    /// `auto-tag` for its newest version).
    #[arg(value_name = "ARCHIVE|ID@REQ")]
    target: String,
    /// A catalogue: a folder indexed by `plugboard index`, or the
    /// `http(s)://` address of its index.json (or of the folder serving
    /// it). Installs the highest version its index.json lists that matches
    /// the requirement.
    #[arg(long, value_name = "DIR|URL")]
    from: Option<String>,
    /// With --from URL: the largest archive downloaded, e.g. `64MiB`; the
    /// default is the largest file an archive may unpack.
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size)]
    max_size: u64,
    /// Grant everything the plugin requests (that you have not granted
    /// already) without asking.
    #[arg(long, short)]
    yes: bool,
    /// Grant only these permissions, without asking (none when given no
    /// value); put the archive before it.
    #[arg(long = "grant", value_name = "PERMISSION", num_args = 0.., conflicts_with = "yes")]
    grants: Option<Vec<String>>,
    #[command(flatten)]
    trusted: TrustedKeysArg,
    /// Reinstall the same version, or install an older one over a newer.
    #[arg(long)]
    force: bool,
}

fn parse_size(text: &str) -> Result<u64, String> {
    plugboard_manifest::parse_byte_size(text).map_err(|e| e.to_string())
}

/// The folders `install` reads and writes.
pub struct Folders<'a> {
    /// Where plugins are installed.
    pub plugins: &'a PluginDirs,
    /// The config folder (grants, trusted keys).
    pub config: &'a Path,
    /// The data folder (quarantine, disabled list).
    pub data: &'a Path,
}

/// Installs the archive; fails, writing nothing, when the archive is
/// refused, the version is not newer (without `--force`) or the user says no.
pub fn install(args: &InstallArgs, folders: &Folders<'_>) -> anyhow::Result<ExitCode> {
    let trusted = args.trusted.load(folders.config)?;
    let limits = UnpackLimits::default();
    // A downloaded archive lives here until the install is done.
    let downloads = tempfile::tempdir().context("cannot create a temporary folder for the download")?;
    let (archive, listed) = match &args.from {
        Some(from) => {
            let catalogue = Catalogue::new(from);
            let entry = catalogue::entry(&catalogue, &catalogue.index()?, &args.target)?;
            println!("From {catalogue}: {} {} ({})", entry.id, entry.version, entry.file);
            (
                catalogue.archive(&entry, args.max_size, downloads.path())?,
                Some((catalogue, entry)),
            )
        }
        None => (PathBuf::from(&args.target), None),
    };
    let verified = plugboard_archive::verify(&archive, &trusted, &limits)?;
    if let Some((catalogue, entry)) = listed
        && (*verified.id() != entry.id || *verified.version() != entry.version)
    {
        bail!(
            "{} holds {} {}, not what {} lists; {}",
            archive.display(),
            verified.id(),
            verified.version(),
            catalogue.index_name(),
            catalogue.reindex_hint()
        );
    }
    let manifest = &verified.manifest;
    let id = verified.id().as_str();
    let installed = plugin_dirs::find_installed(folders.plugins, id);
    check_version(&verified, installed.as_ref(), args.force)?;

    // Unpacked before the question, into a hidden folder that goes away
    // unless the user agrees: the bundled plugins' manifests are read from it.
    std::fs::create_dir_all(&folders.plugins.user)
        .with_context(|| format!("cannot create the plugins folder {}", folders.plugins.user.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{id}.installing-"))
        .tempdir_in(&folders.plugins.user)
        .with_context(|| format!("cannot create a staging folder in {}", folders.plugins.user.display()))?;
    let unpacked = plugboard_archive::unpack(&archive, &staging.path().join(id), &trusted, &limits)?;
    if unpacked.verified != verified {
        bail!(
            "{} changed while it was being installed; nothing was installed, try again",
            archive.display()
        );
    }
    let bundled = bundled_plugins(&unpacked.dir, id, &archive)?;

    let mut grants_file = GrantsFile::open(folders.config)?;
    let copy = Binding {
        signer: signer_id(&verified),
        bundled_by: None,
    };
    let carried = carries_over(grants_file.table().binding(id).as_ref(), &copy);
    let held = match carried {
        true => grants_file.grants_for(id),
        false => grants_file.table().defaults().clone(),
    };
    let requested = grant::requested(manifest);
    let new: Vec<Grant> = requested
        .iter()
        .filter(|g| !is_held(manifest, &held, g))
        .cloned()
        .collect();
    let upgrade = installed.is_some();

    print_plugin(&verified, installed.as_ref());
    if !carried {
        println!(
            "note: what you granted {id} before was granted to {}; this archive is {}, so nothing you granted \
             before is carried over and it asks again",
            describe_binding(grants_file.table().binding(id).as_ref()),
            archive::signer(&verified)
        );
    }
    if new.is_empty() {
        if requested.is_empty() {
            println!("It requests no permission and no event.");
        } else {
            println!("It requests nothing you have not granted already.");
        }
    } else {
        if upgrade && carried {
            println!(
                "It requests {} permission(s) you have not granted (it keeps what you granted before):",
                new.len()
            );
        } else {
            println!("It requests:");
        }
        print_grants(&new);
    }

    // Every plugin it bundles, with what it asks, unless an installed copy
    // of that id is used instead (a bundled copy never replaces one).
    let mut bundled_asks: Vec<(String, Vec<Grant>)> = Vec::new();
    for plugin in &bundled {
        let bundled_id = plugin.plugin.id.as_str();
        let shown = shown_manifest(plugin);
        if let Some(other) = plugin_dirs::find_installed(folders.plugins, bundled_id) {
            println!(
                "It bundles {shown}; {} {} is installed ({}), and a bundled copy never replaces it, so the bundled \
                 copy is not used and asks for nothing",
                bundled_id,
                other.manifest.plugin.version,
                plugin_dirs::origin_name(&other.origin)
            );
            continue;
        }
        let bundled_copy = Binding {
            signer: copy.signer.clone(),
            bundled_by: Some(id.to_string()),
        };
        let (held, _) = grants_file.table().grants_for_copy(bundled_id, &bundled_copy);
        let asks: Vec<Grant> = grant::requested(plugin)
            .into_iter()
            .filter(|g| !is_held(plugin, &held, g))
            .collect();
        if asks.is_empty() {
            println!("It bundles {shown}, which requests nothing you have not granted.");
        } else {
            println!("It bundles {shown}, which requests:");
            print_grants(&asks);
        }
        bundled_asks.push((bundled_id.to_string(), asks));
    }
    let bundled_new = bundled_asks.iter().any(|(_, asks)| !asks.is_empty());

    let (to_grant, bundled_grants) = match &args.grants {
        Some(texts) => {
            let chosen = grant::parse_all(texts)?;
            // A grant that gives nothing on its own is for something not requested.
            for grant in chosen.iter().filter(|g| is_held(manifest, &Grants::none(), g)) {
                println!("note: {id} does not request `{grant}`; it gets it only if it asks for it");
            }
            if bundled_new {
                println!(
                    "note: --grant grants {id} only; the plugins it bundles get nothing until you \
                     `plugboard grant` them"
                );
            }
            (chosen, Vec::new())
        }
        None if (new.is_empty() && !bundled_new) || args.yes => (new, bundled_asks),
        None if confirm("Grant these permissions?")? => (new, bundled_asks),
        None => bail!(
            "{id} was not installed: you did not grant what it requests; nothing was written \
             (install it with --grant PERMISSION... to grant only part of it)"
        ),
    };

    let target = match &installed {
        Some(plugin) if plugin.origin == Origin::User => plugin.dir.clone(),
        _ => folders.plugins.user.join(id),
    };
    if !carried {
        grants_file.forget(id);
    }
    grants_file.grant(id, &to_grant);
    grants_file.bind(id, &copy);
    for (bundled_id, asks) in &bundled_grants {
        let bundled_copy = Binding {
            signer: copy.signer.clone(),
            bundled_by: Some(id.to_string()),
        };
        if grants_file.table().grants_for_copy(bundled_id, &bundled_copy).1 {
            grants_file.forget(bundled_id);
        }
        grants_file.grant(bundled_id, asks);
        grants_file.bind(bundled_id, &bundled_copy);
    }
    grants_file.save()?;
    swap_into_place(&unpacked.dir, &target, &staging.path().join("previous"))?;
    drop(staging);

    println!("Installed {id} {} into {}.", verified.version(), target.display());
    let holds = grants_file.grants_for(id);
    println!("{id} holds: {}", grant::joined(&holds.list()));
    let missing = grant::not_granted(
        manifest,
        &Policy::new(manifest, &holds),
        &CallLimits::granted(&manifest.limits, &holds),
    );
    if !missing.is_empty() {
        println!(
            "Requested, not granted: {} (`plugboard grant {id} PERMISSION...` when you want to)",
            missing.join(", ")
        );
    }
    if let Some(record) = QuarantineFile::open(folders.data)?.get(id) {
        println!(
            "note: {id} is quarantined (version {}: {}); `plugboard enable {id}` lets it load",
            record.version, record.reason
        );
    }
    if DisabledPlugins::open(folders.data)?.contains(id) {
        println!("note: {id} is disabled; `plugboard enable {id}` lets it load");
    }
    Ok(ExitCode::SUCCESS)
}

/// The manifests of the plugins an unpacked archive bundles in `deps/`; a
/// bundled copy of the plugin itself is refused.
fn bundled_plugins(dir: &Path, id: &str, archive: &Path) -> anyhow::Result<Vec<Manifest>> {
    let deps = dir.join(BUNDLED_DEPS_FOLDER);
    let mut folders: Vec<PathBuf> = match std::fs::read_dir(&deps) {
        Ok(entries) => entries
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot list {}", deps.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", deps.display())),
    };
    folders.sort();
    let mut manifests = Vec::new();
    for folder in folders {
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == id {
            bail!(
                "{} bundles a copy of {id} itself ({BUNDLED_DEPS_FOLDER}/{id}); a plugin cannot bundle its own id, \
                 nothing was installed",
                archive.display()
            );
        }
        let manifest = Manifest::from_dir(&folder).with_context(|| {
            format!(
                "{} bundles {BUNDLED_DEPS_FOLDER}/{name}, which is not a valid plugin; nothing was installed",
                archive.display()
            )
        })?;
        manifests.push(manifest);
    }
    Ok(manifests)
}

/// A bundled plugin as shown: `id version (name)`.
fn shown_manifest(manifest: &Manifest) -> String {
    let plugin = &manifest.plugin;
    format!("{} {} ({})", plugin.id, plugin.version, display::escaped(&plugin.name))
}

/// The key that verifiably signed the archive, or `unsigned`: an unknown
/// key proves nothing, so it binds grants no more than no signature.
fn signer_id(verified: &Verified) -> String {
    verified
        .signature
        .trusted_signer()
        .map_or_else(|| UNSIGNED.to_string(), |key| key.to_string())
}

/// Whether grants bound to `recorded` carry over to an installed copy
/// signed as `copy` says: grants given by hand, or to an unsigned copy, do;
/// grants given to a bundled copy, or to a copy a trusted key signed, only
/// to a copy that key signed.
fn carries_over(recorded: Option<&Binding>, copy: &Binding) -> bool {
    match recorded {
        None => true,
        Some(binding) => binding.bundled_by.is_none() && (binding.signer == UNSIGNED || binding.signer == copy.signer),
    }
}

/// Who earlier grants were given to, for the note.
fn describe_binding(binding: Option<&Binding>) -> String {
    match binding {
        Some(Binding {
            bundled_by: Some(by), ..
        }) => format!("the copy bundled by {by}"),
        Some(binding) if binding.signer != UNSIGNED => format!("a copy signed by trusted key {}", binding.signer),
        _ => "an unsigned copy".to_string(),
    }
}

/// Refuses the same version or an older one than installed, unless forced.
fn check_version(verified: &Verified, installed: Option<&Installed>, force: bool) -> anyhow::Result<()> {
    let Some(installed) = installed else {
        return Ok(());
    };
    let id = verified.id();
    let new = verified.version();
    let old = &installed.manifest.plugin.version;
    let place = format!("{} {old} is installed in {}", id, installed.dir.display());
    if force || new > old {
        return Ok(());
    }
    if new == old {
        bail!("{place}; pass --force to reinstall it");
    }
    bail!("{place}, which is newer than {new}; pass --force to downgrade to {new}")
}

/// Whether `held` already gives the plugin what `grant` would: granting it
/// would not change the policy.
fn is_held(manifest: &Manifest, held: &Grants, grant: &Grant) -> bool {
    if let Grant::Limit { name, .. } = grant {
        // A limit is not part of the policy: held when it lets what is asked stand.
        return grant::limits_above_defaults(manifest)
            .iter()
            .find(|limit| limit.name == name)
            .is_none_or(|limit| grant::limit_held(held, name, limit.asked));
    }
    let mut with = held.clone();
    with.grant(grant);
    Policy::new(manifest, &with) == Policy::new(manifest, held)
}

fn print_plugin(verified: &Verified, installed: Option<&Installed>) {
    let plugin = &verified.manifest.plugin;
    println!("Plugin      {} ({})", display::escaped(&plugin.name), plugin.id);
    match installed {
        None => println!("version     {}", plugin.version),
        Some(old) => {
            let old_version = &old.manifest.plugin.version;
            let change = match plugin.version.cmp(old_version) {
                std::cmp::Ordering::Greater => "upgrade",
                std::cmp::Ordering::Equal => "reinstall",
                std::cmp::Ordering::Less => "downgrade",
            };
            let builtin = match old.origin {
                Origin::Builtin => " builtin",
                Origin::User | Origin::Bundled { .. } => "",
            };
            println!(
                "version     {} ({change} from the{builtin} {old_version})",
                plugin.version
            );
        }
    }
    println!("world       {}", plugin.api);
    if let Some(description) = &plugin.description {
        println!("about       {}", display::escaped(description));
    }
    println!("signature   {}", archive::signer(verified));
    if verified.signature.trusted_signer().is_none() {
        println!(
            "            (no key you trust vouches for this archive: install it only if you trust where it came from)"
        );
    }
}

/// One line per grant: as the user types it, and what it lets the plugin do.
fn print_grants(grants: &[Grant]) {
    let width = grants.iter().map(|g| g.to_string().len()).max().unwrap_or(0);
    for grant in grants {
        println!("  {:<width$}  {}", grant.to_string(), explain(grant));
    }
}

/// What a grant lets a plugin do, in words.
fn explain(grant: &Grant) -> String {
    match grant {
        Grant::Tasks(access) => match access.as_str() {
            "read" => "read your tasks".to_string(),
            "write" => "create and change your tasks".to_string(),
            "delete" => "delete your tasks".to_string(),
            other => format!("{other} your tasks"),
        },
        Grant::State(Some(quota)) => format!("keep up to {} of its own data", format_byte_size(*quota)),
        Grant::State(None) => "keep its own data".to_string(),
        Grant::Emit(topic) => format!("send custom:{topic} events to other plugins"),
        Grant::Subscribe(kind) => format!("receive {kind} events"),
        Grant::Network(host) => format!("reach {host} over outgoing HTTP"),
        Grant::Command(command) => format!("run another plugin's command {command}"),
        Grant::Files(what) => match what.split_once(':') {
            Some(("read", folder)) => format!("read the files in {folder}"),
            Some(("write", folder)) => format!("read, change and delete the files in {folder}"),
            _ if what == "private" => "keep files in a folder of its own (in the data folder)".to_string(),
            _ => "the files it asks for".to_string(),
        },
        Grant::App(permission) => format!("use the application's own interface {permission}"),
        Grant::Limit { name, value } => {
            let value = value.as_deref().unwrap_or("what it asks");
            let what = match name.as_str() {
                "deadline" => format!("run each call for up to {value}"),
                "fuel" => format!("use up to {value} fuel per call"),
                "memory" => format!("use up to {value} of memory"),
                "tables" => format!("have up to {value} table elements"),
                "max-value" => format!("pass values of up to {value} to the host"),
                "host-calls" => format!("make up to {value} host calls per event"),
                "emits-per-event" => format!("emit up to {value} events per event"),
                other => format!("raise its limit {other} to {value}"),
            };
            format!("{what}, above the default every plugin gets")
        }
    }
}

/// Asks a yes/no question on stdin; anything but y or yes, or no answer at
/// all, is no.
fn confirm(question: &str) -> anyhow::Result<bool> {
    print!("{question} [y/N] ");
    std::io::stdout().flush().context("cannot write to stdout")?;
    let mut answer = String::new();
    let read = std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer from stdin")?;
    if read == 0 {
        println!();
        eprintln!("no answer on stdin; pass --yes or --grant PERMISSION... to install without asking");
    } else if !std::io::stdin().is_terminal() {
        // A terminal echoed the answer; show one read from a pipe too.
        println!("{}", answer.trim());
    }
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// Moves `new` to `target`, moving a previous `target` aside to `previous`
/// first and back if the move fails.
fn swap_into_place(new: &Path, target: &Path, previous: &Path) -> anyhow::Result<()> {
    let had_previous = target.symlink_metadata().is_ok();
    if had_previous {
        std::fs::rename(target, previous)
            .with_context(|| format!("cannot move the installed version out of {}", target.display()))?;
    }
    if let Err(error) = std::fs::rename(new, target) {
        if had_previous {
            let _ = std::fs::rename(previous, target);
        }
        return Err(error).with_context(|| format!("cannot move the new version into {}", target.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn a_grant_is_held_when_adding_it_changes_nothing() {
        let manifest = Manifest::parse(
            "[plugin]\nid = \"p\"\nname = \"p\"\nversion = \"1.0.0\"\napi = \"task-events@2\"\n\
             [events]\nsubscribe = [\"task-created\"]\n[permissions]\ntasks = [\"read\", \"delete\"]\n",
            Path::new("plugin.toml"),
        )
        .unwrap();
        let grant = |text: &str| Grant::from_str(text).unwrap();
        let mut held = Grants::none();
        held.grant(&grant("tasks.read"));
        held.grant(&grant("subscribe"));
        assert!(is_held(&manifest, &held, &grant("tasks.read")));
        assert!(is_held(&manifest, &held, &grant("subscribe:task-created")));
        assert!(!is_held(&manifest, &held, &grant("tasks.delete")));
    }

    #[test]
    fn the_previous_version_comes_back_when_the_new_one_cannot_move_in() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("p");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("old"), "1").unwrap();
        let error = swap_into_place(&root.path().join("missing"), &target, &root.path().join("previous"));
        assert!(error.is_err());
        assert!(target.join("old").is_file(), "the previous version is back");

        let new = root.path().join("new");
        std::fs::create_dir(&new).unwrap();
        std::fs::write(new.join("fresh"), "2").unwrap();
        swap_into_place(&new, &target, &root.path().join("previous")).unwrap();
        assert!(target.join("fresh").is_file() && !target.join("old").exists());
    }
}
