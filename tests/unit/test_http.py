"""Outbound sessions: the environment's proxies are honoured, read once per host, and ``verify`` is kept."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from shared.http import environment_proxies, pooled_session


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[str]]]:
    """A forward proxy that answers every request itself and records its request line."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.requestline)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def fresh_proxy_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No proxy variable of the machine running the tests leaks in, and nothing is cached across tests."""
    for name in [n for n in os.environ if n.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    environment_proxies.cache_clear()
    yield
    environment_proxies.cache_clear()


def test_requests_go_through_the_environments_proxy_and_no_proxy_is_honoured(
    proxy: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = proxy
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.setenv("NO_PROXY", "bypassed.invalid")
    session = pooled_session()
    assert session.trust_env is False
    assert session.get("http://graph.example.invalid/v1.0/me", timeout=5).text == "ok"
    assert seen == ["GET http://graph.example.invalid/v1.0/me HTTP/1.1"]
    assert environment_proxies("http://bypassed.invalid") == {}


def test_the_proxy_environment_is_read_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert environment_proxies("https://graph.microsoft.com")["https"] == "http://proxy.example:3128"
    monkeypatch.setenv("HTTPS_PROXY", "http://another.example:8080")
    assert environment_proxies("https://graph.microsoft.com")["https"] == "http://proxy.example:3128"
    assert environment_proxies("https://login.microsoftonline.com")["https"] == "http://another.example:8080"


class _RecordingAdapter(HTTPAdapter):
    """A fake transport: answers 200 and records the TLS verification and proxies each request was sent with."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[object, object]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append((kwargs.get("verify"), dict(kwargs.get("proxies") or {})))
        response = requests.Response()
        response.status_code, response.request, response.url = 200, request, request.url
        return response


def test_the_sessions_verify_wins_over_the_ca_bundle_of_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/bundle.pem")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    session = pooled_session("/stand-in/cert.pem")
    adapter = _RecordingAdapter()
    session.mount("https://", adapter)
    session.get("https://graph.example.invalid/v1.0/me", timeout=5)
    session.get("https://graph.example.invalid/v1.0/me", timeout=5, verify=False)
    assert adapter.sent == [
        ("/stand-in/cert.pem", {"https": "http://proxy.example:3128"}),
        (False, {"https": "http://proxy.example:3128"}),
    ]
