//! The static check at load time: every import a component names must be
//! part of its world or of the WASI subset plugboard provides. Anything else
//! (file system, sockets, unknown packages) is refused before the plugin
//! ever runs, with the import named.

use crate::policy::Policy;
use crate::world::PACKAGE;

/// WASI interfaces every plugin may import. They are linked with an empty
/// context: no environment variables, no arguments, stdin empty, stdout and
/// stderr into the plugin's log, clocks and randomness.
const ALWAYS_ALLOWED: &[&str] = &[
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
];

/// An import the plugin may not have, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("it imports `{import}`: {reason}")]
pub struct ForbiddenImport {
    /// The import's full name.
    pub import: String,
    /// Why it is refused and what the author can do.
    pub reason: String,
}

fn reason_for(import: &str, policy: &Policy) -> Option<String> {
    if import.starts_with(PACKAGE) || ALWAYS_ALLOWED.iter().any(|p| import.starts_with(p)) {
        return None;
    }
    Some(if import.starts_with("wasi:filesystem/") {
        "plugins have no file system access; keep data in the plugin's state store".to_string()
    } else if import.starts_with("wasi:sockets/") {
        "plugins may not open sockets; network access is outgoing HTTP to granted hosts only".to_string()
    } else if import.starts_with("wasi:http/types") || import.starts_with("wasi:http/outgoing-handler") {
        if !policy.network.is_empty() {
            return None;
        }
        "outgoing HTTP needs a `network` grant naming the hosts, and this plugin has none".to_string()
    } else {
        format!("it is neither part of the plugin's {PACKAGE} world nor of the WASI subset plugboard provides")
    })
}

/// Checks every import name against the policy; the first forbidden one is
/// returned.
pub fn check<'a>(imports: impl IntoIterator<Item = &'a str>, policy: &Policy) -> Result<(), ForbiddenImport> {
    for import in imports {
        if let Some(reason) = reason_for(import, policy) {
            return Err(ForbiddenImport {
                import: import.to_string(),
                reason,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_and_wasi_subset_pass_everything_else_is_named() {
        let policy = Policy::deny_all();
        let ok = [
            "plugboard:task-events/tasks@2.1.0",
            "wasi:io/streams@0.2.6",
            "wasi:cli/stdout@0.2.6",
            "wasi:clocks/wall-clock@0.2.6",
            "wasi:random/random@0.2.6",
        ];
        assert_eq!(check(ok, &policy), Ok(()));
        let networked = Policy {
            network: vec!["api.example.com".into()],
            ..Policy::deny_all()
        };
        assert_eq!(
            check(
                ["wasi:http/outgoing-handler@0.2.6", "wasi:http/types@0.2.6"],
                &networked
            ),
            Ok(())
        );
        for (import, says) in [
            ("wasi:filesystem/preopens@0.2.6", "no file system access"),
            ("wasi:sockets/tcp@0.2.6", "may not open sockets"),
            ("wasi:http/outgoing-handler@0.2.6", "needs a `network` grant"),
            ("wasi:http/incoming-handler@0.2.6", "neither part of"),
            ("evil:corp/backdoor", "neither part of"),
        ] {
            let err = check([import], &policy).unwrap_err();
            assert_eq!(err.import, import);
            assert!(err.to_string().contains(says), "{err}");
        }
    }
}
