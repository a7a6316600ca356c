//! The plugins of a run as the CLI follows them (which world each speaks,
//! which could not start or were quarantined), and how each event's report
//! is printed: one line per plugin, then what emitted events did, then the
//! quarantines.

use plugboard::display::escaped;
use std::sync::Arc;

use plugboard::types::Event;
use plugboard::{CallEffects, Delivery, DispatchReport, Host, LoadedPlugin, Outcome, QuarantineRecord, StrikePolicy};
use plugboard_host::limits::MAX_EMIT_DEPTH;
use plugboard_host::{AbuseKind, Policy, WorldVersion};
use plugboard_manifest::{Manifest, Subscription};

use crate::describe;

/// A plugin of this run, as the CLI reports on it: what it is and what has
/// become of it.
pub struct Member {
    /// Its id.
    pub id: String,
    /// The world it speaks.
    pub world: WorldVersion,
    /// Its manifest.
    pub manifest: Arc<Manifest>,
    /// What it may do.
    pub policy: Arc<Policy>,
    /// What has become of it.
    pub state: MemberState,
}

/// What has become of a plugin during the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// It gets the events it subscribed to and was granted.
    Running,
    /// Its start failed (init refused or trapped).
    CouldNotStart,
    /// The host quarantined it during this run.
    Quarantined,
}

/// The plugins of the run, in the order they receive events.
pub struct Roster {
    /// The plugins, in order.
    pub members: Vec<Member>,
}

impl Roster {
    /// The plugins loaded, each running; data-only plugins have nothing to run.
    pub fn of<'p>(plugins: impl Iterator<Item = &'p LoadedPlugin>) -> Roster {
        let members = plugins
            .filter_map(|plugin| {
                Some(Member {
                    id: plugin.id().to_string(),
                    world: plugin.world()?.version,
                    manifest: plugin.manifest.clone(),
                    policy: plugin.policy.clone(),
                    state: MemberState::Running,
                })
            })
            .collect();
        Roster { members }
    }

    /// Follows the plugins the host has now, after hot reloads: a plugin
    /// added is running, an unloaded one is gone (a quarantined one stays,
    /// to be reported as such), a new build of one starts afresh with its
    /// new manifest and policy.
    pub fn follow(&mut self, plugins: &[LoadedPlugin]) {
        let mut loaded = Roster::of(plugins.iter()).members;
        let mut members = Vec::with_capacity(loaded.len());
        for member in self.members.drain(..) {
            match loaded.iter().position(|fresh| fresh.id == member.id) {
                Some(index) => {
                    let fresh = loaded.remove(index);
                    let same_build = Arc::ptr_eq(&fresh.manifest, &member.manifest);
                    members.push(if same_build { member } else { fresh });
                }
                None if member.state == MemberState::Quarantined => members.push(member),
                None => {}
            }
        }
        members.extend(loaded);
        self.members = members;
    }

    /// A plugin id with the world it speaks, `auto-tag [task-events@2]`, so a
    /// reader sees which plugins get events through the v1 adapter.
    pub fn label(&self, id: &str) -> String {
        match self.members.iter().find(|m| m.id == id) {
            Some(member) => format!("{id} [{}]", member.world),
            None => id.to_string(),
        }
    }

    /// Records what has become of plugin `id`.
    pub fn set_state(&mut self, id: &str, state: MemberState) {
        if let Some(member) = self.members.iter_mut().find(|m| m.id == id) {
            member.state = state;
        }
    }
}

/// A plugin left out because it is quarantined.
pub fn print_skipped(record: &QuarantineRecord) {
    println!(
        "  skipping {}: quarantined {} (`plugboard enable {}` lets it load again)",
        record.plugin,
        escaped(&describe::quarantined_since(record)),
        record.plugin
    );
}

/// A plugin the host quarantined during the run.
pub fn print_quarantined(roster: &mut Roster, record: &QuarantineRecord) {
    println!(
        "  QUARANTINED: {} ({}): {}",
        record.plugin,
        record.kind,
        escaped(&record.reason)
    );
    roster.set_state(&record.plugin, MemberState::Quarantined);
}

