"""The ops CLI (``python -m hybridcal``) against the whole local stack, through Typer's runner: doctor, a CSV of
mailboxes enabled to completion with its result file, a tenant's status, disabling, and doctor failing on a
stopped storage."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from typer.testing import CliRunner

from hybridcal.cli import app
from local.azurite import Azurite
from local.graphsim.demo import seed_demo
from local.graphsim.server import GraphSim
from local.graphsim.store import User
from tests.e2e.conftest import FUNCTION_KEY, Stack, eventually, running_stack
from tests.e2e.test_sync import mailbox

ROOT = Path(__file__).resolve().parents[2]


def run(stack_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--url", stack_url, "--key", FUNCTION_KEY, *args])
    return result.exit_code, result.output


def test_doctor_passes_on_a_healthy_stack(stack: Stack) -> None:
    code, output = run(stack.url, "doctor")
    assert code == 0, output
    for name in (
        "storage",
        "key_provider",
        "graph",
        "queues",
        "notifications webhook",
        "lifecycle webhook",
        "admin key",
    ):
        assert f"pass  {name}" in output, (name, output)
    code, output = CliRunner().invoke(app, ["--url", stack.url, "--key", "not-the-key-000000", "doctor"]).exit_code, ""
    assert code == 1


def test_a_csv_of_mailboxes_is_enabled_to_completion_with_a_result_per_row(stack: Stack, tmp_path: Path) -> None:
    people = [mailbox(stack) for _ in range(4)] + [mailbox(stack, "room")]
    stranger = str(uuid.uuid4())
    listing = tmp_path / "mailboxes.csv"
    listing.write_text(
        "id,kind,address\n"
        + "".join(f"{p.id},{p.kind},{p.mail}\n" for p in people)
        + f"{stranger},user,\nnot-an-id,user,\n{people[0].id},user,again\n",
        encoding="utf-8",
    )
    code, output = run(stack.url, "mailboxes", "enable", stack.demo.tenant_id, "--csv", str(listing))
    assert code == 1, output
    assert "6 of 8 rows enabled" in output and "enabling" in output
    lines = (tmp_path / "mailboxes.csv.results.csv").read_text().splitlines()
    assert lines[0] == "line,id,kind,state,error,reason" and len(lines) == 9
    states = {line.split(",")[1]: line.split(",")[3:5] for line in lines[1:]}
    assert all(states[p.id] == ["enabled", ""] for p in people)
    assert states[stranger][0] == "failed" and states[stranger][1] == "mailbox_not_found"
    assert states["not-an-id"] == ["not sent", "invalid_row"]
    code, output = run(stack.url, "tenants", "status", stack.demo.tenant_id)
    assert code == 0 and people[0].id in output and "mailboxes enabled" in output
    code, output = run(stack.url, "mailboxes", "disable", stack.demo.tenant_id, people[0].id)
    assert code == 0 and f"disabled {people[0].id}" in output
    code, output = run(stack.url, "tenants", "status", str(uuid.uuid4()))
    assert code == 1 and "not_found (HTTP 404)" in output


def test_doctor_fails_and_names_storage_when_storage_is_stopped(session_key_file: Path) -> None:
    storage = Azurite()
    storage.start()
    try:
        with running_stack(storage.connection_string, session_key_file) as stack:
            storage.stop()
            code, output = run(stack.url, "doctor")
    finally:
        storage.stop()
    assert code == 1, output
    assert "fail  storage" in output and "pass  graph" in output


def test_a_tenant_is_listed_renewed_caught_up_purged_and_its_keys_rotated_and_rewrapped(stack: Stack) -> None:
    from tests.e2e.test_sync import enabled, outlook, stored

    user = enabled(stack)
    outlook(stack, user, subject="Before the new key")
    assert eventually(lambda: stored(stack, user))
    code, output = run(stack.url, "tenants", "list")
    assert code == 0 and stack.demo.tenant_id in output
    tenant = stack.demo.tenant_id
    for args, shown in (
        (("renew", tenant), "renewed"),
        (("catch-up", tenant, "--mailbox", user.id), f"mailbox {user.id}"),
        (("catch-up", tenant), "queued"),
        (("purge", tenant), "rowsRemoved"),
        (("keys", "rotate", tenant), "keyId"),
        (("keys", "rewrap", tenant), "rewrapped"),
    ):
        code, output = run(stack.url, *args)
        assert code == 0 and shown in output, (args, output)
    outlook(stack, user, subject="After the new key")
    assert eventually(lambda: {"Before the new key", "After the new key"} <= {r.subject for r in stored(stack, user)})
    code, output = run(stack.url, "catch-up", tenant, "--mailbox", "not-a-guid")
    assert code == 1 and "mailbox" in output


def test_shredding_a_tenant_asks_first_and_then_nothing_of_it_can_be_read(stack: Stack) -> None:
    from local.graphsim.demo import CLIENT_ID
    from local.graphsim.signin import CLOUD_FIELDS
    from local.graphsim.store import Tenant, User

    tenant = str(uuid.uuid4())
    stack.sim.app.store.add_tenant(
        Tenant(tenant, "fabrikam.example", "Fabrikam", dict(CLOUD_FIELDS["Worldwide"]), {CLIENT_ID})
    )
    user = stack.sim.app.store.add_user(User(str(uuid.uuid4()), tenant, "leaving@fabrikam.example", "Leaving"))
    assert run(stack.url, "mailboxes", "enable", tenant, user.id)[0] == 0
    refused = CliRunner().invoke(app, ["--url", stack.url, "--key", FUNCTION_KEY, "keys", "shred", tenant], input="n\n")
    assert refused.exit_code == 1 and "unreadable" in refused.output
    assert run(stack.url, "tenants", "status", tenant)[0] == 0, "nothing was shredded"
    answer = stack.admin("POST", f"tenants/{tenant}/keys/shred", params={"confirm": str(uuid.uuid4())})
    assert answer.status_code == 400 and "confirm" in answer.json()["error"]["message"]
    code, output = run(stack.url, "keys", "shred", tenant, "--yes")
    assert code == 0 and "shredded" in output, output
    code, output = run(stack.url, "tenants", "status", tenant)
    assert code == 1, output
    assert tenant in run(stack.url, "tenants", "list")[1], "a shredded tenant is still listed"


class _DeployedWebhooks(BaseHTTPRequestHandler):
    """Where Graph's subscriptions point while the CLI works on storage alone: the deployment's webhooks, which
    answer the validation handshake (the stand-in checks it on every subscription, as Graph does)."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        token = parse_qs(urlsplit(self.path).query).get("validationToken", [None])[0]
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = (token or "").encode()
        self.send_response(200 if token else 202)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_local_mode_works_on_storage_with_no_app_running(tmp_path: Path) -> None:
    storage, webhooks = Azurite(), ThreadingHTTPServer(("127.0.0.1", 0), _DeployedWebhooks)
    threading.Thread(target=webhooks.serve_forever, daemon=True).start()
    storage.start()
    try:
        with GraphSim() as sim:
            demo = seed_demo(sim.app, meetings=False)
            people = [
                sim.app.store.add_user(
                    User(str(uuid.uuid4()), demo.tenant_id, f"local{i}@contoso.example", f"Local {i}", "user")
                )
                for i in range(2)
            ]
            environment = {k: v for k, v in os.environ.items() if not k.startswith("HC_")} | {
                "AzureWebJobsStorage": storage.connection_string,
                "HC_GRAPH_BASE_URL": sim.url,
                "HC_GRAPH_CA_BUNDLE": sim.ca_bundle,
                "HC_LOCAL_KEY_FILE": str(tmp_path / "kek.json"),
                "HC_PUBLIC_BASE_URL": f"http://127.0.0.1:{webhooks.server_port}",
            }

            def cli(*args: str) -> tuple[int, str]:
                done = subprocess.run(
                    [sys.executable, "-m", "hybridcal", "--local", *args],
                    cwd=tmp_path,
                    env=environment | {"PYTHONPATH": str(ROOT)},
                    capture_output=True,
                    text=True,
                    timeout=180,
                )
                return done.returncode, done.stdout + done.stderr

            code, output = cli("doctor")
            assert code == 0 and "pass  storage" in output and "pass  notifications webhook" in output, output
            listing = tmp_path / "people.csv"
            listing.write_text("id\n" + "".join(f"{p.id}\n" for p in people) + f"{uuid.uuid4()}\n")
            code, output = cli("mailboxes", "enable", demo.tenant_id, "--csv", str(listing))
            assert code == 1 and "2 of 3 rows enabled" in output, output
            code, output = cli("tenants", "list")
            assert code == 0 and demo.tenant_id in output, output
            code, output = cli("tenants", "status", demo.tenant_id)
            assert code == 0 and people[0].id in output and people[1].id in output, output
            assert len(sim.app.store.subscriptions) == 2
    finally:
        webhooks.shutdown()
        storage.stop()
