"""Acting from an app: scheduling with a platform, and free/busy for 20 people, over HTTP.

Everything runs here: the Graph stand-in in its own process (it issues the user's token), Azurite,
and the dev host serving the real ``function_app.py``. One user is enabled through the admin API,
with 20 colleagues and a room in the tenant. Then, one request at a time:

* ``POST /api/me/meetings`` with the built-in platform, one attendee and the room, each with its
  own ``Idempotency-Key``: request to 201, and the Graph requests about the organizer's mailbox,
  by method, read from the stand-in (counted after the webhooks that follow have been handled, so
  a read caused later by the sync would show);
* the same requests again with their keys (retries): they must add no event;
* ``GET /api/me/availability`` for the 20 colleagues: latency and getSchedule calls per request.

Targets (issue 23): per scheduled meeting exactly one Graph create and no second write, and
no read by the request (the built-in platform makes no call of its own); one getSchedule per
availability request; retries add nothing. Reads the sync makes afterwards are counted and
reported: Graph notifies of the new event at once, and a notification handled before the API
has stored the meeting's row (a few tens of milliseconds) costs the sync one read. Latency is
reported (no target set).

    python benchmarks/actions.py     # ACTIONS_COUNT to scale
"""

from __future__ import annotations

import os
import platform
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from benchmarks.meetings import percentile  # noqa: E402
from benchmarks.stack import on_local_stack, report  # noqa: E402
from local.graphsim.demo import Demo  # noqa: E402

COUNT = int(os.environ.get("ACTIONS_COUNT", "100"))
COLLEAGUES = 20
FUNCTION_KEY = "actions-bench-key-0001"


def _user(sim_url: str, ca: str, mail: str, kind: str = "user") -> str:
    answer = requests.post(
        f"{sim_url}/_sim/users", json={"tenantId": Demo().tenant_id, "mail": mail, "kind": kind}, verify=ca, timeout=10
    )
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"])


def _graph_requests(sim_url: str, ca: str, mailbox: str) -> dict[str, int]:
    state = requests.get(f"{sim_url}/_sim/state", params={"mailbox": mailbox}, verify=ca, timeout=10).json()
    return dict(state.get("mailboxRequests") or {})


def _settled(sim_url: str, ca: str, mailbox: str, quiet: float = 5.0, limit: float = 120.0) -> dict[str, int]:
    """The mailbox's Graph request counts once they have not moved for ``quiet`` seconds."""
    deadline, last, since = time.monotonic() + limit, _graph_requests(sim_url, ca, mailbox), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _graph_requests(sim_url, ca, mailbox)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {m: after.get(m, 0) - before.get(m, 0) for m in ("GET", "POST", "PATCH", "DELETE")}


