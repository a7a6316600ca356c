//! Runs the conformance suite: every case must pass on every world release
//! (@1, 2.0, 2.1, 2.2), and the matrix must show each case for each.

#[test]
fn every_world_passes_every_case_on_one_host() {
    let report = plugboard_conformance::run().expect("the suite runs");
    let matrix = report.render();
    println!("{matrix}");
    assert!(report.passed(), "{matrix}");
    assert_eq!(
        report.results.len(),
        plugboard_conformance::CASES.len() * plugboard_conformance::RELEASES.len()
    );
    for release in plugboard_conformance::RELEASES {
        assert!(matrix.contains(release), "{matrix}");
        let passed = report
            .results
            .iter()
            .filter(|r| r.release == release && r.verdict == plugboard_conformance::Verdict::Pass)
            .count();
        assert!(passed >= 10, "only {passed} cases passed on {release}:\n{matrix}");
    }
}
