"""Runs the real ``function_app.py`` on one machine, from its own decorator metadata.

HTTP triggers are served by waitress (threaded) on ``HC_LOCAL_HOST:HC_LOCAL_PORT``;
timer triggers fire on their NCRONTAB schedules; queue triggers poll Azure Storage
(Azurite) with the host's batching, visibility and poison-queue rules from
host.json. ``%NAME%`` in schedules and queue names is resolved from app settings.
A function is disabled, as in Azure, by the app setting ``AzureWebJobs.<name>.Disabled``
set to ``true``: its queue or timer does not run, and its route answers 404 unless
called with the master key. Two hosts of one app with complementary functions disabled
are how an HTTP front and a queue worker are deployed as separate apps.
Ctrl-C or SIGTERM stops it cleanly: no new work is taken, in-flight invocations
finish, then every thread and socket is closed.

    python -m local.host [--app-dir DIR] [--app function_app:app]
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from local.devhost.hostjson import HostOptions, load_host_json
from local.devhost.http import HttpApp
from local.devhost.invoke import Invoker
from local.devhost.metadata import Function, describe, load_app
from local.devhost.queues import QueueRunner
from local.devhost.timers import Schedule, TimerRunner
from shared.config import APP_ROOT, Settings, load_settings, resolve_expression
from shared.errors import ConfigError
from shared.storage.clients import queue_client

POLL_TIMEOUT = 10.0
"""Seconds a queue poll or delete may take; the poller, not the SDK, retries after a failure."""

log = logging.getLogger("local.host")
DRAIN_SECONDS = 30.0
HTTP_THREADS = 24
"""The dev host's HTTP threads: the Graph stand-in delivers up to 16 notifications at once
(``local.graphsim.notify.DELIVERY_THREADS``) and the API's callers need threads beside them; with fewer,
waitress queues requests and floods the log with its task-queue-depth warning."""


class DevHost:
    """The local Functions host. ``start()`` returns once HTTP is listening; ``stop()`` drains."""

    def __init__(
        self,
        settings: Settings,
        *,
        app_dir: Path = APP_ROOT,
        app_ref: str = "function_app:app",
        port: int | None = None,
        timers: bool = True,
    ) -> None:
        """``timers`` False: a host for one command (the ops CLI's ``--local``) serves HTTP and the queues only."""
        self.settings = settings
        self.options: HostOptions = load_host_json(app_dir / "host.json")
        self.functions = describe(load_app(app_dir, app_ref))
        self.disabled = disabled_functions(self.functions, settings.values)
        self._connections = self._connection_strings()
        self._invoker = Invoker(self._connections)
        self._stop = threading.Event()
        self._port = settings.local_port if port is None else port
        self._server: Any = None
        self._threads: list[threading.Thread] = []
        self.http = HttpApp(
            self._of("httpTrigger"),
            route_prefix=self.options.route_prefix,
            function_key=settings.function_key,
            master_key=settings.master_key,
            invoker=self._invoker,
            disabled=self.disabled,
        )
        self.timers = [
            TimerRunner(f, Schedule(self._resolve(f.setting("schedule"))), self._invoker, self._stop)
            for f in self._of("timerTrigger")
            if f.name not in self.disabled and timers
        ]
        self.queues = [self._queue_runner(f) for f in self._of("queueTrigger") if f.name not in self.disabled]

    @property
    def url(self) -> str:
        host, port = self._server.effective_host, self._server.effective_port
        return f"http://{host}:{port}"

    def _of(self, trigger_type: str) -> list[Function]:
        return [f for f in self.functions if f.trigger_type == trigger_type]

    def _resolve(self, text: str) -> str:
        return resolve_expression(str(text), self.settings.values)

    def _connection_strings(self) -> dict[str, str]:
        names = {f.setting("connection") or "AzureWebJobsStorage" for f in self._of("queueTrigger")}
        names |= {c for f in self.functions for _, _, c in f.queue_outputs} | {"AzureWebJobsStorage"}
        missing = sorted(n for n in names if n != "AzureWebJobsStorage" and not self.settings.values.get(n))
        if missing:
            raise ConfigError([(n, None, "a storage connection string used by a queue binding") for n in missing])
        return {
            n: self.settings.storage_connection if n == "AzureWebJobsStorage" else self.settings.values[n]
            for n in names
        }

    def _queue_runner(self, function: Function) -> QueueRunner:
        name = self._resolve(function.setting("queueName"))
        connection = self._connections[function.setting("connection") or "AzureWebJobsStorage"]
        return QueueRunner(
            function,
            queue_client(connection, name, base64=False, timeout=POLL_TIMEOUT),
            queue_client(connection, f"{name}-poison", base64=False, timeout=POLL_TIMEOUT),
            self.options.queues,
            self._invoker,
            self._stop,
        )

    def start(self) -> DevHost:
        """Listen for HTTP, start the queue pollers and the timers; return when serving."""
        from waitress import create_server

        self._server = create_server(
            self.http,
            host=self.settings.local_host,
            port=self._port,
            threads=HTTP_THREADS,
            ident="hybrid-calendar-devhost",
            clear_untrusted_proxy_headers=True,
            # poll() tolerates sockets closed by stop(); select() raises EBADF
            asyncore_use_poll=True,
        )
        serving = threading.Thread(target=self._server.run, name="http", daemon=True)
        self._threads = [serving] + [r.thread for r in self.queues] + [r.thread for r in self.timers]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = DRAIN_SECONDS) -> None:
        """Take no new work, let in-flight invocations finish, close everything."""
        self._stop.set()
        self.http.draining = True
        if not self.http.wait_idle(timeout):
            log.warning("HTTP requests still running after %.0f s; closing anyway", timeout)
        for thread in self._threads[1:]:
            thread.join(timeout)
        if self._server is not None:
            self._server.close()
            self._server.task_dispatcher.shutdown()
            _close_all(self._server)
            self._threads[0].join(timeout)

    def __enter__(self) -> DevHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def describe_lines(self) -> list[str]:
        """What runs where, for the start-up banner."""
        lines = [
            f"HTTP  {self.url}/{self.options.route_prefix}/{f.setting('route') or f.name}  "
            f"[{f.setting('authLevel') or 'FUNCTION'}]"
            for f in self._of("httpTrigger")
            if f.name not in self.disabled
        ]
        lines += [f"DISABLED {name}" for name in sorted(self.disabled)]
        lines += [f"TIMER {r.function.name}  {r.schedule.expression}" for r in self.timers]
        lines += [f"QUEUE {r.function.name}  {r.queue_name}" for r in self.queues]
        return lines


