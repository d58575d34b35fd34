"""What the Function App declares, read from ``app.get_functions()`` and nothing else.

The decorators of the Python v2 model carry every binding; this module turns them
into small records the dev host's runners use, so there is no second list of
routes, schedules or queues anywhere.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Function:
    """One function: its name, trigger binding, output queue bindings and the user code."""

    name: str
    trigger_type: str
    trigger_arg: str
    trigger: dict[str, Any]
    queue_outputs: tuple[tuple[str, str, str], ...]
    call: Callable[..., Any]
    wants_context: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def setting(self, key: str, default: Any = None) -> Any:
        """A trigger property as a plain string (enums of the library are stringified)."""
        value = self.trigger.get(key, default)
        return getattr(value, "value", value)


def load_app(app_dir: Path, ref: str = "function_app:app") -> Any:
    """Import ``module:attribute`` from ``app_dir`` as the Functions worker would."""
    module_name, _, attr = ref.partition(":")
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    module = importlib.import_module(module_name)
    return getattr(module, attr or "app")


def describe(app: Any) -> list[Function]:
    """Every function of the app, with its trigger and queue output bindings.

    Indexed once per app object, like the host: a second ``get_functions()`` on
    the same app re-registers its blueprints and fails on duplicate names.
    """
    cached = _INDEXED.get(id(app))
    if cached is None or cached[0] is not app:
        cached = _INDEXED[id(app)] = (app, [_function(f) for f in app.get_functions()])
    return list(cached[1])


_INDEXED: dict[int, tuple[Any, list[Function]]] = {}


def _function(f: Any) -> Function:
    trigger = f.get_trigger()
    outputs = tuple(
        (b.name, b.get_dict_repr().get("queueName"), b.get_dict_repr().get("connection") or "AzureWebJobsStorage")
        for b in f.get_bindings()
        if b is not trigger and b.get_binding_name() == "queue"
    )
    user = f.get_user_function()
    return Function(
        name=f.get_function_name(),
        trigger_type=trigger.get_binding_name(),
        trigger_arg=trigger.name,
        trigger=dict(trigger.get_dict_repr()),
        queue_outputs=outputs,
        call=user,
        wants_context="context" in inspect.signature(user).parameters,
    )
