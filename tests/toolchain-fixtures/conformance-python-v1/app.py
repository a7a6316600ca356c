# The conformance scenario (wit/CONFORMANCE.md) in Python for the frozen
# task-events@1, built with componentize-py against that world's WIT: it
# logs what it receives and performs the host call the task's title names.
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports.host import get_task, log, update_task
from wit_world.imports.types import Level, Task

# Events titled `call:instance` this instance handled.
events_in_this_instance = 0


def info(message: str) -> None:
    log(Level.INFO, message)


def describe(t: Task) -> str:
    return f"title={t.title} done={'true' if t.done else 'false'} tags={','.join(t.tags)}"


def act(task: Task) -> None:
    global events_in_this_instance
    title = task.title
    if title == "call:get":
        found = get_task(task.id)
        info(f"get {found.title if found is not None else 'none'}")
        missing = get_task("00000000-0000-0000-0000-000000000000")
        info(f"get-missing {'none' if missing is None else 'some'}")
    elif title == "call:update":
        changed = Task(task.id, task.title, True, [t for t in task.tags + ["updated"] if t != "drop-me"])
        update_task(changed)
        info("updated")
    elif title == "call:log":
        for level, name in [
            (Level.TRACE, "trace"),
            (Level.DEBUG, "debug"),
            (Level.INFO, "info"),
            (Level.WARN, "warn"),
            (Level.ERROR, "error"),
        ]:
            log(level, f"level {name}")
    elif title == "call:errors":
        ghost = Task("no-such-task", task.title, task.done, list(task.tags))
        try:
            update_task(ghost)
            info("error none")
        except Err as err:
            info(f"error {err.value}")
    elif title == "call:instance":
        events_in_this_instance += 1
        info(f"instance events {events_in_this_instance}")
    elif title == "call:fail":
        raise Err("asked to fail")


class Handler(exports.Handler):
    def on_task_created(self, task: Task) -> None:
        info(f"task-created {describe(task)}")
        act(task)

    def on_task_modified(self, old: Task, new: Task) -> None:
        info(f"task-modified {describe(old)} -> {describe(new)}")

    def on_task_deleted(self, task: Task) -> None:
        info(f"task-deleted {describe(task)}")
