//! The cases: each drives a fresh host (fresh stores, fixed clock) with one
//! world's fixture and checks what the plugin observed and did.

use std::sync::Arc;

use plugboard_contract::TaskStore;
use plugboard_contract::task_store::new_task;
use plugboard_contract::{CustomEvent, Event, NewTask, Priority, Status, SyncSummary, Task, TaskModification};
use plugboard_host::{
    CommandError, DispatchReport, Dispatcher, Grants, HostServices, InMemoryStateStore, InMemoryTaskStore, LoadOptions,
    LogLevel, Outcome, Runtime, WorldVersion,
};
use plugboard_manifest::Manifest;

use crate::{Fixture, Verdict};

/// One conformance case.
pub struct Case {
    /// What it checks, as shown in the matrix.
    pub name: &'static str,
    pub(crate) run: fn(&Runtime, &Fixture) -> Verdict,
}

/// The time the fixed clock shows.
const NOW: i64 = 1_700_000_000_000;

type Check = Result<(), String>;

fn verdict(result: Option<Check>) -> Verdict {
    match result {
        None => Verdict::NotApplicable,
        Some(Ok(())) => Verdict::Pass,
        Some(Err(why)) => Verdict::Fail(why),
    }
}

fn ensure(condition: bool, why: impl FnOnce() -> String) -> Check {
    if condition { Ok(()) } else { Err(why()) }
}

/// A fresh host with the fixture loaded.
struct Bench {
    dispatcher: Dispatcher,
    tasks: Arc<InMemoryTaskStore>,
}

impl Bench {
    fn new(runtime: &Runtime, fixture: &Fixture) -> Bench {
        Bench::with(runtime, fixture.plugin.clone())
    }

    /// A fresh host with `plugin` loaded.
    fn with(runtime: &Runtime, plugin: plugboard_host::LoadedPlugin) -> Bench {
        let tasks = Arc::new(InMemoryTaskStore::new());
        let services = HostServices {
            tasks: tasks.clone(),
            state: Arc::new(InMemoryStateStore::new()),
            clock: Arc::new(|| NOW),
        };
        let dispatcher = Dispatcher::new(runtime, services);
        // The fixture loaded before; adding it to a fresh dispatcher cannot clash.
        let _ = dispatcher.add(plugin);
        Bench { dispatcher, tasks }
    }

    fn task(&self, title: &str, edit: impl FnOnce(&mut NewTask)) -> Task {
        let mut new = new_task(title);
        edit(&mut new);
        // The in-memory store accepts any non-empty title; the fixtures'
        // titles all are.
        self.tasks
            .create(new, NOW - 1_000)
            .unwrap_or_else(|e| panic!("creating {title:?}: {e}"))
    }

    fn created(&self, title: &str) -> (Task, DispatchReport) {
        let task = self.task(title, |_| {});
        let report = self.dispatcher.dispatch_blocking(&Event::TaskCreated(task.clone()));
        (task, report)
    }
}

fn logs(report: &DispatchReport) -> Vec<String> {
    report
        .deliveries
        .iter()
        .flat_map(|d| d.effects.logs.iter().map(|l| l.message.clone()))
        .collect()
}

fn expect_log(report: &DispatchReport, line: &str) -> Check {
    let lines = logs(report);
    ensure(lines.iter().any(|l| l == line), || {
        format!("expected the log line {line:?}, got {lines:?}")
    })
}

fn expect_handled(report: &DispatchReport) -> Check {
    ensure(
        !report.deliveries.is_empty() && report.deliveries.iter().all(|d| d.outcome == Outcome::Handled),
        || format!("expected every delivery handled, got {:?}", outcomes(report)),
    )
}

fn outcomes(report: &DispatchReport) -> Vec<(String, Outcome)> {
    report
        .deliveries
        .iter()
        .map(|d| (d.plugin.to_string(), d.outcome.clone()))
        .collect()
}

fn expect_not_delivered(report: &DispatchReport) -> Check {
    ensure(
        report.deliveries.len() == 1
            && matches!(report.deliveries[0].outcome, Outcome::NotDelivered(_))
            && report.deliveries[0].effects.logs.is_empty(),
        || format!("expected the event not to be delivered, got {:?}", outcomes(report)),
    )
}

/// A case every world must pass.
fn all_worlds(check: impl FnOnce() -> Check) -> Verdict {
    verdict(Some(check()))
}

