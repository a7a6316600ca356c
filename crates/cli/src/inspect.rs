//! `plugboard inspect`: what a plugin folder declares and what its component
//! (or a lone `.wasm` file) speaks, imports and exports.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use plugboard_host::imports::ImportVerdict;
use plugboard_host::{Compiled, ComponentInfo, Grants, Policy, Runtime, RuntimeOptions};
use plugboard_manifest::{GIB, KIB, MIB, Manifest};

/// The width the label column of the summary takes.
const LABEL_WIDTH: usize = 12;

/// The width long text (a description) is wrapped to.
const TEXT_WIDTH: usize = 88;

/// Inspects a plugin folder or a component file; exits non-zero when the
/// component would not load as a plugin. Compiles through the code cache in
/// `data_dir`, as `run` does, so a second `inspect` or `run` compiles
/// nothing. A folder's imports are judged as if the user granted everything
/// its manifest requests; a lone `.wasm`'s as if nothing was granted.
pub fn inspect(path: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    if !path.exists() {
        bail!("{}: no such file or folder", path.display());
    }
    let runtime = code_cached_runtime(data_dir)?;
    if !path.is_dir() {
        let info = runtime.inspect(path, &Policy::deny_all())?;
        println!("Component {}", path.display());
        print!("{}", component_section(&info));
        return Ok(verdict(&info, None));
    }
    let manifest = Manifest::from_dir(path)?;
    print!("{}", manifest_summary(&manifest));
    let Some(component) = manifest.component_path(path) else {
        println!("\nComponent: none; the manifest names no `component`, so there is no code to run");
        return Ok(ExitCode::FAILURE);
    };
    let policy = Policy::new(&manifest, &Grants::everything_requested());
    let info = runtime.inspect(&component, &policy)?;
    println!("\nComponent {}", component.display());
    print!("{}", component_section(&info));
    Ok(verdict(&info, Some(&manifest)))
}

/// A runtime compiling through the code cache of the data folder, the one
/// `run` and the host use.
pub fn code_cached_runtime(data_dir: &Path) -> anyhow::Result<Runtime> {
    Ok(Runtime::with_options(RuntimeOptions {
        code_cache: Some(data_dir.join(plugboard::CODE_CACHE_FOLDER)),
        ..RuntimeOptions::default()
    })?)
}

