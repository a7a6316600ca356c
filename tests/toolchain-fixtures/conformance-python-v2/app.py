# The conformance scenario (wit/CONFORMANCE.md) in Python for
# task-events@2.2, built with componentize-py against the world's WIT. It logs
# what it receives, one line per observation, and performs the host call the
# title of the task it is told about names; it uses the generated bindings
# only, so it tests the ABI as Python sees it.
from typing import List, Optional, Tuple

from componentize_py_types import Err, Some
from wit_world import exports
from wit_world.imports import clock, commands, config, events, locale, resources, state, tasks, types
from wit_world.imports.log import Level, log

# Events titled `call:instance` this instance handled.
events_in_this_instance = 0


def info(message: str) -> None:
    log(Level.INFO, message)


def describe_error(error: types.Error) -> str:
    if isinstance(error, types.Error_Denied):
        return f"denied({error.value})"
    if isinstance(error, types.Error_NotFound):
        return f"not-found({error.value})"
    if isinstance(error, types.Error_Invalid):
        return f"invalid({error.value})"
    if isinstance(error, types.Error_QuotaExceeded):
        return "quota-exceeded"
    return "conflict"


def describe_task(t: types.Task) -> str:
    attrs = ",".join(f"{a.key}={a.value}" for a in t.attributes)
    project = t.project if t.project is not None else "-"
    due = str(t.due) if t.due is not None else "-"
    return (
        f"title={t.title} status={t.status.name.lower()} priority={t.priority.name.lower()} "
        f"project={project} tags={','.join(t.tags)} due={due} attrs={attrs} annotations={len(t.annotations)}"
    )


def empty_patch() -> types.TaskPatch:
    return types.TaskPatch(None, None, None, None, None, None, [], [], [], [], [], None)


def match_all() -> types.Filter:
    return types.Filter(None, None, [], None, None)


def new_task(title: str) -> types.NewTask:
    return types.NewTask(title, "", None, [], types.Priority.NONE, None, [])


def failure(call) -> types.Error:
    """The error a host call that must fail returns."""
    try:
        call()
    except Err as err:
        return err.value
    raise AssertionError("the call succeeded")


