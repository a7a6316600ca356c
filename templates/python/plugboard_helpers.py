"""Helpers for plugboard plugins in Python: the parts of the generated
bindings that are awkward to write by hand.

- `new_task`, `task_patch` and `task_filter` build the records with every
  field defaulted, so a plugin names only what it sets. In `task_patch`,
  `project` and `due` take a value to set, `None` to remove, and are left
  alone when not given (the WIT's `option<option<T>>`).
- `reported` wraps a handler method: an exception other than
  `componentize_py_types.Err` is written to the plugin's log with its
  traceback and becomes an `invalid` error of the call, instead of a trap.
- `debug`, `info`, `warn` and `error` write one line to the plugin's log
  (`print` does too, at info level).
"""
import functools
import traceback
from typing import Callable, Iterable, List, Optional, TypeVar

from componentize_py_types import Err, Some
from wit_world.imports import log as _log
from wit_world.imports import types

_UNSET = object()
T = TypeVar("T")


def new_task(
    title: str,
    *,
    description: str = "",
    project: Optional[str] = None,
    tags: Iterable[str] = (),
    priority: types.Priority = types.Priority.NONE,
    due: Optional[int] = None,
    attributes: Iterable[types.Attribute] = (),
) -> types.NewTask:
    """A task to create; only the title is needed."""
    return types.NewTask(title, description, project, list(tags), priority, due, list(attributes))


def task_patch(
    *,
    title: Optional[str] = None,
    description: Optional[str] = None,
    status: Optional[types.Status] = None,
    project=_UNSET,
    priority: Optional[types.Priority] = None,
    due=_UNSET,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    add_annotations: Iterable[str] = (),
    set_attributes: Iterable[types.Attribute] = (),
    remove_attributes: Iterable[str] = (),
    expected_modified: Optional[int] = None,
) -> types.TaskPatch:
    """A change to a task; a field not given is left as it is.

    `project="home"` sets the project, `project=None` removes it; `due`
    likewise (milliseconds since the Unix epoch).
    """

    def nested(value):
        return None if value is _UNSET else Some(value)

    return types.TaskPatch(
        title,
        description,
        status,
        nested(project),
        priority,
        nested(due),
        list(add_tags),
        list(remove_tags),
        list(add_annotations),
        list(set_attributes),
        list(remove_attributes),
        expected_modified,
    )


def task_filter(
    *,
    status: Optional[types.Status] = None,
    project: Optional[str] = None,
    tags: Iterable[str] = (),
    text: Optional[str] = None,
    limit: Optional[int] = None,
) -> types.Filter:
    """Which tasks `tasks.query` and `tasks.count` return; no field, every task."""
    return types.Filter(status, project, list(tags), text, limit)


def debug(message: str) -> None:
    """A debug line in the plugin's log."""
    _log.log(_log.Level.DEBUG, message)


def info(message: str) -> None:
    """An info line in the plugin's log."""
    _log.log(_log.Level.INFO, message)


def warn(message: str) -> None:
    """A warning in the plugin's log."""
    _log.log(_log.Level.WARN, message)


def error(message: str) -> None:
    """An error line in the plugin's log."""
    _log.log(_log.Level.ERROR, message)


def reported(method: Callable[..., T]) -> Callable[..., T]:
    """Makes an unexpected exception in a handler an `invalid` error of the
    call, with its traceback in the plugin's log."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Err:
            raise
        except Exception as exception:
            error(traceback.format_exc().rstrip())
            raise Err(types.Error_Invalid(f"{type(exception).__name__}: {exception}"))

    return wrapper
