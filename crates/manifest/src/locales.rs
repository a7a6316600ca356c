//! The `[locales]` table: the plugin's default language, and for a data-only
//! locale plugin, the plugin whose texts it translates.

use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::de::parsed;
use crate::error::InvalidValue;
use crate::plugin::PluginId;

/// `[locales]`: where `locale.translate` looks when the user's language has
/// no translation, and whose texts a locale plugin translates.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a table like { default = \"en\" } or { translates = \"auto-tag\" }"
)]
pub struct Locales {
    /// The language of `locales/<default>.json`, used when the user's
    /// language has no translation; `en` when left out.
    #[serde(default = "english")]
    pub default: Language,
    /// For a locale plugin: the plugin whose keys its `locales/*.json`
    /// translate. The host offers its translations to that plugin, after
    /// the plugin's own in the user's language.
    #[serde(default)]
    pub translates: Option<PluginId>,
}

impl Default for Locales {
    fn default() -> Locales {
        Locales {
            default: english(),
            translates: None,
        }
    }
}

fn english() -> Language {
    Language("en".to_owned())
}

/// A language tag as locale files are named: lowercase, `en`, `de`,
/// `pt-br`, `zh-hant` (2 or 3 letters, then parts of 2 to 8 letters or
/// digits after `-`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Language(String);

impl Language {
    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tag without its last part (`pt-br` -> `pt`), if it has one.
    pub fn parent(&self) -> Option<Language> {
        self.0.rsplit_once('-').map(|(head, _)| Language(head.to_owned()))
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Language {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let bad = || {
            InvalidValue::new(format!(
                "language \"{text}\" is not a lowercase language tag like \"en\", \"de\" or \"pt-br\""
            ))
        };
        let mut parts = text.split('-');
        let first = parts.next().unwrap_or_default();
        if !(2..=3).contains(&first.len()) || !first.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(bad());
        }
        for part in parts {
            if !(2..=8).contains(&part.len()) || !part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
                return Err(bad());
            }
        }
        if text.len() > 35 {
            return Err(bad());
        }
        Ok(Language(text.to_owned()))
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parsed(deserializer, "a language tag like \"en\" or \"pt-br\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_are_lowercase_with_parts() {
        for good in ["en", "de", "pt-br", "zh-hant", "gsw"] {
            assert_eq!(good.parse::<Language>().expect(good).as_str(), good);
        }
        for bad in ["", "e", "EN", "en_US", "de-", "english", "../x", "en-a"] {
            let message = bad.parse::<Language>().expect_err(bad).to_string();
            assert!(message.contains("is not a lowercase language tag"), "{bad}: {message}");
        }
        assert_eq!("pt-br".parse::<Language>().unwrap().parent().unwrap().as_str(), "pt");
    }

    #[test]
    fn the_table_names_a_default_and_whose_texts_it_translates() {
        let table: Locales = toml::from_str("default = \"de\"\ntranslates = \"auto-tag\"").unwrap();
        assert_eq!(table.default.as_str(), "de");
        assert_eq!(table.translates.unwrap().as_str(), "auto-tag");
        let empty: Locales = toml::from_str("").unwrap();
        assert_eq!(empty, Locales::default());
        assert_eq!(empty.default.as_str(), "en");
        let bad = toml::from_str::<Locales>("default = \"EN\"").unwrap_err().to_string();
        assert!(bad.contains("is not a lowercase language tag"), "{bad}");
        let bad = toml::from_str::<Locales>("fallback = \"en\"").unwrap_err().to_string();
        assert!(bad.contains("unknown field `fallback`"), "{bad}");
    }
}
