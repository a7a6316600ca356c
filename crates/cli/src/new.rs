//! `plugboard new --lang LANG NAME`: starts a plugin from the template of
//! its language, embedded in the binary at build time (`templates/<lang>/`
//! in the repository). Every file is copied with its placeholders filled in:
//!
//! | placeholder | becomes | e.g. for `My Tagger` |
//! |---|---|---|
//! | `{{id}}` | the plugin id (`--id`, else derived from NAME) | `my-tagger` |
//! | `{{name}}` | NAME as given | `My Tagger` |
//! | `{{crate}}` | the id with `.` as `-` (a Rust crate or npm package name) | `my-tagger` |
//! | `{{snake}}` | the id with `.` and `-` as `_` (the component's file name) | `my_tagger` |
//!
//! The Python and JavaScript templates also get the current world's WIT as
//! `wit/plugin.wit`, which their tools generate the bindings from.
//!
//! The command never writes into a folder that has anything in it, and
//! writes nothing when the id or name is unfit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use plugboard_manifest::PluginId;

/// A file of a template: its path inside the template and its bytes.
type TemplateFile = (&'static str, &'static [u8]);
/// A template: its language and its files.
type Template = (&'static str, &'static [TemplateFile]);

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The world a new plugin is written against.
const CURRENT_WIT: &str = include_str!("../../../wit/task-events@2.2.0/plugin.wit");

/// The templates whose tools build from a WIT file in the plugin's folder.
const TEMPLATES_WITH_WIT: &[&str] = &["python", "js"];

/// The longest NAME taken: it is shown in lists and written into files.
const MAX_NAME_CHARS: usize = 100;

/// `plugboard new`'s arguments.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's language: one of the templates built in (rust, c, cpp,
    /// python, js, as far as this build has them).
    #[arg(long, value_name = "LANG")]
    lang: String,
    /// The plugin's name, as users will see it, e.g. "Auto tag".
    name: String,
    /// The plugin's id (lowercase letters, digits, '.' and '-'); by default
    /// derived from NAME.
    #[arg(long)]
    id: Option<String>,
    /// Where to write the plugin (a missing or empty folder); by default a
    /// folder named after the id in the current folder.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// The languages this build has a template for.
pub fn languages() -> Vec<&'static str> {
    TEMPLATES.iter().map(|(language, _)| *language).collect()
}

/// Writes the new plugin; prints its folder and what to do next.
pub fn new(args: &NewArgs) -> anyhow::Result<ExitCode> {
    let Some((_, files)) = TEMPLATES.iter().find(|(language, _)| *language == args.lang) else {
        bail!(
            "there is no {:?} template; the languages are: {}",
            args.lang,
            languages().join(", ")
        );
    };
    check_name(&args.name)?;
    let id = match &args.id {
        Some(id) => id
            .parse::<PluginId>()
            .map_err(|e| anyhow::anyhow!("--id: {}", e.message()))?,
        None => derive_id(&args.name)?,
    };
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(id.as_str()));
    refuse_non_empty(&dir)?;
    let values = Placeholders::new(&id, &args.name);
    for (relative, bytes) in *files {
        write(&dir.join(relative), &values.fill(bytes))?;
    }
    if TEMPLATES_WITH_WIT.contains(&args.lang.as_str()) {
        write(&dir.join("wit/plugin.wit"), CURRENT_WIT.as_bytes())?;
    }
    println!("created the {} plugin `{id}` in {}", args.lang, dir.display());
    println!(
        "its README.md says how to build it; then run `plugboard check {}`",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The values of the placeholders for one plugin.
struct Placeholders {
    pairs: [(&'static str, String); 4],
}

impl Placeholders {
    fn new(id: &PluginId, name: &str) -> Placeholders {
        let id = id.as_str();
        Placeholders {
            pairs: [
                ("{{id}}", id.to_string()),
                ("{{name}}", name.to_string()),
                ("{{crate}}", id.replace('.', "-")),
                ("{{snake}}", id.replace(['.', '-'], "_")),
            ],
        }
    }

    /// The file with every placeholder replaced; a file that is not text is
    /// copied as it is.
    fn fill(&self, bytes: &[u8]) -> Vec<u8> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return bytes.to_vec();
        };
        let mut text = text.to_string();
        for (placeholder, value) in &self.pairs {
            text = text.replace(placeholder, value);
        }
        text.into_bytes()
    }
}

/// A name goes into TOML, JSON, Rust, Python and JavaScript strings as it
/// is: it must need no escaping in any of them.
fn check_name(name: &str) -> anyhow::Result<()> {
    if name.trim().is_empty() {
        bail!("the plugin name is empty; give a name such as \"Auto tag\"");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        bail!("the plugin name is longer than {MAX_NAME_CHARS} characters");
    }
    if let Some(bad) = name
        .chars()
        .find(|c| c.is_control() || matches!(c, '"' | '\\' | '`' | '{' | '}'))
    {
        bail!(
            "the plugin name {name:?} contains {bad:?}; a name may not contain quotes, backslashes, braces or control characters"
        );
    }
    Ok(())
}

/// The id for a name: lowercase, every run of other characters than ASCII
/// letters and digits one '-', trimmed, at most 64 characters.
fn derive_id(name: &str) -> anyhow::Result<PluginId> {
    let mut id = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    let mut id = id.trim_end_matches('-').to_string();
    id.truncate(64);
    let id = id.trim_end_matches('-');
    id.parse::<PluginId>().map_err(|e| {
        anyhow::anyhow!(
            "no plugin id can be made from the name {name:?} ({}); give one with --id",
            e.message()
        )
    })
}

fn refuse_non_empty(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!("{} is not empty; give a new or empty folder with --dir", dir.display());
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotADirectory => {
            bail!("{} is a file; give a new or empty folder with --dir", dir.display())
        }
        Err(error) => Err(error).with_context(|| format!("cannot read {}", dir.display())),
    }
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_derived_from_the_name() {
        let id = |name| derive_id(name).map(|id| id.to_string()).map_err(|e| e.to_string());
        assert_eq!(id("Auto tag").as_deref(), Ok("auto-tag"));
        assert_eq!(id("  My  Tagger!! 2 ").as_deref(), Ok("my-tagger-2"));
        assert!(id("2 fast").unwrap_err().contains("give one with --id"));
        assert!(id("日本").unwrap_err().contains("give one with --id"));
    }

    #[test]
    fn the_placeholders_are_filled() {
        let values = Placeholders::new(&"my.tag-er".parse().expect("a valid id"), "My tagger");
        let filled = values.fill(b"{{id}} {{name}} {{crate}} {{snake}}");
        assert_eq!(filled, b"my.tag-er My tagger my-tag-er my_tag_er");
    }

    #[test]
    fn the_rust_python_and_js_templates_are_built_in() {
        for language in ["rust", "python", "js"] {
            assert!(languages().contains(&language), "{:?}", languages());
        }
    }
}
