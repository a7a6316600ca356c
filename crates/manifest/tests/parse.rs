//! What a plugin author sees: a full manifest read back, the defaults of a minimal
//! one, and the exact message for each kind of mistake.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use plugboard_manifest::{
    ApiVersion, CommandInfo, Dependency, Events, KIB, Limits, MIB, Manifest, ManifestError, Permissions, PluginId,
    StatePermission, Subscription, TaskAccess, Timer,
};

const ORIGIN: &str = "examples/x/plugin.toml";

/// The smallest valid manifest; `[plugin]` is its first line, `api` its fifth.
const MINIMAL: &str = r#"[plugin]
id = "auto-tag"
name = "Auto tag"
version = "1.2.0"
api = "task-events@2"
"#;

fn parse(text: &str) -> Result<Manifest, ManifestError> {
    Manifest::parse(text, Path::new(ORIGIN))
}

/// The message a user sees for `text`, which must be refused.
fn error(text: &str) -> String {
    match parse(text) {
        Ok(manifest) => panic!("expected an error, parsed {manifest:#?}"),
        Err(error) => error.to_string(),
    }
}

/// The message for `MINIMAL` followed by `extra` (which starts on line 6).
fn error_after_minimal(extra: &str) -> String {
    error(&format!("{MINIMAL}{extra}"))
}

#[test]
fn a_full_manifest_reads_back_every_value() {
    let text = r#"
[plugin]
id = "auto-tag"
name = "  Auto tag  "
version = "1.2.0-beta.1"
api = "task-events@2.1"
component = "bin/plugin.wasm"
description = "Tags tasks by keyword"
authors = ["Ann <ann@example.com>", "Bo"]
license = "MIT"
repository = "https://example.com/auto-tag"

[events]
subscribe = ["task-created", "task-modified", "task-deleted", "sync-completed", "timer", "custom:tags-changed", "custom:*"]
emits = ["tags-changed", "a.b_c-1"]
timers = [{ name = "hourly", interval = "1h" }, { name = "fast", interval = "500s" }]

[permissions]
tasks = ["write", "read", "delete"]
state = { quota = "1MiB" }
network = ["api.example.com", "*.example.org"]
commands = ["other-plugin.cmd", "org.example.x.run"]

[limits]
deadline = "100ms"
fuel = 1000000000
memory = "64MiB"
tables = 10000
stack = "512KiB"
max-value = "1MB"
host-calls = 1000
emits-per-event = 0

[config]
keywords = "urgent,review"
max_tags = "5"

[commands]
retag = { description = "Re-tag every task" }
"#;
    let manifest = parse(text).expect("the full manifest is valid");

    let plugin = &manifest.plugin;
    assert_eq!(plugin.id.as_str(), "auto-tag");
    assert_eq!(plugin.name, "Auto tag", "the name is trimmed");
    assert_eq!(plugin.version, semver::Version::parse("1.2.0-beta.1").expect("valid"));
    assert_eq!(
        plugin.api,
        ApiVersion {
            major: 2,
            minor: Some(1)
        }
    );
    assert_eq!(plugin.component, Some(PathBuf::from("bin").join("plugin.wasm")));
    assert_eq!(plugin.description.as_deref(), Some("Tags tasks by keyword"));
    assert_eq!(plugin.authors, ["Ann <ann@example.com>", "Bo"]);
    assert_eq!(plugin.license.as_deref(), Some("MIT"));
    assert_eq!(plugin.repository.as_deref(), Some("https://example.com/auto-tag"));
    assert_eq!(
        manifest.component_path(Path::new("/plugins/auto-tag")),
        Some(Path::new("/plugins/auto-tag").join("bin").join("plugin.wasm"))
    );

    assert_eq!(
        manifest.events.subscribe,
        [
            Subscription::TaskCreated,
            Subscription::TaskModified,
            Subscription::TaskDeleted,
            Subscription::SyncCompleted,
            Subscription::Timer,
            Subscription::Custom("tags-changed".to_owned()),
            Subscription::Custom("*".to_owned()),
        ]
    );
    assert_eq!(manifest.events.emits, ["tags-changed", "a.b_c-1"]);
    assert!(manifest.events.may_emit("tags-changed"));
    assert!(!manifest.events.may_emit("other"));
    assert_eq!(
        manifest.events.timers,
        [
            Timer {
                name: "hourly".to_owned(),
                interval: Duration::from_secs(3600)
            },
            Timer {
                name: "fast".to_owned(),
                interval: Duration::from_secs(500)
            },
        ]
    );

    let permissions = &manifest.permissions;
    assert_eq!(
        permissions.tasks,
        BTreeSet::from([TaskAccess::Read, TaskAccess::Write, TaskAccess::Delete])
    );
    assert_eq!(permissions.state, Some(StatePermission { quota: Some(MIB) }));
    let hosts: Vec<&str> = permissions.network.iter().map(|host| host.as_str()).collect();
    assert_eq!(hosts, ["api.example.com", "*.example.org"]);
    let commands: Vec<String> = permissions.commands.iter().map(ToString::to_string).collect();
    assert_eq!(commands, ["other-plugin.cmd", "org.example.x.run"]);
    assert_eq!(permissions.commands[1].plugin.as_str(), "org.example.x");
    assert!(!permissions.is_empty());

    assert_eq!(
        manifest.limits,
        Limits {
            deadline: Some(Duration::from_millis(100)),
            fuel: Some(1_000_000_000),
            memory: Some(64 * MIB),
            tables: Some(10_000),
            stack: Some(512 * KIB),
            max_value: Some(1_000_000),
            host_calls: Some(1000),
            emits_per_event: Some(0),
        }
    );

    assert_eq!(
        manifest.config,
        BTreeMap::from([
            ("keywords".to_owned(), "urgent,review".to_owned()),
            ("max_tags".to_owned(), "5".to_owned()),
        ])
    );
    assert_eq!(
        manifest.commands,
        BTreeMap::from([(
            "retag".to_owned(),
            CommandInfo {
                description: "Re-tag every task".to_owned(),
                params: Vec::new(),
            }
        )])
    );
}

