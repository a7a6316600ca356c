//! The application's own interfaces: WIT packages the embedding app offers
//! plugins beside plugboard's worlds (`myapp:ui/notify@1.0.0`), each under a
//! permission the app names (`app.notify`).
//!
//! The app hands the host, once, before the runtime is built:
//! - the WIT package, as text or a folder, which the host parses to learn
//!   the names and the version of the interfaces it defines;
//! - the permission a plugin must hold to import any of them;
//! - its own state (`Arc<S>`), which its implementation reaches through
//!   [`AppCall::state`];
//! - a function that adds its `bindgen!`-generated implementation to the
//!   linker with the getter the host gives it:
//!
//! ```ignore
//! AppInterface::from_wit_text(WIT, "app.notify", notifier, |linker, getter| {
//!     myapp::ui::notify::add_to_linker::<PluginContext, App<Notifier>>(linker, getter)
//! })?
//! ```
//!
//! The interfaces are linked into the same linker as plugboard's own, once,
//! when the runtime is built. The import check knows them: a plugin that
//! imports one without the permission is refused at load, naming the
//! interface and the permission, and a version the app does not offer is
//! refused by the same rule as plugboard's worlds (same major, a minor and
//! patch no newer than offered; a pre-release only exactly).
//!
//! # What bounds a call, and what the app must keep
//!
//! Every call of an app interface counts as one host call against the
//! plugin's `host-calls` allowance per event (the getter counts it before
//! the app's code runs); past it, [`AppCall::state`] traps, and a call that
//! went past it fails as a host-call flood even if the app's code never
//! asked for its state: its changes are rolled back and it is struck.
//! The call runs inside the plugin's call, under its deadline:
//! - an **async** host function (`bindgen!` with `imports: { default: async
//!   | trappable }`) runs inside the same future as the plugin's call, so the
//!   deadline drops it wherever it waits;
//! - a **sync** one cannot be interrupted: it must return promptly (never
//!   block on I/O or a lock held elsewhere); [`AppCall::time_left`] says how
//!   long the call has.
//!
//! What the app's function allocates and keeps is its own business: the
//! arguments it receives are bounded by the plugin's `max-value` (wasmtime
//! lifts them under the store's host-call fuel), but a function that stores
//! them, or answers with large values, must bound that itself.

use std::any::{Any, TypeId};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use semver::Version;
use wasmtime::component::{HasData, Linker};

use crate::abuse::{AbuseKind, HostFailure, LimitExceeded};
use crate::context::PluginContext;
use crate::imports::ImportVerdict;
use crate::policy::Policy;

/// The getter the host hands an app's link function: it counts the call
/// and gives the app's implementation its [`AppCall`].
pub type Getter<S> = for<'a> fn(&'a mut PluginContext) -> AppCall<'a, S>;

/// The link function of one app interface: adds the generated
/// implementation to the linker, with the getter given.
type Link = Box<dyn FnOnce(&mut Linker<PluginContext>) -> wasmtime::Result<()> + Send>;

/// The most bytes of WIT text one app interface may be given (the app's
/// own file, but a typo in a path should not read a huge file).
pub const MAX_WIT_BYTES: usize = 1 << 20;

/// Why an app interface cannot be offered.
#[derive(Debug, thiserror::Error)]
pub enum AppInterfaceError {
    /// The WIT could not be read or parsed.
    #[error("the application's interface WIT {source_name} could not be read: {message}")]
    Wit {
        /// The file or folder, or `<text>`.
        source_name: String,
        /// What wit-parser said.
        message: String,
    },
    /// The package has no version: the import check could not apply the
    /// semver rule.
    #[error(
        "the application's WIT package `{package}` has no version; write `package {package}@1.0.0;` so that \
         plugins built against it can be checked"
    )]
    Unversioned {
        /// The package name.
        package: String,
    },
    /// The package lives in a namespace plugboard or WASI owns.
    #[error(
        "the application's WIT package `{package}` is in the `{namespace}` namespace, which is plugboard's or WASI's; give it the application's own namespace"
    )]
    ReservedNamespace {
        /// The package name.
        package: String,
        /// Its namespace.
        namespace: String,
    },
    /// The package defines no interface.
    #[error("the application's WIT package `{package}` defines no interface to offer plugins")]
    NoInterface {
        /// The package name.
        package: String,
    },
    /// The permission name is not one a manifest can request.
    #[error("the application's interface `{package}`: {message}")]
    BadPermission {
        /// The package name.
        package: String,
        /// Why.
        message: String,
    },
    /// The same interface is offered twice on one semver track.
    #[error(
        "the application offers `{name}@{first}` and `{name}@{second}`, which a plugin's import could not tell \
         apart (same major); offer one"
    )]
    Duplicate {
        /// `ns:pkg/iface`.
        name: String,
        /// The version offered first.
        first: Version,
        /// The other.
        second: Version,
    },
    /// Two app interfaces bring different states of the same type.
    #[error(
        "two application interfaces bring different states of the type `{type_name}`; the getter finds a state by \
         its type, so give both the same `Arc` or wrap one in a type of its own"
    )]
    StateTwice {
        /// The state's type.
        type_name: &'static str,
    },
}