/// Success when every import is linked, and the world is known and agrees
/// with the manifest; otherwise says why on stderr.
fn verdict(info: &ComponentInfo, manifest: Option<&Manifest>) -> ExitCode {
    let refused = info.refused_imports();
    if !refused.is_empty() {
        eprintln!(
            "error: the host refuses {} of this component's imports (see `imports` above), so it would not load",
            refused.len()
        );
        return ExitCode::FAILURE;
    }
    match (&info.world, manifest) {
        (None | Some(Err(_)), _) => {
            eprintln!("error: this component is not a plugin the host can load (see `world` above)");
            ExitCode::FAILURE
        }
        (Some(Ok(world)), Some(manifest)) if manifest.plugin.api.major != world.built_against.major => {
            eprintln!(
                "error: plugin.toml says `api = \"{}\"` but the component is built for task-events@{}; \
                 fix the manifest or rebuild the component",
                manifest.plugin.api, world.built_against
            );
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}

/// The value is a manifest's text, from whoever wrote the plugin: escaped.
fn row(out: &mut String, label: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "  {label:<LABEL_WIDTH$} {}",
        plugboard::display::escaped(&value.to_string())
    );
}

/// Rows for a list, one item per row under a single label; `none` when empty.
fn rows(out: &mut String, label: &str, items: &[String]) {
    if items.is_empty() {
        row(out, label, "none");
    }
    for (index, item) in items.iter().enumerate() {
        row(out, if index == 0 { label } else { "" }, item);
    }
}

/// Splits text into lines of at most [`TEXT_WIDTH`] minus the label column.
fn wrap(text: &str) -> Vec<String> {
    let width = TEXT_WIDTH - LABEL_WIDTH - 3;
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// A duration as a manifest writes it: `500ms`, `2s`, `1h`.
fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    match (d.subsec_millis(), secs) {
        (0, s) if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        (0, s) if s > 0 && s % 3_600 == 0 => format!("{}h", s / 3_600),
        (0, s) if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        (0, s) => format!("{s}s"),
        _ => format!("{}ms", d.as_millis()),
    }
}

/// A byte count in the largest unit that divides it: `64 MiB`.
fn bytes(n: u64) -> String {
    match n {
        n if n > 0 && n % GIB == 0 => format!("{} GiB", n / GIB),
        n if n > 0 && n % MIB == 0 => format!("{} MiB", n / MIB),
        n if n > 0 && n % KIB == 0 => format!("{} KiB", n / KIB),
        n => format!("{n} bytes"),
    }
}

/// The manifest as a reader wants it: identity, events, what it asks for.
fn manifest_summary(manifest: &Manifest) -> String {
    let mut out = String::new();
    let plugin = &manifest.plugin;
    let _ = writeln!(out, "Plugin {}", plugin.id);
    row(&mut out, "name", &plugin.name);
    row(&mut out, "version", &plugin.version);
    row(&mut out, "api", plugin.api);
    if let Some(description) = &plugin.description {
        rows(&mut out, "description", &wrap(description));
    }
    if !plugin.authors.is_empty() {
        row(&mut out, "authors", plugin.authors.join(", "));
    }
    if let Some(license) = &plugin.license {
        row(&mut out, "license", license);
    }

    let events = &manifest.events;
    let subscribed: Vec<String> = events.subscribe.iter().map(ToString::to_string).collect();
    row(
        &mut out,
        "subscribes",
        if subscribed.is_empty() {
            "nothing".to_string()
        } else {
            subscribed.join(", ")
        },
    );
    if !events.timers.is_empty() {
        let timers: Vec<String> = events
            .timers
            .iter()
            .map(|t| format!("{} every {}", t.name, duration(t.interval)))
            .collect();
        rows(&mut out, "timers", &timers);
    }
    if !events.emits.is_empty() {
        row(&mut out, "emits", events.emits.join(", "));
    }

    let mut asks = Vec::new();
    let permissions = &manifest.permissions;
    if !permissions.tasks.is_empty() {
        let access: Vec<String> = permissions.tasks.iter().map(ToString::to_string).collect();
        asks.push(format!("tasks: {}", access.join(", ")));
    }
    if let Some(state) = &permissions.state {
        asks.push(match state.quota {
            Some(quota) => format!("state, quota {}", bytes(quota)),
            None => "state, default quota".to_string(),
        });
    }
    if !permissions.network.is_empty() {
        let hosts: Vec<String> = permissions.network.iter().map(ToString::to_string).collect();
        asks.push(format!("network: {}", hosts.join(", ")));
    }
    if !permissions.commands.is_empty() {
        let commands: Vec<String> = permissions.commands.iter().map(ToString::to_string).collect();
        asks.push(format!("commands: {}", commands.join(", ")));
    }
    let folders = plugboard_host::files::FilesPolicy::new(permissions.files.as_ref(), |_| true).folders();
    if !folders.is_empty() {
        asks.push(format!("wasi:filesystem: {}", folders.join(", ")));
    }
    if !permissions.app.is_empty() {
        let app: Vec<String> = permissions.app.iter().map(ToString::to_string).collect();
        asks.push(format!("app: {}", app.join(", ")));
    }
    if asks.is_empty() {
        asks.push("nothing".to_string());
    }
    rows(&mut out, "asks for", &asks);

    let limits = &manifest.limits;
    let mut set = Vec::new();
    if let Some(deadline) = limits.deadline {
        set.push(format!("deadline {}", duration(deadline)));
    }
    if let Some(fuel) = limits.fuel {
        set.push(format!("fuel {fuel}"));
    }
    if let Some(memory) = limits.memory {
        set.push(format!("memory {}", bytes(memory)));
    }
    if let Some(tables) = limits.tables {
        set.push(format!("tables {tables}"));
    }
    if let Some(stack) = limits.stack {
        set.push(format!("stack {}", bytes(stack)));
    }
    if let Some(max_value) = limits.max_value {
        set.push(format!("max-value {}", bytes(max_value)));
    }
    if let Some(host_calls) = limits.host_calls {
        set.push(format!("host-calls {host_calls}"));
    }
    if let Some(emits) = limits.emits_per_event {
        set.push(format!("emits-per-event {emits}"));
    }
    row(
        &mut out,
        "limits",
        if set.is_empty() {
            "host defaults".to_string()
        } else {
            set.join(", ")
        },
    );

    let config: Vec<String> = manifest.config.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
    rows(&mut out, "config", &config);
    let commands: Vec<String> = manifest
        .commands
        .iter()
        .map(|(name, info)| format!("{name}: {}", info.description))
        .collect();
    rows(&mut out, "commands", &commands);
    out
}

/// The world, then the imports (each with what the host links it to or
/// why it refuses it) and exports, each sorted, one per line.
pub fn component_section(info: &ComponentInfo) -> String {
    let mut out = String::new();
    match &info.world {
        Some(Ok(world)) => row(
            &mut out,
            "world",
            format!("{}, built against {}", world.version, world.built_against),
        ),
        Some(Err(error)) => rows(&mut out, "world", &wrap(&format!("none: {error}"))),
        None => row(&mut out, "world", "not compiled: the host refuses some of its imports"),
    }
    if let Some(compiled) = &info.compiled {
        let how = match compiled {
            Compiled::Fresh => "compiled now".to_string(),
            Compiled::FromCache => "taken from the code cache".to_string(),
            Compiled::Replaced(defect) => format!("compiled again: {defect}"),
            Compiled::Shared => "shared with another loaded plugin of the same component".to_string(),
        };
        row(&mut out, "code", how);
    }
    let mut imports: Vec<(&String, &ImportVerdict)> = info.imports.iter().zip(&info.verdicts).collect();
    imports.sort_by_key(|(name, _)| *name);
    let refused = info.refused_imports().len();
    let _ = writeln!(out, "  imports ({}, {refused} refused):", imports.len());
    let width = imports.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, verdict) in imports {
        let said = match verdict {
            ImportVerdict::Linked(reach) => (*reach).to_string(),
            ImportVerdict::Refused(why) => format!("REFUSED: {why}"),
        };
        let _ = writeln!(out, "    {:<width$}  {}", escaped(name), escaped(&said));
    }
    let mut exports = info.exports.clone();
    exports.sort();
    let _ = writeln!(out, "  exports ({}):", exports.len());
    for name in exports {
        let _ = writeln!(out, "    {}", escaped(&name));
    }
    out
}

fn escaped(text: &str) -> String {
    plugboard::display::escaped(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_as_a_manifest_writes_them() {
        assert_eq!(bytes(64 * MIB), "64 MiB");
        assert_eq!(bytes(1536), "1536 bytes");
        assert_eq!(bytes(2 * GIB), "2 GiB");
        assert_eq!(duration(Duration::from_millis(500)), "500ms");
        assert_eq!(duration(Duration::from_secs(3600)), "1h");
        assert_eq!(duration(Duration::from_secs(90)), "90s");
        assert_eq!(duration(Duration::from_secs(86_400 * 2)), "2d");
    }

    #[test]
    fn long_text_wraps_between_words() {
        let text = "word ".repeat(40);
        let lines = wrap(&text);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.len() <= TEXT_WIDTH - LABEL_WIDTH - 3));
        assert_eq!(lines.join(" "), text.trim_end());
    }
}
