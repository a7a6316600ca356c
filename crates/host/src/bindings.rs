//! Host bindings for every world version the host speaks, generated from
//! `wit/`. Each version lives in its own module; the package version in each
//! interface name keeps them apart inside one `Linker`.

/// Bindings for `plugboard:task-events@1.0.0`, served through the adapter.
pub mod v1 {
    wasmtime::component::bindgen!({
        path: "../../wit/task-events@1.0.0",
        world: "plugboard:task-events/plugin@1.0.0",
        imports: { default: trappable },
        exports: { default: async },
        additional_derives: [PartialEq, Eq],
    });
}

/// Bindings for the newest 2.x release, which the host implements natively.
///
/// These types stay inside the host: the embedder sees the contract's, and
/// `abi::convert` converts at the edge. They keep their serde derives only
/// so that convert's tests can check that both serialize to the same JSON.
pub mod v2 {
    wasmtime::component::bindgen!({
        path: "../../wit/task-events@2.2.0",
        world: "plugboard:task-events/plugin@2.2.0",
        imports: {
            // Invoking another plugin's command waits for that plugin's
            // instance and runs it, so the host side is async.
            "plugboard:task-events/commands@2.2.0.invoke": async | trappable,
            default: trappable,
        },
        exports: { default: async },
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq, Eq],
    });
}

/// Bindings for the pre-release `plugboard:task-events@3.0.0-dev`, which the
/// host speaks only when opted in (`RuntimeOptions::unstable_world`).
///
/// It is 2.2.0 plus `host-info`: every interface it shares with 2.2.0 is
/// bound to the 2.2.0 bindings (`with`), so its calls are the native
/// implementation's and its types are 2.2.0's; only `host-info` and the
/// exports are its own. Those shared interfaces are linked under their
/// 3.0.0-dev names by `abi::v3_dev`, not by this world's `add_to_linker`.
pub mod v3_dev {
    wasmtime::component::bindgen!({
        path: "../../wit/task-events@3.0.0-dev",
        world: "plugboard:task-events/plugin@3.0.0-dev",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "plugboard:task-events/types@3.0.0-dev": super::v2::plugboard::task_events::types,
            "plugboard:task-events/tasks@3.0.0-dev": super::v2::plugboard::task_events::tasks,
            "plugboard:task-events/state@3.0.0-dev": super::v2::plugboard::task_events::state,
            "plugboard:task-events/events@3.0.0-dev": super::v2::plugboard::task_events::events,
            "plugboard:task-events/log@3.0.0-dev": super::v2::plugboard::task_events::log,
            "plugboard:task-events/clock@3.0.0-dev": super::v2::plugboard::task_events::clock,
            "plugboard:task-events/config@3.0.0-dev": super::v2::plugboard::task_events::config,
            "plugboard:task-events/commands@3.0.0-dev": super::v2::plugboard::task_events::commands,
            "plugboard:task-events/resources@3.0.0-dev": super::v2::plugboard::task_events::resources,
            "plugboard:task-events/locale@3.0.0-dev": super::v2::plugboard::task_events::locale,
        },
    });
}