def run(host_url: str, sim_url: str, ca: str) -> list[str]:
    tenant = Demo().tenant_id
    organizer = _user(sim_url, ca, "organizer@contoso.example")
    attendee = _user(sim_url, ca, "attendee@contoso.example")
    room = _user(sim_url, ca, "room-7@contoso.example", "room")
    colleagues = [f"colleague{i}@contoso.example" for i in range(COLLEAGUES)]
    for mail in colleagues:
        _user(sim_url, ca, mail)
    for mailbox, kind in ((organizer, "user"), (attendee, "user"), (room, "room")):
        answer = requests.post(
            f"{host_url}/api/tenants/{tenant}/mailboxes/{mailbox}",
            params={"kind": kind},
            headers={"x-functions-key": FUNCTION_KEY},
            timeout=300,
        )
        assert answer.status_code == 200, answer.text
    bearer = requests.post(
        f"{sim_url}/_sim/api-token",
        json={"user": organizer, "audience": "api://hybrid-calendar"},
        verify=ca,
        timeout=10,
    ).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {bearer}"
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)

    def body(i: int) -> dict[str, Any]:
        moment = start + timedelta(minutes=30 * i)
        return {
            "subject": f"Bench meeting {i}",
            "start": moment.isoformat(),
            "end": (moment + timedelta(minutes=30)).isoformat(),
            "attendees": ["attendee@contoso.example"],
            "room": "room-7@contoso.example",
            "platform": "builtin",
        }

    keys = [uuid.uuid4().hex for _ in range(COUNT)]
    before = _settled(sim_url, ca, organizer)
    latencies, ids = [], set()
    for i in range(COUNT):
        started = time.perf_counter()
        answer = session.post(
            f"{host_url}/api/me/meetings", json=body(i), headers={"Idempotency-Key": keys[i]}, timeout=60
        )
        latencies.append(time.perf_counter() - started)
        assert answer.status_code == 201, answer.text
        ids.add(answer.json()["id"])
    made = _delta(_settled(sim_url, ca, organizer), before)
    retried, before = [], _settled(sim_url, ca, organizer)
    for i in range(COUNT):
        answer = session.post(
            f"{host_url}/api/me/meetings", json=body(i), headers={"Idempotency-Key": keys[i]}, timeout=60
        )
        assert answer.status_code == 201, answer.text
        retried.append(answer.json()["id"])
    again = _delta(_settled(sim_url, ca, organizer), before)
    listed = [
        m
        for m in session.get(
            f"{host_url}/api/me/meetings", params={"to": (start + timedelta(days=4)).isoformat()}, timeout=60
        ).json()["value"]
        if m["subject"].startswith("Bench meeting")
    ]
    free_busy, before = [], _graph_requests(sim_url, ca, organizer)
    for _ in range(COUNT):
        started = time.perf_counter()
        answer = session.get(f"{host_url}/api/me/availability", params={"schedules": ",".join(colleagues)}, timeout=60)
        free_busy.append(time.perf_counter() - started)
        assert answer.status_code == 200 and len(answer.json()["schedules"]) == COLLEAGUES, answer.text
    schedule_calls = _delta(_graph_requests(sim_url, ca, organizer), before)["POST"] / COUNT
    per_call = {m: n / COUNT for m, n in made.items()}
    ok_calls = (per_call["POST"], per_call["PATCH"], per_call["DELETE"]) == (1, 0, 0)
    ok_retries = (
        set(retried) == ids and again == {"GET": 0, "POST": COUNT, "PATCH": 0, "DELETE": 0} and len(listed) == COUNT
    )
    return [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; stand-in "
        "process, Azurite, and the dev host with function_app.py, all on this machine",
        f"POST /api/me/meetings (built-in platform, 1 attendee, 1 room), {COUNT} one at a time: p50 "
        f"{percentile(latencies, 0.5):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms",
        f"Graph requests about the organizer's mailbox per meeting, the webhooks that follow included: {per_call}; "
        f"writes (target: one create, no second write): {'PASS' if ok_calls else 'FAIL'}; reads: "
        f"{made['GET']} of {COUNT} meetings were read once by the sync, whose notification was handled "
        "before the API had stored the row (the request itself reads nothing)",
        f"the same {COUNT} requests retried with their keys: same ids {set(retried) == ids}, Graph requests "
        f"{again} (Graph's transactionId answers each with the first event), {len(listed)} meetings listed "
        f"(target: {COUNT}): {'PASS' if ok_retries else 'FAIL'}",
        f"GET /api/me/availability for {COLLEAGUES} schedules, {COUNT} one at a time: p50 "
        f"{percentile(free_busy, 0.5):.0f} ms, p99 {percentile(free_busy, 0.99):.0f} ms, "
        f"getSchedule calls per request {schedule_calls:g} (target 1): {'PASS' if schedule_calls == 1 else 'FAIL'}",
    ]


def main() -> int:
    return report("actions", on_local_stack(run, function_key=FUNCTION_KEY, host_process=True))


if __name__ == "__main__":
    sys.exit(main())
