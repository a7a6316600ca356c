//! A plugin's life as a user lives it with the `plugboard` binary: pack,
//! sign and verify an archive, install it (answering the permission
//! question or not), upgrade and downgrade it, list, run, disable, enable,
//! read its logs and remove it. Every folder is in a temp dir.

#[allow(dead_code, reason = "each test file uses its own part of the helpers")]
mod common;

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use common::{
    example_manifest, plugboard, plugboard_fails, plugboard_ok, plugboard_with_input, plugin_folder, stderr, stdout,
};
use plugboard_test_artifacts::{AUTO_TAG, LEGACY_COUNTER};
use tempfile::TempDir;

const AUTO_TAG_REQUESTS: &str = "tasks.read, tasks.write, subscribe:task-created, subscribe:task-modified";

/// The auto-tag example's manifest at `version`, with `tasks` as its task access.
fn auto_tag_manifest(version: &str, tasks: &str) -> String {
    example_manifest("auto-tag")
        .replace("version = \"0.1.0\"", &format!("version = \"{version}\""))
        .replace("tasks = [\"read\", \"write\"]", &format!("tasks = [{tasks}]"))
}

/// Packs `plugins/<folder>` into `dist/` and returns the archive's path as
/// the command printed it.
fn pack(root: &Path, folder: &str) -> String {
    let out = plugboard_ok(root, &["pack", &format!("plugins/{folder}"), "--out", "dist"]);
    out.trim().to_string()
}

/// A temp dir with the auto-tag example at `version` packed into `dist/`;
/// returns it with the archive's path.
fn auto_tag_archive(version: &str, tasks: &str) -> (TempDir, String) {
    let root = tempfile::tempdir().expect("temp dir");
    plugin_folder(root.path(), "auto-tag", &auto_tag_manifest(version, tasks), AUTO_TAG);
    let archive = pack(root.path(), "auto-tag");
    (root, archive)
}

/// Repacks auto-tag at another version into the same temp dir.
fn repack_auto_tag(root: &Path, version: &str, tasks: &str) -> String {
    std::fs::write(
        root.join("plugins/auto-tag/plugin.toml"),
        auto_tag_manifest(version, tasks),
    )
    .expect("write manifest");
    pack(root, "auto-tag")
}

fn installed_version(root: &Path, id: &str) -> String {
    let manifest = std::fs::read_to_string(root.join("installed").join(id).join("plugin.toml")).expect("installed");
    manifest
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("a version line")
        .to_string()
}

fn grants_file(root: &Path) -> String {
    std::fs::read_to_string(root.join("config/plugboard.toml")).unwrap_or_default()
}

/// The line of `list` that starts with `id`.
fn list_line(out: &str, id: &str) -> String {
    out.lines()
        .find(|line| line.starts_with(&format!("  {id} ")))
        .unwrap_or_else(|| panic!("no line for {id}:\n{out}"))
        .to_string()
}

