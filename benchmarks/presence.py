"""Presence (issue 21): 2,000 mailboxes' automatic replies polled, and scheduled windows flipped on time.

Everything runs here: the stand-in in its own process, Azurite, and two dev host processes of the real
``function_app.py`` (an HTTP front and a queue worker). 2,000 users are made in the stand-in and
recorded as enabled mailboxes (their calendars' sync is measured by pipeline.py, so no subscriptions
are made here). Three polling rounds, each queued by the product's round (``PresenceService.round``)
and spread over ``HC_PRESENCE_POLL_MINUTES`` (1 here):

1. first round: every mailbox read for the first time (a row each);
2. nothing changed: Graph requests must be ceil(N/20), and no row may be written (every row's
   etag compared before and after);
3. 200 users have set a scheduled window in W. Europe Standard Time starting 30-60 s after the round
   (one every 150 ms), and 5% of Graph's batch items answer 429 with Retry-After 1: requests are
   ceil(N/20) plus the retries, rows written only for the 200, and each window's start reaches the
   user's webhook receiver as ``presence.updated`` (lateness = arrival - start; target p99 < 5 s).

    python benchmarks/presence.py     # PRESENCE_MAILBOXES / PRESENCE_WINDOWS to scale
"""

from __future__ import annotations

import functools
import math
import os
import platform
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from benchmarks.stack import cpu_seconds, on_local_stack, quantile, report  # noqa: E402
from local.graphsim.demo import Demo  # noqa: E402
from local.receiver import Receiver  # noqa: E402

MAILBOXES = int(os.environ.get("PRESENCE_MAILBOXES", "2000"))
WINDOWS = int(os.environ.get("PRESENCE_WINDOWS", "200"))
ZONE, IANA = "W. Europe Standard Time", ZoneInfo("Europe/Berlin")


