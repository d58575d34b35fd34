"""Recovering without Graph's help: a front down longer than Graph's retries, and storage down for 30 s,
each followed by convergence within the catch-up period (``HC_CATCHUP_MINUTES``, here 15 seconds), with
no ``missed`` lifecycle event. This module's stack runs the catch-up sweep, over an Azurite of its own
(paused with SIGSTOP to take storage away without losing what it holds)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.azurite import AZURITE_BIN, INSTALL_HINT, Azurite
from tests.conftest import require
from tests.e2e.conftest import Stack, eventually, running_stack
from tests.e2e.test_sync import enabled, outlook, stored, when

PERIOD_SECONDS = 15
OUTAGE_SECONDS = 30
CONVERGED_WITHIN = 3 * PERIOD_SECONDS + 15
"""One period for the sweep to come round, one for the mailbox's spread delay, and room for a busy machine."""


@pytest.fixture(scope="module")
def paused_azurite() -> Iterator[Azurite]:
    require(AZURITE_BIN.exists(), INSTALL_HINT)
    with Azurite() as server:
        yield server


@pytest.fixture(scope="module")
def stack(paused_azurite: Azurite, session_key_file: Path) -> Iterator[Stack]:
    with running_stack(
        paused_azurite.connection_string,
        session_key_file,
        HC_CATCHUP_MINUTES=str(PERIOD_SECONDS / 60),
        **{"AzureWebJobs.catch_up_sweep.Disabled": "false"},
    ) as started:
        yield started


def gave_up_since(stack: Stack, before: int) -> bool:
    return stack.sim.app.deliverer.given_up > before


def test_a_change_graph_gave_up_on_while_the_front_was_down_comes_back_by_the_sweep(stack: Stack) -> None:
    user = enabled(stack)
    given_up = stack.sim.app.deliverer.given_up
    stack.host.http.draining = True
    try:
        outlook(stack, user, subject="While the front was down")
        assert eventually(lambda: gave_up_since(stack, given_up), timeout=30), "the stand-in stopped retrying"
    finally:
        stack.host.http.draining = False
    assert eventually(
        lambda: [r.subject for r in stored(stack, user)] == ["While the front was down"], timeout=CONVERGED_WITHIN
    )


def test_a_change_notified_while_storage_was_down_comes_back_once_storage_answers(
    stack: Stack, paused_azurite: Azurite
) -> None:
    user = enabled(stack)
    outlook(stack, user, subject="Before the outage")
    assert eventually(lambda: len(stored(stack, user)) == 1)
    given_up = stack.sim.app.deliverer.given_up
    pid = paused_azurite.pid
    assert pid is not None
    os.killpg(pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        outlook(stack, user, subject="During the outage", start=when(3), end=when(4))
        assert eventually(lambda: gave_up_since(stack, given_up), timeout=30), "the stand-in stopped retrying"
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
    finally:
        os.killpg(pid, signal.SIGCONT)
    assert eventually(
        lambda: sorted(r.subject for r in stored(stack, user)) == ["Before the outage", "During the outage"],
        timeout=CONVERGED_WITHIN,
    )
    assert not any("missed" in str(payload) for payload in stack.sim.app.deliverer.delivered)
