//! Where the CLI keeps the user's decisions: the config folder (the grants
//! file, `plugboard.toml`) and the data folder (the quarantine,
//! `quarantine.json`), from `--config-dir` / `--data-dir`, the environment,
//! or the XDG defaults.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::bail;

/// Which folder, with the variables and defaults that locate it.
#[derive(Debug, Clone, Copy)]
pub struct FolderKind {
    /// The option that sets it, for messages.
    option: &'static str,
    /// plugboard's own variable, e.g. `PLUGBOARD_CONFIG_DIR`.
    own_var: &'static str,
    /// The XDG base-directory variable, e.g. `XDG_CONFIG_HOME`.
    xdg_var: &'static str,
    /// The XDG default under the home folder, e.g. `.config`.
    home_default: &'static str,
}

/// The config folder: `$PLUGBOARD_CONFIG_DIR`, else `$XDG_CONFIG_HOME/plugboard`,
/// else `~/.config/plugboard`.
pub const CONFIG: FolderKind = FolderKind {
    option: "--config-dir",
    own_var: "PLUGBOARD_CONFIG_DIR",
    xdg_var: "XDG_CONFIG_HOME",
    home_default: ".config",
};

/// The data folder: `$PLUGBOARD_DATA_DIR`, else `$XDG_DATA_HOME/plugboard`,
/// else `~/.local/share/plugboard`.
pub const DATA: FolderKind = FolderKind {
    option: "--data-dir",
    own_var: "PLUGBOARD_DATA_DIR",
    xdg_var: "XDG_DATA_HOME",
    home_default: ".local/share",
};

/// The folder's name under the XDG base folder.
const APP_FOLDER: &str = "plugboard";

/// The folder to use: the option's value when given, else from the
/// process's environment and home folder.
pub fn resolve(kind: FolderKind, explicit: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    resolve_with(kind, explicit, |name| std::env::var_os(name), std::env::home_dir())
}

/// [`resolve`] with the environment and home folder passed in, for tests.
fn resolve_with(
    kind: FolderKind,
    explicit: Option<&PathBuf>,
    env: impl Fn(&str) -> Option<OsString>,
    home: Option<PathBuf>,
) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.clone());
    }
    let set = |name: &str| env(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(kind.own_var) {
        return Ok(dir);
    }
    // The XDG spec says a relative path in these variables is invalid and
    // must be ignored.
    if let Some(base) = set(kind.xdg_var).filter(|base| base.is_absolute()) {
        return Ok(base.join(APP_FOLDER));
    }
    match home.filter(|home| !home.as_os_str().is_empty()) {
        Some(home) => Ok(home.join(kind.home_default).join(APP_FOLDER)),
        None => bail!(
            "cannot tell where to keep plugboard's files: there is no home folder; pass {} DIR or set {}",
            kind.option,
            kind.own_var
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v))
    }

    #[test]
    fn the_option_wins_then_plugboard_s_variable_then_xdg_then_home() {
        let home = Some(PathBuf::from("/home/ada"));
        let all = env(&[
            ("PLUGBOARD_CONFIG_DIR", "/own"),
            ("XDG_CONFIG_HOME", "/xdg"),
            ("PLUGBOARD_DATA_DIR", "/own-data"),
            ("XDG_DATA_HOME", "/xdg-data"),
        ]);
        let explicit = PathBuf::from("given");
        assert_eq!(
            resolve_with(CONFIG, Some(&explicit), &all, home.clone()).unwrap(),
            explicit
        );
        assert_eq!(
            resolve_with(CONFIG, None, &all, home.clone()).unwrap(),
            PathBuf::from("/own")
        );
        assert_eq!(
            resolve_with(DATA, None, &all, home.clone()).unwrap(),
            PathBuf::from("/own-data")
        );
        let xdg = env(&[("XDG_CONFIG_HOME", "/xdg"), ("XDG_DATA_HOME", "/xdg-data")]);
        assert_eq!(
            resolve_with(CONFIG, None, &xdg, home.clone()).unwrap(),
            PathBuf::from("/xdg/plugboard")
        );
        assert_eq!(
            resolve_with(DATA, None, &xdg, home.clone()).unwrap(),
            PathBuf::from("/xdg-data/plugboard")
        );
        let none = env(&[]);
        assert_eq!(
            resolve_with(CONFIG, None, &none, home.clone()).unwrap(),
            PathBuf::from("/home/ada/.config/plugboard")
        );
        assert_eq!(
            resolve_with(DATA, None, &none, home).unwrap(),
            PathBuf::from("/home/ada/.local/share/plugboard")
        );
    }

    #[test]
    fn empty_or_relative_variables_are_ignored() {
        let home = Some(PathBuf::from("/home/ada"));
        let odd = env(&[("PLUGBOARD_CONFIG_DIR", ""), ("XDG_CONFIG_HOME", "relative/dir")]);
        assert_eq!(
            resolve_with(CONFIG, None, &odd, home).unwrap(),
            PathBuf::from("/home/ada/.config/plugboard")
        );
    }

    #[test]
    fn no_home_and_no_variable_asks_for_the_option() {
        let error = resolve_with(DATA, None, env(&[]), None).unwrap_err().to_string();
        assert!(
            error.contains("--data-dir DIR") && error.contains("PLUGBOARD_DATA_DIR"),
            "{error}"
        );
    }
}
