# Uses the Python template's plugboard_helpers (templates/python) as a
# plugin would: a task titled "set" gets a patch setting its project and a
# tag, "unset" one removing its project, "boom" raises inside a @reported
# handler.
from typing import List, Tuple

from wit_world import exports
from wit_world.imports import tasks, types

from plugboard_helpers import info, reported, task_patch


def explode(title: str) -> None:
    raise ValueError(f"cannot take {title!r}")


class Handler(exports.Handler):
    @reported
    def init(self, config: List[Tuple[str, str]]) -> None:
        pass

    @reported
    def on_event(self, event: types.Event) -> None:
        if not isinstance(event, types.Event_TaskCreated):
            return
        task = event.value
        if task.title == "set":
            tasks.update(task.id, task_patch(project="home", add_tags=["helped"]))
            info("patched")
        elif task.title == "unset":
            tasks.update(task.id, task_patch(project=None))
        elif task.title == "boom":
            explode(task.title)

    @reported
    def run_command(self, name: str, args: List[str]) -> str:
        return "ok"


class Lifecycle(exports.Lifecycle):
    def shutdown(self) -> None:
        pass

    def health(self) -> str:
        return "ok"
