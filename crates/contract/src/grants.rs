//! What the user granted each plugin: the grants of one plugin
//! ([`Grants`]), one grant as the user types it ([`Grant`]), the table of
//! every plugin's grants ([`GrantTable`]), and the [`GrantStore`] the host
//! reads it from, with an in-memory implementation ([`InMemoryGrants`]; the
//! file-backed one, the user's `plugboard.toml`, is `plugboard-state`'s
//! `GrantsFileStore`, and `GrantsFile` edits that file).
//!
//! The default grant is nothing. A `[grants]` table gives every plugin the
//! same grants; a `[plugins."<id>".grants]` table overrides it field by field
//! for one plugin, the way an editor's per-project settings override its user
//! settings. `*` in a list means "everything the manifest requests".
//!
//! ```toml
//! [plugins."auto-tag".grants]
//! tasks = ["read", "write"]
//! subscribe = ["task-created", "task-modified"]
//! state = "64KiB"
//! emit = ["*"]
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// In a granted list: everything the manifest requests.
pub const EVERYTHING_REQUESTED: &str = "*";

/// The grants of one plugin (or the defaults for all). A field left out
/// grants nothing, or, in a per-plugin table, keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Grants {
    /// Task access: `read`, `write`, `delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<String>>,
    /// State, with a quota (`"64KiB"`), or `"*"` for the quota requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Topics it may emit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emit: Option<Vec<String>>,
    /// Event kinds it may receive (`task-created`, `custom:<topic>`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Vec<String>>,
    /// Hosts it may reach over outgoing HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Vec<String>>,
    /// Commands of other plugins it may invoke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<String>>,
    /// Files: `private` (its own folder), `read:<path>`, `write:<path>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
    /// The application's own interfaces it may call, by the permission
    /// name the application gives each (`app.notify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<Vec<String>>,
    /// `[limits]` it may have above the host's defaults, by name (see
    /// [`LIMIT_NAMES`]): the most granted (`"5s"`, `"256MiB"`, `"20000"`),
    /// or `"*"` for what the manifest asks. A limit not listed stays at the
    /// host's default when the manifest asks for more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<BTreeMap<String, String>>,
}

/// The `[limits]` a plugin can be granted above the host's defaults, as a
/// manifest names them, with the unit their values are written in.
pub const LIMIT_NAMES: [(&str, LimitUnit); 7] = [
    ("deadline", LimitUnit::Duration),
    ("fuel", LimitUnit::Count),
    ("memory", LimitUnit::Bytes),
    ("tables", LimitUnit::Count),
    ("max-value", LimitUnit::Bytes),
    ("host-calls", LimitUnit::Count),
    ("emits-per-event", LimitUnit::Count),
];

/// How a limit's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitUnit {
    /// A duration, `"5s"`; counted in milliseconds.
    Duration,
    /// A byte size, `"256MiB"`.
    Bytes,
    /// A plain number, `"20000"`.
    Count,
}

/// How much of a limit the user granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantedLimit {
    /// Whatever the manifest asks (still capped by the host's maximum).
    AsRequested,
    /// At most this much: milliseconds for the deadline, bytes for memory
    /// and values, a count for the others.
    AtMost(u64),
}

/// The unit limit `name` is written in; `None` for a name that is not a
/// limit one can grant.
pub fn limit_unit(name: &str) -> Option<LimitUnit> {
    LIMIT_NAMES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, unit)| *unit)
}

/// Reads a limit's value as written in a grant (`"5s"`, `"256MiB"`,
/// `"20000"`): milliseconds, bytes or a count.
pub fn parse_limit_value(name: &str, text: &str) -> Option<u64> {
    match limit_unit(name)? {
        LimitUnit::Duration => plugboard_manifest::parse_duration(text)
            .ok()
            .and_then(|d| u64::try_from(d.as_millis()).ok()),
        LimitUnit::Bytes => plugboard_manifest::parse_byte_size(text).ok(),
        LimitUnit::Count => text.parse().ok(),
    }
}