#[test]
fn a_minimal_manifest_gets_the_defaults() {
    let manifest = parse(MINIMAL).expect("the minimal manifest is valid");
    assert_eq!(manifest.plugin.api, ApiVersion { major: 2, minor: None });
    assert_eq!(manifest.plugin.component, None, "a data-only plugin");
    assert_eq!(manifest.component_path(Path::new("/plugins/auto-tag")), None);
    assert_eq!(manifest.plugin.description, None);
    assert!(manifest.plugin.authors.is_empty());
    assert_eq!(manifest.plugin.license, None);
    assert_eq!(manifest.plugin.repository, None);
    assert_eq!(manifest.events, Events::default());
    assert!(!manifest.events.subscribes(&Subscription::TaskCreated));
    assert_eq!(manifest.permissions, Permissions::default());
    assert!(manifest.permissions.is_empty());
    assert_eq!(manifest.limits, Limits::default());
    assert_eq!(manifest.limits.deadline, None);
    assert!(manifest.config.is_empty());
    assert!(manifest.commands.is_empty());
    assert!(manifest.dependencies.is_empty());
}

#[test]
fn empty_tables_are_the_defaults_too() {
    let manifest = parse(&format!(
        "{MINIMAL}[events]\n[permissions]\nstate = {{}}\n[limits]\n[config]\n[commands]\n"
    ))
    .expect("empty tables are valid");
    assert_eq!(manifest.events, Events::default());
    assert_eq!(manifest.permissions.state, Some(StatePermission { quota: None }));
    assert_eq!(manifest.limits, Limits::default());
}

#[test]
fn arrays_of_tables_work_for_timers() {
    let manifest = parse(&format!(
        "{MINIMAL}[[events.timers]]\nname = \"a\"\ninterval = \"1s\"\n[[events.timers]]\nname = \"b\"\ninterval = \"30d\"\n"
    ))
    .expect("valid");
    assert_eq!(manifest.events.timers.len(), 2);
    assert_eq!(manifest.events.timers[1].interval, Duration::from_secs(30 * 86_400));
}

#[test]
fn timers_go_down_to_100ms_and_a_plugin_declares_at_most_16() {
    let manifest = parse(&format!(
        "{MINIMAL}[events]\ntimers = [{{ name = \"tick\", interval = \"100ms\" }}]\n"
    ))
    .expect("100 ms is the minimum");
    assert_eq!(manifest.events.timers[0].interval, Duration::from_millis(100));
    let timers: Vec<String> = (0..17)
        .map(|n| format!("{{ name = \"t{n}\", interval = \"1s\" }}"))
        .collect();
    let error = error_after_minimal(&format!("[events]\ntimers = [{}]\n", timers.join(", ")));
    assert!(
        error.contains("[events].timers: 17 timers; a plugin may declare at most 16"),
        "{error}"
    );
}

