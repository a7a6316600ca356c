//! The host calls `task-events@2.2.0` added: `commands.invoke`,
//! `resources.read`/`list` and `locale.translate`/`language`.
//!
//! Each checks its arguments' size first (`max-value`), counts as a host
//! call, and refuses what the plugin may not do with a WIT error; nothing
//! here strikes a plugin.
//!
//! Bounds: an invocation's name is at most 256 bytes and its arguments
//! weigh at most `max-value`; it runs under the provider's limits and ends
//! with the caller's deadline (the caller's clock keeps running while it
//! waits); chains are at most [`MAX_INVOKE_DEPTH`] plugins. A resource read
//! returns at most `max-value` bytes ([`crate::resources`]); a translation
//! is at most `max-value` bytes with its arguments in ([`crate::locale`]).

use std::time::Instant;

use plugboard_contract::PluginError;

use crate::abuse::{AbuseKind, LimitExceeded};
use crate::bindings::v2::plugboard::task_events::{commands, locale, resources, types};
use crate::context::{Invocation, PluginContext};
use crate::limits::{MAX_INVOKE_DEPTH, MAX_NAME_BYTES};
use crate::locale::MAX_LOCALE_KEY_BYTES;
use crate::weight;

impl PluginContext {
    /// `commands.invoke`: runs `<plugin-id>.<command>` of another plugin.
    pub(crate) async fn invoke_command(
        &mut self,
        name: String,
        args: Vec<String>,
    ) -> wasmtime::Result<Result<String, PluginError>> {
        self.enter()?;
        self.check_size("command invocation", weight::text(&name) + weight::texts(&args))?;
        let request = match self.invocation(&name, args) {
            Ok(request) => request,
            Err(refused) => return Ok(Err(refused)),
        };
        let Some(neighbours) = self.neighbours.as_ref().and_then(std::sync::Weak::upgrade) else {
            return Ok(Err(PluginError::NotFound(format!(
                "plugin `{}` is not loaded beside this one",
                request.plugin
            ))));
        };
        let answer = neighbours.invoke(request).await;
        Ok(match answer {
            Ok(text) if text.len() as u64 > self.limits.max_value => Err(PluginError::Invalid(format!(
                "`{name}` answered {} bytes; the most this plugin takes is {}",
                text.len(),
                self.limits.max_value
            ))),
            other => other,
        })
    }

    /// Checks an invocation before anything runs: the name, the chain it
    /// would continue (never back to a plugin in it), the grant, the
    /// dependency, and the chain's length.
    fn invocation(&mut self, name: &str, args: Vec<String>) -> Result<Invocation, PluginError> {
        if name.len() > MAX_NAME_BYTES {
            return Err(PluginError::Invalid(format!(
                "command name is {} bytes; the most is {MAX_NAME_BYTES}",
                name.len()
            )));
        }
        let Some((plugin, command)) = name.rsplit_once('.').filter(|(p, c)| !p.is_empty() && !c.is_empty()) else {
            return Err(PluginError::Invalid(format!(
                "command {name:?} does not name its plugin; expected PLUGIN-ID.COMMAND"
            )));
        };
        if plugin == &*self.plugin_id || self.chain.iter().any(|p| &**p == plugin) {
            let mut path: Vec<&str> = self.chain.iter().map(|p| &**p).collect();
            path.push(&*self.plugin_id);
            path.push(plugin);
            return Err(PluginError::Invalid(format!(
                "invoking `{name}` would run `{plugin}` again inside its own call ({}); a plugin may not invoke \
                 itself, directly or through other plugins",
                path.join(" -> ")
            )));
        }
        if !self.policy.commands.iter().any(|granted| granted == name) {
            let requested = self.requested.commands.iter().any(|r| r == name);
            return Err(self.deny(&format!("commands.invoke:{name}"), requested));
        }
        let depends = self
            .manifest
            .as_ref()
            .is_some_and(|m| m.dependencies.keys().any(|id| id.as_str() == plugin));
        if !depends {
            return Err(PluginError::Denied(format!(
                "plugin `{}` invokes `{name}` but does not name `{plugin}` in its [dependencies]",
                self.plugin_id
            )));
        }
        if self.chain.len() + 1 >= MAX_INVOKE_DEPTH {
            return Err(PluginError::Invalid(format!(
                "invoking `{name}` would make a chain of {} plugins; the most is {MAX_INVOKE_DEPTH}",
                self.chain.len() + 2
            )));
        }
        let mut chain = self.chain.clone();
        chain.push(self.plugin_id.clone());
        Ok(Invocation {
            chain,
            plugin: plugin.to_string(),
            command: command.to_string(),
            args,
            ends: self.call_ends.unwrap_or_else(Instant::now),
        })
    }

