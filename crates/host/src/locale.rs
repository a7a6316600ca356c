//! A plugin's translations: `locales/<lang>.json` in its folder (and
//! archive), each a flat JSON object of keys to texts, read once at load.
//! `locale.translate` looks a key up in the user's language (`pt-br`, then
//! `pt`), in the plugin's own files first and then in those of the locale
//! plugins that declare `[locales] translates = "<its id>"`, then in the
//! plugin's default language (`[locales] default`, `en` when left out), and
//! answers the key itself when nothing has it.
//!
//! Bounds: at most [`MAX_LOCALE_FILES`] files of at most
//! [`MAX_LOCALE_FILE_BYTES`] each, keys of at most
//! [`MAX_LOCALE_KEY_BYTES`]; a file over them, or not a flat object of
//! texts, keeps the plugin from loading with a message naming the file. A
//! translation with its arguments put in is at most the plugin's
//! `max-value`; a longer one traps the call as a large value.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plugboard_manifest::{Language, Manifest};

/// The folder inside a plugin's folder (and archive) that holds its translations.
pub const LOCALES_DIR: &str = "locales";

/// Most locale files a plugin may have.
pub const MAX_LOCALE_FILES: usize = 64;

/// Largest locale file.
pub const MAX_LOCALE_FILE_BYTES: u64 = 1 << 20;

/// Longest key in a locale file, and the longest key a plugin may look up.
pub const MAX_LOCALE_KEY_BYTES: usize = 256;

/// Why a plugin's translations could not be read.
#[derive(Debug, thiserror::Error)]
#[error("plugin `{plugin}`: {}: {why}", path.display())]
pub struct LocaleError {
    /// The plugin id.
    pub plugin: String,
    /// The locale file or folder.
    pub path: PathBuf,
    /// What is wrong with it.
    pub why: String,
}

/// One plugin's translations, by language, and where to look first.
#[derive(Debug, Clone, Default)]
pub struct Translations {
    /// Key to text, by language.
    texts: BTreeMap<String, BTreeMap<String, String>>,
    /// The plugin's default language.
    default: String,
    /// The user's language and its parents, most specific first.
    user: Vec<String>,
    /// The plugin these translate, for a locale plugin.
    pub(crate) translates: Option<String>,
}

impl Translations {
    /// Reads `locales/*.json` of the plugin in `dir`; `language` is the
    /// user's (see [`user_language`]).
    pub fn load(manifest: &Manifest, dir: &Path, language: &Language) -> Result<Translations, LocaleError> {
        let plugin = manifest.plugin.id.as_str().to_string();
        let folder = dir.join(LOCALES_DIR);
        let mut user = vec![language.as_str().to_string()];
        let mut parent = language.parent();
        while let Some(p) = parent {
            user.push(p.as_str().to_string());
            parent = p.parent();
        }
        let mut translations = Translations {
            texts: BTreeMap::new(),
            default: manifest.locales.default.as_str().to_string(),
            user,
            translates: manifest.locales.translates.as_ref().map(|id| id.as_str().to_string()),
        };
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(translations),
            Err(e) => {
                return Err(LocaleError {
                    plugin,
                    path: folder,
                    why: e.to_string(),
                });
            }
        };
        let error = |path: &Path, why: String| LocaleError {
            plugin: plugin.clone(),
            path: path.to_path_buf(),
            why,
        };
        for entry in entries {
            let entry = entry.map_err(|e| error(&folder, e.to_string()))?;
            let path = entry.path();
            let Some(stem) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            let language: Language = stem
                .parse()
                .map_err(|e: plugboard_manifest::InvalidValue| error(&path, e.to_string()))?;
            if translations.texts.len() >= MAX_LOCALE_FILES {
                return Err(error(&folder, format!("more than {MAX_LOCALE_FILES} locale files")));
            }
            let size = std::fs::metadata(&path).map_err(|e| error(&path, e.to_string()))?.len();
            if size > MAX_LOCALE_FILE_BYTES {
                return Err(error(
                    &path,
                    format!("{size} bytes; a locale file is at most {MAX_LOCALE_FILE_BYTES}"),
                ));
            }
            let text = std::fs::read_to_string(&path).map_err(|e| error(&path, e.to_string()))?;
            let table: BTreeMap<String, String> = serde_json::from_str(&text).map_err(|e| {
                error(
                    &path,
                    format!("not a JSON object of texts, like {{\"greeting\": \"Hello {{name}}\"}}: {e}"),
                )
            })?;
            if let Some(long) = table.keys().find(|k| k.len() > MAX_LOCALE_KEY_BYTES) {
                return Err(error(
                    &path,
                    format!(
                        "key {:?}... is longer than {MAX_LOCALE_KEY_BYTES} bytes",
                        long.chars().take(32).collect::<String>()
                    ),
                ));
            }
            translations.texts.insert(language.as_str().to_string(), table);
        }
        Ok(translations)
    }

    /// The languages it has files for.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.texts.keys().map(String::as_str)
    }

    /// The user's language.
    pub fn user_language(&self) -> &str {
        self.user.first().map_or("en", String::as_str)
    }

    fn text(&self, language: &str, key: &str) -> Option<&str> {
        self.texts.get(language)?.get(key).map(String::as_str)
    }

    /// The text for `key`: in the user's language from these translations,
    /// then from `packs` (the locale plugins translating this plugin), then
    /// in the default language; `None` when nothing has it.
    pub fn lookup<'a>(&'a self, key: &str, packs: &'a [Arc<Translations>]) -> Option<&'a str> {
        for language in &self.user {
            if let Some(text) = self.text(language, key) {
                return Some(text);
            }
            if let Some(text) = packs.iter().find_map(|p| p.text(language, key)) {
                return Some(text);
            }
        }
        self.text(&self.default, key)
            .or_else(|| packs.iter().find_map(|p| p.text(&self.default, key)))
    }
}

