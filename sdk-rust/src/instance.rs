//! The one plugin value a component instance keeps between host calls.
//!
//! The host reuses a component instance for many events, so a value kept
//! here lives from the first call until the host drops the instance (when
//! it unloads an idle plugin, or after a trap). It is never saved: data that
//! must outlive the instance belongs in the host's `state` store.
//!
//! Exclusive access is sound because a component instance is single-threaded
//! and the component model forbids re-entering an instance while one of its
//! exports runs, so no two handler calls can overlap.

use std::any::Any;
use std::cell::RefCell;

thread_local! {
    static INSTANCE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// Runs `f` on the plugin value, making it with [`Default`] on first use.
pub(crate) fn with<P: Default + 'static, R>(f: impl FnOnce(&mut P) -> R) -> R {
    INSTANCE.with_borrow_mut(|slot| {
        let value = slot.get_or_insert_with(|| Box::new(P::default()));
        let plugin = value
            .downcast_mut::<P>()
            .expect("a plugin component exports exactly one plugin type");
        f(plugin)
    })
}
