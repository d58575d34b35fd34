"""Calling one function the way the Python worker does.

The trigger value goes to the trigger's argument; each queue output binding gets
an ``Out`` whose value(s) are sent, base64-encoded, after the function returns
successfully (like the host, nothing is sent when it raises); ``async def``
functions are run to completion; a ``context`` argument gets the invocation id.

The invoker also counts, per function, invocations and the CPU time the invoking thread spent
inside the function's own code (``time.thread_time``). In Azure the host that polls queues, serves
HTTP and sends output bindings is the Functions host, not the app's Python; this count is what the
app itself costs, and ``GET /admin/host/invocations`` (master key) reports it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import uuid
from typing import Any

from local.devhost.metadata import Function
from shared.storage.queues import QueueWriter

log = logging.getLogger("local.host")


class Out:
    """The ``func.Out`` an output binding receives."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, value: Any) -> None:
        self._value = value

    def get(self) -> Any:
        return self._value


class Context:
    """The subset of ``func.Context`` functions use: invocation id and function name."""

    def __init__(self, function: Function, invocation_id: str) -> None:
        self.invocation_id = invocation_id
        self.function_name = function.name
        self.function_directory = ""
        self.trace_context = None
        self.retry_context = None


class Invoker:
    """Runs functions; ``connections`` maps a binding's connection setting to a connection string."""

    def __init__(self, connections: dict[str, str]) -> None:
        self._writers = {name: QueueWriter(connection) for name, connection in connections.items()}
        self._lock = threading.Lock()
        self.counts: dict[str, dict[str, float]] = {}

    def __call__(self, function: Function, trigger_value: Any, invocation_id: str | None = None) -> Any:
        invocation_id = invocation_id or str(uuid.uuid4())
        kwargs: dict[str, Any] = {function.trigger_arg: trigger_value}
        outs = {name: Out() for name, _, _ in function.queue_outputs}
        kwargs.update(outs)
        if function.wants_context:
            kwargs["context"] = Context(function, invocation_id)
        started = time.thread_time()
        try:
            result = function.call(**kwargs)
            if inspect.isawaitable(result):
                result = asyncio.run(_awaited(result))
        finally:
            self._count(function.name, time.thread_time() - started)
        for name, queue, connection in function.queue_outputs:
            self._send(queue, connection, outs[name].get())
        return result

    def _count(self, name: str, cpu_seconds: float) -> None:
        with self._lock:
            counts = self.counts.setdefault(name, {"invocations": 0, "cpuSeconds": 0.0})
            counts["invocations"] += 1
            counts["cpuSeconds"] += cpu_seconds

    def _send(self, queue: str, connection: str, value: Any) -> None:
        if value is None:
            return
        for item in value if isinstance(value, list) else [value]:
            self._writers[connection].send_text(queue, item.decode() if isinstance(item, bytes) else str(item))


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
