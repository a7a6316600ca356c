//! Running the commands other plugins offer.

use crate::bindings::plugboard::task_events::commands as host;
use crate::types::Error;

/// Runs `<plugin-id>.<command>` of another plugin with `args` and returns
/// its text.
///
/// Needs the grant `commands.invoke:<plugin-id>.<command>` and the plugin
/// in the manifest's `[dependencies]`; the arguments must match the
/// parameters the command declares. The command runs under the other
/// plugin's own limits and commits its own changes; it ends when this
/// call's deadline does. A plugin may not invoke itself, directly or
/// through others.
pub fn invoke(name: &str, args: &[String]) -> Result<String, Error> {
    host::invoke(name, args)
}