/// Marks the data type a getter gives the app's `Host` implementation: use
/// `App<S>` as `add_to_linker`'s `D`, and implement the generated `Host`
/// trait for [`AppCall<'_, S>`].
pub struct App<S>(PhantomData<fn() -> S>);

impl<S: Send + Sync + 'static> HasData for App<S> {
    type Data<'a> = AppCall<'a, S>;
}

/// What the app's implementation sees of one call: its own state, which
/// plugin calls, and how long the call has.
pub struct AppCall<'a, S> {
    state: Option<&'a S>,
    plugin: &'a str,
    call_ends: Option<Instant>,
    over_budget: Option<u64>,
}

impl<'a, S> AppCall<'a, S> {
    /// The app's state, as it registered it. Traps (stopping the plugin's
    /// call) when the plugin has made more host calls in this event than it
    /// may; the implementation returns the error as it is
    /// (`let app = self.state()?;`).
    pub fn state(&self) -> wasmtime::Result<&'a S> {
        if let Some(limit) = self.over_budget {
            return Err(LimitExceeded::trap(
                AbuseKind::HostCalls,
                format!("made more than {limit} host calls while handling one event"),
            ));
        }
        self.state
            .ok_or_else(|| HostFailure::trap("the application's interface has no state in this store".to_string()))
    }

    /// The id of the plugin that calls.
    pub fn plugin_id(&self) -> &'a str {
        self.plugin
    }

    /// How long the plugin's call has left, when it runs under a deadline.
    pub fn time_left(&self) -> Option<Duration> {
        self.call_ends
            .map(|ends| ends.saturating_duration_since(Instant::now()))
    }
}

/// The getter of an app state of type `S`.
fn getter<S: Send + Sync + 'static>(context: &mut PluginContext) -> AppCall<'_, S> {
    let over_budget = context.count_app_call();
    let context: &PluginContext = context;
    tracing::trace!(plugin = %context.plugin_id, "application interface call");
    AppCall {
        state: context.app.state::<S>(),
        plugin: &context.plugin_id,
        call_ends: context.call_ends,
        over_budget,
    }
}

/// One interface the app offers, as the import check knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Offered {
    /// `ns:pkg/iface`.
    name: String,
    version: Version,
    permission: String,
}

/// One WIT package of the app's, ready to be linked into a runtime.
pub struct AppInterface {
    package: String,
    offered: Vec<Offered>,
    state: (TypeId, &'static str, Arc<dyn Any + Send + Sync>),
    link: Link,
}

impl std::fmt::Debug for AppInterface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppInterface")
            .field("package", &self.package)
            .field("offered", &self.offered)
            .finish_non_exhaustive()
    }
}

