"""What ``doctor`` concludes from the app's answers: one :class:`Finding` per check, decided without I/O.

The app's own ``/api/health`` knows its dependencies (storage, key provider, Graph per the
deployment's clouds, queues, subscriptions); only a caller from outside can tell that Graph's
webhooks answer the validation handshake Graph makes before any subscription (the token echoed
as ``text/plain`` within 10 seconds), and that the admin API accepts the key it was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str


def health_findings(status: int | None, body: Any, unreachable: str | None = None) -> list[Finding]:
    """A line per dependency of the health answer; one failing line when the app did not answer."""
    if unreachable is not None or not isinstance(body, Mapping) or not isinstance(body.get("checks"), Mapping):
        return [Finding("app", False, unreachable or f"/api/health answered HTTP {status} without its report")]
    findings = [Finding("app", True, f"/api/health answered HTTP {status}")]
    for name, check in body["checks"].items():
        check = check if isinstance(check, Mapping) else {}
        findings.append(Finding(str(name), bool(check.get("ok")), str(check.get("detail") or "no detail")))
    return findings


def echo_finding(
    name: str, token: str, status: int | None, text: str, content_type: str, unreachable: str | None = None
) -> Finding:
    """Graph's validation handshake: HTTP 200, ``text/plain``, the token and nothing else."""
    if unreachable is not None:
        return Finding(name, False, unreachable)
    if status != 200 or text != token or not content_type.startswith("text/plain"):
        return Finding(
            name,
            False,
            f"the validation handshake got HTTP {status} ({content_type or 'no type'}), "
            "not the token echoed as text/plain: Graph would refuse subscriptions",
        )
    return Finding(name, True, "answers Graph's validation handshake")


def key_finding(status: int | None, code: str | None = None) -> Finding:
    if status == 401:
        return Finding("admin key", False, "the admin API refused the function key (HTTP 401)")
    if code == "unreachable":
        return Finding("admin key", False, "the admin API did not answer")
    return Finding("admin key", True, "the admin API accepts the function key")