/// Puts each `{name}` of `template` the argument `name`'s value (the first
/// of that name); an unknown `{name}` stays as it is, and a name holds no
/// `{`. Returns `None` as soon as the result would be longer than `max`
/// bytes. Linear in the template's and the arguments' length, whatever
/// their shape: each search for a name's end stops at the next brace,
/// and names are looked up in a map, not a list.
pub fn fill(template: &str, args: &[(String, String)], max: usize) -> Option<String> {
    let mut values: HashMap<&str, &str> = HashMap::with_capacity(args.len());
    for (name, value) in args {
        values.entry(name.as_str()).or_insert(value.as_str());
    }
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after
            .find(['{', '}'])
            .filter(|&end| after.as_bytes()[end] == b'}')
            .and_then(|close| values.get(&after[..close]).map(|value| (*value, close)));
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
        if out.len() > max {
            return None;
        }
    }
    out.push_str(rest);
    (out.len() <= max).then_some(out)
}

/// The user's language from the environment, as POSIX sets it
/// (`LC_ALL`, then `LC_MESSAGES`, then `LANG`; `de_DE.UTF-8` is `de-de`);
/// `en` when none is set or it is `C`/`POSIX`.
pub fn user_language() -> Language {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|value| !value.is_empty())
        .and_then(|value| language_from_posix(&value))
        .unwrap_or_else(english)
}

fn english() -> Language {
    // A valid tag: cannot fail.
    "en".parse()
        .unwrap_or_else(|_| unreachable!("\"en\" is a language tag"))
}

/// `de_DE.UTF-8@euro` as a language tag (`de-de`); `None` for `C`, `POSIX`
/// or anything that is not a language.
pub fn language_from_posix(value: &str) -> Option<Language> {
    let bare = value.split(['.', '@']).next().unwrap_or_default();
    bare.replace('_', "-").to_ascii_lowercase().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_arguments_and_caps_the_result() {
        let args = vec![("name".to_string(), "Ada".to_string())];
        assert_eq!(fill("Hello {name}!", &args, 100).as_deref(), Some("Hello Ada!"));
        assert_eq!(fill("{other} {name", &args, 100).as_deref(), Some("{other} {name"));
        let big = vec![("a".to_string(), "x".repeat(1000))];
        assert_eq!(fill(&"{a}".repeat(1000), &big, 10_000), None);
        // The first argument of a name counts; a name holds no `{`.
        let twice = vec![("n".to_string(), "1".to_string()), ("n".to_string(), "2".to_string())];
        assert_eq!(fill("{n}", &twice, 100).as_deref(), Some("1"));
        assert_eq!(fill("{a{n}", &twice, 100).as_deref(), Some("{a1"));
    }

    #[test]
    fn a_template_of_open_braces_is_filled_in_one_pass() {
        // A megabyte of `{` with no `}`: each brace once searched to the end
        // of the template would be 10^12 steps inside one host call.
        let template = "{".repeat(1 << 20);
        assert_eq!(fill(&template, &[], 2 << 20).as_deref(), Some(template.as_str()));
        // And as many placeholders as arguments, every one different.
        let args: Vec<(String, String)> = (0..50_000).map(|i| (format!("k{i}"), String::new())).collect();
        let template: String = (0..50_000).map(|i| format!("{{k{i}}}")).collect();
        assert_eq!(fill(&template, &args, 1 << 20).as_deref(), Some(""));
    }

    #[test]
    fn posix_locales_become_tags() {
        assert_eq!(language_from_posix("de_DE.UTF-8").unwrap().as_str(), "de-de");
        assert_eq!(language_from_posix("fr").unwrap().as_str(), "fr");
        assert!(language_from_posix("C").is_none());
        assert!(language_from_posix("POSIX").is_none());
    }
}
