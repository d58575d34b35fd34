"""The admin API as the command line calls it: one method per route, errors as :class:`AdminApiError`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests


class AdminApiError(Exception):
    """The app refused or could not be reached; ``code`` is the app's error code (or ``unreachable``)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code} (HTTP {status}): {message}" if status else f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass
class Answer:
    status: int
    body: Any
    text: str
    content_type: str = ""


class AdminClient:
    """The app at ``url`` with its function key."""

    def __init__(self, url: str, key: str, *, session: Any = None, timeout: float = 60.0) -> None:
        self.url, self.key, self.timeout = url.rstrip("/"), key, timeout
        self.session = session or requests.Session()

    def health(self) -> Answer:
        return self._call("GET", "/api/health", accept=(200, 503))

    def tenant_status(self, tenant: str) -> dict[str, Any]:
        return self._call("GET", f"/api/tenants/{tenant}/status").body

    def enable(self, tenant: str, mailbox: str, kind: str = "user") -> dict[str, Any]:
        return self._call("POST", f"/api/tenants/{tenant}/mailboxes/{mailbox}", params={"kind": kind}).body

    def disable(self, tenant: str, mailbox: str) -> dict[str, Any]:
        return self._call("DELETE", f"/api/tenants/{tenant}/mailboxes/{mailbox}").body

    def enable_many(self, tenant: str, mailboxes: list[tuple[str, str]]) -> dict[str, Any]:
        body = {"mailboxes": [{"id": mailbox, "kind": kind} for mailbox, kind in mailboxes]}
        return self._call("POST", f"/api/tenants/{tenant}/mailboxes", json=body, accept=(202,)).body

    def operation(self, tenant: str, operation: str) -> dict[str, Any]:
        return self._call("GET", f"/api/tenants/{tenant}/operations/{operation}").body

    def endpoints(self, tenant: str, room: str) -> dict[str, Any]:
        return self._call("GET", f"/api/tenants/{tenant}/rooms/{room}/endpoints").body

    def deliveries(self, tenant: str, room: str, endpoint: str) -> dict[str, Any]:
        return self._call("GET", f"/api/tenants/{tenant}/rooms/{room}/endpoints/{endpoint}/deliveries").body

    def tenants(self) -> dict[str, Any]:
        return self._call("GET", "/api/tenants").body

    def tenant_operation(self, tenant: str, operation: str, **params: str) -> dict[str, Any]:
        """``renew``, ``catch-up``, ``purge`` or ``keys/<action>`` on the tenant: the counts it answers."""
        return self._call("POST", f"/api/tenants/{tenant}/{operation}", params=params).body

    def validation_echo(self, path: str, token: str) -> Answer:
        """What Graph's validation handshake gets from a webhook: ``token`` echoed as text/plain."""
        return self._call("POST", path, params={"validationToken": token}, accept=(200,), key=False)

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        accept: tuple[int, ...] = (200,),
        key: bool = True,
    ) -> Answer:
        headers = {"x-functions-key": self.key} if key else {}
        try:
            response = self.session.request(
                method, self.url + path, params=params, json=json, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise AdminApiError(0, "unreachable", f"{self.url} did not answer ({type(exc).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code not in accept:
            error = body.get("error") if isinstance(body, dict) else None
            code = str(error.get("code")) if isinstance(error, dict) else f"http_{response.status_code}"
            message = str(error.get("message")) if isinstance(error, dict) else response.text[:200]
            raise AdminApiError(response.status_code, code, message)
        return Answer(response.status_code, body, response.text, str(response.headers.get("Content-Type") or ""))