/// Writes a limit's value as a grant holds it.
pub fn format_limit_value(name: &str, value: u64) -> String {
    match limit_unit(name) {
        Some(LimitUnit::Duration) => plugboard_manifest::format_duration(std::time::Duration::from_millis(value)),
        Some(LimitUnit::Bytes) => plugboard_manifest::format_byte_size(value),
        Some(LimitUnit::Count) | None => value.to_string(),
    }
}

/// One grant, as a user types it on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// `tasks.read`, `tasks.write`, `tasks.delete`
    Tasks(String),
    /// `state` (the quota requested) or `state:64KiB`
    State(Option<u64>),
    /// `events.emit` (every requested topic) or `events.emit:<topic>`
    Emit(String),
    /// `subscribe` (every requested kind) or `subscribe:<kind>`
    Subscribe(String),
    /// `network:<host>`
    Network(String),
    /// `commands.invoke:<plugin.command>`
    Command(String),
    /// `files` (everything requested), `files.private`, `files.read:<path>` or
    /// `files.write:<path>`, held as `*`, `private`, `read:<path>`, `write:<path>`;
    /// the path is absolute with no `.` or `..` part.
    Files(String),
    /// `app:<permission>`: one of the application's own interfaces, by the
    /// permission name the application gives it (`app:app.notify`).
    App(String),
    /// `limit:<name>` (what the manifest asks) or `limit:<name>=<value>`
    /// (at most that): a `[limits]` value above the host's default.
    Limit {
        /// The limit, as the manifest names it (`deadline`, `memory`, ...).
        name: String,
        /// The most granted, as written (`5s`); `None` for what is asked.
        value: Option<String>,
    },
}

/// A grant string that is not one of the forms above.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a permission; use tasks.read, tasks.write, tasks.delete, state, state:<size>, \
     events.emit, events.emit:<topic>, subscribe, subscribe:<event>, network:<host>, commands.invoke:<name>, \
     app:<permission>, files, files.private, files.read:<absolute path>, files.write:<absolute path>, \
     limit:<name> or limit:<name>=<value> (deadline, fuel, memory, tables, max-value, host-calls, emits-per-event)"
)]
pub struct BadGrant(pub String);

impl FromStr for Grant {
    type Err = BadGrant;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadGrant(text.to_string());
        let (name, arg) = match text.split_once(':') {
            Some((name, arg)) if !arg.is_empty() => (name, Some(arg)),
            Some(_) => return Err(bad()),
            None => (text, None),
        };
        let all = || EVERYTHING_REQUESTED.to_string();
        Ok(match (name, arg) {
            ("tasks.read", None) => Grant::Tasks("read".into()),
            ("tasks.write", None) => Grant::Tasks("write".into()),
            ("tasks.delete", None) => Grant::Tasks("delete".into()),
            ("state", None) => Grant::State(None),
            ("state", Some(size)) => Grant::State(Some(plugboard_manifest::parse_byte_size(size).map_err(|_| bad())?)),
            ("events.emit", arg) => Grant::Emit(arg.map_or_else(all, str::to_string)),
            ("subscribe", arg) => Grant::Subscribe(arg.map_or_else(all, str::to_string)),
            ("network", Some(host)) => Grant::Network(host.to_string()),
            ("commands.invoke", Some(name)) => Grant::Command(name.to_string()),
            ("files", None) => Grant::Files(all()),
            ("files.private", None) => Grant::Files("private".into()),
            ("files.read" | "files.write", Some(path)) => {
                let path = path.parse::<plugboard_manifest::FolderPath>().map_err(|_| bad())?;
                Grant::Files(format!("{}:{path}", &name["files.".len()..]))
            }
            ("app", Some(name)) => Grant::App(name.to_string()),
            ("limit", Some(arg)) => {
                let (name, value) = match arg.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None => (arg, None),
                };
                limit_unit(name).ok_or_else(bad)?;
                let value = match value {
                    Some(value) => {
                        // Written back in one spelling, so the grants file reads alike.
                        let parsed = parse_limit_value(name, value).ok_or_else(bad)?;
                        Some(format_limit_value(name, parsed))
                    }
                    None => None,
                };
                Grant::Limit {
                    name: name.to_string(),
                    value,
                }
            }
            _ => return Err(bad()),
        })
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with = |f: &mut fmt::Formatter<'_>, name: &str, arg: &str| {
            if arg == EVERYTHING_REQUESTED {
                f.write_str(name)
            } else {
                write!(f, "{name}:{arg}")
            }
        };
        match self {
            Grant::Tasks(access) => write!(f, "tasks.{access}"),
            Grant::State(None) => f.write_str("state"),
            Grant::State(Some(quota)) => write!(f, "state:{}", plugboard_manifest::format_byte_size(*quota)),
            Grant::Emit(topic) => with(f, "events.emit", topic),
            Grant::Subscribe(kind) => with(f, "subscribe", kind),
            Grant::Network(host) => write!(f, "network:{host}"),
            Grant::Command(name) => write!(f, "commands.invoke:{name}"),
            Grant::Files(what) if what == EVERYTHING_REQUESTED => f.write_str("files"),
            Grant::Files(what) => write!(f, "files.{what}"),
            Grant::App(name) => write!(f, "app:{name}"),
            Grant::Limit { name, value: None } => write!(f, "limit:{name}"),
            Grant::Limit {
                name,
                value: Some(value),
            } => write!(f, "limit:{name}={value}"),
        }
    }
}

