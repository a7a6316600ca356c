//! The `[events]` table: which events a plugin wants, which topics it may emit and
//! which timers the host runs for it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::de::{parsed, refuse_duplicates, unique_list};
use crate::error::InvalidValue;
use crate::names::check_topic;

/// The `[events]` table; every list defaults to empty (the plugin receives nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", expecting = "the [events] table")]
pub struct Events {
    /// The events delivered to the plugin.
    #[serde(default, deserialize_with = "unique_list")]
    pub subscribe: Vec<Subscription>,
    /// The custom topics the plugin may emit.
    #[serde(default, deserialize_with = "emits")]
    pub emits: Vec<String>,
    /// The timers the host fires for the plugin.
    #[serde(default, deserialize_with = "timers")]
    pub timers: Vec<Timer>,
}

impl Events {
    /// Whether the plugin receives `event`; `custom:*` covers every custom topic.
    pub fn subscribes(&self, event: &Subscription) -> bool {
        self.subscribe.iter().any(|own| {
            own == event
                || matches!((own, event), (Subscription::Custom(all), Subscription::Custom(_)) if all == Subscription::ANY_TOPIC)
        })
    }

    /// Whether the plugin receives custom events on `topic`.
    pub fn subscribes_to_custom(&self, topic: &str) -> bool {
        self.subscribes(&Subscription::Custom(topic.to_owned()))
    }

    /// Whether the plugin may emit custom events on `topic`.
    pub fn may_emit(&self, topic: &str) -> bool {
        self.emits.iter().any(|own| own == topic)
    }
}

/// An event kind a plugin subscribes to, written as in `subscribe = [...]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subscription {
    /// `task-created`.
    TaskCreated,
    /// `task-modified`.
    TaskModified,
    /// `task-deleted`.
    TaskDeleted,
    /// `sync-completed`.
    SyncCompleted,
    /// `timer`: the plugin's own timers from `[events].timers`.
    Timer,
    /// `custom:PLUGIN-ID/TOPIC`: the events another plugin emits on one of
    /// the topics it declares (the host names them with the emitter's id in
    /// front); `custom:TOPIC`: the application's own custom events;
    /// `custom:*`: every custom event.
    Custom(String),
}

impl Subscription {
    /// The topic of `custom:*`, which matches every custom topic.
    pub const ANY_TOPIC: &str = "*";
}

const CUSTOM_PREFIX: &str = "custom:";

const KINDS: &str = "task-created, task-modified, task-deleted, sync-completed, timer, custom:PLUGIN-ID/TOPIC, custom:TOPIC or custom:*";

impl fmt::Display for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TaskCreated => f.write_str("task-created"),
            Self::TaskModified => f.write_str("task-modified"),
            Self::TaskDeleted => f.write_str("task-deleted"),
            Self::SyncCompleted => f.write_str("sync-completed"),
            Self::Timer => f.write_str("timer"),
            Self::Custom(topic) => write!(f, "{CUSTOM_PREFIX}{topic}"),
        }
    }
}

impl FromStr for Subscription {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        Ok(match text {
            "task-created" => Self::TaskCreated,
            "task-modified" => Self::TaskModified,
            "task-deleted" => Self::TaskDeleted,
            "sync-completed" => Self::SyncCompleted,
            "timer" => Self::Timer,
            _ => {
                let Some(topic) = text.strip_prefix(CUSTOM_PREFIX) else {
                    return Err(InvalidValue::new(format!(
                        "unknown event \"{text}\"; expected one of {KINDS}"
                    )));
                };
                match topic.split_once('/') {
                    // Another plugin's topic, which the host names
                    // `<plugin-id>/<topic>` when it delivers it.
                    Some((plugin, own)) => {
                        plugin
                            .parse::<crate::plugin::PluginId>()
                            .map_err(|error| InvalidValue::new(format!("in event \"{text}\": {}", error.message())))?;
                        check_topic("topic", own)?;
                    }
                    None if topic == Self::ANY_TOPIC => {}
                    // A topic the application itself dispatches.
                    None => check_topic("topic", topic)?,
                }
                Self::Custom(topic.to_owned())
            }
        })
    }
}

impl<'de> Deserialize<'de> for Subscription {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parsed(deserializer, "an event name like \"task-created\" or \"custom:TOPIC\"")
    }
}

/// A timer the host fires for the plugin as a `timer` event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a timer like { name = \"hourly\", interval = \"1h\" }"
)]
pub struct Timer {
    /// The name the plugin sees in the timer event; unique within the plugin.
    #[serde(deserialize_with = "timer_name")]
    pub name: String,
    /// How often the timer fires.
    #[serde(deserialize_with = "timer_interval")]
    pub interval: Duration,
}