impl AppInterface {
    /// An app interface from WIT text (one package); see the module's doc.
    pub fn from_wit_text<S: Send + Sync + 'static>(
        wit: &str,
        permission: &str,
        state: Arc<S>,
        link: impl FnOnce(&mut Linker<PluginContext>, Getter<S>) -> wasmtime::Result<()> + Send + 'static,
    ) -> Result<AppInterface, AppInterfaceError> {
        let wit_error = |message: String| AppInterfaceError::Wit {
            source_name: "<text>".to_string(),
            message,
        };
        if wit.len() > MAX_WIT_BYTES {
            return Err(wit_error(format!(
                "it is {} bytes; the most is {MAX_WIT_BYTES}",
                wit.len()
            )));
        }
        let mut resolve = wit_parser::Resolve::new();
        let id = resolve
            .push_str("app.wit", wit)
            .map_err(|e| wit_error(format!("{e:#}")))?;
        AppInterface::from_resolve(&resolve, id, permission, state, link)
    }

    /// An app interface from a WIT folder (or file), as `bindgen!`'s `path`
    /// reads it; see the module's doc.
    pub fn from_wit_path<S: Send + Sync + 'static>(
        path: &Path,
        permission: &str,
        state: Arc<S>,
        link: impl FnOnce(&mut Linker<PluginContext>, Getter<S>) -> wasmtime::Result<()> + Send + 'static,
    ) -> Result<AppInterface, AppInterfaceError> {
        let mut resolve = wit_parser::Resolve::new();
        let (id, _) = resolve.push_path(path).map_err(|e| AppInterfaceError::Wit {
            source_name: path.display().to_string(),
            message: format!("{e:#}"),
        })?;
        AppInterface::from_resolve(&resolve, id, permission, state, link)
    }

    fn from_resolve<S: Send + Sync + 'static>(
        resolve: &wit_parser::Resolve,
        id: wit_parser::PackageId,
        permission: &str,
        state: Arc<S>,
        link: impl FnOnce(&mut Linker<PluginContext>, Getter<S>) -> wasmtime::Result<()> + Send + 'static,
    ) -> Result<AppInterface, AppInterfaceError> {
        let package = &resolve.packages[id];
        let name = &package.name;
        let unversioned = format!("{}:{}", name.namespace, name.name);
        let Some(version) = name.version.clone() else {
            return Err(AppInterfaceError::Unversioned { package: unversioned });
        };
        if name.namespace == "wasi" || name.namespace == "plugboard" {
            return Err(AppInterfaceError::ReservedNamespace {
                package: unversioned,
                namespace: name.namespace.clone(),
            });
        }
        permission
            .parse::<plugboard_manifest::AppPermission>()
            .map_err(|e| AppInterfaceError::BadPermission {
                package: unversioned.clone(),
                message: e.to_string(),
            })?;
        let offered: Vec<Offered> = package
            .interfaces
            .keys()
            .map(|interface| Offered {
                name: format!("{unversioned}/{interface}"),
                version: version.clone(),
                permission: permission.to_string(),
            })
            .collect();
        if offered.is_empty() {
            return Err(AppInterfaceError::NoInterface { package: unversioned });
        }
        let getter: Getter<S> = getter::<S>;
        Ok(AppInterface {
            package: format!("{unversioned}@{version}"),
            offered,
            state: (TypeId::of::<S>(), std::any::type_name::<S>(), state),
            link: Box::new(move |linker| link(linker, getter)),
        })
    }

    /// The full names (`ns:pkg/iface@version`) of the interfaces it offers.
    pub fn interfaces(&self) -> Vec<String> {
        self.offered
            .iter()
            .map(|o| format!("{}@{}", o.name, o.version))
            .collect()
    }
}

/// The states of the app's interfaces, found by type; shared by every
/// plugin's store.
#[derive(Default)]
pub(crate) struct AppStates(Vec<(TypeId, Arc<dyn Any + Send + Sync>)>);

impl AppStates {
    /// The state of type `S`, if one was registered.
    pub(crate) fn state<S: 'static>(&self) -> Option<&S> {
        let id = TypeId::of::<S>();
        self.0
            .iter()
            .find(|(t, _)| *t == id)
            .and_then(|(_, state)| state.downcast_ref::<S>())
    }
}

/// Every interface the app offers, gathered before the runtime is built.
#[derive(Default)]
pub struct AppInterfaces {
    offered: Vec<Offered>,
    states: Vec<(TypeId, &'static str, Arc<dyn Any + Send + Sync>)>,
    links: Vec<Link>,
}

impl std::fmt::Debug for AppInterfaces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppInterfaces")
            .field("offered", &self.offered)
            .finish_non_exhaustive()
    }
}

/// Whether an import of `found` is served by `offered`: the same major
/// (the same minor too below 1.0, as the linker matches them), no newer,
/// and a pre-release only exactly.
fn compatible(found: &Version, offered: &Version) -> bool {
    if !found.pre.is_empty() || !offered.pre.is_empty() {
        return found == offered;
    }
    if found.major != offered.major || (found.major == 0 && found.minor != offered.minor) {
        return false;
    }
    (found.minor, found.patch) <= (offered.minor, offered.patch)
}

