"""Webex meetings over the Webex stand-in (HTTPS, in this process): calls per meeting, and what the guards cost.

A Service App's tokens (refreshed through the token endpoint, kept in memory here), and a host who
already has ``WEBEX_OTHERS`` meetings around the same hours (so an untagged listing would need
pages). Then, one at a time:

* ``WEBEX_COUNT`` new meetings: latency, and Webex requests per meeting by endpoint;
* the same keys again (a retry after a crash): the meeting found, nothing created;
* ``WEBEX_COUNT // 10`` creates whose answer is lost (made on the server, answered after the
  client's timeout): meetings made per create;
* an access token that expires mid-run: refreshes per expiry.

Targets (issue 28): one listing and one create per new meeting (plus the host's sites once a day);
a retry makes nothing; a lost answer leaves exactly one meeting; one refresh per expiry.
Latency is reported (no target set).

    python benchmarks/webex.py     # WEBEX_COUNT, WEBEX_OTHERS to scale
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.meetings import percentile  # noqa: E402
from benchmarks.stack import report  # noqa: E402
from local.webexsim.server import WebexSim, seed_demo  # noqa: E402
from shared.http import pooled_session  # noqa: E402
from shared.platforms.base import MeetingRequest  # noqa: E402
from shared.platforms.webex import WebexPlatform, refresh_service_app_token  # noqa: E402
from shared.platforms.webex_auth import ServiceApp, ServiceAppTokens, WebexGrant  # noqa: E402
from shared.retry import RetryPolicy  # noqa: E402

COUNT = int(os.environ.get("WEBEX_COUNT", "100"))
OTHERS = int(os.environ.get("WEBEX_OTHERS", "120"))
HOST = "alice@contoso.example"


def requests_since(sim: WebexSim, mark: int) -> Counter[str]:
    """Requests the stand-in received since ``mark``, by method and first path segment (it keeps the last 10,000)."""
    recent = list(sim.app.requests)[mark:]
    return Counter(f"{r['method']} {r['path'].split('/v1/', 1)[1].split('/')[0]}" for r in recent)


def run(sim: WebexSim) -> list[str]:
    seed_demo(sim.app)
    app = sim.app.add_service_app()
    now = datetime.now(timezone.utc)
    held = [WebexGrant(app["accessToken"], now + timedelta(seconds=app["expiresIn"]), app["refreshToken"])]
    session = pooled_session(sim.ca_bundle)
    tokens = ServiceAppTokens(
        ServiceApp(app["clientId"], app["clientSecret"]),
        load=lambda: held[-1],
        save=held.append,
        refresher=refresh_service_app_token(sim.api, session=session, timeout=10),
    )
    platform_ = WebexPlatform(
        tokens,
        base_url=sim.api,
        session=session,
        timeout=1.0,
        tenant_id="bench",
        retry=RetryPolicy(max_attempts=4, base_delay=0.05),
    )
    start = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    for i in range(OTHERS):
        sim.app.add_meeting(HOST, start + timedelta(minutes=i % 60), 60)
    requests = [
        MeetingRequest(
            HOST,
            f"Meeting {i}",
            start + timedelta(minutes=i),
            start + timedelta(minutes=i + 30),
            "Europe/Berlin",
            "scheduled",
            f"bench-{i}",
        )
        for i in range(COUNT)
    ]
    mark = len(sim.app.requests)
    latencies, made = [], []
    for request in requests:
        began = time.perf_counter()
        made.append(platform_.create_meeting(request))
        latencies.append(time.perf_counter() - began)
    per_meeting = {k: v / COUNT for k, v in requests_since(sim, mark).items()}
    ok_calls = per_meeting.get("POST meetings") == 1 and per_meeting.get("GET meetings") == 1
    mark, created = len(sim.app.requests), platform_.created
    again = [platform_.create_meeting(request) for request in requests]
    recreated = platform_.created - created
    ok_retry = again == made and recreated == 0
    retried = requests_since(sim, mark)
    lost = max(1, COUNT // 10)
    sim.app.slow_creates(lost, 1.5)
    late = [
        platform_.create_meeting(
            MeetingRequest(
                HOST, "Late", start + timedelta(hours=2), start + timedelta(hours=3), "UTC", "scheduled", f"lost-{i}"
            )
        )
        for i in range(lost)
    ]
    distinct = {m.meeting_id for m in late}
    tagged = [m for m in sim.app.meetings_of(HOST) if any(t.startswith("hc-lost-") for t in m["integrationTags"])]
    ok_lost = len(tagged) == lost == len(distinct)
    refreshes = len(held)
    sim.app.expire_access_tokens(app["clientId"])
    platform_.create_meeting(
        MeetingRequest(
            HOST,
            "After expiry",
            start + timedelta(hours=4),
            start + timedelta(hours=5),
            "UTC",
            "scheduled",
            "after-expiry",
        )
    )
    ok_refresh = len(held) == refreshes + 1
    return [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; the Webex "
        "stand-in (HTTPS) in this process",
        f"{COUNT} new meetings, one at a time, host with {OTHERS} other meetings around them: p50 "
        f"{percentile(latencies, 0.5):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms",
        f"Webex requests per new meeting: {per_meeting} (target: one listing, one create; the sites read is once "
        f"per host): {'PASS' if ok_calls else 'FAIL'}",
        f"the same {COUNT} keys again: {dict(retried)}, same meetings {again == made}, creates "
        f"{recreated}: {'PASS' if ok_retry else 'FAIL'}",
        f"{lost} creates answered after the client's 1 s timeout: {len(tagged)} meetings made (target {lost}): "
        f"{'PASS' if ok_lost else 'FAIL'}",
        f"an access token expiring mid-run: {len(held) - refreshes} refresh (target 1): "
        f"{'PASS' if ok_refresh else 'FAIL'}",
    ]


def main() -> int:
    logging.getLogger("local.webexsim").setLevel(logging.CRITICAL)  # the lost answers' closed connections
    with WebexSim() as sim:
        return report("webex", run(sim))


if __name__ == "__main__":
    sys.exit(main())
