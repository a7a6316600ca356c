//! `plugboard componentize CORE.wasm --world task-events@2 -o plugin.wasm`:
//! makes a core WebAssembly module built against wasi-libc (preview1, e.g.
//! `clang-19 --target=wasm32-wasip1 -mexec-model=reactor`) a component of a
//! plugboard world. The world's type information is embedded, unless the
//! module carries its own, as a module linked with sdk-c's generated
//! bindings does (wit-bindgen's component-type section); that world must then
//! be the one `--world` names, or the module is refused naming both. The WASI
//! preview1 imports are adapted to WASI 0.2 with the reactor adapter of the
//! wasmtime release this host is built on.
//!
//! The WIT of every world is built into the binary, so the command works
//! outside this repository.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_component::{ComponentEncoder, StringEncoding};

/// Every world release's WIT, by version.
const WORLDS: &[(&str, &str)] = &[
    ("1.0.0", include_str!("../../../wit/task-events@1.0.0/plugin.wit")),
    ("2.0.0", include_str!("../../../wit/task-events@2.0.0/plugin.wit")),
    ("2.1.0", include_str!("../../../wit/task-events@2.1.0/plugin.wit")),
    ("2.2.0", include_str!("../../../wit/task-events@2.2.0/plugin.wit")),
];

/// The arguments of `plugboard componentize`.
#[derive(Debug, Args)]
pub struct ComponentizeArgs {
    /// The core module (`.wasm` built for wasm32-wasip1 as a reactor).
    pub core: PathBuf,
    /// The world it implements: `task-events@2` (the newest 2.x),
    /// `task-events@2.0.0`, `task-events@1`.
    #[arg(long, default_value = "task-events@2")]
    pub world: String,
    /// Where to write the component.
    #[arg(short, long)]
    pub out: PathBuf,
}

/// Builds the component and writes it; prints its path.
pub fn componentize(args: &ComponentizeArgs) -> anyhow::Result<()> {
    let core = std::fs::read(&args.core).with_context(|| format!("cannot read {}", args.core.display()))?;
    let component = encode(&core, &args.world).with_context(|| format!("{}", args.core.display()))?;
    write(&args.out, &component)?;
    println!("{}", args.out.display());
    Ok(())
}

/// The component made of `core` for `world`.
pub fn encode(core: &[u8], world: &str) -> anyhow::Result<Vec<u8>> {
    if !wasmparser::Parser::is_core_wasm(core) {
        bail!("not a core WebAssembly module (a component needs no componentizing)");
    }
    let (version, wit) = world_wit(world)?;
    let mut module = core.to_vec();
    if has_component_type(core)? {
        check_carried_world(core, world, version)?;
    } else {
        let mut resolve = wit_parser::Resolve::default();
        let package = resolve
            .push_str(format!("task-events@{version}/plugin.wit"), wit)
            .context("the built-in WIT does not parse (a bug in plugboard)")?;
        let world = resolve.select_world(&[package], Some("plugin"))?;
        wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)?;
    }
    ComponentEncoder::default()
        .validate(true)
        .module(&module)?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .encode()
        .context("the module does not fit the world (check its export names and signatures)")
}

