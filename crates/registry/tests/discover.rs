//! Finding plugins in real folders: what is used, what is skipped, and why.

mod common;

use std::path::{Path, PathBuf};

use common::{dependencies, write_plugin, write_plugin_with_code};
use plugboard_registry::{Discovery, DiscoveryError, Origin, PluginDirs, discover, resolve};

/// A built-in and a user plugins folder in one temporary folder.
struct Folders {
    _root: tempfile::TempDir,
    builtin: PathBuf,
    user: PathBuf,
}

impl Folders {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("a temporary folder");
        let builtin = root.path().join("builtin");
        let user = root.path().join("user");
        std::fs::create_dir(&builtin).expect("create builtin");
        std::fs::create_dir(&user).expect("create user");
        Self {
            _root: root,
            builtin,
            user,
        }
    }

    fn dirs(&self) -> PluginDirs {
        PluginDirs {
            builtin: Some(self.builtin.clone()),
            user: self.user.clone(),
        }
    }
}

/// Each used plugin as (id, version, origin).
fn used(discovery: &Discovery) -> Vec<(String, String, Origin)> {
    discovery
        .plugins
        .iter()
        .map(|plugin| {
            (
                plugin.id().to_string(),
                plugin.version().to_string(),
                plugin.origin.clone(),
            )
        })
        .collect()
}

fn problems(discovery: &Discovery) -> Vec<String> {
    discovery
        .problems
        .iter()
        .map(|problem| problem.error.to_string())
        .collect()
}

fn by(id: &str) -> Origin {
    Origin::Bundled {
        by: id.parse().expect("valid id"),
    }
}

#[test]
fn every_plugin_folder_of_both_folders_is_found_sorted_by_id() {
    let folders = Folders::new();
    let auto_tag = write_plugin_with_code(&folders.user, "auto-tag", "1.2.0", "");
    write_plugin(&folders.user, "keywords", "keyword-pack", "1.4.0", "");
    write_plugin(&folders.builtin, "dates", "dates", "0.1.0", "");

    let discovery = discover(&folders.dirs());
    assert_eq!(
        used(&discovery),
        [
            ("auto-tag".to_owned(), "1.2.0".to_owned(), Origin::User),
            ("dates".to_owned(), "0.1.0".to_owned(), Origin::Builtin),
            ("keyword-pack".to_owned(), "1.4.0".to_owned(), Origin::User),
        ]
    );
    assert!(discovery.problems.is_empty(), "{:?}", problems(&discovery));

    let plugin = discovery.get("auto-tag").expect("found");
    assert_eq!(plugin.dir, auto_tag);
    assert!(plugin.has_code());
    assert_eq!(plugin.component_path(), Some(auto_tag.join("plugin.wasm")));
    let entryless = discovery.get("keyword-pack").expect("found");
    assert!(!entryless.has_code(), "a data-only plugin is an ordinary plugin");
    assert_eq!(entryless.component_path(), None);
    assert_eq!(
        entryless.dir,
        folders.user.join("keywords"),
        "the folder name need not be the id"
    );
}

#[test]
fn an_invalid_plugin_is_reported_and_never_stops_the_others() {
    let folders = Folders::new();
    write_plugin(&folders.user, "a-good", "a-good", "1.0.0", "");
    let broken = folders.user.join("broken");
    std::fs::create_dir(&broken).expect("create");
    std::fs::write(broken.join("plugin.toml"), common::manifest_text("broken", "one", "")).expect("write");
    write_plugin(&folders.user, "z-good", "z-good", "1.0.0", "");
    let empty = folders.user.join("empty");
    std::fs::create_dir(&empty).expect("create");
    // Ignored: a hidden staging folder of an install, and files.
    write_plugin(&folders.user, ".z-good.unpacking-1234", "z-good", "9.0.0", "");
    std::fs::write(folders.user.join("notes.txt"), "not a plugin").expect("write");

    let discovery = discover(&folders.dirs());
    let ids: Vec<_> = discovery.plugins.iter().map(|plugin| plugin.id().as_str()).collect();
    assert_eq!(ids, ["a-good", "z-good"]);
    assert_eq!(discovery.problems.len(), 2, "{:?}", problems(&discovery));

    assert_eq!(discovery.problems[0].dir, broken);
    assert!(matches!(
        discovery.problems[0].error,
        DiscoveryError::InvalidManifest { .. }
    ));
    let message = discovery.problems[0].error.to_string();
    assert!(
        message.starts_with(&format!(
            "skipped the plugin in {}: {}:4:11: [plugin].version: \"one\" is not a semantic version",
            broken.display(),
            broken.join("plugin.toml").display()
        )),
        "{message}"
    );

    assert_eq!(discovery.problems[1].dir, empty);
    assert!(matches!(discovery.problems[1].error, DiscoveryError::NotAPlugin { .. }));
    assert!(
        discovery.problems[1]
            .error
            .to_string()
            .contains("there is no plugin.toml here"),
        "{}",
        discovery.problems[1].error
    );
}