#[test]
fn pack_verify_install_list_run_logs_and_remove_with_purge() {
    let (root, archive) = auto_tag_archive("0.1.0", "\"read\", \"write\"");
    let root = root.path();
    assert_eq!(archive, "dist/auto-tag-0.1.0.plugin");

    let out = plugboard_ok(root, &["verify", &archive]);
    let wasm_size = AUTO_TAG.bytes.len();
    for expected in [
        "dist/auto-tag-0.1.0.plugin: verified".to_string(),
        "  id         auto-tag".to_string(),
        "  version    0.1.0".to_string(),
        "  world      task-events@2".to_string(),
        "  files (2):".to_string(),
        format!("    auto_tag.wasm  {wasm_size} bytes"),
        "  signature  unsigned".to_string(),
    ] {
        assert!(out.contains(&expected), "missing {expected:?} in:\n{out}");
    }

    let out = plugboard_ok(root, &["install", &archive, "--yes"]);
    for expected in [
        "Plugin      Auto tag (auto-tag)",
        "version     0.1.0\n",
        "world       task-events@2",
        "about       Tags a task with every keyword",
        "signature   unsigned",
        "It requests:\n  tasks.read               read your tasks\n  tasks.write              create and change your tasks\n  \
         subscribe:task-created   receive task-created events\n  subscribe:task-modified  receive task-modified events\n",
        "Installed auto-tag 0.1.0 into installed/auto-tag.",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(!out.contains("[y/N]"), "--yes asks nothing:\n{out}");
    assert!(out.contains(&format!("auto-tag holds: {AUTO_TAG_REQUESTS}")), "{out}");
    assert!(root.join("installed/auto-tag/auto_tag.wasm").is_file());
    assert!(grants_file(root).contains("[plugins.auto-tag.grants]"));

    let out = plugboard_ok(root, &["list"]);
    assert!(out.contains("Plugins installed in installed:"), "{out}");
    assert_eq!(
        list_line(&out, "auto-tag"),
        format!("  auto-tag  0.1.0  task-events@2  user  granted: {AUTO_TAG_REQUESTS}  enabled")
    );

    let out = plugboard_ok(root, &["run"]);
    assert!(out.contains("Plugins loaded from installed:"), "{out}");
    assert!(out.contains("  auto-tag [task-events@2]: handled"), "{out}");
    assert!(
        out.contains("    changed task \"Buy milk, urgent\": +tag urgent, priority none -> high"),
        "{out}"
    );
    assert!(
        root.join("data/state.sqlite3").is_file(),
        "installed plugins keep state in the data folder"
    );

    let out = plugboard_ok(root, &["logs", "auto-tag", "-n", "5"]);
    assert!(out.contains("info  watching titles for: urgent, review, bug"), "{out}");
    assert!(out.lines().count() <= 5, "{out}");

    let out = plugboard_ok(root, &["remove", "auto-tag", "--purge"]);
    assert!(out.contains("Removed auto-tag 0.1.0 from installed/auto-tag."), "{out}");
    assert!(out.contains("Deleted its grants from config/plugboard.toml."), "{out}");
    assert!(out.contains("Deleted its state (0 entries)"), "{out}");
    assert!(out.contains("Deleted its log data/logs/auto-tag.log."), "{out}");
    assert!(!root.join("installed/auto-tag").exists());
    assert!(!grants_file(root).contains("auto-tag"), "{}", grants_file(root));
    assert!(!root.join("data/logs/auto-tag.log").exists());
    let out = plugboard_ok(root, &["list"]);
    assert!(out.contains("  (none)") && !out.contains("auto-tag"), "{out}");
    let out = plugboard_ok(root, &["logs", "auto-tag"]);
    assert!(out.contains("auto-tag has no log yet"), "{out}");
    assert!(!root.join("home").exists(), "nothing is written to the home folder");
}

#[test]
fn an_install_answered_no_writes_nothing() {
    let (root, archive) = auto_tag_archive("0.1.0", "\"read\", \"write\"");
    let root = root.path();
    for input in [Some("n\n"), Some("\n"), None] {
        let output = plugboard_with_input(root, &["install", &archive], input);
        assert!(!output.status.success(), "{input:?}: {}", stdout(&output));
        let out = stdout(&output);
        assert!(out.contains("Grant these permissions? [y/N]"), "{out}");
        let err = stderr(&output);
        assert!(
            err.contains("auto-tag was not installed: you did not grant what it requests; nothing was written"),
            "{err}"
        );
        assert!(!root.join("installed/auto-tag").exists(), "{input:?}");
        assert!(!root.join("config").exists(), "{input:?}: no grants written");
    }
    let output = plugboard_with_input(root, &["install", &archive], Some("yes\n"));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(root.join("installed/auto-tag/plugin.toml").is_file());
}

#[test]
fn grant_installs_with_only_the_permissions_listed() {
    let (root, archive) = auto_tag_archive("0.1.0", "\"read\", \"write\"");
    let root = root.path();
    let out = plugboard_ok(
        root,
        &["install", &archive, "--grant", "tasks.read", "subscribe:task-created"],
    );
    assert!(
        out.contains("auto-tag holds: tasks.read, subscribe:task-created"),
        "{out}"
    );
    assert!(
        out.contains("Requested, not granted: tasks.write, subscribe:task-modified"),
        "{out}"
    );
    let out = plugboard_ok(
        root,
        &["install", &archive, "--force", "--grant", "subscribe", "tasks.delete"],
    );
    assert!(
        out.contains("note: auto-tag does not request `tasks.delete`; it gets it only if it asks for it"),
        "{out}"
    );
    assert!(
        !out.contains("`subscribe`"),
        "subscribe covers what it requests:\n{out}"
    );
    let err = plugboard_fails(root, &["install", &archive, "--force", "--grant", "tasks.frob"]);
    assert!(err.contains("`tasks.frob` is not a permission"), "{err}");
}

#[test]
fn an_upgrade_asks_only_for_the_new_permission_and_a_refusal_keeps_the_old_version() {
    let (root, archive) = auto_tag_archive("0.1.0", "\"read\", \"write\"");
    let root = root.path();
    plugboard_ok(root, &["install", &archive, "--yes"]);
    let newer = repack_auto_tag(root, "0.2.0", "\"read\", \"write\", \"delete\"");
    assert_eq!(newer, "dist/auto-tag-0.2.0.plugin");

    let output = plugboard_with_input(root, &["install", &newer], Some("n\n"));
    assert!(!output.status.success());
    assert_eq!(installed_version(root, "auto-tag"), "0.1.0", "a refusal keeps 0.1.0");

    let output = plugboard_with_input(root, &["install", &newer], Some("y\n"));
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", stderr(&output));
    assert!(out.contains("version     0.2.0 (upgrade from the 0.1.0)"), "{out}");
    assert!(
        out.contains(
            "It requests 1 permission(s) you have not granted (it keeps what you granted before):\n  \
             tasks.delete  delete your tasks\nGrant these permissions? [y/N] y\nInstalled auto-tag 0.2.0"
        ),
        "{out}"
    );
    assert!(
        !out.contains("  tasks.read "),
        "held permissions are not asked again:\n{out}"
    );
    assert_eq!(installed_version(root, "auto-tag"), "0.2.0");
    assert!(
        out.contains(
            "auto-tag holds: tasks.read, tasks.write, tasks.delete, subscribe:task-created, subscribe:task-modified"
        ),
        "{out}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(root.join("installed"))
        .expect("installed")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, ["auto-tag"], "no staging folder is left behind");

    // Nothing new requested: no question.
    let patch = repack_auto_tag(root, "0.2.1", "\"read\", \"write\", \"delete\"");
    let out = plugboard_ok(root, &["install", &patch]);
    assert!(
        out.contains("It requests nothing you have not granted already."),
        "{out}"
    );
    assert_eq!(installed_version(root, "auto-tag"), "0.2.1");
}

#[test]
fn a_downgrade_or_the_same_version_needs_force() {
    let (root, older) = auto_tag_archive("0.1.0", "\"read\", \"write\"");
    let root = root.path();
    let newer = repack_auto_tag(root, "0.2.0", "\"read\", \"write\"");
    plugboard_ok(root, &["install", &newer, "--yes"]);

    let err = plugboard_fails(root, &["install", &older, "--yes"]);
    assert!(
        err.contains(
            "auto-tag 0.2.0 is installed in installed/auto-tag, which is newer than 0.1.0; pass --force to downgrade to 0.1.0"
        ),
        "{err}"
    );
    let err = plugboard_fails(root, &["install", &newer, "--yes"]);
    assert!(
        err.contains("auto-tag 0.2.0 is installed in installed/auto-tag; pass --force to reinstall it"),
        "{err}"
    );
    assert_eq!(installed_version(root, "auto-tag"), "0.2.0");

    let out = plugboard_ok(root, &["install", &older, "--force"]);
    assert!(out.contains("version     0.1.0 (downgrade from the 0.2.0)"), "{out}");
    assert_eq!(installed_version(root, "auto-tag"), "0.1.0");
}

#[test]
fn keygen_sign_and_verify_against_trusted_keys() {
    let (root, archive) = auto_tag_archive("0.1.0", "\"read\", \"write\"");
    let root = root.path();
    let output = plugboard(root, &["keygen", "--out", "keys"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let key_id = stdout(&output).trim().to_string();
    assert_eq!(key_id.len(), 16, "{key_id}");
    assert!(stderr(&output).contains(&format!("keys/{key_id}.secret")));
    assert!(root.join(format!("keys/{key_id}.pub")).is_file());

    let out = plugboard_ok(root, &["sign", &archive, "--key", &format!("keys/{key_id}.secret")]);
    assert!(out.contains(&format!("Signed {archive} with key {key_id}.")), "{out}");

    let out = plugboard_ok(root, &["verify", &archive]);
    assert!(
        out.contains(&format!(
            "  signature  signed by unknown key {key_id} (not among your trusted keys"
        )),
        "{out}"
    );

    let trusted = root.join("trusted");
    std::fs::create_dir(&trusted).expect("trusted folder");
    std::fs::copy(
        root.join(format!("keys/{key_id}.pub")),
        trusted.join(format!("{key_id}.pub")),
    )
    .expect("trust the key");
    let out = plugboard_ok(root, &["verify", &archive, "--trusted-keys", "trusted"]);
    assert!(
        out.contains(&format!("  signature  signed by trusted key {key_id}")),
        "{out}"
    );

    // The config folder's trusted-keys/ is the default.
    std::fs::create_dir_all(root.join("config")).expect("config");
    std::fs::rename(&trusted, root.join("config/trusted-keys")).expect("move");
    let out = plugboard_ok(root, &["install", &archive, "--yes"]);
    assert!(
        out.contains(&format!("signature   signed by trusted key {key_id}\n")),
        "{out}"
    );
    assert!(!out.contains("no key you trust"), "{out}");

    let err = plugboard_fails(root, &["sign", &archive, "--key", "keys/missing.secret"]);
    assert!(err.contains("keys/missing.secret"), "{err}");
}

/// `args` with `--builtin-dir builtin`.
fn with_builtin<'a>(args: &[&'a str]) -> Vec<&'a str> {
    [args, &["--builtin-dir", "builtin"]].concat()
}

