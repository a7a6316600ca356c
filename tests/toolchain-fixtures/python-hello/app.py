# A task-events@2 plugin built with componentize-py's defaults: it prints
# the title of every created task to stdout, and raises (uncaught) for a
# task titled "boom", whose traceback must reach the plugin's log.
from typing import List, Tuple

from wit_world import exports
from wit_world.imports import types


class Handler(exports.Handler):
    def init(self, config: List[Tuple[str, str]]) -> None:
        pass

    def on_event(self, event: types.Event) -> None:
        if isinstance(event, types.Event_TaskCreated):
            title = event.value.title
            if title == "boom":
                explode(title)
            print(f"python-hello: task created: {title}")

    def run_command(self, name: str, args: List[str]) -> str:
        return "ok"


def explode(title: str) -> None:
    raise ValueError(f"python-hello cannot take {title!r}")