/// A case only worlds since v2 have.
fn v2_only(fixture: &Fixture, check: impl FnOnce() -> Check) -> Verdict {
    verdict((fixture.world == WorldVersion::V2).then(check))
}

/// A case only fixtures built against 2.`minor` or later have.
fn since_2(minor: u64, fixture: &Fixture, check: impl FnOnce() -> Check) -> Verdict {
    verdict((fixture.world == WorldVersion::V2 && fixture.minor >= minor).then(check))
}

/// The fixture's manifest under another id: a peer to emit to or invoke.
fn peer_of(runtime: &Runtime, fixture: &Fixture, id: &str) -> Result<plugboard_host::LoadedPlugin, String> {
    let own = format!("id = \"{}\"", fixture.plugin.id());
    let text = fixture.manifest_text.replace(&own, &format!("id = \"{id}\""));
    load_text(runtime, fixture, &text)
}

/// The fixture's component under the manifest `text`.
fn load_text(runtime: &Runtime, fixture: &Fixture, text: &str) -> Result<plugboard_host::LoadedPlugin, String> {
    let origin = fixture
        .plugin
        .component_path()
        .ok_or("the conformance fixture has no component")?;
    let manifest = Manifest::parse(text, &fixture.plugin.dir.join("plugin.toml")).map_err(|e| e.to_string())?;
    runtime
        .load_bytes(
            manifest,
            &fixture.plugin.dir,
            origin,
            &fixture.bytes,
            &crate::fixture_options(),
        )
        .map_err(|e| e.to_string())
}

fn init(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    v2_only(fixture, || {
        let bench = Bench::new(runtime, fixture);
        let started = bench.dispatcher.start_all_blocking();
        let [(_, Ok(effects))] = started.as_slice() else {
            return Err(format!("init did not succeed: {started:?}"));
        };
        let lines: Vec<&str> = effects.logs.iter().map(|l| l.message.as_str()).collect();
        ensure(lines == ["init greeting=hello"], || {
            format!("expected init to receive the manifest's config, it logged {lines:?}")
        })?;
        let (_, report) = bench.created("plain");
        expect_handled(&report)
    })
}

fn task_created(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    all_worlds(|| {
        let bench = Bench::new(runtime, fixture);
        let task = bench.task("Plain", |t| {
            t.tags = vec!["a".into(), "b".into()];
            t.priority = Priority::High;
            t.project = Some("p".into());
            t.due = Some(5);
        });
        let report = bench.dispatcher.dispatch_blocking(&Event::TaskCreated(task));
        expect_handled(&report)?;
        match fixture.world {
            WorldVersion::V1 => expect_log(&report, "task-created title=Plain done=false tags=a,b"),
            WorldVersion::V2 | WorldVersion::V3Dev => expect_log(
                &report,
                "task-created title=Plain status=pending priority=high project=p tags=a,b due=5 attrs= annotations=0",
            ),
        }
    })
}

fn task_modified(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    all_worlds(|| {
        let bench = Bench::new(runtime, fixture);
        let before = bench.task("Old", |_| {});
        let mut after = before.clone();
        after.title = "New".into();
        after.status = Status::Completed;
        let report = bench
            .dispatcher
            .dispatch_blocking(&Event::TaskModified(TaskModification { before, after }));
        expect_handled(&report)?;
        match fixture.world {
            WorldVersion::V1 => expect_log(
                &report,
                "task-modified title=Old done=false tags= -> title=New done=true tags=",
            ),
            WorldVersion::V2 | WorldVersion::V3Dev => expect_log(
                &report,
                "task-modified title=Old status=pending priority=none project=- tags= due=- attrs= annotations=0 -> \
                 title=New status=completed priority=none project=- tags= due=- attrs= annotations=0",
            ),
        }
    })
}

fn task_deleted(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    all_worlds(|| {
        let bench = Bench::new(runtime, fixture);
        let task = bench.task("Gone", |_| {});
        let report = bench.dispatcher.dispatch_blocking(&Event::TaskDeleted(task));
        expect_handled(&report)?;
        match fixture.world {
            WorldVersion::V1 => expect_log(&report, "task-deleted title=Gone done=false tags="),
            WorldVersion::V2 | WorldVersion::V3Dev => expect_log(
                &report,
                "task-deleted title=Gone status=pending priority=none project=- tags= due=- attrs= annotations=0",
            ),
        }
    })
}