#[test]
fn the_user_s_copy_shadows_the_built_in_one() {
    let folders = Folders::new();
    let builtin = write_plugin(&folders.builtin, "auto-tag", "auto-tag", "2.0.0", "");
    let user = write_plugin(&folders.user, "auto-tag", "auto-tag", "1.0.0", "");

    let discovery = discover(&folders.dirs());
    assert_eq!(
        used(&discovery),
        [("auto-tag".to_owned(), "1.0.0".to_owned(), Origin::User)]
    );
    assert_eq!(discovery.problems.len(), 1);
    assert_eq!(discovery.problems[0].dir, builtin);
    assert_eq!(
        problems(&discovery),
        [format!(
            "{}: built-in plugin `auto-tag` is not used: the copy you installed in {} replaces it",
            builtin.display(),
            user.display()
        )]
    );
}

#[test]
fn two_folders_with_one_id_keep_the_first_by_name() {
    let folders = Folders::new();
    let first = write_plugin(&folders.user, "a", "auto-tag", "1.0.0", "");
    let second = write_plugin(&folders.user, "b", "auto-tag", "2.0.0", "");
    let discovery = discover(&folders.dirs());
    assert_eq!(discovery.plugins.len(), 1);
    assert_eq!(discovery.plugins[0].dir, first);
    assert!(matches!(
        &discovery.problems[0].error,
        DiscoveryError::DuplicateId { dir, used, .. } if *dir == second && *used == first
    ));
}

#[test]
fn a_missing_user_folder_holds_no_plugins_but_a_missing_built_in_one_is_reported() {
    let root = tempfile::tempdir().expect("a temporary folder");
    let nowhere = |name: &str| root.path().join(name);
    let discovery = discover(&PluginDirs {
        builtin: None,
        user: nowhere("user"),
    });
    assert!(discovery.plugins.is_empty() && discovery.problems.is_empty());

    let discovery = discover(&PluginDirs {
        builtin: Some(nowhere("builtin")),
        user: nowhere("user"),
    });
    assert_eq!(discovery.problems.len(), 1);
    assert!(matches!(discovery.problems[0].error, DiscoveryError::Unreadable { .. }));
    assert!(
        discovery.problems[0]
            .error
            .to_string()
            .starts_with(&format!("{}: cannot list the plugins", nowhere("builtin").display()))
    );
}

#[test]
fn bundled_dependencies_are_used_for_ids_nothing_installs() {
    let folders = Folders::new();
    let auto_tag = write_plugin_with_code(
        &folders.user,
        "auto-tag",
        "1.0.0",
        &dependencies(&[("keyword-pack", "^2", false), ("locale-fr", "*", true)]),
    );
    let deps = auto_tag.join("deps");
    let bundled = write_plugin(&deps, "keyword-pack", "keyword-pack", "2.1.0", "");
    let locale = write_plugin(&deps, "locale-fr", "locale-fr", "0.3.0", "");

    let discovery = discover(&folders.dirs());
    assert_eq!(
        used(&discovery),
        [
            ("auto-tag".to_owned(), "1.0.0".to_owned(), Origin::User),
            ("keyword-pack".to_owned(), "2.1.0".to_owned(), by("auto-tag")),
            ("locale-fr".to_owned(), "0.3.0".to_owned(), by("auto-tag")),
        ]
    );
    assert_eq!(discovery.get("keyword-pack").expect("found").dir, bundled);
    assert_eq!(discovery.get("locale-fr").expect("found").dir, locale);
    assert!(discovery.problems.is_empty(), "{:?}", problems(&discovery));
}

#[test]
fn a_bundled_copy_never_replaces_an_installed_plugin_even_when_it_is_required() {
    let folders = Folders::new();
    // An archive bundling its own auto-tag 99 and requiring it, to run in its place.
    let evil = write_plugin_with_code(
        &folders.user,
        "evil",
        "1.0.0",
        &dependencies(&[("auto-tag", ">=99", false)]),
    );
    let installed = write_plugin_with_code(&folders.user, "auto-tag", "0.1.0", "");
    let impostor = write_plugin_with_code(&evil.join("deps"), "auto-tag", "99.0.0", "");
    let builtin = write_plugin(&folders.builtin, "keyword-pack", "keyword-pack", "1.0.0", "");
    let builtin_impostor = write_plugin(&evil.join("deps"), "keyword-pack", "keyword-pack", "9.0.0", "");

    let discovery = discover(&folders.dirs());
    let auto_tag = discovery.get("auto-tag").expect("found");
    assert_eq!(
        (auto_tag.dir.as_path(), &auto_tag.origin),
        (installed.as_path(), &Origin::User)
    );
    let keyword_pack = discovery.get("keyword-pack").expect("found");
    assert_eq!(keyword_pack.origin, Origin::Builtin);
    assert_eq!(
        problems(&discovery),
        [
            format!(
                "{}: the copy of `auto-tag` 99.0.0 bundled by `evil` is not used: `auto-tag` 0.1.0 is installed in {}, and a bundled copy never replaces an installed or builtin plugin",
                impostor.display(),
                installed.display()
            ),
            format!(
                "{}: the copy of `keyword-pack` 9.0.0 bundled by `evil` is not used: `keyword-pack` 1.0.0 is installed in {}, and a bundled copy never replaces an installed or builtin plugin",
                builtin_impostor.display(),
                builtin.display()
            ),
        ]
    );
    // The plugin that needs its own copy does not load.
    let order = resolve(&discovery.plugins);
    let blocked: Vec<&str> = order.blocked.iter().map(|b| b.plugin.id().as_str()).collect();
    assert_eq!(blocked, ["evil"]);
}

