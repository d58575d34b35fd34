"""Health of the product's dependencies, for ``GET /api/health``.

Each check is a small function that raises when its dependency is unusable; the
report runs them in parallel, each bounded by ``HC_HEALTH_TIMEOUT_SECONDS``, so a
hung dependency cannot hold the probe longer than that. Details name the failing
part and the error class only: the endpoint is anonymous and must not leak
connection strings or personal data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from shared.config import Settings, app_path, local_key_path
from shared.crypto.factory import build_key_provider
from shared.crypto.providers import KeyProvider
from shared.storage.clients import queue_service, table_service

Check = Callable[[Settings], "str | Mapping[str, Any] | tuple[str, Mapping[str, Any]] | None"]
"""Raises when the dependency is unusable; may return a short, non-secret note (e.g. which provider),
figures to report (counts and times, never ids or personal data), or both as (note, figures)."""
QUEUES = ("hc-changes", "hc-lifecycle", "hc-jobs", "hc-timeline", "hc-deliveries", "hc-presence")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one dependency check."""

    name: str
    ok: bool
    detail: str
    latency_ms: float
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HealthReport:
    """All check results; healthy only when every check passed."""

    results: tuple[CheckResult, ...]

    @property
    def healthy(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def status_code(self) -> int:
        return 200 if self.healthy else 503

    def to_json(self) -> str:
        return json.dumps(
            {
                "status": "healthy" if self.healthy else "unhealthy",
                "failing": [r.name for r in self.results if not r.ok],
                "checks": {
                    r.name: {"ok": r.ok, "detail": r.detail, "latency_ms": round(r.latency_ms, 1), **r.facts}
                    for r in self.results
                },
            }
        )


def check_storage(settings: Settings) -> str:
    """Tables and queues both answer a cheap listing (one page of one item); names the identity used
    (connection-string, managed-identity or default-credential)."""
    from shared.identity import storage_identity

    timeout = settings.health_timeout
    next(iter(table_service(settings.storage_connection, timeout=timeout).list_tables(results_per_page=1)), None)
    next(iter(queue_service(settings.storage_connection, timeout=timeout).list_queues(results_per_page=1)), None)
    return storage_identity(settings)


def check_key_provider(settings: Settings) -> tuple[str, Mapping[str, int]]:
    """The KEK is usable (local file readable, Key Vault or KMS key enabled); names the provider, and
    counts the wrap and unwrap calls this instance has made for data keys since it started.

    Providers are kept per configuration, so probes reuse one credential and connection pool; the
    probe's own calls are not counted. The calls scale with tenants and key rotations, not with
    rows: a count that keeps climbing means the data-key cache is not doing its work.
    """
    identity = (
        settings.key_provider,
        str(local_key_path(settings)),
        settings.keyvault_key_id,
        settings.aws_kms_key_id,
        settings.aws_region,
    )
    if identity not in _PROVIDERS:
        _PROVIDERS[identity] = build_key_provider(settings)
    _PROVIDERS[identity].check()
    return settings.key_provider, key_provider_calls()


def key_provider_calls() -> Mapping[str, int]:
    """``keyWraps`` and ``keyUnwraps`` of this process's key ring (zero if nothing has needed it yet)."""
    from shared.runtime import get_runtime

    stores = get_runtime().built("stores")
    calls = stores.keyring.providers.calls() if stores is not None else {"wraps": 0, "unwraps": 0}
    return {"keyWraps": calls["wraps"], "keyUnwraps": calls["unwraps"]}


_PROVIDERS: dict[tuple[str, ...], KeyProvider] = {}


def check_graph(settings: Settings) -> str:
    """Microsoft sign-in (or the stand-in) answers its public key set; names which one."""
    from shared.graph.clouds import WORLDWIDE
    from shared.http import pooled_session

    base = settings.graph_base_url or WORLDWIDE.login_url
    verify: str | bool = str(app_path(settings.graph_ca_bundle)) if settings.graph_base_url else True
    answer = pooled_session(verify).get(f"{base}/common/discovery/keys", timeout=settings.health_timeout)
    if answer.status_code != 200:
        raise RuntimeError(f"HTTP {answer.status_code}")
    return "stand-in" if settings.graph_base_url else "microsoft"


def check_queues(settings: Settings) -> Mapping[str, Any]:
    """Messages waiting in each work queue and in the poison queues (work that failed every retry)."""
    service = queue_service(settings.storage_connection, timeout=settings.health_timeout)
    depth = {name: _message_count(service, name) for name in QUEUES}
    poison = {name: _message_count(service, f"{name}-poison") for name in QUEUES}
    return {"queueDepth": depth, "poisonMessages": sum(poison.values()), "poisonByQueue": poison}


def record_queue_depths(settings: Settings) -> bool:
    """The queue depth and poison gauges (``hc.queue.depth``, ``hc.queue.poison``), when telemetry is on: two
    reads per work queue, by the one instance that runs the minute's timer."""
    from shared.telemetry import QUEUE_DEPTH, QUEUE_POISON, telemetry

    recorder = telemetry()
    if not recorder.enabled:
        return False
    read = check_queues(settings)
    for name in QUEUES:
        recorder.record(QUEUE_DEPTH, read["queueDepth"][name], queue=name)
        recorder.record(QUEUE_POISON, read["poisonByQueue"][name], queue=name)
    return True


def _message_count(service: Any, name: str) -> int:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return int(service.get_queue_client(name).get_queue_properties().approximate_message_count or 0)
    except ResourceNotFoundError:
        return 0


def check_subscriptions(settings: Settings) -> Mapping[str, Any]:
    """The subscription that expires first, across tenants (reads only the expiry column)."""
    from azure.core.exceptions import ResourceNotFoundError

    client = table_service(settings.storage_connection, timeout=settings.health_timeout).get_table_client(
        "subscriptions"
    )
    try:
        expiries = [row["ExpiresUtc"] for row in client.list_entities(select=["ExpiresUtc"]) if row.get("ExpiresUtc")]
    except ResourceNotFoundError:
        expiries = []
    now = datetime.now(timezone.utc)
    nearest = min(expiries, default=None)
    return {
        "subscriptions": len(expiries),
        "expired": sum(1 for e in expiries if e <= now),
        "nearestSubscriptionExpiry": nearest.strftime("%Y-%m-%dT%H:%M:%SZ") if nearest else None,
    }


DEFAULT_CHECKS: Mapping[str, Check] = {
    "storage": check_storage,
    "key_provider": check_key_provider,
    "graph": check_graph,
    "queues": check_queues,
    "subscriptions": check_subscriptions,
}


def _run(name: str, check: Check, settings: Settings) -> CheckResult:
    started = time.perf_counter()
    try:
        note = check(settings)
    except Exception as exc:  # any failure makes the dependency unhealthy; the class name says which
        return CheckResult(name, False, f"unavailable ({type(exc).__name__})", _ms(started))
    note, facts = _note_and_facts(note)
    return CheckResult(name, True, f"ok ({note})" if note else "ok", _ms(started), facts)


def _note_and_facts(returned: Any) -> tuple[str | None, Mapping[str, Any]]:
    if isinstance(returned, tuple):
        return returned
    if isinstance(returned, Mapping):
        return None, returned
    return returned, {}


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def check_health(settings: Settings, checks: Mapping[str, Check] = DEFAULT_CHECKS) -> HealthReport:
    """Run every check in parallel and collect the results in a stable order."""
    with ThreadPoolExecutor(max_workers=max(1, len(checks))) as pool:
        futures = [pool.submit(_run, name, check, settings) for name, check in checks.items()]
        return HealthReport(tuple(future.result() for future in futures))