/// The release and WIT text `world` names: `task-events@2` is the newest
/// 2.x, `task-events@2.0.0` exactly that release.
fn world_wit(world: &str) -> anyhow::Result<(&'static str, &'static str)> {
    let known = || {
        WORLDS
            .iter()
            .map(|(v, _)| format!("task-events@{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(asked) = world.strip_prefix("task-events@") else {
        bail!("unknown world `{world}`: plugboard's worlds are {}", known());
    };
    WORLDS
        .iter()
        .rev()
        .find(|(version, _)| *version == asked || version.split('.').next() == Some(asked))
        .map(|(version, wit)| (*version, *wit))
        .ok_or_else(|| anyhow::anyhow!("unknown world `{world}`: plugboard's worlds are {}", known()))
}

/// Whether the module already carries a world's type information.
fn has_component_type(core: &[u8]) -> anyhow::Result<bool> {
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        if let wasmparser::Payload::CustomSection(section) = payload?
            && section.name().starts_with("component-type")
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A module built with wit-bindgen's bindings (sdk-c's) carries the world
/// it was built against: it must be the plugboard world `asked` names
/// (`version`, or any release of that major when only the major is asked).
fn check_carried_world(core: &[u8], asked: &str, version: &str) -> anyhow::Result<()> {
    let (_, bindgen) = wit_component::metadata::decode(core)
        .context("its component-type section (the world it was built against) does not decode")?;
    // The section's world is a synthetic one; the plugboard release is the
    // package of the handler interface it exports.
    let resolve = &bindgen.resolve;
    let exported = resolve.worlds[bindgen.world]
        .exports
        .keys()
        .filter_map(|key| match key {
            wit_parser::WorldKey::Interface(id) => resolve.interfaces[*id].package,
            wit_parser::WorldKey::Name(_) => None,
        });
    let package = exported
        .map(|id| &resolve.packages[id].name)
        .find(|name| name.namespace == "plugboard" && name.name == "task-events");
    let Some(package) = package else {
        bail!(
            "the module's component-type section exports no plugboard:task-events interface: it was built against \
             another world than {asked}"
        );
    };
    let carried = match &package.version {
        Some(v) => format!("plugboard:task-events@{v}"),
        None => "plugboard:task-events (no version)".to_string(),
    };
    let exact = asked.strip_prefix("task-events@").is_some_and(|a| a.contains('.'));
    let fits = package.version.as_ref().is_some_and(|v| {
        if exact {
            v.to_string() == version
        } else {
            version.split('.').next() == Some(&v.major.to_string())
        }
    });
    if !fits {
        bail!(
            "the module was built against the world {carried} (its bindings' component-type section), not {asked}: \
             pass the --world it was built for, or build it against {asked}'s bindings"
        );
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worlds_are_named_by_major_or_release() {
        assert_eq!(world_wit("task-events@2").unwrap().0, "2.2.0");
        assert_eq!(world_wit("task-events@2.1.0").unwrap().0, "2.1.0");
        assert_eq!(world_wit("task-events@2.0.0").unwrap().0, "2.0.0");
        assert_eq!(world_wit("task-events@1").unwrap().0, "1.0.0");
        let err = world_wit("task-events@3").unwrap_err().to_string();
        assert!(
            err.contains("task-events@1.0.0, task-events@2.0.0, task-events@2.1.0, task-events@2.2.0"),
            "{err}"
        );
        assert!(world_wit("wasi:cli").is_err());
    }

    /// An empty core module carrying the component-type section of `release`.
    fn module_built_against(release: &str) -> Vec<u8> {
        let (_, wit) = world_wit(&format!("task-events@{release}")).unwrap();
        let mut resolve = wit_parser::Resolve::default();
        let package = resolve.push_str("plugin.wit", wit).unwrap();
        let world = resolve.select_world(&[package], Some("plugin")).unwrap();
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8).unwrap();
        module
    }

    #[test]
    fn a_module_built_against_another_world_than_asked_is_refused_naming_both() {
        let err = format!(
            "{:#}",
            encode(&module_built_against("1.0.0"), "task-events@2").unwrap_err()
        );
        assert!(
            err.contains("built against the world plugboard:task-events@1.0.0") && err.contains("not task-events@2"),
            "{err}"
        );
        let err = format!(
            "{:#}",
            encode(&module_built_against("2.0.0"), "task-events@2.1.0").unwrap_err()
        );
        assert!(
            err.contains("plugboard:task-events@2.0.0") && err.contains("not task-events@2.1.0"),
            "{err}"
        );
    }

    #[test]
    fn a_module_carrying_its_world_is_taken_with_the_world_it_names() {
        // The empty module exports no handler, so the encoder refuses it
        // afterwards; the carried world itself is accepted.
        for (release, asked) in [
            ("2.0.0", "task-events@2"),
            ("2.1.0", "task-events@2.1.0"),
            ("2.2.0", "task-events@2"),
            ("1.0.0", "task-events@1"),
        ] {
            let err = format!("{:#}", encode(&module_built_against(release), asked).unwrap_err());
            assert!(!err.contains("built against the world"), "{release} as {asked}: {err}");
        }
    }

    /// Every released world in wit/ can be componentized: a new release
    /// folder without its entry here fails this test.
    #[test]
    fn every_released_world_in_wit_is_known() {
        let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
        let mut released: Vec<String> = std::fs::read_dir(&wit)
            .unwrap()
            .filter_map(|e| e.unwrap().file_name().into_string().ok())
            .filter_map(|name| name.strip_prefix("task-events@").map(str::to_string))
            .filter(|version| !version.contains('-'))
            .collect();
        released.sort();
        let known: Vec<String> = WORLDS.iter().map(|(v, _)| v.to_string()).collect();
        assert_eq!(known, released);
        for (version, text) in WORLDS {
            let on_disk = std::fs::read_to_string(wit.join(format!("task-events@{version}/plugin.wit"))).unwrap();
            assert_eq!(*text, on_disk, "{version}");
        }
    }

    #[test]
    fn a_component_is_not_componentized_again() {
        let err = encode(b"\0asm\x0d\0\x01\0", "task-events@2").unwrap_err().to_string();
        assert!(err.contains("not a core WebAssembly module"), "{err}");
    }
}
