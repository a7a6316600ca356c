//! What opening the host did, as `plugboard run` prints it: on stderr the
//! folders and plugins that could not be used, on stdout the plugins loaded
//! with the policy each runs under, then those left out.

use std::path::Path;

use plugboard::{OpenReport, PluginStatus, Severity};

use crate::grant;
use crate::run::roster::print_skipped;

/// Prints on stderr, in the order they arise, the discovery problems, the
/// plugins whose dependencies cannot be met, the optional dependencies
/// plugins run without, the settings no manifest declares and the plugins
/// that do not load.
pub fn print_problems(report: &OpenReport) {
    for problem in &report.problems {
        match Severity::of(&problem.error) {
            Severity::Note => eprintln!("note: {}", problem.error),
            Severity::Warning => eprintln!("warning: {}", problem.error),
            Severity::Error => eprintln!("error: {}", problem.error),
        }
    }
    for plugin in &report.plugins {
        if let PluginStatus::Blocked(error) = &plugin.status {
            eprintln!("error: not loading {}: {error}", plugin.id);
        }
    }
    for plugin in &report.plugins {
        for skipped in &plugin.optional_missing {
            eprintln!("note: {} runs without an optional dependency: {skipped}", plugin.id);
        }
    }
    for setting in &report.unknown_settings {
        let known = setting.known.join(", ");
        eprintln!(
            "warning: --set {}.{}: `{}` declares no such setting (it has: {}); passing it anyway",
            setting.plugin,
            setting.key,
            setting.plugin,
            if known.is_empty() { "none" } else { &known }
        );
    }
    for plugin in &report.plugins {
        match &plugin.status {
            PluginStatus::LoadFailed(error) => eprintln!("error: skipping {}: {error}", plugin.dir.display()),
            PluginStatus::Changed(error) => eprintln!("error: skipping {}: {error}", plugin.id),
            PluginStatus::Duplicate => eprintln!(
                "error: skipping {}: a plugin with id `{}` is already loaded",
                plugin.dir.display(),
                plugin.id
            ),
            _ => {}
        }
    }
}

/// Prints the plugins loaded, each with the policy in force and what it
/// requested but was not granted, then the data-only ones, then those left
/// out because they are disabled or quarantined. `folder` is the
/// development folder, if the run has one, for the hint on granting.
pub fn print_loaded(report: &OpenReport, folder: Option<&Path>) {
    println!("Plugins loaded from {}:", report.folders);
    match &report.grants_file {
        Some(file) => println!("  (permissions: what you granted in {})", file.display()),
        None => println!(
            "  (--trust-manifests: every plugin gets all its manifest requests; your grants are not consulted)"
        ),
    }
    let id_width = report.loaded().map(|p| p.id().len()).max().unwrap_or(0);
    for plugin in report.loaded() {
        match (plugin.world(), plugin.component_path()) {
            (Some(world), Some(path)) => println!(
                "  {:<id_width$}  {}  {} (built against {})  {}",
                plugin.id(),
                plugin.manifest.plugin.version,
                world.version,
                world.built_against,
                path.display()
            ),
            _ => println!(
                "  {:<id_width$}  {}  data only",
                plugin.id(),
                plugin.manifest.plugin.version
            ),
        }
        let policy = plugin.policy.describe();
        if policy.is_empty() {
            println!("      nothing granted: it will receive no events");
        } else if plugin.policy.subscriptions.is_empty() {
            println!(
                "      policy: {} (no event granted: it will receive none)",
                policy.join(", ")
            );
        } else {
            println!("      policy: {}", policy.join(", "));
        }
        let missing = grant::not_granted(&plugin.manifest, &plugin.policy, &plugin.limits);
        if !missing.is_empty() {
            println!("      requested, not granted: {}", missing.join(", "));
        }
    }
    let data_only: Vec<_> = report
        .with_status(|status| matches!(status, PluginStatus::DataOnly))
        .collect();
    for plugin in &data_only {
        println!(
            "  {:<id_width$}  {}  data only (no component), for the plugins that depend on it",
            plugin.id, plugin.version
        );
    }
    if report.loaded().next().is_none() && data_only.is_empty() {
        println!("  (none)");
    }
    if report.grants_file.is_some()
        && report
            .loaded()
            .any(|p| !grant::not_granted(&p.manifest, &p.policy, &p.limits).is_empty())
    {
        let all_requested = match folder {
            Some(dir) => format!("plugboard grant ID --all-requested --plugins {}", dir.display()),
            None => "plugboard grant ID --all-requested".to_string(),
        };
        println!("  (grant with `plugboard grant ID PERMISSION...`, or `{all_requested}`)");
    }
    for plugin in report.with_status(|status| matches!(status, PluginStatus::Disabled)) {
        let id = &plugin.id;
        println!("  skipping {id}: disabled (`plugboard enable {id}` lets it load again)");
    }
    for plugin in &report.plugins {
        if let PluginStatus::Quarantined(record) = &plugin.status {
            print_skipped(record);
        }
    }
}
