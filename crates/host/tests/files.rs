//! Files a plugin is granted: its own folder kept to its quota and entry
//! count, host folders read-only or read-write, and no way out of any of
//! them (`..`, absolute paths, symbolic links); with no grant, no file at
//! all. Each probe runs beside a well-behaved plugin, which keeps working.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use plugboard_contract::task_store::new_task;
use plugboard_contract::{Event, TaskStore as _};
use plugboard_host::files::{DEFAULT_FILES_QUOTA, MAX_FILES_ENTRIES, PRIVATE_GUEST_PATH};
use plugboard_host::{
    AbuseKind, DispatchReport, Dispatcher, Grants, HostServices, LoadError, LoadOptions, LoadedPlugin, Outcome, Runtime,
};
use plugboard_manifest::Manifest;
use plugboard_test_artifacts as artifacts;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("the runtime starts"))
}

/// The probe's manifest: `files` is the `[permissions] files` table (empty:
/// none), `steps` what it does on `task-created`.
fn manifest(id: &str, files: &str, steps: &str, deadline: &str) -> String {
    let files = if files.is_empty() {
        String::new()
    } else {
        format!("files = {files}")
    };
    format!(
        r#"
[plugin]
id = "{id}"
name = "{id}"
version = "0.1.0"
api = "task-events@2"
component = "files_probe.wasm"

[events]
subscribe = ["task-created"]

[permissions]
{files}

[limits]
deadline = "{deadline}"

[config]
steps = {steps:?}
"#
    )
}

fn load_with(text: &str, grants: Grants, files_dir: Option<&Path>) -> Result<LoadedPlugin, LoadError> {
    let component = artifacts::FILES_PROBE;
    let origin = Path::new(component.path);
    let manifest = Manifest::parse(text, Path::new("plugin.toml")).expect("test manifests are valid");
    runtime().load_bytes(
        manifest,
        origin.parent().unwrap_or(origin),
        origin,
        component.bytes,
        &LoadOptions {
            grants,
            files_dir: files_dir.map(Path::to_path_buf),
            ..LoadOptions::default()
        },
    )
}

fn probe(id: &str, files: &str, steps: &str, files_dir: &Path) -> LoadedPlugin {
    load_with(
        &manifest(id, files, steps, "10s"),
        Grants::everything_requested(),
        Some(files_dir),
    )
    .unwrap_or_else(|e| panic!("{id}: {e}"))
}

/// The well-behaved neighbour: auto-tag, granted what it asks.
fn bystander() -> LoadedPlugin {
    let dir = artifacts::repo_root().join("examples/auto-tag");
    let manifest = Manifest::from_dir(&dir).unwrap();
    runtime()
        .load_bytes(
            manifest,
            &dir,
            Path::new(artifacts::AUTO_TAG.path),
            artifacts::AUTO_TAG.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .unwrap()
}

/// Runs the probes (and auto-tag) on one `task-created`; checks auto-tag
/// still tagged its task; returns the report.
fn run(plugins: Vec<LoadedPlugin>) -> DispatchReport {
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services);
    dispatcher.add(bystander()).unwrap();
    for plugin in plugins {
        dispatcher.add(plugin).unwrap();
    }
    let task = tasks.create(new_task("Fix urgent bug"), 1).unwrap();
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task.clone()));
    let tagger = report.deliveries.iter().find(|d| &*d.plugin == "auto-tag").unwrap();
    assert_eq!(tagger.outcome, Outcome::Handled, "{report:#?}");
    assert_eq!(tasks.get(&task.id).unwrap().unwrap().tags, ["urgent", "bug"]);
    report
}

fn logs(report: &DispatchReport, plugin: &str) -> Vec<String> {
    let delivery = report
        .deliveries
        .iter()
        .find(|d| &*d.plugin == plugin)
        .unwrap_or_else(|| panic!("{plugin} got nothing: {report:#?}"));
    delivery.effects.logs.iter().map(|l| l.message.clone()).collect()
}

fn outcome(report: &DispatchReport, plugin: &str) -> Outcome {
    report
        .deliveries
        .iter()
        .find(|d| &*d.plugin == plugin)
        .unwrap()
        .outcome
        .clone()
}

/// The log line of the step `op path`.
fn line<'a>(logs: &'a [String], step: &str) -> &'a str {
    logs.iter()
        .find(|l| l.starts_with(&format!("{step}:")))
        .unwrap_or_else(|| panic!("no line for `{step}`: {logs:#?}"))
}