/// Whether two offered versions are on one semver track, so that the
/// linker would take one for the other.
fn same_track(a: &Version, b: &Version) -> bool {
    (a.major == b.major && (a.major != 0 || a.minor == b.minor) && a.pre.is_empty() && b.pre.is_empty()) || a == b
}

impl AppInterfaces {
    /// Adds one package's interfaces.
    pub fn add(&mut self, interface: AppInterface) -> Result<(), AppInterfaceError> {
        for new in &interface.offered {
            if let Some(old) = self
                .offered
                .iter()
                .find(|o| o.name == new.name && same_track(&o.version, &new.version))
            {
                return Err(AppInterfaceError::Duplicate {
                    name: new.name.clone(),
                    first: old.version.clone(),
                    second: new.version.clone(),
                });
            }
        }
        let (type_id, type_name, state) = interface.state;
        match self.states.iter().find(|(t, _, _)| *t == type_id) {
            Some((_, _, held)) if !Arc::ptr_eq(held, &state) => {
                return Err(AppInterfaceError::StateTwice { type_name });
            }
            Some(_) => {}
            None => self.states.push((type_id, type_name, state)),
        }
        self.offered.extend(interface.offered);
        self.links.push(interface.link);
        Ok(())
    }

    /// Whether no interface is offered.
    pub fn is_empty(&self) -> bool {
        self.offered.is_empty()
    }

    /// Links every interface into `linker`, once; what remains is what the
    /// import check needs, and the states the getters read.
    pub(crate) fn link(self, linker: &mut Linker<PluginContext>) -> wasmtime::Result<AppOffer> {
        for link in self.links {
            link(linker)?;
        }
        Ok(AppOffer {
            offered: self.offered,
            states: Arc::new(AppStates(self.states.into_iter().map(|(t, _, s)| (t, s)).collect())),
        })
    }
}

/// What a runtime offers of the app's: the interfaces the import check
/// knows, and the states every store reads.
#[derive(Default)]
pub(crate) struct AppOffer {
    offered: Vec<Offered>,
    pub(crate) states: Arc<AppStates>,
}

