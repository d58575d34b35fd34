"""The Graph client against the stand-in over real HTTPS, and a webhook receiver over real HTTP."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from local.graphsim.demo import Demo, seed_demo
from local.graphsim.server import GraphSim
from local.graphsim.store import User
from shared.graph.auth import AppCredentials, GraphAuth
from shared.graph.client import GraphClient
from shared.graph.transport import GraphTransport, RetryPolicy
from shared.http import pooled_session

FAST = RetryPolicy(max_attempts=4, max_total_seconds=5.0, base_delay=0.02, max_delay=0.1)


@pytest.fixture(scope="module")
def sim() -> Iterator[GraphSim]:
    with GraphSim() as server:
        seed_demo(server.app, meetings=False)
        yield server


@pytest.fixture(autouse=True)
def clean_faults(sim: GraphSim) -> Iterator[None]:
    yield
    sim.app.handle(_control("/_sim/faults/clear"))


def _control(path: str, body: Any = None) -> Any:
    from local.graphsim.web import Request

    return Request("POST", path, {}, {}, json.dumps(body or {}).encode())


def control(sim: GraphSim, path: str, body: Any = None) -> Any:
    """Call the stand-in's control API over HTTP, as a test harness outside the process would."""
    import requests

    answer = requests.post(f"{sim.url}{path}", json=body or {}, verify=sim.ca_bundle, timeout=10)
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


@pytest.fixture(scope="module")
def demo() -> Demo:
    return Demo()


def make_client(sim: GraphSim, *, retry: RetryPolicy = FAST, **auth_options: Any) -> GraphClient:
    session = pooled_session(sim.ca_bundle)
    credentials = auth_options.pop("credentials", AppCredentials(Demo().client_id, Demo().client_secret))
    auth = GraphAuth(credentials, base_url=sim.url, http_client=session, **auth_options)
    return GraphClient(auth, GraphTransport(session=session, retry=retry))


@pytest.fixture
def client(sim: GraphSim) -> GraphClient:
    return make_client(sim)


def new_user(sim: GraphSim, demo: Demo, *, kind: str = "user", time_zone: str = "UTC") -> User:
    """A fresh mailbox in the demo tenant, so tests never see each other's events."""
    tag = uuid.uuid4().hex[:8]
    return sim.app.store.add_user(
        User(
            str(uuid.uuid4()), demo.tenant_id, f"{kind}-{tag}@contoso.example", f"{kind.title()} {tag}", kind, time_zone
        )
    )


@dataclass
class Receiver:
    """A webhook endpoint: answers validation (echo, text/plain) and records notification bodies."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    validations: list[str] = field(default_factory=list)
    mode: str = "ok"
    failures_left: int = 0

    def notifications(self) -> list[dict[str, Any]]:
        return [item for body in list(self.received) for item in body.get("value", [])]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.notifications()) < count:
            time.sleep(0.05)
        return self.notifications()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if "validationToken" in query:
                token = query["validationToken"][0]
                state.validations.append(token)
                answer = {"ok": token, "wrong": token.upper(), "error": None}.get(state.mode, token)
                if state.mode == "slow":
                    time.sleep(11)
                if answer is None:
                    return self._send(500, b"")
                return self._send(200, answer.encode(), "text/plain; charset=utf-8")
            if state.failures_left > 0:
                state.failures_left -= 1
                return self._send(503, b"")
            state.received.append(json.loads(body))
            self._send(202, b"")

        def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api/graph/notifications"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