fn add(list: &mut Option<Vec<String>>, item: &str) {
    let list = list.get_or_insert_with(Vec::new);
    if !list.iter().any(|i| i == item) {
        list.push(item.to_string());
    }
}

fn remove(list: &mut Option<Vec<String>>, item: &str) {
    if let Some(list) = list {
        list.retain(|i| i != item);
    }
}

impl Grants {
    /// Grants nothing.
    pub fn none() -> Grants {
        Grants::default()
    }

    /// Grants everything the manifest requests: for tests, the conformance
    /// suite and a developer running their own plugin.
    pub fn everything_requested() -> Grants {
        let all = || Some(vec![EVERYTHING_REQUESTED.to_string()]);
        Grants {
            tasks: Some(vec!["read".into(), "write".into(), "delete".into()]),
            state: Some(EVERYTHING_REQUESTED.into()),
            emit: all(),
            subscribe: all(),
            network: all(),
            commands: all(),
            files: all(),
            app: all(),
            limits: Some(
                LIMIT_NAMES
                    .iter()
                    .map(|(name, _)| (name.to_string(), EVERYTHING_REQUESTED.to_string()))
                    .collect(),
            ),
        }
    }

    /// How much of limit `name` is granted above the host's default; `None`
    /// when nothing is (or the value held cannot be read).
    pub fn limit(&self, name: &str) -> Option<GrantedLimit> {
        let value = self.limits.as_ref()?.get(name)?;
        if value == EVERYTHING_REQUESTED {
            return Some(GrantedLimit::AsRequested);
        }
        parse_limit_value(name, value).map(GrantedLimit::AtMost)
    }

    /// These grants with each field the override sets taken from it.
    pub fn overridden_by(&self, over: &Grants) -> Grants {
        Grants {
            tasks: over.tasks.clone().or_else(|| self.tasks.clone()),
            state: over.state.clone().or_else(|| self.state.clone()),
            emit: over.emit.clone().or_else(|| self.emit.clone()),
            subscribe: over.subscribe.clone().or_else(|| self.subscribe.clone()),
            network: over.network.clone().or_else(|| self.network.clone()),
            commands: over.commands.clone().or_else(|| self.commands.clone()),
            files: over.files.clone().or_else(|| self.files.clone()),
            app: over.app.clone().or_else(|| self.app.clone()),
            limits: over.limits.clone().or_else(|| self.limits.clone()),
        }
    }

