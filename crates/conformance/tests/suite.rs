//! Runs the conformance suite: every case must pass on every world, and the
//! matrix must show each case for each world.

use plugboard_host::WorldVersion;

#[test]
fn every_world_passes_every_case_on_one_host() {
    let report = plugboard_conformance::run().expect("the suite runs");
    let matrix = report.render();
    println!("{matrix}");
    assert!(report.passed(), "{matrix}");
    assert_eq!(
        report.results.len(),
        plugboard_conformance::CASES.len() * WorldVersion::ALL.len()
    );
    assert!(
        matrix.contains("task-events@1") && matrix.contains("task-events@2"),
        "{matrix}"
    );
}