fn assert_ok(logs: &[String], step: &str) {
    let line = line(logs, step);
    assert!(line.starts_with(&format!("{step}: OK")), "{line}");
}

fn assert_failed(logs: &[String], step: &str) {
    let line = line(logs, step);
    assert!(line.starts_with(&format!("{step}: failed")), "{line}");
}

/// Bytes and entries under `dir`, as the disk holds them.
fn on_disk(dir: &Path) -> (u64, u64) {
    let (mut bytes, mut entries) = (0, 0);
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.path().symlink_metadata().unwrap();
            entries += 1;
            if meta.is_dir() {
                folders.push(entry.path());
            } else {
                bytes += meta.len();
            }
        }
    }
    (bytes, entries)
}

/// A folder of the test's own, by its canonical path (a temporary folder
/// may be reached through a link, `/tmp` on macOS).
fn canonical_temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().canonicalize().unwrap();
    (dir, path)
}

#[test]
fn the_own_folder_is_made_on_first_load_and_keeps_what_the_plugin_writes() {
    let (_keep, root) = canonical_temp();
    let steps = "text:/private/note.txt:hello;read:/private/note.txt;mkdir:/private/sub;text:/private/sub/a:b";
    let report = run(vec![probe("keeper", "{ private = true }", steps, &root)]);
    let logs = logs(&report, "keeper");
    assert_eq!(
        line(&logs, "read /private/note.txt"),
        "read /private/note.txt: OK hello"
    );
    assert_ok(&logs, "text /private/sub/a");
    let folder = root.join("keeper");
    assert_eq!(std::fs::read_to_string(folder.join("note.txt")).unwrap(), "hello");
    assert_eq!(std::fs::read_to_string(folder.join("sub/a")).unwrap(), "b");
    assert_eq!(PRIVATE_GUEST_PATH, "/private");
}

#[test]
fn a_write_past_the_quota_fails_and_leaves_nothing_past_it() {
    let (_keep, root) = canonical_temp();
    let quota = 64 << 10;
    let steps = "write:/private/a:40000;write:/private/b:40000;size:/private/b;\
                 append:/private/a:30000;grow:/private/c:1000000;fill:/private/d:200000;\
                 remove:/private/a;write:/private/e:40000";
    let report = run(vec![probe(
        "filler",
        "{ private = true, quota = \"64KiB\" }",
        steps,
        &root,
    )]);
    let logs = logs(&report, "filler");
    assert_ok(&logs, "write /private/a");
    // Through a stream (wasi-libc writes files through one), the failed
    // write's error is `insufficient-space`, which wasi-libc reports as an
    // I/O error; through `set-size` the plugin sees the code itself.
    let refused = line(&logs, "write /private/b");
    assert!(refused.contains("failed: I/O error"), "{refused}");
    let grown = line(&logs, "grow /private/c");
    assert!(grown.contains("failed: No space left on device"), "{grown}");
    assert_eq!(
        line(&logs, "size /private/b"),
        "size /private/b: OK 0",
        "nothing of it written"
    );
    assert_failed(&logs, "append /private/a");
    assert_failed(&logs, "fill /private/d");
    // Removing a file gives its bytes back.
    assert_ok(&logs, "remove /private/a");
    assert_ok(&logs, "write /private/e");
    let (bytes, _) = on_disk(&root.join("filler"));
    assert!(bytes <= quota, "{bytes} bytes on disk, past the {quota}-byte quota");
    assert_eq!(std::fs::metadata(root.join("filler/e")).unwrap().len(), 40000);
}

#[test]
fn a_file_removed_while_held_open_still_counts() {
    let (_keep, root) = canonical_temp();
    let steps = "hold:/private/a:40000;write:/private/b:40000;write:/private/c:100";
    let report = run(vec![probe(
        "holder",
        "{ private = true, quota = \"64KiB\" }",
        steps,
        &root,
    )]);
    let logs = logs(&report, "holder");
    assert_ok(&logs, "hold /private/a");
    assert_failed(&logs, "write /private/b");
    assert_ok(&logs, "write /private/c");
}

#[test]
fn what_the_own_folder_holds_counts_at_the_next_load() {
    let (_keep, root) = canonical_temp();
    let folder = root.join("again");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("old"), vec![0u8; 60 << 10]).unwrap();
    let steps = "write:/private/new:8192;write:/private/small:100";
    let report = run(vec![probe(
        "again",
        "{ private = true, quota = \"64KiB\" }",
        steps,
        &root,
    )]);
    let logs = logs(&report, "again");
    assert_failed(&logs, "write /private/new");
    assert_ok(&logs, "write /private/small");
}