def disabled_functions(functions: list[Function], values: Mapping[str, str]) -> frozenset[str]:
    """Names whose ``AzureWebJobs.<name>.Disabled`` setting is true; any value but true/false/1/0 is refused."""
    disabled: set[str] = set()
    problems: list[tuple[str, str | None, str]] = []
    for function in functions:
        name = f"AzureWebJobs.{function.name}.Disabled"
        raw = str(values.get(name, "")).strip().lower()
        if raw not in ("", "true", "false", "1", "0"):
            problems.append((name, values[name], "true or false"))
        elif raw in ("true", "1"):
            disabled.add(function.name)
    if problems:
        raise ConfigError(problems)
    return frozenset(disabled)


def _close_all(server: Any) -> None:
    from waitress import wasyncore

    wasyncore.close_all(server._map)


def wait_for_signal() -> None:
    """Block the main thread until SIGINT or SIGTERM."""
    stopped = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    while not stopped.wait(0.5):
        pass


def configure_logging(settings: Settings) -> None:
    """Id-only log lines, as text or JSON (``HC_LOG_FORMAT``), with the invocation, tenant and trace ids in JSON;
    the Azure SDK's HTTP logging stays quiet (it would log URLs)."""
    from shared.telemetry import JsonFormatter, LogContext

    handler = logging.StreamHandler()
    handler.addFilter(LogContext())
    handler.setFormatter(
        JsonFormatter()
        if settings.log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=settings.log_level, handlers=[handler])
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("waitress").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-dir", type=Path, default=APP_ROOT)
    parser.add_argument("--app", default="function_app:app")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(local_settings=args.app_dir / "local.settings.json")
        configure_logging(settings)
        host = DevHost(settings, app_dir=args.app_dir, app_ref=args.app).start()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(host.describe_lines()), flush=True)
    wait_for_signal()
    host.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