    /// Adds a grant.
    pub fn grant(&mut self, grant: &Grant) {
        match grant {
            Grant::Tasks(access) => add(&mut self.tasks, access),
            Grant::State(quota) => {
                self.state = Some(quota.map_or_else(
                    || EVERYTHING_REQUESTED.to_string(),
                    plugboard_manifest::format_byte_size,
                ))
            }
            Grant::Emit(topic) => add(&mut self.emit, topic),
            Grant::Subscribe(kind) => add(&mut self.subscribe, kind),
            Grant::Network(host) => add(&mut self.network, host),
            Grant::Command(name) => add(&mut self.commands, name),
            Grant::Files(what) => add(&mut self.files, what),
            Grant::App(name) => add(&mut self.app, name),
            Grant::Limit { name, value } => {
                let value = value.clone().unwrap_or_else(|| EVERYTHING_REQUESTED.to_string());
                self.limits
                    .get_or_insert_with(BTreeMap::new)
                    .insert(name.clone(), value);
            }
        }
    }

    /// Takes a grant back.
    pub fn revoke(&mut self, grant: &Grant) {
        match grant {
            Grant::Tasks(access) => remove(&mut self.tasks, access),
            Grant::State(_) => self.state = Some(String::new()),
            Grant::Emit(topic) => remove(&mut self.emit, topic),
            Grant::Subscribe(kind) => remove(&mut self.subscribe, kind),
            Grant::Network(host) => remove(&mut self.network, host),
            Grant::Command(name) => remove(&mut self.commands, name),
            Grant::Files(what) => remove(&mut self.files, what),
            Grant::App(name) => remove(&mut self.app, name),
            Grant::Limit { name, .. } => {
                if let Some(limits) = &mut self.limits {
                    limits.remove(name);
                }
            }
        }
    }

    /// Every grant held, as the user would type them.
    pub fn list(&self) -> Vec<Grant> {
        let mut out = Vec::new();
        for access in self.tasks.iter().flatten() {
            out.push(Grant::Tasks(access.clone()));
        }
        match self.state.as_deref() {
            None | Some("") => {}
            Some(EVERYTHING_REQUESTED) => out.push(Grant::State(None)),
            Some(size) => out.push(Grant::State(plugboard_manifest::parse_byte_size(size).ok())),
        }
        out.extend(self.emit.iter().flatten().map(|t| Grant::Emit(t.clone())));
        out.extend(self.subscribe.iter().flatten().map(|k| Grant::Subscribe(k.clone())));
        out.extend(self.network.iter().flatten().map(|h| Grant::Network(h.clone())));
        out.extend(self.commands.iter().flatten().map(|c| Grant::Command(c.clone())));
        out.extend(self.files.iter().flatten().map(|f| Grant::Files(f.clone())));
        out.extend(self.app.iter().flatten().map(|a| Grant::App(a.clone())));
        for (name, value) in self.limits.iter().flatten() {
            out.push(Grant::Limit {
                name: name.clone(),
                value: (value != EVERYTHING_REQUESTED).then(|| value.clone()),
            });
        }
        out
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct PluginSection {
    /// The key that signed the copy the grants were given to (a key id), or
    /// `unsigned`; left out, the grants were not given at an install.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signer: Option<String>,
    /// The plugin that bundles the copy the grants were given to; left out,
    /// an installed copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bundled_by: Option<String>,
    #[serde(default)]
    grants: Grants,
}

/// In a [`Binding`]: a copy that no trusted key vouches for.
pub const UNSIGNED: &str = "unsigned";

/// Which copy of a plugin a plugin's grants were given to: the user agreed
/// to what one copy asked, and another copy with the same id (bundled by
/// some other plugin, or signed by another key) must not inherit that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The id of the trusted key that signed it, or [`UNSIGNED`].
    pub signer: String,
    /// The plugin that bundles it; `None` for an installed copy.
    pub bundled_by: Option<String>,
}

impl Binding {
    /// Whether grants bound to `self` may go to `copy`: the same place
    /// (installed, or bundled by the same plugin), and, when the grants
    /// were given to a signed copy, the same signer.
    pub fn covers(&self, copy: &Binding) -> bool {
        self.bundled_by == copy.bundled_by && (self.signer == UNSIGNED || self.signer == copy.signer)
    }
}

/// Every plugin's grants: the defaults and each plugin's own table, as the
/// user's grants file holds them (it serializes to that file's form).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantTable {
    #[serde(default, skip_serializing_if = "is_default")]
    grants: Grants,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    plugins: BTreeMap<String, PluginSection>,
}

