"""Registering endpoints: what the admin routes (a room's) and a user's own routes do with them.

A secret is shown once, when the endpoint is made and when it is rotated; afterwards only the
endpoint's id, URL and state are shown. Rotation keeps the previous secret signing for the overlap
(``HC_SECRET_OVERLAP_HOURS``) so receivers can switch without losing a delivery.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from shared.delivery.endpoints import MAX_ENDPOINTS, DeliveryLog, Endpoint, EndpointRepository, Secret, new_endpoint_id
from shared.delivery.signing import new_secret
from shared.delivery.urls import Resolver, check_url, system_resolver
from shared.errors import InvalidParameterError, LimitReachedError, NotFoundError, ValidationError
from shared.timezones import utc_text, utcnow

_ENDPOINT_ID = re.compile(r"^[0-9a-f]{16}$")
FIELDS = frozenset({"url", "enabled"})


def check_endpoint_id(value: str) -> str:
    if not _ENDPOINT_ID.match(value.lower()):
        raise InvalidParameterError("endpoint", "must be an endpoint id (16 hexadecimal digits)")
    return value.lower()


class EndpointRegistry:
    def __init__(
        self,
        endpoints: EndpointRepository,
        attempts: DeliveryLog,
        *,
        local: bool,
        overlap: timedelta,
        resolve: Resolver = system_resolver,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.endpoints, self.attempts, self.local, self.overlap = endpoints, attempts, local, overlap
        self.resolve, self.now = resolve, now

    def create(self, tenant_id: str, mailbox_id: str, kind: str, body: Any) -> dict[str, Any]:
        """A new endpoint from ``{"url": ...}``; its secret, shown this once."""
        document = _object(body)
        unknown = sorted(set(document) - {"url"})
        if unknown:
            raise ValidationError(f"unknown field(s) {', '.join(unknown)}; an endpoint is created with its url only")
        url = check_url(document.get("url"), local=self.local, resolve=self.resolve)
        if sum(1 for _ in self.endpoints.list_for(tenant_id, mailbox_id)) >= MAX_ENDPOINTS:
            raise LimitReachedError(
                f"this mailbox already has {MAX_ENDPOINTS} endpoints; delete one it no longer needs first"
            )
        secret = new_secret()
        endpoint = Endpoint(tenant_id, mailbox_id, new_endpoint_id(), kind, url, (Secret(secret),), self.now())
        self.endpoints.add(endpoint)
        return {**endpoint_json(endpoint), "secret": secret}

    def list(self, tenant_id: str, mailbox_id: str) -> dict[str, Any]:
        found = sorted(self.endpoints.list_for(tenant_id, mailbox_id), key=lambda e: e.created)
        return {"value": [endpoint_json(e) for e in found]}

    def get(self, tenant_id: str, mailbox_id: str, endpoint_id: str) -> Endpoint:
        endpoint = self.endpoints.get(tenant_id, mailbox_id, check_endpoint_id(endpoint_id))
        if endpoint is None:
            raise NotFoundError("no endpoint with this id here")
        return endpoint

    def update(self, tenant_id: str, mailbox_id: str, endpoint_id: str, body: Any) -> dict[str, Any]:
        """``{"enabled": bool}`` and/or ``{"url": ...}``; enabling again clears the failure record."""
        document = _object(body)
        unknown = sorted(set(document) - FIELDS)
        if unknown or not document:
            raise ValidationError("send enabled (true or false) and/or url")
        endpoint = self.get(tenant_id, mailbox_id, endpoint_id)
        if "enabled" in document:
            if not isinstance(document["enabled"], bool):
                raise InvalidParameterError("enabled", "must be true or false")
            endpoint = replace(
                endpoint,
                enabled=document["enabled"],
                disabled_reason=None if document["enabled"] else "by_owner",
                failing_since=None if document["enabled"] else endpoint.failing_since,
            )
        if "url" in document:
            endpoint = replace(endpoint, url=check_url(document["url"], local=self.local, resolve=self.resolve))
        self.endpoints.save(endpoint)
        return endpoint_json(self.get(tenant_id, mailbox_id, endpoint.endpoint_id))

    def rotate(self, tenant_id: str, mailbox_id: str, endpoint_id: str) -> dict[str, Any]:
        endpoint = self.get(tenant_id, mailbox_id, endpoint_id)
        secret = new_secret()
        now = self.now()
        rotated = endpoint.rotated(secret, now=now, overlap=self.overlap)
        self.endpoints.save(rotated)
        previous = next((s.until for s in rotated.secrets if s.until is not None), None)
        return {**endpoint_json(rotated), "secret": secret, "previousSecretValidUntil": _iso(previous)}

    def delete(self, tenant_id: str, mailbox_id: str, endpoint_id: str) -> None:
        """Idempotent: deleting what is not there is success."""
        self.endpoints.delete(tenant_id, mailbox_id, check_endpoint_id(endpoint_id))

    def attempts_json(
        self, tenant_id: str, mailbox_id: str, endpoint_id: str, params: Mapping[str, str]
    ) -> dict[str, Any]:
        endpoint = self.get(tenant_id, mailbox_id, endpoint_id)
        top = params.get("top", "50")
        if not top.isascii() or not top.isdigit() or not 1 <= int(top) <= 200:
            raise InvalidParameterError("top", "must be a whole number from 1 to 200")
        found = self.attempts.recent(tenant_id, endpoint.endpoint_id, limit=int(top))
        return {
            "value": [
                {
                    "at": _iso(a.at),
                    "webhookId": a.webhook_id,
                    "type": a.event_type,
                    "attempt": a.attempt,
                    "status": a.status,
                    "latencyMs": a.latency_ms,
                    "outcome": a.outcome,
                    "error": a.error,
                }
                for a in found
            ]
        }


def endpoint_json(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.endpoint_id,
        "mailbox": endpoint.mailbox_id,
        "kind": endpoint.kind,
        "url": endpoint.url,
        "enabled": endpoint.enabled,
        "disabledReason": endpoint.disabled_reason,
        "failingSince": _iso(endpoint.failing_since),
        "lastSuccess": _iso(endpoint.last_success),
        "created": _iso(endpoint.created),
        "eventTypes": event_types(endpoint.kind),
    }


def event_types(kind: str) -> list[str]:
    """What an endpoint receives: Join buttons; a user's endpoints also their presence."""
    return ["join_button.shown", "join_button.withdrawn"] + (["presence.updated"] if kind == "user" else [])


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object")
    return body


def _iso(moment: datetime | None) -> str | None:
    return utc_text(moment) if moment else None