#[test]
fn each_missing_required_field_is_named_with_its_table() {
    for (field, line) in [("id", 2), ("name", 3), ("version", 4), ("api", 5)] {
        let text: String = MINIMAL
            .lines()
            .enumerate()
            .filter(|(index, _)| index + 1 != line)
            .map(|(_, text)| format!("{text}\n"))
            .collect();
        assert_eq!(
            error(&text),
            format!("{ORIGIN}:1:1: missing field `{field}` in [plugin]"),
            "without {field}"
        );
    }
    assert_eq!(error(""), format!("{ORIGIN}: missing field `plugin` at the top level"));
}

#[test]
fn unknown_fields_are_refused_with_the_fields_that_exist() {
    assert_eq!(
        error(&format!("colour = \"red\"\n{MINIMAL}")),
        format!(
            "{ORIGIN}:1:1: unknown field `colour` at the top level; expected one of plugin, events, permissions, limits, config, commands, dependencies, locales"
        )
    );
    assert_eq!(
        error_after_minimal("colour = \"red\"\n"),
        format!(
            "{ORIGIN}:6:1: unknown field `colour` in [plugin]; expected one of id, name, version, api, component, description, authors, license, repository"
        )
    );
    assert_eq!(
        error_after_minimal("[limits]\nmemroy = \"1MiB\"\n"),
        format!(
            "{ORIGIN}:7:1: unknown field `memroy` in [limits]; expected one of deadline, fuel, memory, tables, stack, max-value, host-calls, emits-per-event"
        )
    );
    assert_eq!(
        error_after_minimal("[limits]\nmax_value = \"1MiB\"\n"),
        format!(
            "{ORIGIN}:7:1: unknown field `max_value` in [limits]; expected one of deadline, fuel, memory, tables, stack, max-value, host-calls, emits-per-event"
        ),
        "keys are kebab-case"
    );
    assert_eq!(
        error_after_minimal("[permissions]\nstate = { size = 3 }\n"),
        format!("{ORIGIN}:7:11: unknown field `size` in [permissions].state; the only field here is quota")
    );
    assert_eq!(
        error_after_minimal("[events]\ntimers = [{ name = \"a\", interval = \"1s\", every = 1 }]\n"),
        format!("{ORIGIN}:7:42: unknown field `every` in [events].timers[0]; expected one of name, interval")
    );
}

#[test]
fn a_bad_version_says_what_a_semantic_version_looks_like() {
    let message = error(&MINIMAL.replace("\"1.2.0\"", "\"1.x\""));
    assert_eq!(
        message,
        format!(
            "{ORIGIN}:4:11: [plugin].version: \"1.x\" is not a semantic version (expected e.g. \"1.2.0\"): unexpected character 'x' while parsing minor version number"
        )
    );
    assert!(error(&MINIMAL.replace("\"1.2.0\"", "\"1.2\"")).starts_with(&format!(
        "{ORIGIN}:4:11: [plugin].version: \"1.2\" is not a semantic version (expected e.g. \"1.2.0\")"
    )));
}

#[test]
fn each_bad_api_form_explains_the_expected_form() {
    let expected_form = "expected \"task-events@MAJOR\" or \"task-events@MAJOR.MINOR\", e.g. \"task-events@2\"";
    for (api, problem) in [
        ("task-events", "has no '@' before the version"),
        (
            "other-world@2",
            "names the world \"other-world\", but plugboard plugins target \"task-events\"",
        ),
        ("task-events@", "has \"\" where a number belongs"),
        ("task-events@two", "has \"two\" where a number belongs"),
        ("task-events@2.x", "has \"x\" where a number belongs"),
        (
            "task-events@2.1.0.4",
            "gives more than MAJOR.MINOR (a plugin declares the world's major version and at most a minimum minor; write \"task-events@2.1\")",
        ),
    ] {
        assert_eq!(
            error(&MINIMAL.replace("\"task-events@2\"", &format!("\"{api}\""))),
            format!("{ORIGIN}:5:7: [plugin].api: \"{api}\" {problem}; {expected_form}"),
        );
    }
    assert_eq!(
        error(&MINIMAL.replace("\"task-events@2\"", "2")),
        format!(
            "{ORIGIN}:5:7: [plugin].api: invalid type: integer `2`, expected a world version string like \"task-events@2\""
        )
    );
}