fn is_default(grants: &Grants) -> bool {
    *grants == Grants::default()
}

impl GrantTable {
    /// The grants every plugin has unless its own table says otherwise.
    pub fn defaults(&self) -> &Grants {
        &self.grants
    }

    /// Replaces the grants every plugin has unless its own table says
    /// otherwise.
    pub fn set_defaults(&mut self, grants: Grants) {
        self.grants = grants;
    }

    /// The plugins that have a table of their own.
    pub fn plugins(&self) -> impl Iterator<Item = &str> {
        self.plugins.keys().map(String::as_str)
    }

    /// What one plugin is granted: the defaults, overridden by its own table.
    pub fn grants_for(&self, plugin: &str) -> Grants {
        match self.plugins.get(plugin) {
            Some(section) => self.grants.overridden_by(&section.grants),
            None => self.grants.clone(),
        }
    }

    /// Adds grants to one plugin's table.
    pub fn grant(&mut self, plugin: &str, grants: &[Grant]) {
        let section = self.plugins.entry(plugin.to_string()).or_default();
        for grant in grants {
            section.grants.grant(grant);
        }
    }

    /// Deletes one plugin's own table, so it has the defaults; false when
    /// it had none.
    pub fn forget(&mut self, plugin: &str) -> bool {
        self.plugins.remove(plugin).is_some()
    }

    /// Which copy of the plugin its own table was granted to; `None` when
    /// the table was not written by an install (it then goes to the
    /// installed copy only, whoever signed it).
    pub fn binding(&self, plugin: &str) -> Option<Binding> {
        let section = self.plugins.get(plugin)?;
        match (&section.signer, &section.bundled_by) {
            (None, None) => None,
            (signer, bundled_by) => Some(Binding {
                signer: signer.clone().unwrap_or_else(|| UNSIGNED.to_string()),
                bundled_by: bundled_by.clone(),
            }),
        }
    }

    /// Binds one plugin's table to the copy it was granted to.
    pub fn bind(&mut self, plugin: &str, binding: &Binding) {
        let section = self.plugins.entry(plugin.to_string()).or_default();
        section.signer = Some(binding.signer.clone());
        section.bundled_by = binding.bundled_by.clone();
    }

    /// What `copy` of a plugin is granted: its own table when that table
    /// was granted to this copy ([`Binding::covers`]; a table without a
    /// binding goes to an installed copy), else only the defaults. The
    /// second value says whether its own table was withheld.
    pub fn grants_for_copy(&self, plugin: &str, copy: &Binding) -> (Grants, bool) {
        if !self.plugins.contains_key(plugin) {
            return (self.grants.clone(), false);
        }
        let bound = match self.binding(plugin) {
            Some(binding) => binding.covers(copy),
            None => copy.bundled_by.is_none(),
        };
        match bound {
            true => (self.grants_for(plugin), false),
            false => (self.grants.clone(), true),
        }
    }

    /// Takes grants back from one plugin's table.
    pub fn revoke(&mut self, plugin: &str, grants: &[Grant]) {
        let defaults = self.grants.clone();
        let section = self.plugins.entry(plugin.to_string()).or_default();
        // Revoking what only the defaults grant needs the plugin's own table
        // to hold the default minus the revoked grant.
        section.grants = defaults.overridden_by(&section.grants);
        for grant in grants {
            section.grants.revoke(grant);
        }
    }
}

