//! Where plugins are installed: an optional folder of built-in plugins that ships with
//! the app, and the user's own plugins folder.

use std::ffi::OsString;
use std::path::PathBuf;

/// The variable naming the folder of built-in plugins; without it there is none.
pub const BUILTIN_DIR_VAR: &str = "PLUGBOARD_BUILTIN_DIR";

/// The variable naming the user's plugins folder, before the XDG default.
pub const USER_DIR_VAR: &str = "PLUGBOARD_PLUGINS_DIR";

/// The user's plugins folder under the XDG data folder.
const USER_DIR_UNDER_DATA: [&str; 2] = ["plugboard", "plugins"];

/// The two plugin folders: each holds one subfolder per plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginDirs {
    /// Plugins that ship with the app; `None` when the app ships none.
    pub builtin: Option<PathBuf>,
    /// Plugins the user installed; a plugin here wins over a built-in one of the same id.
    pub user: PathBuf,
}

impl PluginDirs {
    /// The folders from the environment: built-in from `$PLUGBOARD_BUILTIN_DIR` (none
    /// otherwise); the user's from `$PLUGBOARD_PLUGINS_DIR`, else
    /// `$XDG_DATA_HOME/plugboard/plugins`, else `~/.local/share/plugboard/plugins`.
    /// Empty variables are ignored, and so is a relative `$XDG_DATA_HOME`, as the XDG
    /// specification asks. A caller with its own options overrides the fields.
    pub fn from_env() -> Result<Self, PluginDirsError> {
        Self::from_lookup(|name| std::env::var_os(name), std::env::home_dir())
    }

    /// [`PluginDirs::from_env`] with the environment and the home folder passed in.
    fn from_lookup(env: impl Fn(&str) -> Option<OsString>, home: Option<PathBuf>) -> Result<Self, PluginDirsError> {
        let set = |name: &str| env(name).filter(|value| !value.is_empty()).map(PathBuf::from);
        let builtin = set(BUILTIN_DIR_VAR);
        let user = if let Some(dir) = set(USER_DIR_VAR) {
            dir
        } else if let Some(data) = set("XDG_DATA_HOME").filter(|data| data.is_absolute()) {
            data.join(USER_DIR_UNDER_DATA.iter().collect::<PathBuf>())
        } else {
            match home.filter(|home| !home.as_os_str().is_empty()) {
                Some(home) => home
                    .join(".local")
                    .join("share")
                    .join(USER_DIR_UNDER_DATA.iter().collect::<PathBuf>()),
                None => return Err(PluginDirsError::NoHome),
            }
        };
        Ok(Self { builtin, user })
    }

    /// The folders to search, with the origin of the plugins in each: built-in first,
    /// then the user's (which wins).
    pub(crate) fn roots(&self) -> impl Iterator<Item = (crate::Origin, &PathBuf)> {
        self.builtin
            .iter()
            .map(|dir| (crate::Origin::Builtin, dir))
            .chain(std::iter::once((crate::Origin::User, &self.user)))
    }
}

/// The user's plugins folder cannot be told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginDirsError {
    /// No variable names the folder and there is no home folder to put it under.
    #[error(
        "cannot tell where plugins are installed: there is no home folder; set {USER_DIR_VAR} to the plugins folder"
    )]
    NoHome,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    fn home() -> Option<PathBuf> {
        Some(PathBuf::from("/home/ada"))
    }

    #[test]
    fn plugboard_s_variable_wins_then_xdg_then_home() {
        let all = env(&[
            (BUILTIN_DIR_VAR, "/usr/share/app/plugins"),
            (USER_DIR_VAR, "/own"),
            ("XDG_DATA_HOME", "/xdg"),
        ]);
        assert_eq!(
            PluginDirs::from_lookup(all, home()),
            Ok(PluginDirs {
                builtin: Some(PathBuf::from("/usr/share/app/plugins")),
                user: PathBuf::from("/own"),
            })
        );
        let xdg = PluginDirs::from_lookup(env(&[("XDG_DATA_HOME", "/xdg")]), home()).expect("xdg");
        assert_eq!(xdg.user, Path::new("/xdg/plugboard/plugins"));
        assert_eq!(xdg.builtin, None, "no built-in folder unless the variable names one");
        let default = PluginDirs::from_lookup(env(&[]), home()).expect("home");
        assert_eq!(default.user, Path::new("/home/ada/.local/share/plugboard/plugins"));
    }

    #[test]
    fn empty_and_relative_values_are_ignored() {
        let odd = env(&[
            (BUILTIN_DIR_VAR, ""),
            (USER_DIR_VAR, ""),
            ("XDG_DATA_HOME", "relative/data"),
        ]);
        assert_eq!(
            PluginDirs::from_lookup(odd, home()),
            Ok(PluginDirs {
                builtin: None,
                user: PathBuf::from("/home/ada/.local/share/plugboard/plugins"),
            })
        );
    }

    #[test]
    fn without_a_home_the_variable_is_named() {
        let error = PluginDirs::from_lookup(env(&[]), None).expect_err("no home");
        assert!(error.to_string().contains(USER_DIR_VAR), "{error}");
        let error = PluginDirs::from_lookup(env(&[]), Some(PathBuf::new())).expect_err("empty home");
        assert_eq!(error, PluginDirsError::NoHome);
        assert!(PluginDirs::from_lookup(env(&[(USER_DIR_VAR, "/own")]), None).is_ok());
    }

    #[test]
    fn roots_list_the_user_folder_last() {
        let dirs = PluginDirs {
            builtin: Some(PathBuf::from("/b")),
            user: PathBuf::from("/u"),
        };
        let roots: Vec<_> = dirs.roots().map(|(origin, dir)| (origin, dir.clone())).collect();
        assert_eq!(
            roots,
            [
                (crate::Origin::Builtin, PathBuf::from("/b")),
                (crate::Origin::User, PathBuf::from("/u"))
            ]
        );
    }
}
