"""{{name}}: a plugboard plugin. It logs the title of every task created.

Build: componentize-py -d wit -w plugin componentize -p . app -o {{snake}}.wasm
"""
from typing import List, Tuple

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types

from plugboard_helpers import reported


class Handler(exports.Handler):
    """The handler the host calls; one instance lives as long as the plugin is loaded."""

    def __init__(self) -> None:
        self.seen = 0

    @reported
    def init(self, config: List[Tuple[str, str]]) -> None:
        pass

    @reported
    def on_event(self, event: types.Event) -> None:
        if isinstance(event, types.Event_TaskCreated):
            self.seen += 1
            # Whatever the plugin prints goes to its log.
            print(f"task created: {event.value.title} ({self.seen} so far)")

    @reported
    def run_command(self, name: str, args: List[str]) -> str:
        raise Err(types.Error_Invalid(f"unknown command {name}"))


class Lifecycle(exports.Lifecycle):
    """What the host asks of the plugin around its life: `shutdown` before it
    unloads, reloads or stops the plugin (flush what you keep), `health` for
    `plugboard list` and the console."""

    def shutdown(self) -> None:
        pass

    def health(self) -> str:
        return "ok"