#[test]
fn the_own_folder_holds_at_most_so_many_files_and_folders() {
    let (_keep, root) = canonical_temp();
    let steps = format!("mkdir:/private/d;files:/private/d:{}", MAX_FILES_ENTRIES + 10);
    let report = run(vec![probe("hoarder", "{ private = true }", &steps, &root)]);
    let logs = logs(&report, "hoarder");
    let made = line(&logs, "files /private/d");
    assert!(
        made.starts_with(&format!("files /private/d: made {}, then", MAX_FILES_ENTRIES - 1)),
        "{made}"
    );
    let (_, entries) = on_disk(&root.join("hoarder"));
    assert_eq!(entries, MAX_FILES_ENTRIES);
}

#[test]
fn a_huge_write_is_stopped_at_the_deadline() {
    let (_keep, root) = canonical_temp();
    let text = manifest(
        "gusher",
        "{ private = true, quota = \"1GiB\" }",
        "fill:/private/big:1073741824",
        "200ms",
    );
    let plugin = load_with(&text, Grants::everything_requested(), Some(&root)).unwrap();
    let started = Instant::now();
    let report = run(vec![plugin]);
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    match outcome(&report, "gusher") {
        Outcome::Trapped(abuse) => assert_eq!(abuse.kind, AbuseKind::Deadline, "{abuse:?}"),
        other => panic!("expected the deadline, got {other:?}"),
    }
    let written = std::fs::metadata(root.join("gusher/big")).map_or(0, |m| m.len());
    assert!(written < 1 << 30, "{written}");
}

/// A host folder granted to the probe, a file in it, a folder beside it
/// with a secret and a link from the granted folder to the secret's.
struct Layout {
    _keep: tempfile::TempDir,
    root: PathBuf,
    granted: String,
    secret: PathBuf,
}

fn layout() -> Layout {
    let (keep, root) = canonical_temp();
    let granted = root.join("granted");
    let outside = root.join("outside");
    std::fs::create_dir_all(&granted).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(granted.join("in.txt"), "inside").unwrap();
    let secret = outside.join("secret.txt");
    std::fs::write(&secret, "the user's secret").unwrap();
    std::os::unix::fs::symlink(&outside, granted.join("out")).unwrap();
    std::os::unix::fs::symlink(&secret, granted.join("secret-link")).unwrap();
    Layout {
        _keep: keep,
        root: root.clone(),
        granted: granted.display().to_string(),
        secret,
    }
}

/// Every way out of the granted folder `g` the probe tries.
fn escapes(g: &str) -> Vec<String> {
    vec![
        format!("read:{g}/../outside/secret.txt"),
        format!("read:{g}/out/secret.txt"),
        format!("read:{g}/secret-link"),
        "read:/private/../../etc/passwd".to_string(),
        "read:../../etc/passwd".to_string(),
        "read:/etc/passwd".to_string(),
        format!("text:{g}/out/secret.txt:overwritten"),
        format!("text:{g}/secret-link:overwritten"),
        format!("text:{g}/../outside/secret.txt:overwritten"),
        format!("link:{g}/made-link:/etc/passwd"),
    ]
}

fn assert_escapes_failed(logs: &[String], g: &str) {
    for step in escapes(g) {
        let mut parts = step.splitn(3, ':');
        let (op, path) = (parts.next().unwrap(), parts.next().unwrap());
        assert_failed(logs, &format!("{op} {path}"));
    }
}

#[test]
fn a_read_grant_reads_its_folder_only_and_writes_nothing() {
    let l = layout();
    let g = &l.granted;
    let mut steps = vec![
        format!("read:{g}/in.txt"),
        format!("list:{g}"),
        format!("text:{g}/in.txt:overwritten"),
        format!("text:{g}/new.txt:x"),
        format!("mkdir:{g}/sub"),
        format!("remove:{g}/in.txt"),
    ];
    steps.extend(escapes(g));
    let files = format!("{{ private = true, read = [{g:?}] }}");
    let report = run(vec![probe("reader", &files, &steps.join(";"), &l.root.join("files"))]);
    let logs = logs(&report, "reader");
    assert_eq!(
        line(&logs, &format!("read {g}/in.txt")),
        format!("read {g}/in.txt: OK inside")
    );
    assert_ok(&logs, &format!("list {g}"));
    for refused in ["text", "mkdir", "remove"] {
        for l in logs.iter().filter(|l| l.starts_with(&format!("{refused} {g}/"))) {
            assert!(l.contains(": failed"), "{l}");
        }
    }
    assert_failed(&logs, &format!("text {g}/in.txt"));
    assert_escapes_failed(&logs, g);
    assert_eq!(std::fs::read_to_string(Path::new(g).join("in.txt")).unwrap(), "inside");
    assert!(!Path::new(g).join("new.txt").exists());
    assert!(!Path::new(g).join("made-link").exists());
    assert_eq!(std::fs::read_to_string(&l.secret).unwrap(), "the user's secret");
}

