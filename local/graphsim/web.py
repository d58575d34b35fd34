"""A minimal WSGI toolkit for the stand-in: requests, responses, and a regex route table."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    base_url: str = ""
    params: dict[str, str] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ: dict[str, Any], base_url: str) -> Request:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        raw_path = environ.get("PATH_INFO") or "/"
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        return cls(environ["REQUEST_METHOD"], raw_path, query, headers, body, base_url)

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}

    def prefer(self, name: str) -> str | None:
        """One preference of the Prefer header (``odata.maxpagesize``, ``outlook.timezone``...)."""
        for part in self.headers.get("prefer", "").split(","):
            key, _, value = part.strip().partition("=")
            if key.strip().lower() == name.lower():
                return value.strip().strip('"')
        return None


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None

    def payload(self) -> bytes:
        if self.text is not None:
            return self.text.encode("utf-8")
        return b"" if self.body is None else json.dumps(self.body).encode("utf-8")


Handler = Callable[[Request], Response]
REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Payload Too Large",
    424: "Failed Dependency",
    423: "Locked",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Router:
    """Routes ``(method, pattern)`` to handlers; path parameters become ``request.params``."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        pieces = re.split(r"\{(\w+)\}", pattern)
        regex = "".join(f"(?P<{piece}>[^/]+)" if i % 2 else re.escape(piece) for i, piece in enumerate(pieces))
        self.routes.append((method, re.compile(f"^{regex}$", re.IGNORECASE), handler))

    def match(self, method: str, path: str) -> tuple[Handler | None, dict[str, str], bool]:
        """(handler, params, path known): a known path with the wrong method has no handler."""
        known = False
        for route_method, regex, handler in self.routes:
            found = regex.match(path)
            if found:
                known = True
                if route_method == method:
                    return handler, found.groupdict(), True
        return None, {}, known


def wsgi_response(response: Response, start_response: Callable[..., Any]) -> Iterable[bytes]:
    payload = response.payload()
    headers = dict(response.headers)
    if response.text is None and response.body is not None:
        headers.setdefault("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
    headers["Content-Length"] = str(len(payload))
    start_response(f"{response.status} {REASONS.get(response.status, 'Status')}", list(headers.items()))
    return [payload]