/// Events that exist only since v2: delivered there, not delivered to v1.
fn v2_event(runtime: &Runtime, fixture: &Fixture, event: Event, expected: &str) -> Verdict {
    all_worlds(|| {
        let bench = Bench::new(runtime, fixture);
        let report = bench.dispatcher.dispatch_blocking(&event);
        match fixture.world {
            WorldVersion::V1 => expect_not_delivered(&report),
            WorldVersion::V2 | WorldVersion::V3Dev => {
                expect_handled(&report)?;
                expect_log(&report, expected)
            }
        }
    })
}

fn sync_completed(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    let event = Event::SyncCompleted(SyncSummary {
        pulled: 3,
        pushed: 1,
        conflicts: 2,
    });
    v2_event(runtime, fixture, event, "sync-completed pulled=3 pushed=1 conflicts=2")
}

fn timer(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    v2_event(runtime, fixture, Event::Timer("hourly".into()), "timer hourly")
}

fn custom(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    let event = Event::Custom(CustomEvent {
        topic: "news".into(),
        payload: b"hi".to_vec(),
        source: "app".into(),
    });
    v2_event(runtime, fixture, event, "custom topic=news source=app payload=hi")
}

fn tasks_get(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    all_worlds(|| {
        let (_, report) = Bench::new(runtime, fixture).created("call:get");
        expect_handled(&report)?;
        expect_log(&report, "get call:get")?;
        expect_log(&report, "get-missing none")
    })
}

fn tasks_query(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    v2_only(fixture, || {
        let bench = Bench::new(runtime, fixture);
        for title in ["first q", "second q"] {
            bench.task(title, |t| t.tags = vec!["q".into()]);
        }
        bench.task("untagged", |_| {});
        let (_, report) = bench.created("call:query");
        expect_handled(&report)?;
        expect_log(&report, "query first q|second q")?;
        expect_log(&report, "query-limited 1")
    })
}

fn tasks_create(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    v2_only(fixture, || {
        let bench = Bench::new(runtime, fixture);
        let (_, report) = bench.created("call:create");
        expect_handled(&report)?;
        let made: Vec<Task> = bench
            .tasks
            .all()
            .into_iter()
            .filter(|t| t.title == "made by plugin")
            .collect();
        ensure(made.len() == 1, || format!("expected one created task, found {made:?}"))?;
        let made = &made[0];
        ensure(
            made.tags == ["generated"] && made.priority == Priority::Low && made.created == NOW && made.id.len() == 36,
            || format!("created task has the wrong fields: {made:?}"),
        )?;
        expect_log(
            &report,
            "created 36 title=made by plugin status=pending priority=low project=- tags=generated due=- attrs= annotations=0",
        )
    })
}

fn tasks_update(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    all_worlds(|| {
        let bench = Bench::new(runtime, fixture);
        let task = bench.task("call:update", |t| t.tags = vec!["keep".into(), "drop-me".into()]);
        let report = bench.dispatcher.dispatch_blocking(&Event::TaskCreated(task.clone()));
        expect_handled(&report)?;
        let stored = bench.tasks.get(&task.id).ok().flatten().ok_or("the task vanished")?;
        match fixture.world {
            WorldVersion::V1 => ensure(
                stored.status == Status::Completed && stored.tags == ["keep", "updated"],
                || format!("update-task did not apply done and tags: {stored:?}"),
            ),
            WorldVersion::V2 | WorldVersion::V3Dev => ensure(
                stored.tags == ["keep", "drop-me", "updated"]
                    && stored.priority == Priority::High
                    && stored.project.as_deref() == Some("conformance")
                    && stored.annotations.len() == 1
                    && stored.annotations[0].time == NOW
                    && stored.modified == NOW,
                || format!("update did not apply the patch: {stored:?}"),
            ),
        }
    })
}

fn tasks_delete(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    v2_only(fixture, || {
        let bench = Bench::new(runtime, fixture);
        let (task, report) = bench.created("call:delete");
        expect_handled(&report)?;
        ensure(bench.tasks.get(&task.id) == Ok(None), || {
            "the task is still there".into()
        })?;
        expect_log(&report, "deleted")
    })
}

fn tasks_count(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    since_2(1, fixture, || {
        let bench = Bench::new(runtime, fixture);
        bench.task("one", |_| {});
        bench.task("two", |_| {});
        let (_, report) = bench.created("call:count");
        expect_log(&report, "count 3")
    })
}

fn state(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    v2_only(fixture, || {
        let (_, report) = Bench::new(runtime, fixture).created("call:state");
        expect_handled(&report)?;
        expect_log(&report, "state-get blue")?;
        expect_log(&report, "state-keys colour")?;
        expect_log(&report, "state-after-delete none")
    })
}