impl AppOffer {
    /// What the host does with the import `name@version` under `policy`,
    /// when `name` is one of the app's interfaces; `None` otherwise.
    pub(crate) fn verdict(&self, name: &str, version: Option<&str>, policy: &Policy) -> Option<ImportVerdict> {
        let same_name: Vec<&Offered> = self.offered.iter().filter(|o| o.name == name).collect();
        if same_name.is_empty() {
            return None;
        }
        let spoken = same_name
            .iter()
            .map(|o| o.version.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let Some(found) = version.and_then(|v| Version::parse(v).ok()) else {
            return Some(ImportVerdict::Refused(format!(
                "the application's interface `{name}` is versioned (it offers {spoken}); build against its WIT"
            )));
        };
        let Some(offered) = same_name.iter().find(|o| compatible(&found, &o.version)) else {
            return Some(ImportVerdict::Refused(format!(
                "the application offers `{name}` at {spoken}, not {found}; rebuild the plugin against the \
                 application's WIT (the same major, no newer)"
            )));
        };
        if !policy.allows_app(&offered.permission) {
            return Some(ImportVerdict::Refused(format!(
                "the application's interface `{name}` needs the permission `{permission}`, which the plugin \
                 was not granted; ask for it in plugin.toml (`[permissions] app = [\"{permission}\"]`) and \
                 have the user grant `app:{permission}`",
                permission = offered.permission
            )));
        }
        Some(ImportVerdict::Linked(
            "the application's own interface, under the permission the plugin was granted",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn imports_follow_the_worlds_semver_rule() {
        assert!(compatible(&v("1.0.0"), &v("1.2.0")));
        assert!(compatible(&v("1.2.0"), &v("1.2.0")));
        assert!(!compatible(&v("1.3.0"), &v("1.2.0")), "newer minor");
        assert!(!compatible(&v("1.2.1"), &v("1.2.0")), "newer patch");
        assert!(!compatible(&v("2.0.0"), &v("1.2.0")), "other major");
        assert!(compatible(&v("0.3.1"), &v("0.3.2")));
        assert!(
            !compatible(&v("0.2.0"), &v("0.3.0")),
            "below 1.0 the minor is the major"
        );
        assert!(!compatible(&v("1.2.0-rc.1"), &v("1.2.0")), "a pre-release only exactly");
        assert!(compatible(&v("1.2.0-rc.1"), &v("1.2.0-rc.1")));
    }

    #[test]
    fn bad_packages_are_refused_with_what_to_do() {
        let state = Arc::new(());
        let link = |_: &mut Linker<PluginContext>, _: Getter<()>| Ok(());
        let err = AppInterface::from_wit_text(
            "package my:app;\ninterface a { f: func(); }",
            "app.a",
            state.clone(),
            link,
        )
        .unwrap_err();
        assert!(err.to_string().contains("has no version"), "{err}");
        let err = AppInterface::from_wit_text(
            "package wasi:evil@1.0.0;\ninterface a { f: func(); }",
            "app.a",
            state.clone(),
            link,
        )
        .unwrap_err();
        assert!(matches!(err, AppInterfaceError::ReservedNamespace { .. }), "{err}");
        let err = AppInterface::from_wit_text(
            "package my:app@1.0.0;\ninterface a { f: func( }",
            "app.a",
            state.clone(),
            link,
        )
        .unwrap_err();
        assert!(err.to_string().contains("WIT <text> could not be read"), "{err}");
        let err = AppInterface::from_wit_text("package my:app@1.0.0;\n", "app.a", state.clone(), link).unwrap_err();
        assert!(matches!(err, AppInterfaceError::NoInterface { .. }), "{err}");
        let err = AppInterface::from_wit_text(
            "package my:app@1.0.0;\ninterface a { f: func(); }",
            "App Notify",
            state.clone(),
            link,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("\"App Notify\" is not a permission name"),
            "{err}"
        );
        let err = AppInterface::from_wit_path(Path::new("/no/such/wit"), "app.a", state.clone(), link).unwrap_err();
        assert!(err.to_string().contains("/no/such/wit"), "{err}");

        let mut all = AppInterfaces::default();
        let wit = "package my:app@1.0.0;\ninterface a { f: func(); }";
        all.add(AppInterface::from_wit_text(wit, "app.a", state.clone(), link).unwrap())
            .unwrap();
        let newer = "package my:app@1.1.0;\ninterface a { f: func(); }";
        let err = all
            .add(AppInterface::from_wit_text(newer, "app.a", state.clone(), link).unwrap())
            .unwrap_err();
        assert!(matches!(err, AppInterfaceError::Duplicate { .. }), "{err}");
        let other = "package my:other@1.0.0;\ninterface b { f: func(); }";
        let err = all
            .add(AppInterface::from_wit_text(other, "app.b", Arc::new(()), link).unwrap())
            .unwrap_err();
        assert!(matches!(err, AppInterfaceError::StateTwice { .. }), "{err}");
        all.add(AppInterface::from_wit_text(other, "app.b", state, link).unwrap())
            .unwrap();
    }

    #[test]
    fn the_verdict_names_the_interface_and_the_permission() {
        let mut all = AppInterfaces::default();
        let wit = "package my:app@1.2.0;\ninterface notify { f: func(); }";
        let link = |_: &mut Linker<PluginContext>, _: Getter<()>| Ok(());
        all.add(AppInterface::from_wit_text(wit, "app.notify", Arc::new(()), link).unwrap())
            .unwrap();
        let offer = all.link(&mut Linker::new(&wasmtime::Engine::default())).unwrap();
        let granted = Policy {
            app: vec!["app.notify".into()],
            ..Policy::deny_all()
        };
        assert!(matches!(
            offer.verdict("my:app/notify", Some("1.0.0"), &granted),
            Some(ImportVerdict::Linked(_))
        ));
        assert_eq!(offer.verdict("my:app/other", Some("1.0.0"), &granted), None);
        let Some(ImportVerdict::Refused(why)) = offer.verdict("my:app/notify", Some("1.0.0"), &Policy::deny_all())
        else {
            panic!("refused without the permission");
        };
        assert!(
            why.contains("`my:app/notify` needs the permission `app.notify`"),
            "{why}"
        );
        let Some(ImportVerdict::Refused(why)) = offer.verdict("my:app/notify", Some("1.3.0"), &granted) else {
            panic!("refused: newer than offered");
        };
        assert!(why.contains("offers `my:app/notify` at 1.2.0, not 1.3.0"), "{why}");
    }
}
