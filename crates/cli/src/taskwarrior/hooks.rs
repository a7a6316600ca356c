//! Installing and removing plugboard's Taskwarrior hooks: two small shell
//! scripts, `on-add.plugboard` and `on-modify.plugboard`, in Taskwarrior's
//! hooks folder, each starting `plugboard taskwarrior hook EVENT` on the
//! plugboard folders install-hooks was given. Each carries a marker line;
//! only files with it are replaced or removed.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// The line that says a hook file is plugboard's.
pub const MARKER: &str =
    "# Installed by `plugboard taskwarrior install-hooks`; `plugboard taskwarrior uninstall-hooks` removes it.";

/// The hook events plugboard answers, and the file each is installed as.
pub const HOOKS: [(&str, &str); 2] = [("on-add", "on-add.plugboard"), ("on-modify", "on-modify.plugboard")];

/// The largest hook file read to look for the marker: plugboard's are a few
/// hundred bytes; a bigger file is someone else's.
const MAX_HOOK_FILE: u64 = 64 * 1024;

/// The plugboard folders a hook runs on.
pub struct HookFolders {
    pub config: PathBuf,
    pub data: PathBuf,
    pub plugins: PathBuf,
    pub builtin: Option<PathBuf>,
}

/// Where Taskwarrior looks for hooks: `--hooks DIR`, else `DIR/hooks` for
/// `--data DIR`, else what `task` says (`rc.hooks.location`, else
/// `rc.data.location`/hooks, which follows TASKRC and TASKDATA), else
/// `~/.task/hooks`.
pub fn hooks_folder(hooks: Option<&Path>, data: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(hooks) = hooks {
        return Ok(hooks.to_path_buf());
    }
    if let Some(data) = data {
        return Ok(data.join("hooks"));
    }
    let ask = |setting: &str| -> Option<PathBuf> {
        let output = Command::new("task")
            .args(["rc.verbose=nothing", "rc.confirmation=off", "_get", setting])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        let text = text.trim();
        (output.status.success() && !text.is_empty()).then(|| expand_home(text))
    };
    if let Some(hooks) = ask("rc.hooks.location") {
        return Ok(hooks);
    }
    if let Some(data) = ask("rc.data.location") {
        return Ok(data.join("hooks"));
    }
    let home = std::env::var_os("HOME").context("HOME is not set; name the hooks folder with --hooks DIR")?;
    Ok(PathBuf::from(home).join(".task/hooks"))
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// A path quoted for sh.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// The script of one hook.
fn script(binary: &Path, folders: &HookFolders, event: &str) -> String {
    let mut command = format!(
        "exec {} --config-dir {} --data-dir {} --plugins-dir {}",
        quoted(binary),
        quoted(&folders.config),
        quoted(&folders.data),
        quoted(&folders.plugins)
    );
    if let Some(builtin) = &folders.builtin {
        command.push_str(&format!(" --builtin-dir {}", quoted(builtin)));
    }
    format!("#!/bin/sh\n{MARKER}\n{command} taskwarrior hook {event} \"$@\"\n")
}

/// Whether the file at `path` is a hook plugboard installed.
fn is_ours(path: &Path) -> anyhow::Result<bool> {
    let metadata = std::fs::symlink_metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !metadata.is_file() || metadata.len() > MAX_HOOK_FILE {
        return Ok(false);
    }
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(String::from_utf8_lossy(&text).lines().any(|line| line == MARKER))
}

/// Writes both hooks into `folder`, replacing plugboard's own, never
/// another file of the same name; returns the files written.
pub fn install(folder: &Path, binary: &Path, folders: &HookFolders) -> anyhow::Result<Vec<PathBuf>> {
    // Check both before writing either, so a refusal writes nothing.
    for (_, file) in HOOKS {
        let path = folder.join(file);
        if path.symlink_metadata().is_ok() && !is_ours(&path)? {
            anyhow::bail!(
                "{} exists and was not installed by plugboard; move it away and run install-hooks again",
                path.display()
            );
        }
    }
    std::fs::create_dir_all(folder).with_context(|| format!("cannot create the hooks folder {}", folder.display()))?;
    let mut written = Vec::new();
    for (event, file) in HOOKS {
        let path = folder.join(file);
        // Written beside its place and renamed, so Taskwarrior never runs
        // half a script.
        let mut temporary =
            tempfile::NamedTempFile::new_in(folder).with_context(|| format!("cannot write in {}", folder.display()))?;
        std::io::Write::write_all(&mut temporary, script(binary, folders, event).as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        temporary
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", path.display()))?;
        temporary
            .persist(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Removes the hooks plugboard installed in `folder`; returns the files
/// removed and those of the same name left because they are not plugboard's.
pub fn uninstall(folder: &Path) -> anyhow::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut removed, mut left) = (Vec::new(), Vec::new());
    for (_, file) in HOOKS {
        let path = folder.join(file);
        if path.symlink_metadata().is_err() {
            continue;
        }
        if is_ours(&path)? {
            std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            removed.push(path);
        } else {
            left.push(path);
        }
    }
    Ok((removed, left))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folders() -> HookFolders {
        HookFolders {
            config: "/c o/n'f".into(),
            data: "/d".into(),
            plugins: "/p".into(),
            builtin: None,
        }
    }

    #[test]
    fn install_writes_both_hooks_and_uninstall_removes_only_them() {
        let dir = tempfile::tempdir().unwrap();
        let hooks = dir.path().join("hooks");
        std::fs::create_dir(&hooks).unwrap();
        std::fs::write(hooks.join("on-add.other"), "#!/bin/sh\n").unwrap();
        let written = install(&hooks, Path::new("/bin/plugboard"), &folders()).unwrap();
        assert_eq!(written.len(), 2);
        let text = std::fs::read_to_string(hooks.join("on-add.plugboard")).unwrap();
        assert!(text.contains(MARKER), "{text}");
        assert!(
            text.contains("--config-dir '/c o/n'\\''f'") && text.ends_with("taskwarrior hook on-add \"$@\"\n"),
            "{text}"
        );
        let mode = std::fs::metadata(hooks.join("on-modify.plugboard"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "executable");
        // Installing again replaces its own hooks.
        install(&hooks, Path::new("/bin/plugboard"), &folders()).unwrap();

        let (removed, left) = uninstall(&hooks).unwrap();
        assert_eq!(removed.len(), 2);
        assert!(left.is_empty());
        let remaining: Vec<_> = std::fs::read_dir(&hooks)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(remaining, ["on-add.other"], "another hook is never touched");
    }

    #[test]
    fn a_file_of_the_same_name_that_is_not_plugboards_is_never_replaced_or_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("on-modify.plugboard"), "#!/bin/sh\necho mine\n").unwrap();
        let error = install(dir.path(), Path::new("/bin/plugboard"), &folders()).unwrap_err();
        assert!(error.to_string().contains("was not installed by plugboard"), "{error}");
        assert!(
            !dir.path().join("on-add.plugboard").exists(),
            "a refusal writes nothing"
        );
        let (removed, left) = uninstall(dir.path()).unwrap();
        assert!(removed.is_empty());
        assert_eq!(left, [dir.path().join("on-modify.plugboard")]);
        assert!(dir.path().join("on-modify.plugboard").exists());
    }
}