def act(task: types.Task) -> None:
    global events_in_this_instance
    title = task.title
    if title == "call:get":
        found = tasks.get(task.id)
        info(f"get {found.title if found is not None else 'none'}")
        missing = tasks.get("00000000-0000-0000-0000-000000000000")
        info(f"get-missing {'none' if missing is None else 'some'}")
    elif title == "call:query":
        query = match_all()
        query.tags = ["q"]
        info("query " + "|".join(t.title for t in tasks.query(query)))
        query.limit = 1
        info(f"query-limited {len(tasks.query(query))}")
    elif title == "call:create":
        new = new_task("made by plugin")
        new.tags = ["generated"]
        new.priority = types.Priority.LOW
        made = tasks.create(new)
        info(f"created {len(made.id)} {describe_task(made)}")
    elif title == "call:update":
        patch = empty_patch()
        patch.add_tags = ["updated"]
        patch.priority = types.Priority.HIGH
        patch.project = Some("conformance")
        patch.add_annotations = ["touched"]
        patch.expected_modified = task.modified
        info(f"updated {describe_task(tasks.update(task.id, patch))}")
    elif title == "call:delete":
        tasks.delete(task.id)
        info("deleted")
    elif title == "call:count":
        info(f"count {tasks.count(match_all())}")
    elif title == "call:resources":
        info("resources " + ",".join(resources.list()))
        greeting = resources.read("greeting.txt")
        info(f"resource greeting.txt {greeting.decode('utf-8', 'replace').strip()}")
        for escape in ["../plugin.toml", "/etc/passwd"]:
            info(f"resource {escape} {describe_error(failure(lambda: resources.read(escape)))}")
    elif title == "call:translate":
        hello = locale.translate("hello", [("name", "Ada")])
        info(f"translate {locale.language()} | {hello} | {locale.translate('no.such.key', [])}")
    elif title == "call:invoke":
        info("invoke " + commands.invoke("conformance-peer.echo", ["from", "peer"]))
        denied = failure(lambda: commands.invoke("conformance-peer.secret", []))
        info("invoke-denied " + describe_error(denied))
    elif title == "call:state":
        state.set("colour", b"blue")
        got = state.get("colour")
        info(f"state-get {(got or b'').decode()}")
        info("state-keys " + ",".join(state.list_keys()))
        state.delete("colour")
        info(f"state-after-delete {'none' if state.get('colour') is None else 'some'}")
    elif title == "call:emit":
        events.emit("conformance.ping", b"ping")
        info("emitted")
    elif title == "call:log":
        for level, name in [
            (Level.TRACE, "trace"),
            (Level.DEBUG, "debug"),
            (Level.INFO, "info"),
            (Level.WARN, "warn"),
            (Level.ERROR, "error"),
        ]:
            log(level, f"level {name}")
    elif title == "call:clock":
        info(f"now {clock.now()}")
    elif title == "call:config":
        greeting = config.get("greeting")
        missing = config.get("missing")
        info(f"config greeting={greeting or ''} missing={missing if missing is not None else 'none'}")
    elif title == "call:errors":
        info("error " + describe_error(failure(lambda: events.emit("not-declared", b""))))
        info("error " + describe_error(failure(lambda: tasks.update("no-such-task", empty_patch()))))
        info("error " + describe_error(failure(lambda: tasks.create(new_task("")))))
        stale = empty_patch()
        stale.title = "never"
        stale.expected_modified = task.modified - 1
        info("error " + describe_error(failure(lambda: tasks.update(task.id, stale))))
        info("error " + describe_error(failure(lambda: state.set("big", bytes(2048)))))
    elif title == "call:instance":
        # Counts in the instance's memory: a host that re-instantiates the
        # plugin for every event logs 1 each time.
        events_in_this_instance += 1
        info(f"instance events {events_in_this_instance}")
    elif title == "call:fail":
        raise Err(types.Error_Invalid("asked to fail"))


class Handler(exports.Handler):
    def init(self, config: List[Tuple[str, str]]) -> None:
        info("init " + ",".join(f"{k}={v}" for k, v in config))

    def on_event(self, event: types.Event) -> None:
        if isinstance(event, types.Event_TaskCreated):
            info(f"task-created {describe_task(event.value)}")
            act(event.value)
        elif isinstance(event, types.Event_TaskModified):
            info(f"task-modified {describe_task(event.value.before)} -> {describe_task(event.value.after)}")
        elif isinstance(event, types.Event_TaskDeleted):
            info(f"task-deleted {describe_task(event.value)}")
        elif isinstance(event, types.Event_SyncCompleted):
            s = event.value
            info(f"sync-completed pulled={s.pulled} pushed={s.pushed} conflicts={s.conflicts}")
        elif isinstance(event, types.Event_Timer):
            info(f"timer {event.value}")
        elif isinstance(event, types.Event_Custom):
            c = event.value
            info(f"custom topic={c.topic} source={c.source} payload={c.payload.decode('utf-8', 'replace')}")

    def run_command(self, name: str, args: List[str]) -> str:
        if name == "echo":
            return " ".join(args)
        if name == "resource":
            # `resource PATH`: the text of one of its resources.
            path = args[0] if args else ""
            return resources.read(path).decode("utf-8", "replace").strip()
        if name == "translate":
            # `translate KEY [NAME]`: KEY in the user's language, `{name}` filled in.
            key = args[0] if args else ""
            name_arg = args[1] if len(args) > 1 else ""
            return locale.translate(key, [("name", name_arg)])
        raise Err(types.Error_Invalid(f"unknown command {name}"))


class Lifecycle(exports.Lifecycle):
    def shutdown(self) -> None:
        # What a plugin flushes at shutdown lands in its state.
        try:
            state.set("flushed-at-shutdown", b"yes")
            flushed = "true"
        except Err:
            flushed = "false"
        info(f"shutdown flushed={flushed}")

    def health(self) -> str:
        return f"healthy, {events_in_this_instance} instance events"
