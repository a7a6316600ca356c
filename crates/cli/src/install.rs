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
use plugboard_host::{Grant, Grants, Policy, QuarantineStore as _};
use plugboard_manifest::{Manifest, format_byte_size};
use plugboard_registry::{INDEX_FILE_NAME, Index, IndexEntry, Origin, PluginDirs};
use plugboard_state::{GrantsFile, QuarantineFile};
use semver::VersionReq;

use crate::archive::{self, TrustedKeysArg};
use crate::grant;
use crate::plugin_dirs::{self, Installed};
use plugboard::DisabledPlugins;

/// The arguments of `plugboard install`.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// The plugin archive (`<id>-<version>.plugin`); with --from, the
    /// plugin's id and a version requirement, e.g. `auto-tag@^1.2` (just
    /// `auto-tag` for its newest version).
    #[arg(value_name = "ARCHIVE|ID@REQ")]
    target: String,
    /// A catalogue folder indexed by `plugboard index`: install the highest
    /// version its index.json lists that matches the requirement.
    #[arg(long, value_name = "DIR")]
    from: Option<PathBuf>,
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
    let (archive, listed) = match &args.from {
        Some(catalogue) => {
            let entry = catalogue_entry(catalogue, &args.target)?;
            println!(
                "From {}: {} {} ({})",
                catalogue.display(),
                entry.id,
                entry.version,
                entry.file
            );
            (entry.archive_in(catalogue)?, Some((catalogue, entry)))
        }
        None => (PathBuf::from(&args.target), None),
    };
    let verified = plugboard_archive::verify(&archive, &trusted, &limits)?;
    if let Some((catalogue, entry)) = listed
        && (*verified.id() != entry.id || *verified.version() != entry.version)
    {
        bail!(
            "{} holds {} {}, not what {} lists; index the folder again with `plugboard index {}`",
            archive.display(),
            verified.id(),
            verified.version(),
            catalogue.join(INDEX_FILE_NAME).display(),
            catalogue.display()
        );
    }
    let manifest = &verified.manifest;
    let id = verified.id().as_str();
    let installed = plugin_dirs::find_installed(folders.plugins, id);
    check_version(&verified, installed.as_ref(), args.force)?;

    let mut grants_file = GrantsFile::open(folders.config)?;
    let held = grants_file.grants_for(id);
    let requested = grant::requested(manifest);
    let new: Vec<Grant> = requested
        .iter()
        .filter(|g| !is_held(manifest, &held, g))
        .cloned()
        .collect();
    let upgrade = installed.is_some();

    print_plugin(&verified, installed.as_ref());
    if new.is_empty() {
        if requested.is_empty() {
            println!("It requests no permission and no event.");
        } else {
            println!("It requests nothing you have not granted already.");
        }
    } else {
        if upgrade {
            println!(
                "It requests {} permission(s) you have not granted (it keeps what you granted before):",
                new.len()
            );
        } else {
            println!("It requests:");
        }
        print_grants(&new);
    }
    let to_grant = match &args.grants {
        Some(texts) => {
            let chosen = grant::parse_all(texts)?;
            // A grant that gives nothing on its own is for something not requested.
            for grant in chosen.iter().filter(|g| is_held(manifest, &Grants::none(), g)) {
                println!("note: {id} does not request `{grant}`; it gets it only if it asks for it");
            }
            chosen
        }
        None if new.is_empty() || args.yes => new,
        None if confirm("Grant these permissions?")? => new,
        None => bail!(
            "{id} was not installed: you did not grant what it requests; nothing was written \
             (install it with --grant PERMISSION... to grant only part of it)"
        ),
    };

    let target = match &installed {
        Some(plugin) if plugin.origin == Origin::User => plugin.dir.clone(),
        _ => folders.plugins.user.join(id),
    };
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
    if !to_grant.is_empty() {
        grants_file.grant(id, &to_grant);
        grants_file.save()?;
    }
    swap_into_place(&unpacked.dir, &target, &staging.path().join("previous"))?;
    drop(staging);

    println!("Installed {id} {} into {}.", verified.version(), target.display());
    let holds = grants_file.grants_for(id);
    println!("{id} holds: {}", grant::joined(&holds.list()));
    let missing = grant::not_granted(manifest, &Policy::new(manifest, &holds));
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

/// The entry of the catalogue's index.json that `wanted` (`ID` or
/// `ID@REQUIREMENT`) names: the highest version matching.
fn catalogue_entry(catalogue: &Path, wanted: &str) -> anyhow::Result<IndexEntry> {
    let (id, requirement) = match wanted.split_once('@') {
        Some((id, requirement)) => (
            id,
            VersionReq::parse(requirement)
                .with_context(|| format!("`{requirement}` is not a version requirement (e.g. ^1.2, >=0.3, =1.0.0)"))?,
        ),
        None => (wanted, VersionReq::STAR),
    };
    grant::check_id(id)?;
    let index = Index::read(catalogue)?;
    if let Some(entry) = index.resolve(id, &requirement) {
        return Ok(entry.clone());
    }
    let file = catalogue.join(INDEX_FILE_NAME);
    let versions: Vec<String> = index
        .plugins
        .iter()
        .filter(|entry| entry.id.as_str() == id)
        .map(|entry| entry.version.to_string())
        .collect();
    if versions.is_empty() {
        bail!("{} lists no plugin `{id}`", file.display());
    }
    bail!(
        "{} lists no version of {id} matching {requirement} (it has {})",
        file.display(),
        versions.join(", ")
    )
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
    let mut with = held.clone();
    with.grant(grant);
    Policy::new(manifest, &with) == Policy::new(manifest, held)
}

fn print_plugin(verified: &Verified, installed: Option<&Installed>) {
    let plugin = &verified.manifest.plugin;
    println!("Plugin      {} ({})", plugin.name, plugin.id);
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
        println!("about       {description}");
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