#[test]
fn component_paths_outside_the_plugin_folder_are_refused() {
    let form =
        "expected a path inside the plugin folder with forward slashes, e.g. \"plugin.wasm\" or \"bin/plugin.wasm\"";
    for (literal, shown, problem) in [
        ("'../x.wasm'", "../x.wasm", "leaves the plugin folder with '..'"),
        (
            "'a/../../x.wasm'",
            "a/../../x.wasm",
            "leaves the plugin folder with '..'",
        ),
        ("'/etc/x.wasm'", "/etc/x.wasm", "is an absolute path"),
        (
            "'C:\\x.wasm'",
            "C:\\\\x.wasm",
            "contains ':' (a Windows drive like \"C:\" or a stream name)",
        ),
        (
            "'\\\\server\\x.wasm'",
            "\\\\\\\\server\\\\x.wasm",
            "is an absolute path",
        ),
        ("'bin\\x.wasm'", "bin\\\\x.wasm", "contains a backslash"),
        ("\"x\\u0000.wasm\"", "x\\0.wasm", "contains a control character"),
    ] {
        assert_eq!(
            error_after_minimal(&format!("component = {literal}\n")),
            format!("{ORIGIN}:6:13: [plugin].component: \"{shown}\" {problem}; {form}"),
        );
    }
    assert_eq!(
        error_after_minimal("component = \"\"\n"),
        format!("{ORIGIN}:6:13: [plugin].component: the component path is empty; {form}")
    );
}

#[test]
fn bad_ids_say_what_is_wrong() {
    let form =
        "expected 1 to 64 lowercase ASCII letters, digits, '.' and '-', starting with a letter, e.g. \"auto-tag\"";
    for (id, problem) in [
        ("Auto-tag", "contains 'A'"),
        ("auto_tag", "contains '_'"),
        ("9tag", "does not start with a letter"),
        ("auto-", "ends with '.' or '-'"),
        ("auto.", "ends with '.' or '-'"),
        ("a..b", "contains \"..\""),
    ] {
        assert_eq!(
            error(&MINIMAL.replace("\"auto-tag\"", &format!("\"{id}\""))),
            format!("{ORIGIN}:2:6: [plugin].id: plugin id \"{id}\" {problem}; {form}"),
        );
    }
    assert_eq!(
        error(&MINIMAL.replace("\"auto-tag\"", "\"\"")),
        format!("{ORIGIN}:2:6: [plugin].id: the plugin id is empty; {form}")
    );
    let long = "a".repeat(65);
    assert_eq!(
        error(&MINIMAL.replace("\"auto-tag\"", &format!("\"{long}\""))),
        format!("{ORIGIN}:2:6: [plugin].id: plugin id \"{long}\" is longer than 64 characters; {form}")
    );
    assert!(
        parse(&MINIMAL.replace("\"auto-tag\"", "\"a--b.c1\"")).is_ok(),
        "\"--\" is fine"
    );
}

#[test]
fn a_blank_name_is_refused() {
    assert_eq!(
        error(&MINIMAL.replace("\"Auto tag\"", "\"   \"")),
        format!("{ORIGIN}:3:8: [plugin].name: the name is empty; give the name users will see, e.g. \"Auto tag\"")
    );
}

#[test]
fn bad_durations_name_the_field_and_the_form() {
    assert_eq!(
        error_after_minimal("[limits]\ndeadline = \"100\"\n"),
        format!(
            "{ORIGIN}:7:12: [limits].deadline: duration \"100\" has no unit; expected an integer and a unit (ms, s, m, h, d), e.g. \"500ms\", \"30s\", \"5m\""
        )
    );
    assert_eq!(
        error_after_minimal("[limits]\ndeadline = \"2m\"\n"),
        format!("{ORIGIN}:7:12: [limits].deadline: duration \"2m\" is longer than the maximum of 1m")
    );
    assert_eq!(
        error_after_minimal("[limits]\ndeadline = 100\n"),
        format!(
            "{ORIGIN}:7:12: [limits].deadline: invalid type: integer `100`, expected a duration string from \"1ms\" to \"1m\", written as an integer and a unit (ms, s, m, h, d), e.g. \"500ms\", \"30s\", \"5m\""
        )
    );
    assert_eq!(
        error_after_minimal("[events]\ntimers = [{ name = \"fast\", interval = \"50ms\" }]\n"),
        format!("{ORIGIN}:7:39: [events].timers[0].interval: duration \"50ms\" is shorter than the minimum of 100ms")
    );
    assert_eq!(
        error_after_minimal("[events]\ntimers = [{ name = \"slow\", interval = \"31d\" }]\n"),
        format!("{ORIGIN}:7:39: [events].timers[0].interval: duration \"31d\" is longer than the maximum of 30d")
    );
}