impl Timer {
    /// The shortest and longest interval: under 100 ms a timer is a busy loop by
    /// another name; over 30 days it outlives any reasonable app session.
    pub const INTERVAL: std::ops::RangeInclusive<Duration> =
        Duration::from_millis(100)..=Duration::from_secs(30 * 86_400);

    /// The most timers one plugin may declare: the host keeps a schedule
    /// for each, and fires at most a few per second per plugin anyway.
    pub const MAX_PER_PLUGIN: usize = 16;
}

/// A topic name; only a reader for `emits` and timer names.
struct Topic(String);

impl FromStr for Topic {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        check_topic("topic", text)?;
        Ok(Self(text.to_owned()))
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parsed(deserializer, "a topic name like \"tags-changed\"")
    }
}

fn emits<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let topics: Vec<String> = Vec::<Topic>::deserialize(deserializer)?
        .into_iter()
        .map(|topic| topic.0)
        .collect();
    refuse_duplicates(&topics, String::clone).map_err(serde::de::Error::custom)?;
    Ok(topics)
}

fn timer_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let name = String::deserialize(deserializer)?;
    check_topic("timer name", &name).map_err(serde::de::Error::custom)?;
    Ok(name)
}

fn timer_interval<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    crate::duration::deserialize_in(deserializer, Timer::INTERVAL)
}

fn timers<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Timer>, D::Error> {
    let timers = Vec::<Timer>::deserialize(deserializer)?;
    if timers.len() > Timer::MAX_PER_PLUGIN {
        return Err(serde::de::Error::custom(format!(
            "{} timers; a plugin may declare at most {}",
            timers.len(),
            Timer::MAX_PER_PLUGIN
        )));
    }
    refuse_duplicates(&timers, |timer| timer.name.clone())
        .map_err(|message| serde::de::Error::custom(format!("timer name {message}")))?;
    Ok(timers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_round_trip() {
        for text in [
            "task-created",
            "task-modified",
            "task-deleted",
            "sync-completed",
            "timer",
            "custom:tags-changed",
            "custom:auto-tag/tags-changed",
            "custom:org.example.tagger/done",
            "custom:*",
        ] {
            let subscription: Subscription = text.parse().expect(text);
            assert_eq!(subscription.to_string(), text);
        }
        assert_eq!(
            "custom:a.b_c-1".parse::<Subscription>(),
            Ok(Subscription::Custom("a.b_c-1".to_owned()))
        );
    }

    #[test]
    fn unknown_kinds_and_bad_topics_are_refused() {
        let message = "task-renamed".parse::<Subscription>().expect_err("unknown").to_string();
        assert_eq!(
            message,
            "unknown event \"task-renamed\"; expected one of task-created, task-modified, task-deleted, sync-completed, \
             timer, custom:PLUGIN-ID/TOPIC, custom:TOPIC or custom:*"
        );
        let message = "custom:".parse::<Subscription>().expect_err("empty topic").to_string();
        assert!(message.contains("topic is empty"), "{message}");
        let message = "custom:Tags"
            .parse::<Subscription>()
            .expect_err("uppercase")
            .to_string();
        assert!(message.contains("topic \"Tags\" contains 'T'"), "{message}");
        let message = "custom:a*".parse::<Subscription>().expect_err("star").to_string();
        assert!(message.contains("contains '*'"), "{message}");
        // Another plugin's topic: a valid plugin id, one '/', a valid topic.
        let message = "custom:Auto/x".parse::<Subscription>().expect_err("bad id").to_string();
        assert!(
            message.contains("in event \"custom:Auto/x\": plugin id \"Auto\" contains 'A'"),
            "{message}"
        );
        let message = "custom:auto-tag/a/b"
            .parse::<Subscription>()
            .expect_err("two slashes")
            .to_string();
        assert!(message.contains("topic \"a/b\" contains '/'"), "{message}");
        let message = "custom:auto-tag/"
            .parse::<Subscription>()
            .expect_err("no topic")
            .to_string();
        assert!(message.contains("topic is empty"), "{message}");
    }

    #[test]
    fn custom_star_covers_every_topic_and_only_custom_ones() {
        let all = Events {
            subscribe: vec![Subscription::Custom("*".to_owned()), Subscription::Timer],
            ..Events::default()
        };
        assert!(all.subscribes_to_custom("anything"));
        assert!(all.subscribes(&Subscription::Timer));
        assert!(!all.subscribes(&Subscription::TaskCreated));

        let one = Events {
            subscribe: vec![Subscription::Custom("tags-changed".to_owned())],
            ..Events::default()
        };
        assert!(one.subscribes_to_custom("tags-changed"));
        assert!(!one.subscribes_to_custom("other"));
        assert!(!one.subscribes(&Subscription::Custom("*".to_owned())));
        assert!(!Events::default().subscribes_to_custom("tags-changed"));
    }
}