/// Why a [`GrantStore`] could not read or keep the grants.
#[derive(Debug, thiserror::Error)]
pub enum GrantStoreError {
    /// The storage failed or holds something that is not a grant table;
    /// the message (and the source, which callers may downcast to the
    /// store's own error) names what and where.
    #[error(transparent)]
    Unavailable(Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// Where the user's grants are kept.
///
/// Methods take `&self`: the user may change grants (`plugboard grant`, an
/// app's permission screen) while a host runs, so an implementation chooses
/// its own locking.
pub trait GrantStore: Send + Sync {
    /// The grants as they are now: the host reads them when it opens and
    /// again for every plugin it reloads, so a reload gets what the user
    /// granted since. Storage that holds nothing yet grants nothing.
    fn load(&self) -> Result<GrantTable, GrantStoreError>;

    /// Replaces the grants with `table`: after the user granted or revoked
    /// something.
    fn save(&self, table: &GrantTable) -> Result<(), GrantStoreError>;
}

/// Lets a store shared with the application be given to the host too.
impl<T: GrantStore + ?Sized> GrantStore for std::sync::Arc<T> {
    fn load(&self) -> Result<GrantTable, GrantStoreError> {
        (**self).load()
    }
    fn save(&self, table: &GrantTable) -> Result<(), GrantStoreError> {
        (**self).save(table)
    }
}

/// Grants kept in memory: for tests, and for hosts whose application keeps
/// grants in its own settings. Starts granting nothing.
#[derive(Debug, Default)]
pub struct InMemoryGrants {
    table: std::sync::Mutex<GrantTable>,
}

impl InMemoryGrants {
    /// Grants nothing yet.
    pub fn new() -> InMemoryGrants {
        InMemoryGrants::default()
    }

    /// Grants what `table` holds.
    pub fn with_table(table: GrantTable) -> InMemoryGrants {
        InMemoryGrants {
            table: std::sync::Mutex::new(table),
        }
    }
}

impl GrantStore for InMemoryGrants {
    fn load(&self) -> Result<GrantTable, GrantStoreError> {
        // A save replaces the whole table, so a poisoned one is whole.
        Ok(self.table.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    fn save(&self, table: &GrantTable) -> Result<(), GrantStoreError> {
        *self.table.lock().unwrap_or_else(|e| e.into_inner()) = table.clone();
        Ok(())
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_strings_round_trip_and_bad_ones_name_the_forms() {
        for text in [
            "tasks.read",
            "tasks.delete",
            "state",
            "state:64KiB",
            "events.emit",
            "events.emit:sync.done",
            "subscribe",
            "subscribe:task-created",
            "subscribe:custom:news",
            "network:api.example.com",
            "commands.invoke:other.run",
            "app:app.notify",
            "limit:deadline",
            "limit:deadline=5s",
            "limit:memory=256MiB",
            "limit:host-calls=20000",
            "files",
            "files.private",
            "files.read:/home/me/notes",
            "files.write:/tmp/out",
        ] {
            let grant: Grant = text.parse().unwrap();
            assert_eq!(grant.to_string(), text);
        }
        let err = "tasks.everything".parse::<Grant>().unwrap_err();
        assert!(
            err.to_string().contains("`tasks.everything` is not a permission"),
            "{err}"
        );
        assert!("network".parse::<Grant>().is_err());
        assert!("app".parse::<Grant>().is_err(), "an app grant names its permission");
        assert!(
            "limit:stack=1MiB".parse::<Grant>().is_err(),
            "the stack cannot be raised"
        );
        assert!("limit:deadline=lots".parse::<Grant>().is_err());
        assert_eq!(
            "limit:deadline=5000ms".parse::<Grant>().unwrap().to_string(),
            "limit:deadline=5s"
        );
        assert!("state:lots".parse::<Grant>().is_err());
        for escape in [
            "files.read:notes",
            "files.read:/home/me/../../etc",
            "files.write:/tmp/./x",
            "files.private:/x",
        ] {
            assert!(escape.parse::<Grant>().is_err(), "{escape}");
        }
    }

    #[test]
    fn plugin_tables_override_the_defaults_field_by_field() {
        let mut table = GrantTable::default();
        assert_eq!(table.grants_for("x"), Grants::none());
        table.set_defaults(Grants {
            tasks: Some(vec!["read".into()]),
            ..Grants::none()
        });
        table.grant(
            "auto-tag",
            &[
                "tasks.write".parse().unwrap(),
                "subscribe:task-created".parse().unwrap(),
            ],
        );
        let auto = table.grants_for("auto-tag");
        assert_eq!(
            auto.tasks,
            Some(vec!["write".into()]),
            "the plugin's own list replaces the default"
        );
        assert_eq!(auto.subscribe, Some(vec!["task-created".into()]));
        assert_eq!(table.grants_for("other").tasks, Some(vec!["read".into()]));
        assert_eq!(table.plugins().collect::<Vec<_>>(), ["auto-tag"]);
    }

    #[test]
    fn revoking_a_default_grant_for_one_plugin_keeps_it_for_the_others() {
        let mut table = GrantTable::default();
        table.set_defaults(Grants {
            tasks: Some(vec!["read".into(), "write".into()]),
            ..Grants::none()
        });
        table.revoke("noisy", &["tasks.write".parse().unwrap()]);
        assert_eq!(table.grants_for("noisy").tasks, Some(vec!["read".into()]));
        assert_eq!(
            table.grants_for("quiet").tasks,
            Some(vec!["read".into(), "write".into()])
        );
    }

    #[test]
    fn the_in_memory_store_hands_back_what_was_saved() {
        let store: std::sync::Arc<dyn GrantStore> = std::sync::Arc::new(InMemoryGrants::new());
        assert_eq!(store.load().unwrap(), GrantTable::default());
        let mut table = GrantTable::default();
        table.grant("auto-tag", &["tasks.read".parse().unwrap()]);
        store.save(&table).unwrap();
        assert_eq!(
            store.load().unwrap().grants_for("auto-tag").tasks,
            Some(vec!["read".into()])
        );
    }

    #[test]
    fn limits_granted_are_read_back_in_their_units() {
        let mut grants = Grants::none();
        assert_eq!(grants.limit("deadline"), None);
        grants.grant(&"limit:deadline=5s".parse().unwrap());
        grants.grant(&"limit:memory".parse().unwrap());
        assert_eq!(grants.limit("deadline"), Some(GrantedLimit::AtMost(5_000)));
        assert_eq!(grants.limit("memory"), Some(GrantedLimit::AsRequested));
        grants.revoke(&"limit:memory".parse().unwrap());
        assert_eq!(grants.limit("memory"), None);
        assert_eq!(
            Grants::everything_requested().limit("fuel"),
            Some(GrantedLimit::AsRequested)
        );
    }

    #[test]
    fn a_table_granted_to_one_copy_does_not_go_to_another() {
        let mut table = GrantTable::default();
        table.set_defaults(Grants {
            subscribe: Some(vec!["task-created".into()]),
            ..Grants::none()
        });
        table.grant("auto-tag", &["tasks.write".parse().unwrap()]);
        let installed = |signer: &str| Binding {
            signer: signer.into(),
            bundled_by: None,
        };
        let bundled = Binding {
            signer: UNSIGNED.into(),
            bundled_by: Some("evil".into()),
        };
        // Granted by hand: the installed copy only.
        assert!(!table.grants_for_copy("auto-tag", &installed(UNSIGNED)).1);
        let (grants, withheld) = table.grants_for_copy("auto-tag", &bundled);
        assert!(
            withheld && grants == *table.defaults(),
            "a bundled copy gets the defaults only"
        );

        table.bind("auto-tag", &installed("29cac28fbd7e61d1"));
        assert!(!table.grants_for_copy("auto-tag", &installed("29cac28fbd7e61d1")).1);
        assert!(
            table.grants_for_copy("auto-tag", &installed("0000000000000000")).1,
            "another signer"
        );
        assert!(
            table.grants_for_copy("auto-tag", &installed(UNSIGNED)).1,
            "unsigned after signed"
        );
        assert!(table.grants_for_copy("auto-tag", &bundled).1);

        table.bind("keyword-pack", &bundled);
        assert!(!table.grants_for_copy("keyword-pack", &bundled).1);
        assert!(table.grants_for_copy("keyword-pack", &installed(UNSIGNED)).1);
        let text = toml::to_string(&table).unwrap();
        let back: GrantTable = toml::from_str(&text).unwrap();
        assert_eq!(back, table, "{text}");
    }
}
