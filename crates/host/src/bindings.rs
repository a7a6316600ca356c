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
