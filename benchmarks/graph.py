"""Graph stand-in throughput, and the Graph client's own cost per request.

1. Throughput. The stand-in runs in its own process (as ``make run`` and the pipeline
   benchmarks use it); 8 client threads of the product's ``GraphClient`` send the mix the sync
   engine sends — get an event, a calendarView page, mailbox settings, an event update — to 20
   mailboxes for ``SECONDS``. Target (issue 3): at least 300 requests/s on this 2-core machine.
2. Client overhead. The same client calls with the network replaced by a session that answers
   at once, so the figure is headers, retries bookkeeping, token lookup in MSAL's cache, URL
   building and JSON decoding, per request.

    python benchmarks/graph.py        # prints the figures, writes benchmarks/results/graph.md
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from benchmarks.stack import report  # noqa: E402
from local.graphsim.demo import Demo  # noqa: E402
from local.graphsim.server import spawn  # noqa: E402
from shared.graph.auth import AppCredentials, GraphAuth  # noqa: E402
from shared.graph.client import GraphClient  # noqa: E402
from shared.graph.transport import GraphTransport  # noqa: E402
from shared.http import pooled_session  # noqa: E402

SECONDS = 8.0
THREADS = 8
MAILBOXES = 20
TARGET_RPS = 300
DAY = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def client_for(url: str, ca_bundle: str) -> GraphClient:
    session = pooled_session(ca_bundle)
    auth = GraphAuth(AppCredentials(Demo().client_id, Demo().client_secret), base_url=url, http_client=session)
    return GraphClient(auth, GraphTransport(session=session))


def seed(url: str, ca_bundle: str, client: GraphClient) -> list[tuple[str, str]]:
    demo, pairs = Demo(), []
    for i in range(MAILBOXES):
        answer = requests.post(
            f"{url}/_sim/users",
            json={"tenantId": demo.tenant_id, "mail": f"bench{i}@contoso.example"},
            verify=ca_bundle,
            timeout=10,
        )
        mailbox = answer.json()["id"]
        for hour in range(5):
            start = DAY + timedelta(hours=8 + hour)
            event = client.create_event(
                demo.tenant_id,
                mailbox,
                {
                    "subject": f"Bench {hour}",
                    "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                    "end": {
                        "dateTime": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
                        "timeZone": "UTC",
                    },
                },
            )
        pairs.append((mailbox, event["id"]))
    return pairs


def mix(client: GraphClient, mailbox: str, event_id: str, i: int) -> None:
    tenant = Demo().tenant_id
    kind = i % 4
    if kind == 0:
        client.get_event(tenant, mailbox, event_id, select=["subject", "start", "end", "body", "onlineMeeting"])
    elif kind == 1:
        next(iter(client.list_calendar_view(tenant, mailbox, start=DAY, end=DAY + timedelta(days=1), page_size=10)))
    elif kind == 2:
        client.get_mailbox_settings(tenant, mailbox)
    else:
        client.update_event(tenant, mailbox, event_id, {"subject": f"Bench {i}"})


def throughput(client: GraphClient, pairs: list[tuple[str, str]]) -> tuple[float, list[float]]:
    stop = time.monotonic() + SECONDS
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(worker_id: int) -> int:
        done = 0
        while time.monotonic() < stop:
            mailbox, event_id = pairs[(worker_id * 7 + done) % len(pairs)]
            started = time.perf_counter()
            mix(client, mailbox, event_id, done)
            with lock:
                latencies.append(time.perf_counter() - started)
            done += 1
        return done

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        total = sum(pool.map(worker, range(THREADS)))
    return total / (time.monotonic() - started), latencies


class InstantResponse:
    """What the client reads of a requests.Response; the body is a real Graph event."""

    status_code = 200
    headers: dict[str, str] = {"Content-Type": "application/json"}

    def __init__(self, body: dict[str, Any]) -> None:
        self.content = json.dumps(body).encode()

    def json(self) -> Any:
        return json.loads(self.content)


class InstantSession:
    def __init__(self, body: dict[str, Any]) -> None:
        self.response = InstantResponse(body)

    def request(self, *args: Any, **kwargs: Any) -> InstantResponse:
        return self.response


def overhead(client: GraphClient, mailbox: str, event_id: str, url: str, ca_bundle: str) -> float:
    """Seconds per get_event with the network answered instantly (median of 5 x 2,000 calls)."""
    tenant = Demo().tenant_id
    body = client.get_event(tenant, mailbox, event_id)
    local = GraphClient(client.auth, GraphTransport(session=InstantSession(body)))
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(2000):
            local.get_event(tenant, mailbox, event_id, select=["subject", "start", "end", "body", "onlineMeeting"])
        samples.append((time.perf_counter() - started) / 2000)
    return statistics.median(samples)


def main() -> int:
    process, url, ca_bundle = spawn(Path(tempfile.mkdtemp(prefix="graphsim-bench-")))
    try:
        client = client_for(url, ca_bundle)
        pairs = seed(url, ca_bundle, client)
        rps, latencies = throughput(client, pairs)
        per_call = overhead(client, *pairs[0], url, ca_bundle)
    finally:
        process.terminate()
        process.wait(timeout=10)
    latencies.sort()
    ok = rps >= TARGET_RPS
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; stand-in in its "
        f"own process, client threads in this one",
        f"mix: get event / calendarView page / mailboxSettings / PATCH event, {MAILBOXES} mailboxes, "
        f"{THREADS} threads, {SECONDS:.0f} s",
        f"stand-in throughput: {rps:,.0f} requests/s (target >= {TARGET_RPS}): {'PASS' if ok else 'FAIL'}",
        f"latency seen by the client: p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms",
        f"client overhead per request (network answered instantly): {per_call * 1e6:.0f} us "
        f"({per_call / statistics.median(latencies):.1%} of the median round trip under load)",
    ]
    report("graph", lines)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