fn events_emit(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    v2_only(fixture, || {
        // A second copy of the fixture under another id receives what the
        // first emits (a plugin never receives its own events), namespaced
        // by the emitter's id.
        let own = fixture.plugin.id().to_string();
        let peer = peer_of(runtime, fixture, "conformance-peer")?;
        let bench = Bench::new(runtime, fixture);
        bench.dispatcher.add(peer).map_err(|e| e.to_string())?;
        let (_, report) = bench.created("call:emit");
        expect_handled(&report)?;
        let emitted: Vec<_> = report
            .deliveries
            .iter()
            .filter(|d| d.depth == 0)
            .flat_map(|d| d.effects.emitted.iter())
            .collect();
        ensure(
            emitted.len() == 2
                && emitted
                    .iter()
                    .all(|e| e.topic == "conformance.ping" && e.payload == b"ping"),
            || {
                format!(
                    "expected each copy to emit conformance.ping once, got {emitted:?} in {:?}",
                    report
                        .deliveries
                        .iter()
                        .map(|d| (d.plugin.to_string(), d.depth, d.outcome.clone()))
                        .collect::<Vec<_>>()
                )
            },
        )?;
        expect_log(
            &report,
            &format!("custom topic={own}/conformance.ping source={own} payload=ping"),
        )?;
        expect_log(
            &report,
            "custom topic=conformance-peer/conformance.ping source=conformance-peer payload=ping",
        )?;
        let custom_deliveries = report.deliveries.iter().filter(|d| d.event == "custom").count();
        ensure(custom_deliveries == 2, || {
            format!("expected 2 custom deliveries (none to the emitter itself), got {custom_deliveries}")
        })
    })
}

fn resources(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    since_2(2, fixture, || {
        let (_, report) = Bench::new(runtime, fixture).created("call:resources");
        expect_handled(&report)?;
        expect_log(&report, "resources greeting.txt,sub/note.txt")?;
        expect_log(&report, "resource greeting.txt Hello from resources")?;
        expect_log(
            &report,
            "resource ../plugin.toml invalid(resource path \"../plugin.toml\" has a '.' or '..' part)",
        )?;
        expect_log(
            &report,
            "resource /etc/passwd invalid(resource path \"/etc/passwd\" is absolute; give it relative to resources/)",
        )
    })
}

fn translate(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    since_2(2, fixture, || {
        let (_, report) = Bench::new(runtime, fixture).created("call:translate");
        expect_handled(&report)?;
        expect_log(
            &report,
            &format!("translate {} | Hallo, Ada! | no.such.key", crate::USER_LANGUAGE),
        )
    })
}

fn commands_invoke(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    since_2(2, fixture, || {
        let own = fixture.plugin.id().to_string();
        // The caller names the provider in its `[dependencies]`; a host
        // that finds plugins in folders refuses to load it without one.
        let caller = format!(
            "{}\n[dependencies]\nconformance-peer = \"0.1\"\n",
            fixture.manifest_text
        );
        let bench = Bench::with(runtime, load_text(runtime, fixture, &caller)?);
        bench
            .dispatcher
            .add(peer_of(runtime, fixture, "conformance-peer")?)
            .map_err(|e| e.to_string())?;
        let (_, report) = bench.created("call:invoke");
        // The peer got the same event and tried to invoke its own command.
        let outcome = |id: &str| {
            report
                .deliveries
                .iter()
                .find(|d| &*d.plugin == id)
                .map(|d| d.outcome.clone())
        };
        ensure(outcome(&own) == Some(Outcome::Handled), || {
            format!("expected the caller's delivery handled, got {:?}", outcomes(&report))
        })?;
        ensure(
            matches!(outcome("conformance-peer"), Some(Outcome::Rejected(why)) if why.contains("may not invoke itself")),
            || {
                format!(
                    "expected the peer's self-invocation refused, got {:?}",
                    outcomes(&report)
                )
            },
        )?;
        expect_log(&report, "invoke from peer")?;
        expect_log(
            &report,
            &format!("invoke-denied denied(plugin `{own}` was not granted `commands.invoke:conformance-peer.secret`)"),
        )
    })
}