#[test]
fn bad_byte_sizes_name_the_field_and_the_form() {
    let form =
        "expected an integer number of bytes or a string with a unit (B, KiB, MiB, GiB, KB, MB, GB), e.g. \"64MiB\"";
    assert_eq!(
        error_after_minimal("[limits]\nmemory = \"64mb\"\n"),
        format!("{ORIGIN}:7:10: [limits].memory: byte size \"64mb\" has an unknown unit \"mb\"; {form}")
    );
    assert_eq!(
        error_after_minimal("[limits]\nmemory = \"1024\"\n"),
        format!(
            "{ORIGIN}:7:10: [limits].memory: byte size \"1024\" has no unit (write an integer, not a string, for a number of bytes); {form}"
        )
    );
    assert_eq!(
        error_after_minimal("[limits]\nmemory = 12\n"),
        format!("{ORIGIN}:7:10: [limits].memory: byte size 12 is less than the minimum of 64KiB")
    );
    assert_eq!(
        error_after_minimal("[limits]\nstack = \"32MiB\"\n"),
        format!("{ORIGIN}:7:9: [limits].stack: byte size \"32MiB\" is more than the maximum of 16MiB")
    );
    assert_eq!(
        error_after_minimal("[permissions]\nstate = { quota = 0 }\n"),
        format!("{ORIGIN}:7:19: [permissions].state.quota: byte size 0 is less than the minimum of 1B")
    );
    assert_eq!(
        error_after_minimal("[permissions]\nstate = { quota = \"2GB\" }\n"),
        format!("{ORIGIN}:7:19: [permissions].state.quota: byte size \"2GB\" is more than the maximum of 1GiB")
    );
    assert_eq!(
        error_after_minimal("[limits]\nmax-value = -1\n"),
        format!("{ORIGIN}:7:13: [limits].max-value: byte size -1 is negative; {form}")
    );
}

#[test]
fn counts_outside_their_range_are_refused() {
    assert_eq!(
        error_after_minimal("[limits]\nfuel = 0\n"),
        format!("{ORIGIN}:7:8: [limits].fuel: 0 is out of range; expected a positive integer")
    );
    assert_eq!(
        error_after_minimal("[limits]\ntables = 1000001\n"),
        format!("{ORIGIN}:7:10: [limits].tables: 1000001 is out of range; expected an integer from 1 to 1000000")
    );
    assert_eq!(
        error_after_minimal("[limits]\nhost-calls = -5\n"),
        format!("{ORIGIN}:7:14: [limits].host-calls: -5 is negative; expected an integer from 1 to 10000000")
    );
    assert_eq!(
        error_after_minimal("[limits]\nemits-per-event = 10001\n"),
        format!("{ORIGIN}:7:19: [limits].emits-per-event: 10001 is out of range; expected an integer from 0 to 10000")
    );
}

#[test]
fn duplicates_in_lists_are_refused() {
    assert_eq!(
        error_after_minimal("[permissions]\ntasks = [\"read\", \"write\", \"read\"]\n"),
        format!("{ORIGIN}:7:9: [permissions].tasks: \"read\" is listed more than once; remove the repeated entry")
    );
    assert_eq!(
        error_after_minimal(
            "[events]\ntimers = [{ name = \"h\", interval = \"1h\" }, { name = \"h\", interval = \"2h\" }]\n"
        ),
        format!("{ORIGIN}:7:10: [events].timers: timer name \"h\" is listed more than once; remove the repeated entry")
    );
    assert_eq!(
        error_after_minimal("[events]\nsubscribe = [\"timer\", \"timer\"]\n"),
        format!("{ORIGIN}:7:13: [events].subscribe: \"timer\" is listed more than once; remove the repeated entry")
    );
}

