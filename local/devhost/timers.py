"""Timer triggers on their NCRONTAB schedules, one run at a time per timer.

NCRONTAB has six fields with seconds first (``0 */5 * * * *``); croniter reads it
with ``second_at_beginning``. A ``hh:mm:ss`` timespan schedule means "every so
long", as on App Service plans. Times are UTC, like Azure's default. When a run
overruns one or more occurrences, the next run starts at once with ``past_due``
set, and the missed occurrences are not replayed one by one (the host's monitor
behaviour).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from azure.functions.timer import TimerRequest
from croniter import croniter

from local.devhost.hostjson import parse_timespan
from local.devhost.metadata import Function
from shared.errors import ConfigError
from shared.logs import describe_exception

log = logging.getLogger("local.host")
PAST_DUE_AFTER = dt.timedelta(seconds=1)
UTC = dt.timezone.utc


class Schedule:
    """The next and previous occurrences of an NCRONTAB expression or a timespan."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self._every: dt.timedelta | None = None
        try:
            self._every = dt.timedelta(seconds=parse_timespan(expression))
        except ValueError:
            if len(expression.split()) != 6 or not croniter.is_valid(expression, second_at_beginning=True):
                expected = "six NCRONTAB fields, seconds first (e.g. '0 */5 * * * *'), or hh:mm:ss"
                raise ConfigError([("timer schedule", expression, expected)]) from None
        if self._every is not None and self._every.total_seconds() <= 0:
            raise ConfigError([("timer schedule", expression, "a positive interval")])

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        if self._every is not None:
            return moment + self._every
        return croniter(self.expression, moment, second_at_beginning=True).get_next(dt.datetime)

    def last_at_or_before(self, moment: dt.datetime) -> dt.datetime:
        if self._every is not None:
            return moment
        return croniter(self.expression, moment + dt.timedelta(microseconds=1), second_at_beginning=True).get_prev(
            dt.datetime
        )


class TimerRunner:
    """One thread per timer: sleeps until due, fires, computes the next occurrence."""

    def __init__(
        self,
        function: Function,
        schedule: Schedule,
        invoke: Callable[[Function, Any, str], Any],
        stop: threading.Event,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(UTC),
    ) -> None:
        self.function = function
        self.schedule = schedule
        self._invoke = invoke
        self._stop = stop
        self._now = clock
        self._last: dt.datetime | None = None
        self.thread = threading.Thread(target=self._loop, name=f"timer:{function.name}", daemon=True)

    def _loop(self) -> None:
        if self.function.setting("runOnStartup"):
            self._fire(past_due=False, due=self._now())
        due = self.schedule.next_after(self._now())
        while not self._stop.wait(max(0.0, (due - self._now()).total_seconds())):
            self._fire(past_due=self._now() - due > PAST_DUE_AFTER, due=due)
            due = self._next(due)

    def _next(self, due: dt.datetime) -> dt.datetime:
        following = self.schedule.next_after(due)
        now = self._now()
        return following if following > now else self.schedule.last_at_or_before(now)

    def _fire(self, *, past_due: bool, due: dt.datetime) -> None:
        following = self.schedule.next_after(due)
        request = TimerRequest(
            past_due=past_due,
            schedule={"AdjustForDST": True},
            schedule_status={
                "Last": (self._last or due).isoformat(),
                "Next": following.isoformat(),
                "LastUpdated": self._now().isoformat(),
            },
        )
        invocation_id = str(uuid.uuid4())
        try:
            self._invoke(self.function, request, invocation_id)
        except Exception as exc:  # timers are not retried: the next occurrence runs (Functions semantics)
            log.error("timer %s invocation %s failed: %s", self.function.name, invocation_id, describe_exception(exc))
        self._last = due