    /// `resources.read`: one of the plugin's own resource files.
    pub(crate) fn read_resource(&mut self, path: &str) -> wasmtime::Result<Result<Vec<u8>, PluginError>> {
        self.enter()?;
        self.check_size("resource path", weight::text(path))?;
        Ok(self.resources.read(path, self.limits.max_value))
    }

    /// `resources.list`: the plugin's resource files.
    pub(crate) fn list_resources(&mut self) -> wasmtime::Result<Result<Vec<String>, PluginError>> {
        self.enter()?;
        Ok(self.resources.list().and_then(|list| {
            if weight::texts(&list) > self.limits.max_value {
                return Err(PluginError::Invalid(format!(
                    "the list of {} resource files is larger than the {} bytes a call returns",
                    list.len(),
                    self.limits.max_value
                )));
            }
            Ok(list)
        }))
    }

    /// `locale.translate`: `key` in the user's language, its arguments in.
    pub(crate) fn translate(&mut self, key: &str, args: &[(String, String)]) -> wasmtime::Result<String> {
        self.enter()?;
        let size = weight::text(key) + args.iter().map(|(n, v)| weight::text(n) + weight::text(v)).sum::<u64>();
        self.check_size("translation request", size)?;
        if key.len() > MAX_LOCALE_KEY_BYTES {
            return Err(LimitExceeded::trap(
                AbuseKind::LargeValue,
                format!(
                    "asked to translate a key of {} bytes; the most is {MAX_LOCALE_KEY_BYTES}",
                    key.len()
                ),
            ));
        }
        let packs = match self.neighbours.as_ref().and_then(std::sync::Weak::upgrade) {
            Some(neighbours) => neighbours.translations_for(&self.plugin_id),
            None => Vec::new(),
        };
        let template = self.translations.lookup(key, &packs).unwrap_or(key);
        let max = usize::try_from(self.limits.max_value).unwrap_or(usize::MAX);
        crate::locale::fill(template, args, max).ok_or_else(|| {
            LimitExceeded::trap(
                AbuseKind::LargeValue,
                format!("the translation of {key:?} with its arguments is longer than {max} bytes"),
            )
        })
    }
}

fn to_wit<T>(result: wasmtime::Result<Result<T, PluginError>>) -> wasmtime::Result<Result<T, types::Error>> {
    result.map(|r| r.map_err(types::Error::from))
}

impl commands::Host for PluginContext {
    async fn invoke(&mut self, name: String, args: Vec<String>) -> wasmtime::Result<Result<String, types::Error>> {
        to_wit(self.invoke_command(name, args).await)
    }
}

impl resources::Host for PluginContext {
    fn read(&mut self, path: String) -> wasmtime::Result<Result<Vec<u8>, types::Error>> {
        to_wit(self.read_resource(&path))
    }

    fn list(&mut self) -> wasmtime::Result<Result<Vec<String>, types::Error>> {
        to_wit(self.list_resources())
    }
}

impl locale::Host for PluginContext {
    fn translate(&mut self, key: String, args: Vec<(String, String)>) -> wasmtime::Result<String> {
        PluginContext::translate(self, &key, &args)
    }

    fn language(&mut self) -> wasmtime::Result<String> {
        self.enter()?;
        Ok(self.translations.user_language().to_string())
    }
}