#[test]
fn unknown_values_in_lists_point_at_the_item() {
    assert_eq!(
        error_after_minimal("[events]\nsubscribe = [\"timer\", \"task-renamed\"]\n"),
        format!(
            "{ORIGIN}:7:23: [events].subscribe[1]: unknown event \"task-renamed\"; expected one of task-created, task-modified, task-deleted, sync-completed, timer, custom:PLUGIN-ID/TOPIC, custom:TOPIC or custom:*"
        )
    );
    assert_eq!(
        error_after_minimal("[permissions]\ntasks = [\"read\", \"admin\"]\n"),
        format!("{ORIGIN}:7:18: [permissions].tasks[1]: unknown task access \"admin\"; expected read, write or delete")
    );
    assert_eq!(
        error_after_minimal("[events]\nemits = [\"Tags\"]\n"),
        format!(
            "{ORIGIN}:7:10: [events].emits[0]: topic \"Tags\" contains 'T'; allowed are lowercase ASCII letters, digits, '.', '_' and '-'"
        )
    );
    assert_eq!(
        error_after_minimal("[permissions]\nnetwork = [\"api.example.com:443\"]\n"),
        format!(
            "{ORIGIN}:7:12: [permissions].network[0]: host \"api.example.com:443\" has a port; expected a bare host name like \"api.example.com\" or \"*.example.com\""
        )
    );
    assert_eq!(
        error_after_minimal("[permissions]\ncommands = [\"retag\"]\n"),
        format!(
            "{ORIGIN}:7:13: [permissions].commands[0]: command \"retag\" does not name its plugin; expected PLUGIN-ID.COMMAND, e.g. \"auto-tag.retag\""
        )
    );
    let app = error_after_minimal("[permissions]\napp = [\"app.notify\", \"App Notify\"]\n");
    assert!(
        app.starts_with(&format!(
            "{ORIGIN}:7:22: [permissions].app[1]: app permission \"App Notify\" is not a permission name"
        )),
        "{app}"
    );
    assert!(error_after_minimal("[permissions]\napp = [\"app.notify\", \"app.notify\"]\n").contains("app.notify"));
}

#[test]
fn values_of_the_wrong_type_say_what_was_expected() {
    assert_eq!(
        error(&MINIMAL.replace("\"Auto tag\"", "3")),
        format!("{ORIGIN}:3:8: [plugin].name: invalid type: integer `3`, expected a string")
    );
    assert_eq!(
        error_after_minimal("[events]\nsubscribe = \"timer\"\n"),
        format!("{ORIGIN}:7:13: [events].subscribe: invalid type: string \"timer\", expected an array")
    );
    assert_eq!(
        error_after_minimal("[config]\nkeywords = 3\n"),
        format!("{ORIGIN}:7:12: [config].keywords: invalid type: integer `3`, expected a string")
    );
    assert_eq!(
        error_after_minimal("[commands]\nretag = \"Re-tag\"\n"),
        format!(
            "{ORIGIN}:7:9: [commands].retag: invalid type: string \"Re-tag\", expected a table like {{ description = \"Re-tag every task\" }}"
        )
    );
    assert_eq!(
        error_after_minimal("authors = \"Ann\"\n"),
        format!("{ORIGIN}:6:11: [plugin].authors: invalid type: string \"Ann\", expected an array")
    );
    assert_eq!(
        error(&format!("limits = 3\n{MINIMAL}")),
        format!("{ORIGIN}:1:10: [limits]: invalid type: integer `3`, expected the [limits] table")
    );
}

#[test]
fn table_keys_are_checked_where_they_are_written() {
    assert_eq!(
        error_after_minimal("[config]\nKeywords = \"x\"\n"),
        format!(
            "{ORIGIN}:7:1: [config].Keywords: config key \"Keywords\" contains 'K'; allowed are lowercase ASCII letters, digits, '.', '_' and '-'"
        )
    );
    assert_eq!(
        error_after_minimal("[commands]\n\"re.tag\" = { description = \"x\" }\n"),
        format!(
            "{ORIGIN}:7:1: [commands].re.tag: command name \"re.tag\" contains '.'; allowed are lowercase ASCII letters, digits, '_' and '-'"
        )
    );
    assert_eq!(
        error_after_minimal("[commands]\nretag = {}\n"),
        format!("{ORIGIN}:7:9: missing field `description` in [commands].retag")
    );
}

#[test]
fn toml_syntax_errors_have_a_line_and_column() {
    assert_eq!(
        error("[plugin]\nid = \"a\"\nid = \"b\"\n"),
        format!("{ORIGIN}:3:1: not valid TOML: duplicate key")
    );
    let message = error("[plugin]\nid = \n");
    assert!(
        message.starts_with(&format!("{ORIGIN}:2:6: not valid TOML: ")),
        "{message}"
    );
}