/// The entries of a zip archive, in order, with their contents.
fn zip_entries(archive: &Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(archive).expect("open")).expect("zip");
    (0..zip.len())
        .map(|index| {
            let mut file = zip.by_index(index).expect("entry");
            let name = file.name().expect("name").into_owned();
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).expect("read entry");
            (name, bytes)
        })
        .collect()
}

/// Writes a zip archive with these entries, deflated.
fn write_zip(archive: &Path, entries: Vec<(String, Vec<u8>)>) {
    let mut writer = zip::ZipWriter::new(std::fs::File::create(archive).expect("recreate"));
    for (name, bytes) in entries {
        writer
            .start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .expect("start");
        writer.write_all(&bytes).expect("write");
    }
    writer.finish().expect("finish");
}

/// Rewrites one entry of a zip archive, keeping the others.
fn rewrite_entry(archive: &Path, entry: &str, change: impl Fn(Vec<u8>) -> Vec<u8>) {
    let entries = zip_entries(archive)
        .into_iter()
        .map(|(name, bytes)| {
            let bytes = if name == entry { change(bytes) } else { bytes };
            (name, bytes)
        })
        .collect();
    write_zip(archive, entries);
}

#[test]
fn a_tampered_archive_is_refused_naming_the_changed_file() {
    let (root, archive) = auto_tag_archive("0.1.0", "\"read\", \"write\"");
    let root = root.path();
    let archive = PathBuf::from(&archive);
    rewrite_entry(&root.join(&archive), "plugin.toml", |bytes| {
        String::from_utf8(bytes)
            .expect("text")
            .replace(
                "tasks = [\"read\", \"write\"]",
                "tasks = [\"read\", \"write\", \"delete\"]",
            )
            .into_bytes()
    });
    let archive = archive.to_str().expect("path");
    let err = plugboard_fails(root, &["verify", archive]);
    assert!(
        err.contains("entry \"plugin.toml\" has sha256") && err.contains("it was changed after packing"),
        "{err}"
    );
    let err = plugboard_fails(root, &["install", archive, "--yes"]);
    assert!(err.contains("it was changed after packing"), "{err}");
    assert!(!root.join("installed").exists() && !root.join("config").exists());

    let err = plugboard_fails(root, &["verify", "dist/missing.plugin"]);
    assert!(err.contains("dist/missing.plugin"), "{err}");
}