#[test]
fn a_write_grant_writes_its_folder_only() {
    let l = layout();
    let g = &l.granted;
    let mut steps = vec![format!("text:{g}/new.txt:written"), format!("read:{g}/new.txt")];
    steps.extend(escapes(g));
    let files = format!("{{ write = [{g:?}] }}");
    let report = run(vec![probe("writer", &files, &steps.join(";"), &l.root.join("files"))]);
    let logs = logs(&report, "writer");
    assert_eq!(
        line(&logs, &format!("read {g}/new.txt")),
        format!("read {g}/new.txt: OK written")
    );
    assert_escapes_failed(&logs, g);
    assert_eq!(std::fs::read_to_string(&l.secret).unwrap(), "the user's secret");
    assert!(!l.root.join("files").exists(), "no own folder without files.private");
}

#[test]
fn without_a_files_grant_the_file_system_reaches_nothing() {
    let l = layout();
    let g = &l.granted;
    let steps = [
        format!("read:{g}/in.txt"),
        format!("text:{g}/in.txt:overwritten"),
        "text:/private/x:y".to_string(),
        "list:/".to_string(),
    ]
    .join(";");
    // Requested, but not granted; and not requested at all.
    let asked = format!("{{ private = true, read = [{g:?}], write = [{g:?}] }}");
    let not_granted = load_with(
        &manifest("asker", &asked, &steps, "10s"),
        Grants {
            files: None,
            ..Grants::everything_requested()
        },
        Some(&l.root.join("files")),
    )
    .unwrap();
    let report = run(vec![not_granted, probe("plain", "", &steps, &l.root.join("files"))]);
    for id in ["asker", "plain"] {
        let logs = logs(&report, id);
        assert!(!logs.is_empty());
        assert!(logs.iter().all(|l| l.contains(": failed")), "{id}: {logs:#?}");
    }
    assert_eq!(std::fs::read_to_string(Path::new(g).join("in.txt")).unwrap(), "inside");
    assert!(!l.root.join("files").exists());
}

#[test]
fn a_grant_of_a_folder_that_cannot_be_granted_fails_the_load_naming_plugin_and_path() {
    let l = layout();
    let missing = l.root.join("missing").display().to_string();
    let link = format!("{}/out", l.granted);
    let file = format!("{}/in.txt", l.granted);
    for (path, says) in [
        (&missing, "cannot be opened"),
        (&link, "goes through a symbolic link"),
        (&file, "is not a folder"),
    ] {
        let text = manifest("odd", &format!("{{ read = [{path:?}] }}"), "", "10s");
        let err = load_with(&text, Grants::everything_requested(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("plugin `odd`") && err.contains(path.as_str()) && err.contains(says),
            "{err}"
        );
    }
    let text = manifest("homeless", "{ private = true }", "", "10s");
    let err = load_with(&text, Grants::everything_requested(), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("plugin `homeless`") && err.contains("files.private"),
        "{err}"
    );
}

#[test]
fn a_manifest_naming_a_relative_or_dotted_folder_is_refused_at_its_line() {
    for bad in ["notes", "/home/me/../../etc", "/home/./me"] {
        let text = manifest("bad", &format!("{{ read = [{bad:?}] }}"), "", "10s");
        let err = Manifest::parse(&text, Path::new("plugin.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("plugin.toml") && err.contains(bad), "{bad}: {err}");
    }
    let text = manifest("big", "{ private = true, quota = \"2GiB\" }", "", "10s");
    let err = Manifest::parse(&text, Path::new("plugin.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than the maximum"), "{err}");
}

#[test]
fn the_policy_and_the_default_quota_say_what_is_preopened() {
    let (_keep, root) = canonical_temp();
    let plugin = probe("shown", "{ private = true, read = [\"/\"] }", "", &root);
    assert_eq!(plugin.policy.files.private_quota, Some(DEFAULT_FILES_QUOTA));
    assert_eq!(
        plugin.policy.files.folders(),
        ["/private (own folder, 16MiB quota, 4096 entries)", "/ (read-only)"]
    );
    assert!(plugin.policy.describe().contains(&"files.read:/".to_string()));
}