def run(host_url: str, sim_url: str, ca: str) -> list[str]:
    from shared.delivery.endpoints import Endpoint, Secret
    from shared.delivery.signing import new_secret
    from shared.runtime import get_runtime
    from shared.storage.records import Mailbox

    tenant = Demo().tenant_id
    runtime = get_runtime()
    stores = runtime.stores
    session = requests.Session()

    def add(n: int) -> str:
        answer = session.post(
            f"{sim_url}/_sim/users",
            json={"tenantId": tenant, "mail": f"user{n}@contoso.example", "timeZone": ZONE},
            verify=ca,
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        users = list(pool.map(add, range(MAILBOXES)))
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda user: stores.mailboxes.save(Mailbox(tenant, user, "user", enabled=True)), users))
    if stores.tenants.get(tenant) is None:
        from shared.storage.records import Tenant

        stores.tenants.save(Tenant(tenant))
    windowed = users[:WINDOWS]
    receiver = Receiver([]).__enter__()
    now = datetime.now(timezone.utc)
    for user in windowed:
        secret = new_secret()
        receiver.secrets.append(secret)
        stores.endpoints.add(Endpoint(tenant, user, secrets.token_hex(8), "user", receiver.url, (Secret(secret),), now))
    state = lambda: session.get(f"{sim_url}/_sim/state", verify=ca, timeout=30).json()  # noqa: E731
    expected = math.ceil(MAILBOXES / 20)
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"{MAILBOXES} mailboxes, polled in {expected} batches per round, round spread over 1 minute",
    ]

    first = _round(runtime, tenant, state, lambda: len(stores.presence.list_tenant(tenant)) >= MAILBOXES)
    lines.append(
        f"round 1 (first reads): {first['requests']} Graph HTTP requests "
        f"({'PASS' if first['requests'] == expected else 'FAIL'}: {expected} expected), "
        f"{len(stores.presence.list_tenant(tenant))} rows, {first['seconds']:.0f} s"
    )

    before = _etags(stores, tenant)
    second = _round(runtime, tenant, state, None, settle=expected)
    after = _etags(stores, tenant)
    written = sum(1 for user, etag in after.items() if before.get(user) != etag)
    lines.append(
        f"round 2 (nothing changed): {second['requests']} Graph HTTP requests "
        f"({'PASS' if second['requests'] == expected else 'FAIL'}), rows written {written} "
        f"({'PASS' if written == 0 else 'FAIL'}: 0 expected), {second['seconds']:.0f} s, "
        f"CPU worker {second['cpu'].get('worker', 0):.1f} s, Azurite {second['cpu'].get('Azurite', 0):.1f} s, "
        f"stand-in {second['cpu'].get('stand-in', 0):.1f} s"
    )

    starts: dict[str, datetime] = {}
    base = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=90)
    for n, user in enumerate(windowed):
        start = base + timedelta(milliseconds=150 * n)
        starts[user] = start
        local = start.astimezone(IANA)
        body: dict[str, Any] = {
            "automaticRepliesSetting": {
                "status": "scheduled",
                "internalReplyMessage": "<p>Out</p>",
                "scheduledStartDateTime": {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.%f"), "timeZone": ZONE},
                "scheduledEndDateTime": {
                    "dateTime": (local + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S"),
                    "timeZone": ZONE,
                },
            }
        }
        assert (
            session.patch(f"{sim_url}/_sim/users/{user}/mailboxSettings", json=body, verify=ca, timeout=30).status_code
            == 200
        )
    assert (
        session.post(
            f"{sim_url}/_sim/faults/throttle",
            json={"status": 429, "retryAfter": 1, "share": 0.05},
            verify=ca,
            timeout=30,
        ).status_code
        == 204
    )
    before = _etags(stores, tenant)
    throttled_before = state()["requests"]
    third = _round(
        runtime,
        tenant,
        state,
        lambda: sum(1 for user, etag in _etags(stores, tenant).items() if before.get(user) != etag) >= WINDOWS,
        settle=expected,
    )
    session.post(f"{sim_url}/_sim/faults/clear", verify=ca, timeout=30)
    after = _etags(stores, tenant)
    written = sum(1 for user, etag in after.items() if before.get(user) != etag)
    retries = third["requests"] - expected
    lines.append(
        f"round 3 (200 new windows, 5% of items throttled): {third['requests']} Graph HTTP requests = "
        f"{expected} + {retries} retries ({state()['requests'] - throttled_before} items incl. re-sent), "
        f"rows written {written} ({'PASS' if written == WINDOWS else 'FAIL'}: {WINDOWS} expected)"
    )
    deadline = time.monotonic() + (max(starts.values()) - datetime.now(timezone.utc)).total_seconds() + 60
    while time.monotonic() < deadline and len(receiver.of("presence.updated")) < WINDOWS:
        time.sleep(0.5)
    lateness = sorted(
        (datetime.fromtimestamp(_arrival(d), timezone.utc) - starts[d.data["mailbox"]]).total_seconds()
        for d in receiver.of("presence.updated")
        if d.data["outOfOffice"]
    )
    receiver.__exit__(None, None, None)
    p = functools.partial(quantile, lateness)
    lines.append(
        f"flips at the window's start pushed: {len(lateness)} of {WINDOWS}  "
        f"{'PASS' if len(lateness) == WINDOWS else 'FAIL'}; lateness p50 {p(0.5):.2f} s, p99 {p(0.99):.2f} s, "
        f"max {p(1.0):.2f} s (target p99 < 5 s)  {'PASS' if p(0.99) < 5 else 'FAIL'}"
    )
    return lines


ARRIVALS: dict[str, float] = {}


def _arrival(delivery: Any) -> float:
    return ARRIVALS.get(delivery.webhook_id, float(delivery.headers.get("webhook-timestamp", "0")))


def _etags(stores: Any, tenant: str) -> dict[str, str | None]:
    return {r.mailbox_id: r.etag for r in stores.presence.list_tenant(tenant)}


def _round(runtime: Any, tenant: str, state: Any, done: Any, *, settle: int | None = None) -> dict[str, Any]:
    """One round queued by the product; waits for ``done`` or for ``settle`` requests and 5 quiet seconds."""
    before, cpu_before, started = state()["httpRequests"], cpu_seconds(), time.monotonic()
    runtime.presence.round([tenant])
    last, quiet_since = before, time.monotonic()
    while time.monotonic() - started < 300:
        time.sleep(1)
        now = state()["httpRequests"]
        if now != last:
            last, quiet_since = now, time.monotonic()
        if done is not None and done() and time.monotonic() - quiet_since > 5:
            break
        if done is None and settle is not None and now - before >= settle and time.monotonic() - quiet_since > 5:
            break
    cpu = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_seconds().items()}
    return {"requests": last - before, "seconds": time.monotonic() - started, "cpu": cpu}


def _install_arrival_clock() -> None:
    """Note each delivery's arrival time as the receiver takes it (the receiver keeps verified ones only)."""
    original = Receiver.take

    def take(self: Receiver, body: bytes, headers: dict[str, str]) -> int:
        webhook_id = next((v for k, v in headers.items() if k.lower() == "webhook-id"), "")
        ARRIVALS.setdefault(webhook_id, time.time())
        return original(self, body, headers)

    Receiver.take = take  # type: ignore[method-assign]


def main() -> int:
    _install_arrival_clock()
    os.environ["HC_PRESENCE_POLL_MINUTES"] = "1"
    os.environ["AzureWebJobs.presence_round.Disabled"] = "true"
    os.environ["AzureWebJobs.catch_up_sweep.Disabled"] = "true"
    return report("presence", on_local_stack(run, function_key="presence-function-key-01", host_process=True))


if __name__ == "__main__":
    sys.exit(main())
