//! The author's test harness against a real plugin: examples/auto-tag,
//! built from source by the test-artifacts build.

use std::path::{Path, PathBuf};

use plugboard_test::{Error, Expectation, Grants, Priority, TestHost};
use plugboard_test_artifacts::AUTO_TAG;

fn auto_tag_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/auto-tag")
}

fn auto_tag() -> TestHost {
    TestHost::builder(auto_tag_dir())
        .component(AUTO_TAG.path)
        .load()
        .expect("auto-tag loads")
}

/// The panic message of `f`.
fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(f).expect_err("the assertion fails");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn an_urgent_task_is_tagged_and_raised_to_high_priority() {
    let host = auto_tag();
    host.assert_log_contains("watching titles for: urgent, review, bug");
    let sent = host.create_task("Fix urgent login bug");
    sent.assert_handled().assert_log_contains("urgent");
    let id = host.only_task().id;
    let after = sent.updated(&id);
    assert_eq!(after.tags, ["urgent", "bug"]);
    assert_eq!(after.priority, Priority::High);
    assert_eq!(host.only_task(), after, "the store holds what the plugin committed");
}

#[test]
fn a_task_without_keywords_is_left_alone() {
    let host = auto_tag();
    host.create_task("Buy milk").assert_handled().assert_no_task_changes();
}

#[test]
fn a_failing_assertion_says_what_was_expected_what_happened_and_shows_the_log() {
    let host = auto_tag();
    let sent = host.create_task("Fix urgent login bug");
    let message = panic_message(|| {
        sent.assert_no_task_changes();
    });
    assert!(
        message.contains("auto-tag on task-created: expected no task changes"),
        "{message}"
    );
    assert!(
        message.contains("what happened:") && message.contains("Updated"),
        "{message}"
    );
    assert!(
        message.contains("the plugin's log:\n  | watching titles for"),
        "{message}"
    );

    let message = panic_message(|| {
        sent.assert_log_contains("no such line");
    });
    assert!(
        message.contains("expected a log line containing \"no such line\""),
        "{message}"
    );
}

#[test]
fn a_call_the_user_did_not_grant_is_denied_and_reported() {
    let grants = Grants {
        tasks: Some(vec!["read".into()]),
        ..Grants::everything_requested()
    };
    let host = TestHost::builder(auto_tag_dir())
        .component(AUTO_TAG.path)
        .grants(grants)
        .load()
        .expect("auto-tag loads");
    let sent = host.create_task("Fix urgent login bug");
    sent.assert_denied("tasks.write")
        .assert_rejected("tasks.write")
        .assert_no_task_changes();
    assert!(host.only_task().tags.is_empty(), "the denied update changed nothing");
    let message = panic_message(|| {
        sent.assert_handled();
    });
    assert!(message.contains("expected the event handled"), "{message}");
}

#[test]
fn a_setting_can_be_overridden() {
    let host = TestHost::builder(auto_tag_dir())
        .component(AUTO_TAG.path)
        .config("keywords", "home")
        .load()
        .expect("auto-tag loads");
    let sent = host.create_task("Clean the home office");
    let id = host.only_task().id;
    assert_eq!(sent.updated(&id).tags, ["home"]);
}

#[test]
fn an_expectation_file_passes_and_fails_with_what_differs() {
    let host = auto_tag();
    let sent = vec![host.create_task("Fix urgent login bug"), host.create_task("Buy milk")];
    let met = Expectation::parse(
        r#"
log = ["watching titles for", "urgent"]
log-absent = ["panicked"]
absent-tasks = ["Sell milk"]
[[task]]
title = "Fix urgent login bug"
tags = ["urgent"]
priority = "high"
status = "pending"
[[task]]
title = "Buy milk"
priority = "none"
"#,
        Path::new("met.toml"),
    )
    .expect("parses");
    assert_eq!(met.verify(&host, &sent), Ok(()));

    let unmet = Expectation::parse(
        r#"
log = ["no such line"]
denied = ["tasks.write"]
[[task]]
title = "Buy milk"
tags = ["shop"]
[[emit]]
topic = "reminder"
[state]
count = "1"
"#,
        Path::new("unmet.toml"),
    )
    .expect("parses");
    let message = unmet.verify(&host, &sent).expect_err("unmet");
    for part in [
        "auto-tag: 5 expectation(s) not met",
        "log: no line contains \"no such line\"",
        "denied: no call was refused for `tasks.write`",
        "task \"Buy milk\": expected the tags [\"shop\"], it has []",
        "emit: expected \"reminder\", it emitted []",
        "state \"count\": expected \"1\", it is not set",
        "the plugin's log:",
    ] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
}

#[test]
fn a_plugin_not_built_yet_is_a_clear_error() {
    let missing = std::env::temp_dir().join("plugboard-test-no-such-component.wasm");
    let error = TestHost::builder(auto_tag_dir())
        .component(&missing)
        .load()
        .err()
        .expect("no component, no host");
    assert!(matches!(error, Error::Load(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("plugboard-test-no-such-component.wasm") && message.contains("build the plugin first"),
        "{message}"
    );
}