fn log_levels(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    all_worlds(|| {
        let (_, report) = Bench::new(runtime, fixture).created("call:log");
        expect_handled(&report)?;
        let levels: Vec<(LogLevel, String)> = report
            .deliveries
            .iter()
            .flat_map(|d| d.effects.logs.iter())
            .filter(|l| l.message.starts_with("level "))
            .map(|l| (l.level, l.message.clone()))
            .collect();
        let expected = [
            (LogLevel::Trace, "level trace"),
            (LogLevel::Debug, "level debug"),
            (LogLevel::Info, "level info"),
            (LogLevel::Warn, "level warn"),
            (LogLevel::Error, "level error"),
        ];
        ensure(
            levels.len() == expected.len() && levels.iter().zip(expected).all(|(a, b)| a.0 == b.0 && a.1 == b.1),
            || format!("expected the five levels in order, got {levels:?}"),
        )
    })
}

fn clock(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    v2_only(fixture, || {
        let (_, report) = Bench::new(runtime, fixture).created("call:clock");
        expect_log(&report, &format!("now {NOW}"))
    })
}

fn config(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    v2_only(fixture, || {
        let (_, report) = Bench::new(runtime, fixture).created("call:config");
        expect_log(&report, "config greeting=hello missing=none")
    })
}

fn errors(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    all_worlds(|| {
        let bench = Bench::new(runtime, fixture);
        let (task, report) = bench.created("call:errors");
        expect_handled(&report)?;
        match fixture.world {
            WorldVersion::V1 => expect_log(&report, "error not found: no-such-task"),
            WorldVersion::V2 | WorldVersion::V3Dev => {
                expect_log(
                    &report,
                    &format!(
                        "error denied(plugin `{}` was not granted `events.emit:not-declared`)",
                        fixture.plugin.id()
                    ),
                )?;
                expect_log(&report, "error not-found(no-such-task)")?;
                expect_log(&report, "error invalid(title: must not be empty)")?;
                expect_log(&report, "error conflict")?;
                expect_log(&report, "error quota-exceeded")?;
                let denied = &report.deliveries[0].effects.denied;
                ensure(denied == &["events.emit:not-declared"], || {
                    format!("the denial was not recorded: {denied:?}")
                })?;
                let stored = bench.tasks.get(&task.id).ok().flatten().ok_or("the task vanished")?;
                ensure(stored.title == "call:errors", || {
                    "a conflicting update was applied".into()
                })
            }
        }
    })
}

fn handler_error(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    all_worlds(|| {
        let (_, report) = Bench::new(runtime, fixture).created("call:fail");
        let expected = match fixture.world {
            WorldVersion::V1 => "asked to fail",
            WorldVersion::V2 | WorldVersion::V3Dev => "invalid: asked to fail",
        };
        ensure(
            report.deliveries.len() == 1 && report.deliveries[0].outcome == Outcome::Rejected(expected.into()),
            || format!("expected the handler's error {expected:?}, got {:?}", outcomes(&report)),
        )
    })
}

fn run_command(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    all_worlds(|| {
        let bench = Bench::new(runtime, fixture);
        let id = fixture.plugin.id().to_string();
        let result = bench
            .dispatcher
            .run_command_blocking(&id, "echo", &["a".into(), "b".into()])
            .map(|o| o.text);
        match fixture.world {
            WorldVersion::V1 => ensure(result == Err(CommandError::NotAvailable(id.clone())), || {
                format!("expected commands to be unavailable before task-events@2, got {result:?}")
            }),
            WorldVersion::V2 | WorldVersion::V3Dev => {
                ensure(result == Ok("a b".into()), || {
                    format!("expected \"a b\", got {result:?}")
                })?;
                let unknown = bench.dispatcher.run_command_blocking(&id, "nope", &[]);
                ensure(
                    matches!(&unknown, Err(CommandError::Rejected { error, .. }) if error == "invalid: unknown command nope"),
                    || format!("expected the plugin's refusal, got {unknown:?}"),
                )?;
                // `echo` declares two optional parameters: a third argument
                // is refused before the plugin runs.
                let three = ["a".to_string(), "b".to_string(), "c".to_string()];
                let too_many = bench.dispatcher.run_command_blocking(&id, "echo", &three);
                ensure(
                    matches!(&too_many, Err(CommandError::BadArguments { why, .. }) if why.contains("at most 2 argument(s)")),
                    || format!("expected the arguments refused, got {too_many:?}"),
                )
            }
        }
    })
}

fn instance_reuse(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    all_worlds(|| {
        let bench = Bench::new(runtime, fixture);
        // The fixture counts these events in its linear memory: a host that
        // made a new instance for every event would log 1 twice.
        let (_, report) = bench.created("call:instance");
        expect_log(&report, "instance events 1")?;
        ensure(bench.dispatcher.is_live(fixture.plugin.id()), || {
            "no live instance after an event".into()
        })?;
        let (_, report) = bench.created("call:instance");
        expect_handled(&report)?;
        expect_log(&report, "instance events 2")
    })
}