#[test]
fn a_disabled_plugin_stays_installed_but_does_not_load_until_enabled() {
    let root = tempfile::tempdir().expect("temp dir");
    let root = root.path();
    plugin_folder(root, "auto-tag", &example_manifest("auto-tag"), AUTO_TAG);
    plugin_folder(
        root,
        "legacy-counter",
        &example_manifest("legacy-counter"),
        LEGACY_COUNTER,
    );
    for folder in ["auto-tag", "legacy-counter"] {
        let archive = pack(root, folder);
        plugboard_ok(root, &["install", &archive, "--yes"]);
    }

    let out = plugboard_ok(root, &["disable", "auto-tag"]);
    assert!(
        out.contains("Disabled auto-tag 0.1.0: it stays installed in installed/auto-tag but is not loaded."),
        "{out}"
    );
    let disabled = std::fs::read_to_string(root.join("data/disabled.json")).expect("disabled.json");
    assert_eq!(disabled, "[\n  \"auto-tag\"\n]\n");
    let out = plugboard_ok(root, &["list"]);
    assert!(list_line(&out, "auto-tag").ends_with("  disabled"), "{out}");
    assert!(list_line(&out, "legacy-counter").ends_with("  enabled"), "{out}");

    let out = plugboard_ok(root, &["run"]);
    assert!(
        out.contains("  skipping auto-tag: disabled (`plugboard enable auto-tag` lets it load again)"),
        "{out}"
    );
    assert!(!out.contains("auto-tag ["), "{out}");
    assert!(out.contains("  legacy-counter [task-events@1]: handled"), "{out}");

    let out = plugboard_ok(root, &["enable", "auto-tag"]);
    assert!(out.contains("Enabled auto-tag (it was disabled)."), "{out}");
    let out = plugboard_ok(root, &["run"]);
    assert!(out.contains("  auto-tag [task-events@2]: handled"), "{out}");
    assert!(out.contains("  legacy-counter [task-events@1]: handled"), "{out}");
}

#[test]
fn builtin_plugins_are_listed_and_run_but_never_removed() {
    let root = tempfile::tempdir().expect("temp dir");
    let root = root.path();
    let builtin = root.join("builtin/auto-tag");
    std::fs::create_dir_all(&builtin).expect("builtin folder");
    std::fs::write(builtin.join("plugin.toml"), example_manifest("auto-tag")).expect("manifest");
    std::fs::write(builtin.join("auto_tag.wasm"), AUTO_TAG.bytes).expect("component");

    plugboard_ok(root, &with_builtin(&["grant", "auto-tag", "--all-requested"]));
    let out = plugboard_ok(root, &with_builtin(&["list"]));
    assert_eq!(
        list_line(&out, "auto-tag"),
        format!("  auto-tag  0.1.0  task-events@2  builtin  granted: {AUTO_TAG_REQUESTS}  enabled")
    );
    let out = plugboard_ok(root, &with_builtin(&["run"]));
    assert!(out.contains("  auto-tag [task-events@2]: handled"), "{out}");
    let err = plugboard_fails(root, &with_builtin(&["remove", "auto-tag"]));
    assert!(
        err.contains(
            "auto-tag is a builtin plugin (builtin/auto-tag): it comes with the application and cannot be removed"
        ),
        "{err}"
    );

    // An installed copy hides it, and removing that copy brings it back.
    plugin_folder(
        root,
        "auto-tag",
        &auto_tag_manifest("0.3.0", "\"read\", \"write\""),
        AUTO_TAG,
    );
    let archive = pack(root, "auto-tag");
    let out = plugboard_ok(root, &with_builtin(&["install", &archive]));
    assert!(
        out.contains("version     0.3.0 (upgrade from the builtin 0.1.0)"),
        "{out}"
    );
    assert!(
        out.contains("It requests nothing you have not granted already."),
        "{out}"
    );
    let out = plugboard_ok(root, &with_builtin(&["list"]));
    assert!(
        list_line(&out, "auto-tag").starts_with("  auto-tag  0.3.0  task-events@2  user (hides builtin 0.1.0)"),
        "{out}"
    );
    let out = plugboard_ok(root, &with_builtin(&["remove", "auto-tag"]));
    assert!(
        out.contains("The builtin auto-tag 0.1.0 (builtin/auto-tag) loads in its place."),
        "{out}"
    );
}

#[test]
fn the_plugins_folder_comes_from_the_environment() {
    let (root, archive) = auto_tag_archive("0.1.0", "\"read\", \"write\"");
    let root = root.path();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .current_dir(root)
        .args([
            "install",
            &archive,
            "--yes",
            "--config-dir",
            "config",
            "--data-dir",
            "data",
        ])
        .env("HOME", root.join("home"))
        .env("XDG_DATA_HOME", root.join("xdg-data"))
        .env("PLUGBOARD_PLUGINS_DIR", root.join("env-plugins"))
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(root.join("env-plugins/auto-tag/plugin.toml").is_file());

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .current_dir(root)
        .args([
            "install",
            &archive,
            "--yes",
            "--force",
            "--config-dir",
            "config",
            "--data-dir",
            "data",
        ])
        .env("HOME", root.join("home"))
        .env("XDG_DATA_HOME", root.join("xdg-data"))
        .env_remove("PLUGBOARD_PLUGINS_DIR")
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(root.join("xdg-data/plugboard/plugins/auto-tag/plugin.toml").is_file());
}

#[test]
fn remove_says_what_is_not_installed() {
    let root = tempfile::tempdir().expect("temp dir");
    let err = plugboard_fails(root.path(), &["remove", "ghost"]);
    assert!(
        err.contains("no plugin `ghost` is installed in installed (`plugboard list` shows what is)"),
        "{err}"
    );
    plugboard_ok(root.path(), &["grant", "ghost", "tasks.read"]);
    let out = plugboard_ok(root.path(), &["remove", "ghost", "--purge"]);
    assert!(
        out.contains("ghost is not installed in installed.") && out.contains("Deleted its grants"),
        "{out}"
    );
    let err = plugboard_fails(root.path(), &["remove", "../etc"]);
    assert!(err.contains("plugin id \"../etc\""), "{err}");
}