#[test]
fn errors_expose_their_location() {
    let Err(ManifestError::Invalid { at, field, .. }) = parse(&MINIMAL.replace("\"1.2.0\"", "\"x\"")) else {
        panic!("expected an invalid value");
    };
    assert_eq!(at.file, Path::new(ORIGIN));
    let line_column = at.line_column.expect("a value has a position");
    assert_eq!((line_column.line, line_column.column), (4, 11));
    assert_eq!(field, "[plugin].version");
}

#[test]
fn manifests_are_read_from_a_plugin_folder() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let missing = Manifest::from_dir(folder.path()).expect_err("no plugin.toml yet");
    assert!(matches!(missing, ManifestError::Read { .. }));
    let manifest_path = folder.path().join("plugin.toml");
    assert!(
        missing.to_string().starts_with(&format!(
            "{}: cannot read the plugin manifest: ",
            manifest_path.display()
        )),
        "{missing}"
    );

    std::fs::write(&manifest_path, format!("{MINIMAL}component = \"plugin.wasm\"\n")).expect("write the manifest");
    let manifest = Manifest::from_dir(folder.path()).expect("valid");
    assert_eq!(manifest.plugin.id.as_str(), "auto-tag");
    assert_eq!(
        manifest.component_path(folder.path()),
        Some(folder.path().join("plugin.wasm"))
    );

    std::fs::write(&manifest_path, MINIMAL.replace("1.2.0", "one")).expect("write the manifest");
    let message = Manifest::from_file(&manifest_path)
        .expect_err("bad version")
        .to_string();
    assert!(
        message.starts_with(&format!("{}:4:11: [plugin].version: ", manifest_path.display())),
        "{message}"
    );
}

#[test]
fn oversized_manifests_are_not_read() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let manifest_path = folder.path().join("plugin.toml");
    let padding = "#".repeat(2 * 1024 * 1024);
    std::fs::write(&manifest_path, format!("{MINIMAL}{padding}\n")).expect("write the manifest");
    let error = Manifest::from_file(&manifest_path).expect_err("too large");
    assert!(matches!(error, ManifestError::TooLarge { limit: 1_048_576, .. }));
    assert!(error.to_string().starts_with(&format!(
        "{}: the plugin manifest is larger than 1048576 bytes",
        manifest_path.display()
    )));
}

fn id(text: &str) -> PluginId {
    text.parse().expect("test ids are valid")
}

fn requirement(text: &str) -> semver::VersionReq {
    semver::VersionReq::parse(text).expect("test requirements are valid")
}

#[test]
fn dependencies_read_back_in_both_forms() {
    let manifest = parse(&format!(
        "{MINIMAL}\n[dependencies]\n\"keyword-pack\" = \"^1.2\"\n\"locale-fr\" = {{ version = \">=0.3\", optional = true }}\n\"org.example.dates\" = {{ version = \"2.*\" }}\n"
    ))
    .expect("valid dependencies");
    assert_eq!(
        manifest.dependencies,
        BTreeMap::from([
            (
                id("keyword-pack"),
                Dependency {
                    requirement: requirement("^1.2"),
                    optional: false
                }
            ),
            (
                id("locale-fr"),
                Dependency {
                    requirement: requirement(">=0.3"),
                    optional: true
                }
            ),
            (
                id("org.example.dates"),
                Dependency {
                    requirement: requirement("2.*"),
                    optional: false
                }
            ),
        ])
    );
    let keywords = &manifest.dependencies["keyword-pack"];
    assert!(keywords.accepts(&semver::Version::new(1, 4, 0)));
    assert!(!keywords.accepts(&semver::Version::new(2, 0, 0)));
}

#[test]
fn dependencies_may_be_written_as_sub_tables() {
    let manifest = parse(&format!(
        "{MINIMAL}[dependencies.locale-fr]\nversion = \"0.3\"\noptional = true\n"
    ))
    .expect("valid");
    assert!(manifest.dependencies["locale-fr"].optional);
}

