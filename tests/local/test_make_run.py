"""`make run` end to end: start it, call /api/health, Ctrl-C, nothing left behind."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from local.azurite import AZURITE_BIN, INSTALL_HINT, free_port, port_open
from shared.config import azurite_connection_string
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def the_readme_tour_runs_as_written(host: str, sim: str, ca: str) -> None:
    """The README's tour, its shell block as written, against this make run (the block's variables default to
    make run's usual addresses; here they are this run's). Run last: the demos before it have moved @webex to
    the Webex stand-in, which the tour does not depend on."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = readme[readme.index("## A five-minute tour") :]
    block = tour[tour.index("```sh\n") + 6 : tour.index("\n```", tour.index("```sh\n"))]
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"APP": host, "SIM": sim, "CA": ca},
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[:2] == ["user", "room"] and re.fullmatch(r"enabled \d+ \| with errors \d+", lines[-1]), ran.stdout
    assert "Project kickoff | https://contoso.webex.com/meet/alice" in lines
    assert [line for line in lines if line.startswith("Tour demo | https://")], ran.stdout


def the_readme_demo_lists_meetings(host: str, sim: str, ca: str) -> None:
    """What docs/meetings-api.md's "Try it" shows: enable Alice and the room, Alice's token, a room credential."""
    from local.graphsim.demo import ALICE, ROOM, TENANT_ID

    admin = {"x-functions-key": "local-dev-function-key"}
    for mailbox, kind in ((ALICE, "user"), (ROOM, "room")):
        enabled = requests.post(
            f"{host}/api/tenants/{TENANT_ID}/mailboxes/{mailbox}?kind={kind}", headers=admin, timeout=60
        )
        assert enabled.status_code == 200, enabled.text
    token = requests.post(
        f"{sim}/_sim/api-token", json={"user": ALICE, "audience": "api://hybrid-calendar"}, verify=ca, timeout=10
    ).json()["access_token"]
    mine = requests.get(f"{host}/api/me/meetings", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert "Project kickoff" in [m["subject"] for m in mine.json()["value"]], mine.text
    issued = requests.post(f"{host}/api/tenants/{TENANT_ID}/rooms/{ROOM}/credentials", headers=admin, timeout=30)
    room = requests.get(
        f"{host}/api/rooms/{ROOM}/meetings", headers={"Authorization": f"Bearer {issued.json()['secret']}"}, timeout=30
    )
    assert [m["subject"] for m in room.json()["value"]] == ["Project kickoff"], room.text
    the_readme_demo_schedules_a_keyword(host, sim, ca, token, issued.json()["secret"])


def the_readme_demo_schedules_a_keyword(host: str, sim: str, ca: str, alice_token: str, room_credential: str) -> None:
    """What docs/scheduling.md's keyword example shows: Alice types @webex (through Graph, as Outlook would)."""
    from local.graphsim.demo import ALICE, CLIENT_ID, CLIENT_SECRET, ROOM, TENANT_ID

    graph = requests.post(
        f"{sim}/{TENANT_ID}/oauth2/v2.0/token",
        verify=ca,
        timeout=10,
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": "https://graph.microsoft.com/.default",
        },
    ).json()["access_token"]
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    event = {
        "subject": "Keyword demo",
        "location": {"displayName": "@webex"},
        "attendees": [{"emailAddress": {"address": "boardroom@contoso.example"}, "type": "resource"}],
        "start": {"dateTime": f"{tomorrow}T15:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"{tomorrow}T15:30:00", "timeZone": "UTC"},
    }
    created = requests.post(
        f"{sim}/v1.0/users/{ALICE}/events",
        json=event,
        verify=ca,
        timeout=10,
        headers={"Authorization": f"Bearer {graph}"},
    )
    assert created.status_code == 201, created.text

    def listed(path: str, bearer: str) -> str | None:
        answer = requests.get(f"{host}/api/{path}", headers={"Authorization": f"Bearer {bearer}"}, timeout=30)
        return next((m["joinUrl"] for m in answer.json()["value"] if m["subject"] == "Keyword demo"), None)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (listed("me/meetings", alice_token) or "").startswith("https://meet"):
        time.sleep(0.2)
    join_url = listed("me/meetings", alice_token)
    assert join_url and join_url.startswith("https://meet.jit.si/hc-"), join_url
    while time.monotonic() < deadline and listed(f"rooms/{ROOM}/meetings", room_credential) != join_url:
        time.sleep(0.2)
    assert listed(f"rooms/{ROOM}/meetings", room_credential) == join_url
    the_readme_demo_acts_from_the_app(host, sim, ca, alice_token, room_credential)
    the_readme_demo_shows_presence(host, sim, ca, alice_token)
    the_readme_demo_uses_webex(host, sim, ca, graph, alice_token)


def the_readme_demo_uses_webex(host: str, sim: str, ca: str, graph_token: str, alice_token: str) -> None:
    """What docs/webex.md's example shows: the tenant's @webex switched to the Webex stand-in's demo Service
    App (checked against it), and Alice's next @webex event gets a Webex meeting."""
    from local.graphsim.demo import ALICE, TENANT_ID
    from local.webexsim.server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN

    configured = requests.put(
        f"{host}/api/tenants/{TENANT_ID}/scheduling",
        timeout=60,
        headers={"x-functions-key": "local-dev-function-key"},
        json={
            "keywords": {"@webex": "webex"},
            "webex": {
                "clientId": DEMO_CLIENT_ID,
                "clientSecret": DEMO_CLIENT_SECRET,
                "refreshToken": DEMO_REFRESH_TOKEN,
                "checkHost": "alice@contoso.example",
            },
        },
    )
    assert configured.status_code == 200 and configured.json()["webex"]["tokens"]["state"] == "ok", configured.text
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    created = requests.post(
        f"{sim}/v1.0/users/{ALICE}/events",
        verify=ca,
        timeout=10,
        headers={"Authorization": f"Bearer {graph_token}"},
        json={
            "subject": "Webex demo",
            "location": {"displayName": "@webex"},
            "start": {"dateTime": f"{tomorrow}T17:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"{tomorrow}T17:30:00", "timeZone": "UTC"},
        },
    )
    assert created.status_code == 201, created.text

    def join_url() -> str:
        answer = requests.get(f"{host}/api/me/meetings", headers={"Authorization": f"Bearer {alice_token}"}, timeout=30)
        return next((m["joinUrl"] or "" for m in answer.json()["value"] if m["subject"] == "Webex demo"), "")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "webex.com" not in join_url():
        time.sleep(0.2)
    assert join_url().startswith("https://contoso.webex.com/contoso/j.php?MTID=m"), join_url()


def the_readme_demo_acts_from_the_app(host: str, sim: str, ca: str, alice_token: str, room_credential: str) -> None:
    """What docs/app-actions.md's example shows: Alice schedules with Bob and the room, Bob accepts, Alice
    looks up free/busy, the room's panel books the room now."""
    from local.graphsim.demo import BOB, ROOM, TENANT_ID

    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    alice = {"Authorization": f"Bearer {alice_token}"}
    enabled = requests.post(
        f"{host}/api/tenants/{TENANT_ID}/mailboxes/{BOB}",
        headers={"x-functions-key": "local-dev-function-key"},
        timeout=60,
    )
    assert enabled.status_code == 200, enabled.text
    created = requests.post(
        f"{host}/api/me/meetings",
        headers=alice | {"Idempotency-Key": "demo-1"},
        timeout=30,
        json={
            "subject": "App demo",
            "start": f"{tomorrow}T16:00:00Z",
            "end": f"{tomorrow}T16:30:00Z",
            "attendees": ["bob@contoso.example"],
            "room": "boardroom@contoso.example",
        },
    )
    assert created.status_code == 201 and created.json()["joinUrl"].startswith("https://meet.jit.si/hc-"), created.text
    bob = {
        "Authorization": "Bearer "
        + requests.post(
            f"{sim}/_sim/api-token", verify=ca, timeout=10, json={"user": BOB, "audience": "api://hybrid-calendar"}
        ).json()["access_token"]
    }

    def bobs() -> dict | None:
        answer = requests.get(f"{host}/api/me/meetings", headers=bob, timeout=30).json()
        return next((m for m in answer["value"] if m["subject"] == "App demo"), None)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and bobs() is None:
        time.sleep(0.2)
    meeting = bobs()
    assert meeting is not None and meeting["id"] == created.json()["id"]
    accepted = requests.post(
        f"{host}/api/me/meetings/{meeting['id']}/response", headers=bob, timeout=30, json={"response": "accept"}
    )
    assert accepted.status_code == 202, accepted.text
    while time.monotonic() < deadline and (bobs() or {}).get("response") != "accepted":
        time.sleep(0.2)
    assert (bobs() or {}).get("response") == "accepted"
    free_busy = requests.get(
        f"{host}/api/me/availability",
        headers=alice,
        timeout=30,
        params={
            "schedules": "bob@contoso.example,boardroom@contoso.example",
            "start": f"{tomorrow}T15:00:00Z",
            "end": f"{tomorrow}T18:00:00Z",
        },
    ).json()
    assert [s["availabilityView"] for s in free_busy["schedules"]] == ["002000", "202000"], free_busy
    booked = requests.post(
        f"{host}/api/rooms/{ROOM}/meetings",
        headers={"Authorization": f"Bearer {room_credential}"},
        json={"duration": 15},
        timeout=30,
    )
    assert booked.status_code == 201 and booked.json()["subject"] == "Booked on device", booked.text


def the_readme_demo_shows_presence(host: str, sim: str, ca: str, alice_token: str) -> None:
    """What docs/presence.md's example shows: Alice turns on automatic replies; within the next round
    (every minute in make run) her presence says so, and her receiver gets a signed presence.updated."""
    from local.graphsim.demo import ALICE
    from local.receiver import Receiver
    from shared.api.service import PRESENCE_FOR_SECONDS

    bearer = {"Authorization": f"Bearer {alice_token}"}
    with Receiver([]) as receiver:
        endpoint = requests.post(f"{host}/api/me/endpoints", json={"url": receiver.url}, headers=bearer, timeout=30)
        assert endpoint.status_code == 201, endpoint.text
        receiver.secrets.append(endpoint.json()["secret"])
        patched = requests.patch(
            f"{sim}/_sim/users/{ALICE}/mailboxSettings",
            verify=ca,
            timeout=10,
            json={"automaticRepliesSetting": {"status": "alwaysEnabled", "internalReplyMessage": "On leave"}},
        )
        assert patched.status_code == 200, patched.text
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and not receiver.of("presence.updated"):
            time.sleep(1)
        assert [d.data["outOfOffice"] for d in receiver.of("presence.updated")] == [True]
    mine = requests.get(f"{host}/api/me/presence", headers=bearer, timeout=30).json()
    assert mine["outOfOffice"] is True and mine["automaticReplies"]["message"] == "On leave"
    listed = lambda: requests.get(f"{host}/api/me/meetings", headers=bearer, timeout=30).json()  # noqa: E731
    deadline = time.monotonic() + PRESENCE_FOR_SECONDS + 10
    while time.monotonic() < deadline and not listed()["outOfOffice"]:
        time.sleep(1)
    assert listed()["outOfOffice"] is True, "the lists read presence at most every PRESENCE_FOR_SECONDS"


@pytest.mark.e2e
def test_make_run_serves_health_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    require(shutil.which("make") is not None, "install make (apt-get install make)")
    require(AZURITE_BIN.exists(), INSTALL_HINT)
    queue_port, table_port, http_port, graph_port = free_port(), free_port(), free_port(), free_port()
    webex_port = free_port()
    env = os.environ | {
        "AzureWebJobsStorage": azurite_connection_string(queue_port, table_port),
        "HC_LOCAL_PORT": str(http_port),
        "PYTHONUNBUFFERED": "1",
        "HC_PRESENCE_POLL_MINUTES": "1",
        "HC_GRAPH_BASE_URL": f"https://127.0.0.1:{graph_port}",
        "HC_GRAPH_CA_BUNDLE": str(tmp_path / "graphsim" / "cert.pem"),
        "HC_WEBEX_API_URL": f"https://127.0.0.1:{webex_port}/v1",
        "HC_WEBEX_CA_BUNDLE": str(tmp_path / "webexsim" / "cert.pem"),
    }
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and make.poll() is None:
            line = make.stdout.readline()
            output.append(line)
            if line.startswith("ready"):
                break
        assert output and output[-1].startswith("ready"), "".join(output)
        answer = requests.get(f"http://127.0.0.1:{http_port}/api/health", timeout=10)
        assert answer.status_code == 200 and answer.json()["status"] == "healthy", answer.text
        assert answer.json()["checks"]["graph"]["detail"] == "ok (stand-in)"
        the_readme_demo_lists_meetings(
            f"http://127.0.0.1:{http_port}", f"https://127.0.0.1:{graph_port}", str(tmp_path / "graphsim" / "cert.pem")
        )
        the_readme_tour_runs_as_written(
            f"http://127.0.0.1:{http_port}", f"https://127.0.0.1:{graph_port}", str(tmp_path / "graphsim" / "cert.pem")
        )
        os.killpg(make.pid, signal.SIGINT)
        rest, _ = make.communicate(timeout=60)
        output.append(rest)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
    text = "".join(output)
    assert "stopped" in text, text
    assert processes_mentioning(f"--queuePort {queue_port}") == []
    assert group_members(make.pid) == []
    assert "graph: stand-in https://127.0.0.1:" in text and "webex: stand-in https://127.0.0.1:" in text
    assert (
        f"tour (README): APP=http://127.0.0.1:{http_port} KEY=local-dev-function-key SIM=https://127.0.0.1:"
        f"{graph_port} CA={tmp_path / 'graphsim' / 'cert.pem'}" in text
    )
    assert not any(port_open(p) for p in (queue_port, table_port, http_port, graph_port, webex_port))
