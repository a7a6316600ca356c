//! `plugboard command ID.NAME [ARGS]` on an installed plugin, as a user runs
//! it: the command's arguments checked against its declared parameters, and
//! the plugin reading its own resources and translations from the archive
//! it was installed from. Every folder is in a temp dir.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::path::Path;

use common::{plugboard, plugboard_ok, plugin_folder, stderr, stdout};
use plugboard_test_artifacts::CONFORMANCE_V2;

/// The task-events 2.2 conformance component as a plugin offering
/// `resource PATH`, `translate KEY [NAME]` and `echo`.
const MANIFEST: &str = r#"
[plugin]
id = "files-demo"
name = "Files demo"
version = "0.1.0"
api = "task-events@2"
component = "conformance_v2.wasm"

[commands]
resource = { description = "Prints one of its resources", params = [{ name = "path" }] }
translate = { description = "Prints a text in your language", params = [{ name = "key" }, { name = "name", required = false }] }
echo = { description = "Prints its arguments", params = [{ name = "words", required = false }, { name = "count", type = "integer", required = false }] }

[locales]
default = "en"
"#;

/// A temp dir with files-demo packed (with its resources and locales)
/// and installed from the archive.
fn installed() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("temp dir");
    plugin_folder(root.path(), "files-demo", MANIFEST, CONFORMANCE_V2);
    let folder = root.path().join("plugins/files-demo");
    std::fs::create_dir_all(folder.join("resources/notes")).unwrap();
    std::fs::write(folder.join("resources/greeting.txt"), "Hello from an archive\n").unwrap();
    std::fs::write(folder.join("resources/notes/a.txt"), "note a").unwrap();
    std::fs::create_dir_all(folder.join("locales")).unwrap();
    std::fs::write(folder.join("locales/en.json"), r#"{"hello": "Hello, {name}!"}"#).unwrap();
    std::fs::write(folder.join("locales/de.json"), r#"{"hello": "Hallo, {name}!"}"#).unwrap();
    let archive = plugboard_ok(root.path(), &["pack", "plugins/files-demo", "--out", "dist"]);
    plugboard_ok(root.path(), &["install", archive.trim(), "--yes"]);
    // From here on only the installed copy exists.
    std::fs::remove_dir_all(root.path().join("plugins")).unwrap();
    root
}

fn command_in(root: &Path, lang: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["command"];
    all.extend(args);
    all.extend([
        "--config-dir",
        "config",
        "--data-dir",
        "data",
        "--plugins-dir",
        "installed",
    ]);
    common::command(root)
        .args(&all)
        .env("LANG", lang)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .output()
        .expect("the plugboard binary runs")
}

#[test]
fn an_installed_plugin_reads_its_resources_and_translations_from_its_archive() {
    let root = installed();
    let out = command_in(root.path(), "C", &["files-demo.resource", "greeting.txt"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&out).lines().next(), Some("Hello from an archive"));
    let nested = command_in(root.path(), "C", &["files-demo.resource", "notes/a.txt"]);
    assert_eq!(stdout(&nested).lines().next(), Some("note a"), "{}", stderr(&nested));

    let german = command_in(root.path(), "de_DE.UTF-8", &["files-demo.translate", "hello", "Ada"]);
    assert!(german.status.success(), "{}", stderr(&german));
    assert_eq!(stdout(&german).lines().next(), Some("Hallo, Ada!"));
    // A language it has no file for falls back to its default.
    let french = command_in(root.path(), "fr_FR.UTF-8", &["files-demo.translate", "hello", "Ada"]);
    assert_eq!(
        stdout(&french).lines().next(),
        Some("Hello, Ada!"),
        "{}",
        stderr(&french)
    );
}

#[test]
fn a_path_out_of_the_resources_folder_is_refused() {
    let root = installed();
    for escape in ["../plugin.toml", "/etc/passwd", "notes/../../plugin.toml"] {
        let out = command_in(root.path(), "C", &["files-demo.resource", escape]);
        assert!(!out.status.success(), "{escape}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains("refused command `resource`: invalid: resource path"),
            "{escape}: {err}"
        );
        assert!(!stdout(&out).contains("[plugin]"), "{escape}: the manifest leaked");
    }
}

#[test]
fn a_command_runs_from_the_cli_with_its_arguments_checked_first() {
    let root = installed();
    let ok = plugboard_ok(root.path(), &["command", "files-demo.echo", "hi", "3"]);
    assert_eq!(ok.lines().next(), Some("hi 3"));
    for (args, why) in [
        (
            &["files-demo.echo", "hi", "three"][..],
            "argument `count` must be an integer, got \"three\"",
        ),
        (
            &["files-demo.echo", "a", "1", "extra"][..],
            "takes at most 2 argument(s)",
        ),
        (&["files-demo.resource"][..], "argument `path` is required"),
    ] {
        let mut all = vec!["command"];
        all.extend(args);
        let out = plugboard(root.path(), &all);
        assert!(!out.status.success(), "{args:?}: {}", stdout(&out));
        assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
    }
    let unknown = plugboard(root.path(), &["command", "nobody.echo"]);
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("no plugin `nobody` is loaded"),
        "{}",
        stderr(&unknown)
    );
    let malformed = plugboard(root.path(), &["command", "echo"]);
    assert!(
        stderr(&malformed).contains("does not name a plugin's command"),
        "{}",
        stderr(&malformed)
    );
}
