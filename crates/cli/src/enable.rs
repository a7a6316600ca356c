//! `plugboard enable`: release a plugin from quarantine, so that it loads
//! again.

use std::path::Path;
use std::process::ExitCode;

use plugboard_host::Quarantine;

use crate::describe;

/// Releases `id`; says so when it was not quarantined.
pub fn enable(id: &str, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let mut quarantine = Quarantine::open(data_dir)?;
    match quarantine.release(id)? {
        Some(record) => {
            println!(
                "Released {id} {} from quarantine (it was quarantined {}; {} strike(s)).",
                record.version,
                describe::quarantined_since(&record),
                record.strikes
            );
            println!("It loads again on the next `plugboard run`.");
        }
        None => println!("{id} is not quarantined; nothing to release."),
    }
    Ok(ExitCode::SUCCESS)
}
