//! `plugboard conformance`: runs the ABI conformance suite on this host.

use std::process::ExitCode;

/// Runs the suite and prints its matrix; success iff no case failed.
pub fn conformance() -> anyhow::Result<ExitCode> {
    let report = plugboard_conformance::run()?;
    print!("{}", report.render());
    if report.passed() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: the conformance suite failed (see the matrix above)");
        Ok(ExitCode::FAILURE)
    }
}