#[test]
fn index_a_catalogue_and_install_the_best_match_from_it() {
    let (root, first) = auto_tag_archive("0.1.0", "\"read\", \"write\"");
    let root = root.path();
    repack_auto_tag(root, "0.2.0", "\"read\", \"write\", \"delete\"");
    plugin_folder(
        root,
        "legacy-counter",
        &example_manifest("legacy-counter"),
        LEGACY_COUNTER,
    );
    pack(root, "legacy-counter");

    let out = plugboard_ok(root, &["index", "dist"]);
    assert!(out.contains("Wrote dist/index.json with 3 archive(s):"), "{out}");
    assert!(
        out.contains("  auto-tag        0.2.0  task-events@2  unsigned  auto-tag-0.2.0.plugin"),
        "{out}"
    );
    assert!(root.join("dist/index.json").is_file());

    let out = plugboard_ok(root, &["install", "auto-tag@^0.1", "--from", "dist", "--yes"]);
    assert!(
        out.contains("From dist: auto-tag 0.1.0 (auto-tag-0.1.0.plugin)"),
        "{out}"
    );
    assert_eq!(installed_version(root, "auto-tag"), "0.1.0");
    let out = plugboard_ok(root, &["install", "auto-tag", "--from", "dist", "--yes"]);
    assert!(out.contains("From dist: auto-tag 0.2.0"), "{out}");
    assert!(out.contains("  tasks.delete  delete your tasks"), "{out}");
    assert_eq!(installed_version(root, "auto-tag"), "0.2.0");

    let err = plugboard_fails(root, &["install", "auto-tag@^1", "--from", "dist"]);
    assert!(
        err.contains("dist/index.json lists no version of auto-tag matching ^1 (it has 0.1.0, 0.2.0)"),
        "{err}"
    );
    let err = plugboard_fails(root, &["install", "nothing-here", "--from", "dist"]);
    assert!(err.contains("dist/index.json lists no plugin `nothing-here`"), "{err}");
    let err = plugboard_fails(root, &["install", "auto-tag@one", "--from", "dist"]);
    assert!(err.contains("`one` is not a version requirement"), "{err}");

    // An archive that is no longer the one indexed is refused by its digest.
    std::fs::copy(root.join(&first), root.join("dist/legacy-counter-0.1.0.plugin")).expect("replace");
    let err = plugboard_fails(root, &["install", "legacy-counter", "--from", "dist", "--yes"]);
    assert!(
        err.contains("dist/legacy-counter-0.1.0.plugin: its sha256 is")
            && err.contains("but dist/index.json lists")
            && err.contains("the archive was replaced or changed after it was indexed"),
        "{err}"
    );
    assert!(!root.join("installed/legacy-counter").exists());

    // A broken archive, and the copy now duplicating auto-tag 0.1.0, are left
    // out and named; the others are indexed.
    std::fs::write(root.join("dist/broken.plugin"), b"not a zip").expect("write");
    let output = plugboard(root, &["index", "dist"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("broken.plugin") && err.contains("legacy-counter-0.1.0.plugin"),
        "{err}"
    );
    assert!(err.contains("2 archive(s) left out of the index"), "{err}");
    assert!(
        stdout(&output).contains("Wrote dist/index.json with 2 archive(s):"),
        "{}",
        stdout(&output)
    );
}

/// Adds `files` to an archive and lists them in its digests, as a packer
/// that bundles dependencies would.
fn bundle_into(archive: &Path, files: &[(&str, &[u8])]) {
    use sha2::Digest as _;
    let mut entries = zip_entries(archive);
    entries.extend(files.iter().map(|(name, bytes)| (name.to_string(), bytes.to_vec())));
    let mut digests: Vec<(String, String)> = entries
        .iter()
        .filter(|(name, _)| !name.starts_with("plugboard/"))
        .map(|(name, bytes)| (name.clone(), hex::encode(sha2::Sha256::digest(bytes))))
        .collect();
    digests.sort();
    let listed: String = digests
        .iter()
        .map(|(name, digest)| format!("{digest}  {name}\n"))
        .collect();
    for (name, bytes) in &mut entries {
        if name == "plugboard/digests" {
            *bytes = listed.clone().into_bytes();
        }
    }
    write_zip(archive, entries);
}

#[test]
fn a_bundled_dependency_is_kept_with_its_plugin_and_a_missing_one_blocks_it() {
    let root = tempfile::tempdir().expect("temp dir");
    let root = root.path();
    let manifest = format!(
        "{}\n[dependencies]\nkeyword-pack = \"^1\"\n",
        example_manifest("auto-tag")
    );
    plugin_folder(root, "auto-tag", &manifest, AUTO_TAG);
    let archive = pack(root, "auto-tag");

    // Without its dependency it installs but does not load.
    plugboard_ok(root, &["install", &archive, "--yes"]);
    let output = plugboard(root, &["run"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("error: not loading auto-tag: auto-tag -> keyword-pack: keyword-pack is not installed"),
        "{err}"
    );
    let out = plugboard_ok(root, &["list"]);
    assert!(
        list_line(&out, "auto-tag").contains("cannot load: auto-tag -> keyword-pack"),
        "{out}"
    );

    let pack_manifest = "[plugin]\nid = \"keyword-pack\"\nname = \"Keyword pack\"\nversion = \"1.2.0\"\n\
                         api = \"task-events@2\"\n";
    bundle_into(
        &root.join(&archive),
        &[
            ("deps/keyword-pack/plugin.toml", pack_manifest.as_bytes()),
            ("deps/keyword-pack/resources/words.txt", b"urgent\n"),
        ],
    );
    let out = plugboard_ok(root, &["install", &archive, "--yes", "--force"]);
    assert!(out.contains("Installed auto-tag 0.1.0"), "{out}");
    assert!(root.join("installed/auto-tag/deps/keyword-pack/plugin.toml").is_file());

    let out = plugboard_ok(root, &["list"]);
    assert!(
        list_line(&out, "keyword-pack").starts_with("  keyword-pack  1.2.0  task-events@2  bundled by auto-tag"),
        "{out}"
    );
    let out = plugboard_ok(root, &["run"]);
    assert!(
        out.contains("  keyword-pack  1.2.0  data only (no component), for the plugins that depend on it"),
        "{out}"
    );
    assert!(out.contains("  auto-tag [task-events@2]: handled"), "{out}");
    let err = plugboard_fails(root, &["remove", "keyword-pack"]);
    assert!(
        err.contains("keyword-pack is not installed on its own: auto-tag bundles it"),
        "{err}"
    );
}

/// An archive of plugin `evil` (auto-tag's component under another id) that
/// requires `auto-tag >= 99` and bundles its own auto-tag 99, asking for
/// more than the installed one, to run in its place.
fn impostor_archive(root: &Path) -> String {
    let manifest = example_manifest("auto-tag")
        .replace("id = \"auto-tag\"", "id = \"evil\"")
        .replace("name = \"Auto tag\"", "name = \"Evil\"");
    let manifest = format!("{manifest}\n[dependencies]\nauto-tag = \">=99\"\n");
    plugin_folder(root, "evil", &manifest, AUTO_TAG);
    let archive = pack(root, "evil");
    let impostor = auto_tag_manifest("99.0.0", "\"read\", \"write\", \"delete\"");
    bundle_into(
        &root.join(&archive),
        &[
            ("deps/auto-tag/plugin.toml", impostor.as_bytes()),
            ("deps/auto-tag/auto_tag.wasm", AUTO_TAG.bytes),
        ],
    );
    archive
}

#[test]
fn an_archive_bundling_a_copy_of_an_installed_plugin_never_replaces_it() {
    let (root, archive) = auto_tag_archive("0.1.0", "\"read\", \"write\"");
    let root = root.path();
    plugboard_ok(root, &["install", &archive, "--yes"]);
    let grants_before = grants_file(root);

    let evil = impostor_archive(root);
    let out = plugboard_ok(root, &["install", &evil, "--yes"]);
    assert!(
        out.contains(
            "It bundles auto-tag 99.0.0 (Auto tag); auto-tag 0.1.0 is installed (user), and a bundled copy never \
             replaces it, so the bundled copy is not used and asks for nothing"
        ),
        "{out}"
    );
    assert_eq!(installed_version(root, "auto-tag"), "0.1.0");
    let grants_after = grants_file(root);
    let auto_tag_section = |text: &str| {
        let table: toml::Table = toml::from_str(text).expect("the grants file is TOML");
        table["plugins"]["auto-tag"].clone()
    };
    assert_eq!(
        auto_tag_section(&grants_after),
        auto_tag_section(&grants_before),
        "auto-tag's grants are untouched:\n{grants_after}"
    );

    let out = plugboard_ok(root, &["list"]);
    assert!(
        list_line(&out, "auto-tag").starts_with("  auto-tag  0.1.0  task-events@2  user  "),
        "{out}"
    );
    assert!(
        list_line(&out, "evil").contains("cannot load: evil -> auto-tag"),
        "{out}"
    );
    let output = plugboard(root, &["run"]);
    let (out, err) = (stdout(&output), stderr(&output));
    assert!(out.contains("  auto-tag [task-events@2]: handled"), "{out}");
    assert!(!out.contains("99.0.0") || out.contains("is not used"), "{out}");
    assert!(err.contains("not loading evil: evil -> auto-tag"), "{err}");
    assert!(
        !out.contains("tasks.delete"),
        "the impostor's request is in force nowhere:\n{out}"
    );

    // Once the real auto-tag is removed (its grants kept), the bundled copy is
    // used, but what was granted to the installed copy does not go to it.
    plugboard_ok(root, &["remove", "auto-tag"]);
    let out = plugboard_ok(root, &["list"]);
    let line = list_line(&out, "auto-tag");
    assert!(
        line.starts_with("  auto-tag  99.0.0  task-events@2  bundled by evil  granted: nothing")
            && line.contains("what you granted it went to another copy of it"),
        "{out}"
    );
    let out = plugboard_ok(root, &["run"]);
    assert!(!out.contains("auto-tag [task-events@2]: handled"), "{out}");
    assert!(
        out.contains("installed/evil/deps/auto-tag/auto_tag.wasm\n      nothing granted: it will receive no events"),
        "{out}"
    );
}

#[test]
fn an_archive_bundling_a_copy_of_itself_is_refused_and_a_bundled_plugin_asks_for_its_grants() {
    let root = tempfile::tempdir().expect("temp dir");
    let root = root.path();
    let manifest = format!(
        "{}\n[dependencies]\nkeyword-pack = \"^1\"\n",
        example_manifest("auto-tag")
    );
    plugin_folder(root, "auto-tag", &manifest, AUTO_TAG);
    let archive = pack(root, "auto-tag");
    let keyword_pack = "[plugin]\nid = \"keyword-pack\"\nname = \"Keyword pack\"\nversion = \"1.2.0\"\n\
                        api = \"task-events@2\"\n\n[permissions]\ntasks = [\"read\"]\n";
    bundle_into(
        &root.join(&archive),
        &[("deps/keyword-pack/plugin.toml", keyword_pack.as_bytes())],
    );

    let output = plugboard_with_input(root, &["install", &archive], Some("n\n"));
    assert!(!output.status.success());
    let out = stdout(&output);
    assert!(
        out.contains(
            "It bundles keyword-pack 1.2.0 (Keyword pack), which requests:\n  tasks.read  read your tasks\n\
             Grant these permissions? [y/N]"
        ),
        "{out}"
    );
    assert!(!root.join("installed/auto-tag").exists() && !root.join("config").exists());

    let out = plugboard_ok(root, &["install", &archive, "--yes"]);
    assert!(out.contains("Installed auto-tag 0.1.0"), "{out}");
    let grants = grants_file(root);
    assert!(
        grants.contains("[plugins.keyword-pack]\nsigner = \"unsigned\"\nbundled-by = \"auto-tag\""),
        "{grants}"
    );
    let out = plugboard_ok(root, &["list"]);
    assert!(list_line(&out, "keyword-pack").contains("granted: tasks.read"), "{out}");

    // A copy of its own id among what it bundles.
    let selfish = root.join("selfish.plugin");
    std::fs::copy(root.join(&archive), &selfish).expect("copy");
    let auto_tag = auto_tag_manifest("9.0.0", "\"read\", \"write\", \"delete\"");
    bundle_into(&selfish, &[("deps/auto-tag/plugin.toml", auto_tag.as_bytes())]);
    let err = plugboard_fails(root, &["install", "selfish.plugin", "--yes", "--force"]);
    assert!(
        err.contains("bundles a copy of auto-tag itself (deps/auto-tag); a plugin cannot bundle its own id"),
        "{err}"
    );
}

/// A key pair made with `plugboard keygen` and trusted; returns its id.
fn trusted_key(root: &Path) -> String {
    let output = plugboard(root, &["keygen", "--out", "keys"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let key_id = stdout(&output).trim().to_string();
    std::fs::create_dir_all(root.join("config/trusted-keys")).expect("trusted keys");
    std::fs::copy(
        root.join(format!("keys/{key_id}.pub")),
        root.join(format!("config/trusted-keys/{key_id}.pub")),
    )
    .expect("trust the key");
    key_id
}

#[test]
fn an_upgrade_signed_by_another_key_or_unsigned_asks_for_everything_again() {
    let (root, archive) = auto_tag_archive("0.1.0", "\"read\", \"write\"");
    let root = root.path();
    let first = trusted_key(root);
    let second = trusted_key(root);
    let sign = |archive: &str, key: &str| {
        plugboard_ok(root, &["sign", archive, "--key", &format!("keys/{key}.secret")]);
    };
    sign(&archive, &first);
    plugboard_ok(root, &["install", &archive, "--yes"]);
    assert!(
        grants_file(root).contains(&format!("signer = \"{first}\"")),
        "{}",
        grants_file(root)
    );

    // The same requests, signed by the other trusted key.
    let other = repack_auto_tag(root, "0.2.0", "\"read\", \"write\"");
    sign(&other, &second);
    let output = plugboard_with_input(root, &["install", &other], Some("n\n"));
    assert!(!output.status.success());
    let out = stdout(&output);
    assert!(
        out.contains(&format!(
            "note: what you granted auto-tag before was granted to a copy signed by trusted key {first}; this archive \
             is signed by trusted key {second}, so nothing you granted before is carried over and it asks again"
        )),
        "{out}"
    );
    assert!(out.contains("It requests:\n  tasks.read "), "{out}");
    assert_eq!(installed_version(root, "auto-tag"), "0.1.0");

    // Unsigned after signed asks again too.
    let unsigned = repack_auto_tag(root, "0.2.1", "\"read\", \"write\"");
    let output = plugboard_with_input(root, &["install", &unsigned], Some("n\n"));
    assert!(!output.status.success());
    assert!(
        stdout(&output).contains("this archive is unsigned, so nothing you granted before"),
        "{}",
        stdout(&output)
    );
    assert_eq!(installed_version(root, "auto-tag"), "0.1.0");

    // The same key: what was granted carries over.
    let same = repack_auto_tag(root, "0.2.2", "\"read\", \"write\"");
    sign(&same, &first);
    let out = plugboard_ok(root, &["install", &same]);
    assert!(
        out.contains("It requests nothing you have not granted already."),
        "{out}"
    );
    assert_eq!(installed_version(root, "auto-tag"), "0.2.2");

    // Accepting the other key's build rebinds the grants to it.
    let rebound = repack_auto_tag(root, "0.3.0", "\"read\", \"write\"");
    sign(&rebound, &second);
    let output = plugboard_with_input(root, &["install", &rebound], Some("y\n"));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        grants_file(root).contains(&format!("signer = \"{second}\"")),
        "{}",
        grants_file(root)
    );
    let out = plugboard_ok(root, &["run"]);
    assert!(out.contains("  auto-tag [task-events@2]: handled"), "{out}");
}

#[test]
fn a_file_changed_in_an_installed_plugin_stops_it_from_loading() {
    let (root, archive) = auto_tag_archive("0.1.0", "\"read\", \"write\"");
    let root = root.path();
    plugboard_ok(root, &["install", &archive, "--yes"]);
    let out = plugboard_ok(root, &["run"]);
    assert!(out.contains("  auto-tag [task-events@2]: handled"), "{out}");

    // A manifest edited in place to ask for deletes.
    let manifest = root.join("installed/auto-tag/plugin.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        text.replace(
            "tasks = [\"read\", \"write\"]",
            "tasks = [\"read\", \"write\", \"delete\"]",
        ),
    )
    .expect("edit");
    let output = plugboard(root, &["run"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains(
            "error: skipping auto-tag: installed/auto-tag/plugin.toml: this file changed after the plugin was installed"
        ),
        "{err}"
    );
    assert!(
        !stdout(&output).contains("auto-tag [task-events@2]: handled"),
        "{}",
        stdout(&output)
    );

    // A file added beside the component is refused as well.
    std::fs::write(&manifest, text).expect("restore");
    plugboard_ok(root, &["run"]);
    std::fs::write(root.join("installed/auto-tag/extra.wasm"), b"\0asm").expect("add");
    let err = stderr(&plugboard(root, &["run"]));
    assert!(
        err.contains("installed/auto-tag/extra.wasm: this was not installed with the plugin"),
        "{err}"
    );
}

#[test]
fn limits_above_the_defaults_are_shown_at_install_and_asked_for() {
    let root = tempfile::tempdir().expect("temp dir");
    let root = root.path();
    let manifest = example_manifest("auto-tag").replace(
        "[config]",
        "[limits]\nmemory = \"256MiB\"\ndeadline = \"500ms\"\n\n[config]",
    );
    assert!(manifest.contains("256MiB"), "{manifest}");
    plugin_folder(root, "auto-tag", &manifest, AUTO_TAG);
    let archive = pack(root, "auto-tag");
    let output = plugboard_with_input(root, &["install", &archive], Some("n\n"));
    let out = stdout(&output);
    assert!(
        out.contains("  limit:memory=256MiB      use up to 256MiB of memory, above the default every plugin gets\n"),
        "{out}"
    );
    assert!(
        !out.contains("limit:deadline"),
        "less than the default is not a request:\n{out}"
    );

    let out = plugboard_ok(
        root,
        &["install", &archive, "--grant", "tasks.read", "tasks.write", "subscribe"],
    );
    assert!(
        out.contains("Requested, not granted: limit:memory=256MiB (runs with 64MiB)"),
        "{out}"
    );
    let out = plugboard_ok(root, &["grant", "auto-tag", "limit:memory=128MiB"]);
    assert!(
        out.contains("auto-tag now holds: tasks.read, tasks.write, subscribe, limit:memory=128MiB"),
        "{out}"
    );
    let out = plugboard_ok(root, &["list"]);
    assert!(
        list_line(&out, "auto-tag").contains("(not granted: limit:memory=256MiB (runs with 128MiB))"),
        "{out}"
    );
}

#[test]
fn a_catalogue_whose_index_points_outside_its_folder_is_refused() {
    let (root, _) = auto_tag_archive("0.1.0", "\"read\", \"write\"");
    let root = root.path();
    plugboard_ok(root, &["index", "dist"]);
    let index = std::fs::read_to_string(root.join("dist/index.json")).expect("index");
    std::fs::write(root.join("evil.plugin"), b"outside").expect("outside");
    std::fs::write(
        root.join("dist/index.json"),
        index.replace("\"auto-tag-0.1.0.plugin\"", "\"../evil.plugin\""),
    )
    .expect("edit");
    let err = plugboard_fails(root, &["install", "auto-tag", "--from", "dist", "--yes"]);
    assert!(
        err.contains("entry 1 (auto-tag) is refused: its file \"../evil.plugin\" is not the plain name"),
        "{err}"
    );
    // An archive swapped after indexing, even one that verifies.
    std::fs::write(root.join("dist/index.json"), &index).expect("restore");
    repack_auto_tag(root, "0.1.0", "\"read\", \"write\", \"delete\"");
    let err = plugboard_fails(root, &["install", "auto-tag", "--from", "dist", "--yes"]);
    assert!(err.contains("auto-tag-0.1.0.plugin: its sha256 is"), "{err}");
    assert!(!root.join("installed/auto-tag").exists());
}

#[test]
fn a_plugins_own_folder_is_kept_by_remove_and_deleted_by_remove_purge() {
    let root = tempfile::tempdir().expect("temp dir");
    let root = root.path();
    let manifest = r#"
[plugin]
id = "keeper"
name = "Keeper"
version = "0.1.0"
api = "task-events@2"
component = "files_probe.wasm"

[events]
subscribe = ["task-created"]

[permissions]
files = { private = true, quota = "64KiB" }

[config]
steps = "text:/private/note.txt:kept"
"#;
    plugin_folder(root, "keeper", manifest, plugboard_test_artifacts::FILES_PROBE);
    let archive = pack(root, "keeper");
    let out = plugboard_ok(root, &["install", &archive, "--yes"]);
    assert!(out.contains("files.private"), "the question names the grant:\n{out}");
    let out = plugboard_ok(root, &["inspect", "installed/keeper"]);
    assert!(
        out.contains("wasi:filesystem: /private (own folder, 64KiB quota, 4096 entries)"),
        "{out}"
    );
    // A folder grant names the folder itself: not one reached through a link.
    let real = root.join("real");
    std::fs::create_dir_all(&real).unwrap();
    std::os::unix::fs::symlink(&real, root.join("link")).unwrap();
    let link = root.canonicalize().unwrap().join("link");
    let err = plugboard_fails(root, &["grant", "keeper", &format!("files.read:{}", link.display())]);
    assert!(
        err.contains("goes through a symbolic link") && err.contains("nothing was changed"),
        "{err}"
    );
    let err = plugboard_fails(root, &["grant", "keeper", "files.read:notes/../.."]);
    assert!(err.contains("is not a permission"), "{err}");
    std::fs::write(
        root.join("events.jsonl"),
        r#"{"create": {"ref": "a", "title": "Write it down"}}"#,
    )
    .unwrap();
    let out = plugboard_ok(root, &["run", "--events", "events.jsonl"]);
    assert!(out.contains("text /private/note.txt: OK"), "{out}");
    let note = root.join("data/files/keeper/note.txt");
    assert_eq!(std::fs::read_to_string(&note).unwrap(), "kept");

    let out = plugboard_ok(root, &["remove", "keeper"]);
    assert!(out.contains("Its grants, state, files and logs are kept"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&note).unwrap(),
        "kept",
        "plain remove keeps the folder"
    );

    let out = plugboard_ok(root, &["remove", "keeper", "--purge"]);
    assert!(out.contains("Deleted its files folder data/files/keeper."), "{out}");
    assert!(!root.join("data/files/keeper").exists());
    assert!(root.join("data/files").is_dir(), "the other plugins' folders stay");
}
