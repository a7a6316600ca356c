//! `plugboard enable`: let a disabled or quarantined plugin load again.

use std::path::Path;
use std::process::ExitCode;

use plugboard_host::QuarantineStore as _;
use plugboard_state::QuarantineFile;

use crate::describe;
use plugboard::DisabledPlugins;

/// Takes `id` off the disabled list and releases it from quarantine; says
/// so when it was neither.
pub fn enable(id: &str, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let mut disabled = DisabledPlugins::open(data_dir)?;
    let was_disabled = disabled.remove(id);
    if was_disabled {
        disabled.save()?;
        println!("Enabled {id} (it was disabled).");
    }
    let mut quarantine = QuarantineFile::open(data_dir)?;
    let released = quarantine.release(id)?;
    if let Some(record) = &released {
        println!(
            "Released {id} {} from quarantine (it was quarantined {}; {} strike(s)).",
            record.version,
            describe::quarantined_since(record),
            record.strikes
        );
    }
    if was_disabled || released.is_some() {
        println!("It loads again on the next `plugboard run`.");
    } else {
        println!("{id} is neither disabled nor quarantined; nothing to do.");
    }
    Ok(ExitCode::SUCCESS)
}
