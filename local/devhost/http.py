"""HTTP triggers served through a real WSGI server (waitress), like the Functions host.

Requests are routed by the functions' own route templates under host.json's
``routePrefix``; ``authLevel`` is enforced with the keys from configuration
(``x-functions-key`` header or ``code`` query parameter); unknown routes, and the
routes of disabled functions for any key but the master key, answer a JSON 404;
wrong methods a JSON 405 with ``Allow``; a function that raises answers a JSON 500
that names only the invocation id. While the host drains for shutdown
new requests get 503 and in-flight ones finish.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from local.devhost.invoke import Invoker
from local.devhost.metadata import Function
from local.devhost.routes import Route, compile_route, match_route
from shared.logs import describe_exception

log = logging.getLogger("local.host")

MAX_BODY_BYTES = 100 * 1024 * 1024  # the Functions host's default maxRequestBodySize
SAFE_HEADERS = [("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store")]
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
StartResponse = Callable[..., Any]


class HttpApp:
    """The WSGI application: routing, auth, invocation and response mapping."""

    def __init__(
        self,
        functions: list[Function],
        *,
        route_prefix: str,
        function_key: str,
        master_key: str,
        invoker: Invoker,
        disabled: frozenset[str] = frozenset(),
    ) -> None:
        self._routes: list[Route[Function]] = [compile_route(f.setting("route") or f.name, f) for f in functions]
        self._prefix = "/" + route_prefix.strip("/") if route_prefix.strip("/") else ""
        self._keys = {"function": (function_key, master_key), "admin": (master_key,)}
        self._invoke = invoker
        self._disabled = disabled
        self._master_key = master_key
        self._inflight = 0
        self._idle = threading.Condition()
        self.draining = False

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.draining:
            return _error(start_response, 503, "shutting_down", "the host is stopping")
        with self._idle:
            self._inflight += 1
        try:
            return self._handle(environ, start_response)
        finally:
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no request is running (or ``timeout`` passes); True when idle."""
        with self._idle:
            return self._idle.wait_for(lambda: self._inflight == 0, timeout)

    def _handle(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raw = urlsplit(environ.get("REQUEST_URI") or environ.get("RAW_URI") or environ.get("PATH_INFO", "/"))
        method = environ["REQUEST_METHOD"].upper()
        path = raw.path
        if path == "/admin/host/invocations" and method == "GET":
            return self._invocations(environ, raw.query, start_response)
        if not (path == self._prefix or path.startswith(self._prefix + "/")):
            return _not_found(start_response, path)
        matches = match_route(self._routes, path[len(self._prefix) :])
        if not matches:
            return _not_found(start_response, path)
        allowed = [m for m in matches if method in _methods(m[0].target)]
        if not allowed:
            allow = sorted({verb for m in matches for verb in _methods(m[0].target)})
            return _error(
                start_response,
                405,
                "method_not_allowed",
                f"{method} is not allowed here; allowed: {', '.join(allow)}",
                [("Allow", ", ".join(allow))],
            )
        route, params = allowed[0]
        query = dict(parse_qsl(raw.query, keep_blank_values=True))
        headers = _headers(environ)
        if route.target.name in self._disabled and not self._is_master(headers, query):
            return _not_found(start_response, path)
        refusal = self._authorize(route.target, headers, query)
        if refusal:
            return _error(start_response, 401, "unauthorized", refusal)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY_BYTES:
            return _error(start_response, 413, "payload_too_large", f"the body is over {MAX_BODY_BYTES} bytes")
        body = environ["wsgi.input"].read(length) if length else b""
        url = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', 'localhost')}{raw.path}"
        url += f"?{raw.query}" if raw.query else ""
        request = func.HttpRequest(
            method=method, url=url, headers=headers, params=query, route_params=params, body=body
        )
        return self._run(route.target, request, start_response)

    def _invocations(self, environ: dict[str, Any], query: str, start_response: StartResponse) -> Iterable[bytes]:
        """The host's own admin route (master key): per function, invocations and their CPU seconds."""
        if not self._is_master(_headers(environ), dict(parse_qsl(query))):
            return _error(start_response, 401, "unauthorized", "this route needs the admin (master) key")
        body = json.dumps({"functions": self._invoke.counts}).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *SAFE_HEADERS]
        )
        return [body]

    def _authorize(self, function: Function, headers: dict[str, str], query: dict[str, str]) -> str | None:
        level = str(function.setting("authLevel") or "FUNCTION").lower()
        if level == "anonymous":
            return None
        if any(hmac.compare_digest(_given_key(headers, query), key.encode()) for key in self._keys[level]):
            return None
        what = "the admin (master) key" if level == "admin" else "a function key"
        return f"this route needs {what} in the x-functions-key header or the code query parameter"

    def _is_master(self, headers: dict[str, str], query: dict[str, str]) -> bool:
        """A disabled function still runs for the master key, as in Azure (anyone else gets 404)."""
        return hmac.compare_digest(_given_key(headers, query), self._master_key.encode())

    def _run(self, function: Function, request: func.HttpRequest, start_response: StartResponse) -> Iterable[bytes]:
        invocation_id = str(uuid.uuid4())
        try:
            result = self._invoke(function, request, invocation_id)
        except Exception as exc:
            log.error("function %s invocation %s failed: %s", function.name, invocation_id, describe_exception(exc))
            return _error(
                start_response,
                500,
                "internal_error",
                f"the function failed (invocation {invocation_id}); the host log has the details",
            )
        return _respond(start_response, result)


def _given_key(headers: dict[str, str], query: dict[str, str]) -> bytes:
    return (headers.get("x-functions-key") or query.get("code") or "").encode()


def _methods(function: Function) -> tuple[str, ...]:
    methods = function.trigger.get("methods")
    return tuple(str(getattr(m, "value", m)).upper() for m in methods) if methods else ALL_METHODS


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def _respond(start_response: StartResponse, result: Any) -> Iterable[bytes]:
    if result is None:
        start_response("204 No Content", [])
        return [b""]
    if isinstance(result, (str, bytes)):
        result = func.HttpResponse(result)
    body = result.get_body() or b""
    headers = [(k, v) for k, v in result.headers.items() if k.lower() != "content-length"]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", f"{result.mimetype}; charset={result.charset}"))
    start_response(_status_line(result.status_code), headers + [("Content-Length", str(len(body)))])
    return [body]


def _status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


def _not_found(start_response: StartResponse, path: str) -> Iterable[bytes]:
    return _error(start_response, 404, "not_found", f"no function is routed at {path}")


def _error(
    start_response: StartResponse, status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None
) -> Iterable[bytes]:
    """The host's own refusals, in the body every function's errors have: ``{"error": {"code", "message"}}``."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    start_response(
        _status_line(status),
        [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body))), *SAFE_HEADERS]
        + (headers or []),
    )
    return [body]
