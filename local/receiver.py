"""A small webhook receiver, as a room device or an app would run one: verifies each delivery's
Standard Webhooks signature with the ``standardwebhooks`` package (an implementation independent of
ours), drops repeats by ``webhook-id``, and keeps what it accepted.

``python -m local.receiver --port 8099 --secret whsec_...`` prints each Join button it gets; tests use
:class:`Receiver` directly (several secrets, failing on purpose, holding a request).
"""

from __future__ import annotations

import argparse
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    webhook_id: str
    event_type: str
    data: dict[str, Any]
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Listens on 127.0.0.1; ``status`` is what it answers (503: down for a while)."""

    secrets: list[str]
    port: int = 0
    status: int = 204
    accepted: list[Delivery] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    """Every request's webhook-id, repeats and refusals included."""
    refused: int = 0
    echo: bool = False

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                code = receiver.take(body, {k: v for k, v in self.headers.items()})
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def take(self, body: bytes, headers: dict[str, str]) -> int:
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        webhook_id = next((v for k, v in headers.items() if k.lower() == "webhook-id"), "")
        with self._lock:
            self.attempts.append(webhook_id)
            if self.status >= 300:
                return self.status
        for secret in self.secrets:
            try:
                payload = Webhook(secret).verify(body, headers)
                break
            except WebhookVerificationError:
                continue
        else:
            with self._lock:
                self.refused += 1
            return 401
        with self._lock:
            if webhook_id not in self._seen:
                self._seen.add(webhook_id)
                delivery = Delivery(webhook_id, payload["type"], payload["data"], headers, body)
                self.accepted.append(delivery)
                if self.echo:
                    print(
                        f"{payload['type']}: meeting {payload['data'].get('meetingId')} "
                        f"(starts {payload['data'].get('start', '-')})",
                        flush=True,
                    )
        return 204

    def of(self, event_type: str, meeting_id: str | None = None) -> list[Delivery]:
        with self._lock:
            return [
                d
                for d in self.accepted
                if d.event_type == event_type and (meeting_id is None or d.data.get("meetingId") == meeting_id)
            ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Receive and verify Hybrid Calendar webhooks on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--secret", action="append", required=True, help="whsec_... (repeat during a rotation)")
    options = parser.parse_args()
    with Receiver(options.secret, port=options.port, echo=True) as receiver:
        print(f"listening on {receiver.url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print(json.dumps({"accepted": len(receiver.accepted), "refused": receiver.refused}))


if __name__ == "__main__":
    main()
