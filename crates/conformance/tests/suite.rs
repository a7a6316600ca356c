//! Runs the conformance suite on the Rust guests built by the
//! test-artifacts build (@1, and 2.0, 2.1 and 2.2), and checks how the
//! matrix reports a guest that fails or is not there. The matrix of every
//! language (Rust, C, C++, Python, JavaScript) on one host is in
//! crates/cli/tests/toolchains.rs, beside the builds of the other
//! languages' guests.

use plugboard_conformance::{CASES, Guest, Verdict};
use plugboard_host::{Runtime, WorldVersion};

#[test]
fn the_built_in_rust_guests_pass_every_case() {
    let report = plugboard_conformance::run().expect("the suite runs");
    let matrix = report.render();
    assert!(report.passed(), "{matrix}");
    assert_eq!(
        report.results.len(),
        CASES.len() * plugboard_conformance::RELEASES.len()
    );
    assert!(matrix.starts_with("case"), "{matrix}");
    for release in ["rust 1.0", "rust 2.0", "rust 2.1", "rust 2.2"] {
        assert!(matrix.lines().next().is_some_and(|h| h.contains(release)), "{matrix}");
    }
}

#[test]
fn a_guest_that_does_not_follow_the_scenario_fails_its_cases_by_name() {
    // auto-tag speaks task-events@2 and loads with the scenario's manifest,
    // but refuses to start without its own setting, and logs nothing the
    // cases expect.
    let guest = Guest::from_file("rust", WorldVersion::V2, plugboard_test_artifacts::AUTO_TAG.path).expect("read");
    let runtime = Runtime::new().expect("the runtime starts");
    let report = plugboard_conformance::run_guests(&runtime, &[guest]).expect("the suite runs");
    let matrix = report.render();
    assert!(!report.passed(), "{matrix}");
    assert!(
        matrix.contains("FAIL init + config on rust task-events@2.2.0: init did not succeed"),
        "{matrix}"
    );
    assert!(matrix.contains("FAIL tasks.get on rust task-events@2.2.0"), "{matrix}");
}

#[test]
fn an_unavailable_guest_shows_n_a_in_every_case() {
    let guests = [Guest::unavailable(
        "cobol",
        WorldVersion::V1,
        "no compiler targets this world",
    )];
    let runtime = Runtime::new().expect("the runtime starts");
    let report = plugboard_conformance::run_guests(&runtime, &guests).expect("the suite runs");
    assert!(report.passed());
    assert!(report.results.iter().all(|r| r.verdict == Verdict::NotApplicable));
    assert!(report.render().contains("cobol @1"), "{}", report.render());
}
