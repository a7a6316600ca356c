//! Which plugins load, in what order, and the chain a user reads when one cannot.

mod common;

use common::plugin;
use plugboard_registry::{Discovered, LoadOrder, ResolveError, resolve};

fn load_ids(order: &LoadOrder) -> Vec<&str> {
    order.ids().map(|id| id.as_str()).collect()
}

/// Each blocked plugin's id and message.
fn blocked(order: &LoadOrder) -> Vec<(&str, String)> {
    order
        .blocked
        .iter()
        .map(|blocked| (blocked.plugin.id().as_str(), blocked.error.to_string()))
        .collect()
}

/// The skipped optional dependencies of loadable plugin `id`, as messages.
fn skipped(order: &LoadOrder, id: &str) -> Vec<String> {
    order
        .load
        .iter()
        .find(|loadable| loadable.plugin.id().as_str() == id)
        .unwrap_or_else(|| panic!("{id} is not loadable: {order:#?}"))
        .skipped
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn dependencies_load_first_and_ties_go_by_id() {
    let plugins = vec![
        plugin("dates", "1.0.0", &[("keyword-pack", "^1", false), ("base", "*", false)]),
        plugin("keyword-pack", "1.4.0", &[("base", "^0.3", false)]),
        plugin("zeta", "1.0.0", &[]),
        plugin("base", "0.3.1", &[]),
        plugin("alpha", "1.0.0", &[]),
    ];
    let order = resolve(&plugins);
    assert_eq!(load_ids(&order), ["alpha", "base", "keyword-pack", "dates", "zeta"]);
    assert!(order.blocked.is_empty());
    assert!(order.load.iter().all(|loadable| loadable.skipped.is_empty()));

    let mut reversed = plugins.clone();
    reversed.reverse();
    assert_eq!(resolve(&reversed), order, "the input order does not matter");
}

#[test]
fn a_missing_dependency_is_named_with_its_chain() {
    let order = resolve(&[
        plugin("auto-tag", "1.0.0", &[("keyword-pack", "^1.2", false)]),
        plugin("other", "1.0.0", &[]),
    ]);
    assert_eq!(load_ids(&order), ["other"]);
    assert_eq!(
        blocked(&order),
        [(
            "auto-tag",
            "auto-tag -> keyword-pack: keyword-pack is not installed (auto-tag needs keyword-pack ^1.2); install it"
                .to_owned()
        )]
    );
    assert!(matches!(&order.blocked[0].error, ResolveError::Missing { chain, .. } if chain.len() == 2));
}

#[test]
fn an_incompatible_version_names_the_requirement_and_the_installed_version() {
    let order = resolve(&[
        plugin("auto-tag", "1.0.0", &[("keyword-pack", "^2", false)]),
        plugin("keyword-pack", "1.4.0", &[]),
    ]);
    assert_eq!(load_ids(&order), ["keyword-pack"]);
    assert_eq!(
        blocked(&order),
        [(
            "auto-tag",
            "auto-tag -> keyword-pack: requires ^2, installed 1.4.0; install a version of keyword-pack that matches"
                .to_owned()
        )]
    );
}

#[test]
fn a_plugin_whose_dependency_cannot_load_cannot_load_either() {
    let order = resolve(&[
        plugin("a", "1.0.0", &[("b", "1", false)]),
        plugin("b", "1.0.0", &[("c", "^1", false)]),
        plugin("c", "2.0.0", &[]),
        plugin("d", "1.0.0", &[("a", "1", false)]),
    ]);
    assert_eq!(load_ids(&order), ["c"]);
    let chains: Vec<_> = order
        .blocked
        .iter()
        .map(|blocked| blocked.error.chain().iter().map(|id| id.as_str()).collect::<Vec<_>>())
        .collect();
    assert_eq!(chains, [vec!["a", "b", "c"], vec!["b", "c"], vec!["d", "a", "b", "c"]]);
    assert_eq!(
        order.blocked[2].error.to_string(),
        "d -> a -> b -> c: requires ^1, installed 2.0.0; install a version of c that matches"
    );
}

#[test]
fn a_cycle_blocks_each_plugin_on_it_and_those_that_need_it() {
    let order = resolve(&[
        plugin("a", "1.0.0", &[("b", "*", false)]),
        plugin("b", "1.0.0", &[("c", "*", false)]),
        plugin("c", "1.0.0", &[("a", "*", false)]),
        plugin("d", "1.0.0", &[("a", "*", false)]),
        plugin("e", "1.0.0", &[]),
    ]);
    assert_eq!(load_ids(&order), ["e"]);
    let cycle = "the plugins depend on each other in a cycle; one of them must drop its dependency";
    assert_eq!(
        blocked(&order),
        [
            ("a", format!("a -> b -> c -> a: {cycle}")),
            ("b", format!("b -> c -> a -> b: {cycle}")),
            ("c", format!("c -> a -> b -> c: {cycle}")),
            ("d", format!("d -> a -> b -> c -> a: {cycle}")),
        ]
    );
}

#[test]
fn two_plugins_that_need_each_other_form_a_cycle() {
    let order = resolve(&[
        plugin("x", "1.0.0", &[("y", "*", false)]),
        plugin("y", "1.0.0", &[("x", "*", false)]),
    ]);
    assert!(order.load.is_empty());
    let chains: Vec<String> = order.blocked.iter().map(|b| b.error.to_string()).collect();
    assert!(chains[0].starts_with("x -> y -> x: "), "{chains:?}");
    assert!(chains[1].starts_with("y -> x -> y: "), "{chains:?}");
}

#[test]
fn optional_dependencies_that_cannot_be_used_are_skipped_with_a_note() {
    let order = resolve(&[
        plugin(
            "auto-tag",
            "1.0.0",
            &[
                ("locale-fr", ">=0.3", true),
                ("locale-de", "^1", true),
                ("locale-it", "*", true),
                ("keyword-pack", "^1", false),
            ],
        ),
        plugin("keyword-pack", "1.0.0", &[]),
        plugin("locale-de", "2.0.0", &[]),
        plugin("locale-it", "1.0.0", &[("missing-base", "*", false)]),
    ]);
    assert_eq!(load_ids(&order), ["keyword-pack", "auto-tag", "locale-de"]);
    assert_eq!(
        skipped(&order, "auto-tag"),
        [
            "auto-tag -> locale-de: requires ^1, installed 2.0.0; install a version of locale-de that matches",
            "auto-tag -> locale-fr: locale-fr is not installed (auto-tag needs locale-fr >=0.3); install it",
            "auto-tag -> locale-it -> missing-base: missing-base is not installed (locale-it needs missing-base *); install it",
        ]
    );
    assert_eq!(blocked(&order).len(), 1, "locale-it itself cannot load");
}

#[test]
fn an_available_optional_dependency_loads_first() {
    let order = resolve(&[
        plugin("a-plugin", "1.0.0", &[("z-locale", "*", true)]),
        plugin("z-locale", "1.0.0", &[]),
    ]);
    assert_eq!(load_ids(&order), ["z-locale", "a-plugin"]);
    assert!(skipped(&order, "a-plugin").is_empty());
}

#[test]
fn an_optional_dependency_that_would_close_a_cycle_is_skipped() {
    // Whichever plugin's id comes first, the required dependency is kept and the
    // optional one is dropped.
    for (needs, optional) in [("a", "b"), ("b", "a")] {
        let order = resolve(&[
            plugin(needs, "1.0.0", &[(optional, "*", false)]),
            plugin(optional, "1.0.0", &[(needs, "*", true)]),
        ]);
        assert_eq!(load_ids(&order), [optional, needs]);
        assert!(order.blocked.is_empty());
        assert_eq!(
            skipped(&order, optional),
            [format!(
                "{optional} -> {needs} -> {optional}: the plugins depend on each other in a cycle; one of them must drop its dependency"
            )]
        );
    }
}

#[test]
fn a_second_copy_of_an_id_is_blocked() {
    let first = plugin("auto-tag", "1.0.0", &[]);
    let mut second = plugin("auto-tag", "2.0.0", &[]);
    second.dir = "/elsewhere/auto-tag".into();
    let order = resolve(&[first.clone(), second]);
    assert_eq!(order.load.len(), 1);
    assert_eq!(order.load[0].plugin, first);
    assert_eq!(
        blocked(&order),
        [(
            "auto-tag",
            "/elsewhere/auto-tag: plugin `auto-tag` is not loaded: another copy of it, in /plugins/auto-tag, is"
                .to_owned()
        )]
    );
}

#[test]
fn nothing_to_resolve_is_an_empty_order() {
    let none: [Discovered; 0] = [];
    assert_eq!(resolve(&none), LoadOrder::default());
}
