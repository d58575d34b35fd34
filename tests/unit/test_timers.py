"""NCRONTAB schedules and the past-due rule, with a fake clock."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from local.devhost.metadata import Function
from local.devhost.timers import Schedule, TimerRunner
from shared.errors import ConfigError

T0 = dt.datetime(2026, 11, 23, 12, 0, 0, tzinfo=dt.timezone.utc)


def test_seconds_come_first() -> None:
    assert Schedule("*/15 * * * * *").next_after(T0) == T0 + dt.timedelta(seconds=15)
    assert Schedule("0 */5 * * * *").next_after(T0) == T0 + dt.timedelta(minutes=5)
    assert Schedule("0 30 9 * * 1-5").next_after(T0) == dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.timezone.utc)


def test_timespan_schedule_is_an_interval() -> None:
    assert Schedule("00:00:30").next_after(T0) == T0 + dt.timedelta(seconds=30)


@pytest.mark.parametrize("bad", ["*/5 * * * *", "61 * * * * *", "every minute", "", "00:00:00"])
def test_invalid_schedules_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError, match="timer schedule"):
        Schedule(bad)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


class FakeStop:
    """``wait(t)`` advances the fake clock by ``t`` instead of sleeping; stops after ``limit`` runs."""

    def __init__(self, clock: Clock, calls: list, limit: int) -> None:
        self.clock, self.calls, self.limit = clock, calls, limit

    def wait(self, seconds: float) -> bool:
        self.clock.now += dt.timedelta(seconds=seconds)
        return len(self.calls) >= self.limit


def run_timer(schedule: str, durations: list[float], *, on_startup: bool = False) -> list[tuple[dt.datetime, bool]]:
    clock, calls = Clock(), []

    def invoke(function: Function, request, invocation_id: str) -> None:
        calls.append((clock.now, request.past_due))
        clock.now += dt.timedelta(seconds=durations[len(calls) - 1])

    function = Function("t", "timerTrigger", "timer", {"runOnStartup": on_startup}, (), lambda timer: None)
    TimerRunner(function, Schedule(schedule), invoke, FakeStop(clock, calls, len(durations)), clock)._loop()
    return calls


def test_runs_on_schedule() -> None:
    calls = run_timer("*/10 * * * * *", [0, 0, 0])
    assert calls == [(T0 + dt.timedelta(seconds=s), False) for s in (10, 20, 30)]


def test_overrun_fires_once_past_due_and_does_not_replay_missed_runs() -> None:
    calls = run_timer("*/10 * * * * *", [35, 0, 0])
    assert calls == [
        (T0 + dt.timedelta(seconds=10), False),
        (T0 + dt.timedelta(seconds=45), True),
        (T0 + dt.timedelta(seconds=50), False),
    ]


def test_run_on_startup_fires_at_once() -> None:
    calls = run_timer("0 0 * * * *", [0, 0], on_startup=True)
    assert calls == [(T0, False), (T0 + dt.timedelta(hours=1), False)]


def test_failed_run_is_not_retried_and_the_timer_keeps_going() -> None:
    clock, calls = Clock(), []

    def invoke(function: Function, request, invocation_id: str) -> None:
        calls.append(request.past_due)
        raise RuntimeError("boom")

    function = Function("t", "timerTrigger", "timer", {}, (), lambda timer: None)
    timer = TimerRunner(function, Schedule("*/10 * * * * *"), invoke, threading.Event(), clock)
    timer._fire(past_due=False, due=T0)
    timer._fire(past_due=True, due=T0)
    assert calls == [False, True]