#[test]
fn an_installed_copy_that_satisfies_wins_over_the_bundled_one() {
    let folders = Folders::new();
    let auto_tag = write_plugin(
        &folders.user,
        "auto-tag",
        "auto-tag",
        "1.0.0",
        &dependencies(&[("keyword-pack", "^1.2", false)]),
    );
    // Even a lower version: the installed copy satisfies, so it is kept.
    let installed = write_plugin(&folders.builtin, "keyword-pack", "keyword-pack", "1.3.0", "");
    let bundled = write_plugin(&auto_tag.join("deps"), "keyword-pack", "keyword-pack", "1.9.0", "");

    let discovery = discover(&folders.dirs());
    assert_eq!(
        used(&discovery),
        [
            ("auto-tag".to_owned(), "1.0.0".to_owned(), Origin::User),
            ("keyword-pack".to_owned(), "1.3.0".to_owned(), Origin::Builtin),
        ]
    );
    assert_eq!(
        problems(&discovery),
        [format!(
            "{}: the copy of `keyword-pack` 1.9.0 bundled by `auto-tag` is not used: `keyword-pack` 1.3.0 is installed in {}, and a bundled copy never replaces an installed or builtin plugin",
            bundled.display(),
            installed.display()
        )]
    );
}

#[test]
fn among_bundled_copies_the_one_satisfying_most_plugins_wins() {
    let folders = Folders::new();
    let wants_one = dependencies(&[("keyword-pack", "^1", false)]);
    let a = write_plugin(&folders.user, "a", "a", "1.0.0", &wants_one);
    let b = write_plugin(&folders.user, "b", "b", "1.0.0", &wants_one);
    let c = write_plugin(
        &folders.user,
        "c",
        "c",
        "1.0.0",
        &dependencies(&[("keyword-pack", "^2", false)]),
    );
    write_plugin(&a.join("deps"), "keyword-pack", "keyword-pack", "1.1.0", "");
    let chosen = write_plugin(&b.join("deps"), "keyword-pack", "keyword-pack", "1.2.0", "");
    write_plugin(&c.join("deps"), "keyword-pack", "keyword-pack", "2.0.0", "");

    let discovery = discover(&folders.dirs());
    let keyword_pack = discovery.get("keyword-pack").expect("found");
    assert_eq!(keyword_pack.dir, chosen, "two plugins accept 1.x; the higher 1.x wins");
    assert_eq!(keyword_pack.origin, by("b"));
    let set_aside: Vec<&Path> = discovery.problems.iter().map(|problem| problem.dir.as_path()).collect();
    assert_eq!(
        set_aside,
        [a.join("deps").join("keyword-pack"), c.join("deps").join("keyword-pack")]
    );
}

#[test]
fn a_bundled_folder_must_be_named_after_its_plugin() {
    let folders = Folders::new();
    let auto_tag = write_plugin(&folders.user, "auto-tag", "auto-tag", "1.0.0", "");
    let misnamed = write_plugin(&auto_tag.join("deps"), "keywords", "keyword-pack", "1.0.0", "");
    let discovery = discover(&folders.dirs());
    assert_eq!(discovery.plugins.len(), 1);
    assert_eq!(discovery.problems[0].dir, misnamed);
    assert!(matches!(
        discovery.problems[0].error,
        DiscoveryError::MisnamedBundle { .. }
    ));
    assert!(discovery.problems[0].error.to_string().contains("(deps/keyword-pack)"));
}

#[test]
fn only_the_used_copy_s_bundles_are_searched() {
    let folders = Folders::new();
    let builtin = write_plugin(&folders.builtin, "auto-tag", "auto-tag", "1.0.0", "");
    write_plugin(&builtin.join("deps"), "keyword-pack", "keyword-pack", "1.0.0", "");
    write_plugin(&folders.user, "auto-tag", "auto-tag", "2.0.0", "");
    let discovery = discover(&folders.dirs());
    let ids: Vec<_> = discovery.plugins.iter().map(|plugin| plugin.id().as_str()).collect();
    assert_eq!(ids, ["auto-tag"], "the shadowed built-in copy's deps/ is not searched");
}