/// Prints one line per plugin of the run for the application's event, then
/// the deliveries of events plugins emitted, then the quarantines.
pub fn print_report(roster: &mut Roster, event: &Event, report: &DispatchReport, strikes: &Strikes<'_>) {
    for member in &roster.members {
        let label = roster.label(&member.id);
        match report
            .deliveries
            .iter()
            .find(|d| d.depth == 0 && *d.plugin == *member.id)
        {
            Some(delivery) => {
                print_delivery(&label, delivery);
                strikes.print(delivery);
            }
            None => println!("  {label}: not offered ({})", why_not_offered(member, event)),
        }
    }
    for delivery in report.deliveries.iter().filter(|d| d.depth > 0) {
        let label = format!(
            "{} <- {} (emitted, depth {})",
            roster.label(&delivery.plugin),
            delivery.event,
            delivery.depth
        );
        print_delivery(&label, delivery);
        strikes.print(delivery);
    }
    for (emitter, topic) in &report.dropped_emits {
        println!(
            "  dropped custom:{} from {emitter}: the chain of emitted events is deeper than {MAX_EMIT_DEPTH}",
            escaped(topic)
        );
    }
    for record in &report.quarantined {
        print_quarantined(roster, record);
    }
}

/// Why the host did not offer `event` to a plugin, from what the CLI knows
/// of it: the host reports only the plugins it offered the event to.
fn why_not_offered(member: &Member, event: &Event) -> String {
    match member.state {
        MemberState::Quarantined => return "quarantined".to_string(),
        MemberState::Running | MemberState::CouldNotStart => {}
    }
    let events = &member.manifest.events;
    let policy = &member.policy;
    let (subscribed, granted, name) = match event {
        Event::Custom(custom) => (
            events.subscribes_to_custom(&custom.topic),
            policy.receives_custom(&custom.topic),
            format!("custom:{}", custom.topic),
        ),
        _ => {
            let subscription = subscription(event);
            (
                events.subscribes(&subscription),
                policy.receives(&subscription),
                subscription.to_string(),
            )
        }
    };
    if !subscribed {
        return format!("not subscribed to {name}");
    }
    if !granted {
        return format!("subscribe:{name} not granted");
    }
    if let Event::Timer(timer) = event
        && !events.timers.iter().any(|t| &t.name == timer)
    {
        return format!("it has no timer {timer:?}");
    }
    match member.state {
        MemberState::CouldNotStart => "it could not start, see above".to_string(),
        _ => "the host did not say why".to_string(),
    }
}

/// What a manifest subscribes to for receiving `event`.
fn subscription(event: &Event) -> Subscription {
    match event {
        Event::TaskCreated(_) => Subscription::TaskCreated,
        Event::TaskModified(_) => Subscription::TaskModified,
        Event::TaskDeleted(_) => Subscription::TaskDeleted,
        Event::SyncCompleted(_) => Subscription::SyncCompleted,
        Event::Timer(_) => Subscription::Timer,
        Event::Custom(custom) => Subscription::Custom(custom.topic.clone()),
    }
}

/// Where to read the strikes a plugin has collected, and what they lead to.
pub struct Strikes<'a> {
    /// The host whose strikes to read.
    pub host: &'a Host,
    /// What the strikes lead to.
    pub policy: &'a StrikePolicy,
}

impl Strikes<'_> {
    /// After a delivery that cost the plugin a strike: how many of that kind
    /// it has now, and how many put it in quarantine. Nothing for a plugin
    /// the host has already quarantined (its `QUARANTINED` line follows).
    pub fn print(&self, delivery: &Delivery) {
        let Some(strikes) = self.host.strikes(&delivery.plugin) else {
            return;
        };
        let mut kinds = Vec::new();
        // Only calls to what the manifest never requested are struck.
        if delivery.effects.denied_unrequested > 0 {
            kinds.push(AbuseKind::Denied);
        }
        if let Outcome::Trapped(abuse) = &delivery.outcome
            && !kinds.contains(&abuse.kind)
        {
            kinds.push(abuse.kind);
        }
        for kind in kinds {
            match self.policy.threshold(kind) {
                0 => println!(
                    "    strikes for {kind}: {} (never quarantined for it)",
                    strikes.count(kind)
                ),
                threshold => println!(
                    "    strikes for {kind}: {} of {threshold} before quarantine",
                    strikes.count(kind)
                ),
            }
        }
    }
}

/// What one delivery did.
fn print_delivery(label: &str, delivery: &Delivery) {
    println!("  {label}: {}", escaped(&describe::outcome(&delivery.outcome)));
    print_effects(&delivery.effects);
}

/// What one call did, one indented line each.
pub fn print_effects(effects: &CallEffects) {
    for line in describe::effects(effects) {
        println!("    {}", escaped(&line));
    }
}