fn denied_write(runtime: &Runtime, fixture: &Fixture) -> Verdict {
    all_worlds(|| {
        // The same fixture, granted what it requests but `tasks.write`.
        let grants = Grants {
            tasks: Some(vec!["read".into()]),
            ..Grants::everything_requested()
        };
        let origin = fixture
            .plugin
            .component_path()
            .ok_or("the conformance fixture has no component")?;
        let manifest = Manifest::parse(fixture.manifest_text, &fixture.plugin.dir.join("plugin.toml"))
            .map_err(|e| e.to_string())?;
        let plugin = runtime
            .load_bytes(
                manifest,
                &fixture.plugin.dir,
                origin,
                &fixture.bytes,
                &LoadOptions {
                    grants,
                    ..LoadOptions::default()
                },
            )
            .map_err(|e| e.to_string())?;
        let tasks = Arc::new(InMemoryTaskStore::new());
        let services = HostServices {
            tasks: tasks.clone(),
            state: Arc::new(InMemoryStateStore::new()),
            clock: Arc::new(|| NOW),
        };
        let dispatcher = Dispatcher::new(runtime, services);
        dispatcher.add(plugin).map_err(|e| e.to_string())?;
        let task = tasks
            .create(new_task("call:update"), NOW - 1_000)
            .map_err(|e| e.to_string())?;
        let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task.clone()));
        let [delivery] = report.deliveries.as_slice() else {
            return Err(format!("expected one delivery, got {:?}", outcomes(&report)));
        };
        let id = fixture.plugin.id();
        let denial = format!("plugin `{id}` was not granted `tasks.write`");
        ensure(
            matches!(&delivery.outcome, Outcome::Rejected(why) if why.contains(&denial)),
            || {
                format!(
                    "expected the handler to pass on the denial {denial:?}, got {:?}",
                    delivery.outcome
                )
            },
        )?;
        ensure(delivery.effects.denied == ["tasks.write"], || {
            format!("the denial was not recorded: {:?}", delivery.effects.denied)
        })?;
        // Requested but not granted: reported, never struck.
        ensure(
            delivery.effects.denied_unrequested == 0 && report.quarantined.is_empty(),
            || format!("a requested permission's denial was struck: {report:?}"),
        )?;
        ensure(tasks.get(&task.id) == Ok(Some(task.clone())), || {
            "the task changed although the update was denied".into()
        })
    })
}

/// Every case, in the order of the matrix.
pub const CASES: &[Case] = &[
    Case {
        name: "init + config",
        run: init,
    },
    Case {
        name: "event task-created",
        run: task_created,
    },
    Case {
        name: "event task-modified",
        run: task_modified,
    },
    Case {
        name: "event task-deleted",
        run: task_deleted,
    },
    Case {
        name: "event sync-completed",
        run: sync_completed,
    },
    Case {
        name: "event timer",
        run: timer,
    },
    Case {
        name: "event custom",
        run: custom,
    },
    Case {
        name: "tasks.get",
        run: tasks_get,
    },
    Case {
        name: "tasks.query",
        run: tasks_query,
    },
    Case {
        name: "tasks.create",
        run: tasks_create,
    },
    Case {
        name: "tasks.update",
        run: tasks_update,
    },
    Case {
        name: "tasks.delete",
        run: tasks_delete,
    },
    Case {
        name: "tasks.count",
        run: tasks_count,
    },
    Case {
        name: "state",
        run: state,
    },
    Case {
        name: "events.emit",
        run: events_emit,
    },
    Case {
        name: "resources",
        run: resources,
    },
    Case {
        name: "locale.translate",
        run: translate,
    },
    Case {
        name: "commands.invoke",
        run: commands_invoke,
    },
    Case {
        name: "log levels",
        run: log_levels,
    },
    Case {
        name: "clock.now",
        run: clock,
    },
    Case {
        name: "config.get",
        run: config,
    },
    Case {
        name: "error variants",
        run: errors,
    },
    Case {
        name: "handler error",
        run: handler_error,
    },
    Case {
        name: "run-command",
        run: run_command,
    },
    Case {
        name: "instance reuse",
        run: instance_reuse,
    },
    Case {
        name: "denied call",
        run: denied_write,
    },
];