#[test]
fn bad_dependency_ids_are_refused_at_the_key() {
    assert_eq!(
        error_after_minimal("[dependencies]\n\"Keyword-Pack\" = \"1\"\n"),
        format!(
            "{ORIGIN}:7:1: [dependencies].Keyword-Pack: plugin id \"Keyword-Pack\" contains 'K'; expected 1 to 64 lowercase ASCII letters, digits, '.' and '-', starting with a letter, e.g. \"auto-tag\""
        )
    );
}

#[test]
fn bad_requirements_are_refused_at_the_value() {
    let form = "expected e.g. \"^1.2\", \">=0.3, <2\" or \"*\"";
    let message = error_after_minimal("[dependencies]\nkeyword-pack = \"one\"\n");
    assert!(
        message.starts_with(&format!(
            "{ORIGIN}:7:16: [dependencies].keyword-pack: \"one\" is not a version requirement ({form}): "
        )),
        "{message}"
    );
    let message = error_after_minimal("[dependencies]\nlocale-fr = { version = \">=\", optional = true }\n");
    assert!(
        message.starts_with(&format!(
            "{ORIGIN}:7:25: [dependencies].locale-fr.version: \">=\" is not a version requirement ({form}): "
        )),
        "{message}"
    );
}

#[test]
fn dependency_values_of_the_wrong_shape_say_what_is_expected() {
    let expecting = "a version requirement like \"^1.2\" or a table like { version = \">=0.3\", optional = true }";
    assert_eq!(
        error_after_minimal("[dependencies]\nkeyword-pack = 1\n"),
        format!("{ORIGIN}:7:16: [dependencies].keyword-pack: invalid type: integer `1`, expected {expecting}")
    );
    assert_eq!(
        error_after_minimal("[dependencies]\nkeyword-pack = { optional = true }\n"),
        format!("{ORIGIN}:7:16: missing field `version` in [dependencies].keyword-pack")
    );
    assert_eq!(
        error_after_minimal("[dependencies]\nkeyword-pack = { version = \"1\", optional = \"yes\" }\n"),
        format!(
            "{ORIGIN}:7:44: [dependencies].keyword-pack.optional: invalid type: string \"yes\", expected a boolean"
        )
    );
    assert_eq!(
        error(&format!("dependencies = [\"keyword-pack\"]\n{MINIMAL}")),
        format!("{ORIGIN}:1:16: [dependencies]: invalid type: array, expected a table")
    );
}

#[test]
fn unknown_dependency_keys_are_refused_with_the_keys_that_exist() {
    assert_eq!(
        error_after_minimal("[dependencies]\nkeyword-pack = { version = \"1\", optinal = true }\n"),
        format!(
            "{ORIGIN}:7:33: unknown field `optinal` in [dependencies].keyword-pack; expected one of version, optional"
        )
    );
    assert_eq!(
        error_after_minimal("[dependencies.keyword-pack]\nversion = \"1\"\npath = \"../x\"\n"),
        format!("{ORIGIN}:8:1: unknown field `path` in [dependencies].keyword-pack; expected one of version, optional")
    );
}

#[test]
fn a_plugin_cannot_depend_on_itself() {
    assert_eq!(
        error_after_minimal("[dependencies]\nkeyword-pack = \"1\"\nauto-tag = \"^1\"\n"),
        format!("{ORIGIN}:8:1: [dependencies].auto-tag: plugin \"auto-tag\" depends on itself; remove this entry")
    );
    assert_eq!(
        error(&format!(
            "dependencies = {{ \"auto-tag\" = {{ version = \"1\" }} }}\n{MINIMAL}"
        )),
        format!("{ORIGIN}:1:18: [dependencies].auto-tag: plugin \"auto-tag\" depends on itself; remove this entry")
    );
    let Err(ManifestError::Invalid { at, field, .. }) =
        parse(&format!("{MINIMAL}[dependencies.auto-tag]\nversion = \"1\"\n"))
    else {
        panic!("expected an invalid value");
    };
    assert_eq!(field, "[dependencies].auto-tag");
    assert_eq!(at.line_column.map(|at| (at.line, at.column)), Some((6, 15)));
}

#[test]
fn app_permissions_are_read_by_the_name_the_application_gives_them() {
    let manifest = parse(&format!(
        "{MINIMAL}[permissions]\napp = [\"app.notify\", \"app.open-url\"]\n"
    ))
    .expect("valid");
    let names: Vec<&str> = manifest.permissions.app.iter().map(|p| p.as_str()).collect();
    assert_eq!(names, ["app.notify", "app.open-url"]);
    assert!(!manifest.permissions.is_empty());
}
