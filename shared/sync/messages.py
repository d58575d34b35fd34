"""The sync engine's queue messages as typed values, and what became of each.

On the wire a message is one reference, or ``{"references": [...]}`` (the webhook's group
commit), each a flat object of ids (``shared.storage.queues`` checks and sizes them; no payloads,
no personal data). Here each reference becomes a typed value: a :class:`ChangeRef` on
``hc-changes``, a :class:`LifecycleRef` on ``hc-lifecycle``, a :class:`JobRef` with an explicit
:class:`JobKind` on ``hc-jobs``. A reference that does not parse is a ValidationError, and its
message goes to the poison queue at once.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from shared.errors import ValidationError

E = TypeVar("E", bound=enum.Enum)

CHANGES_QUEUE = "hc-changes"
LIFECYCLE_QUEUE = "hc-lifecycle"
JOBS_QUEUE = "hc-jobs"
TIMELINE_QUEUE = "hc-timeline"
"""Join-button messages, each visible at the second its button appears or is withdrawn."""
DELIVERIES_QUEUE = "hc-deliveries"
PRESENCE_QUEUE = "hc-presence"
"""Outgoing webhooks waiting for their next attempt."""


class ChangeType(str, enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


class LifecycleEvent(str, enum.Enum):
    REAUTHORIZATION_REQUIRED = "reauthorizationRequired"
    SUBSCRIPTION_REMOVED = "subscriptionRemoved"
    MISSED = "missed"


class JobKind(str, enum.Enum):
    """Work on a mailbox or a tenant that timers, admins and recovery queue."""

    ENABLE = "enable"
    DISABLE = "disable"
    RENEW = "renew"
    RECONCILE = "reconcile"
    CATCHUP = "catchup"
    """A delta round from scratch (reconciles: what Graph no longer has goes)."""
    RESUME = "resume"
    """A delta round from the stored link (cheap when nothing changed)."""
    SWEEP = "sweep"
    """Queue a ``resume`` for every enabled mailbox of the tenant, spread over the catch-up period."""
    PURGE = "purge"


class Outcome(str, enum.Enum):
    """What applying one reference did (logged as the word, counted by kind)."""

    STORED = "stored"
    DELETED = "deleted"
    UNCHANGED = "unchanged"
    STALE = "stale"
    DUPLICATE = "duplicate"
    SUPERSEDED = "superseded"
    DEFERRED = "deferred"
    DROPPED = "dropped"
    DONE = "done"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ChangeRef:
    """One change notification: an event of a mailbox was created, updated or deleted (at ``change_key``)."""

    tenant_id: str
    mailbox_id: str
    event_id: str
    change_type: ChangeType = ChangeType.UPDATED
    change_key: str | None = None
    subscription_id: str | None = None

    @property
    def mailbox(self) -> tuple[str, str]:
        return self.tenant_id, self.mailbox_id

    def fields(self) -> dict[str, str]:
        return _present(
            {
                "tenant_id": self.tenant_id,
                "mailbox_id": self.mailbox_id,
                "event_id": self.event_id,
                "change_type": self.change_type.value,
                "change_key": self.change_key,
                "subscription_id": self.subscription_id,
            }
        )

    @classmethod
    def parse(cls, fields: Mapping[str, str]) -> ChangeRef:
        return cls(
            _needed(fields, "tenant_id"),
            _needed(fields, "mailbox_id"),
            _needed(fields, "event_id"),
            _member(ChangeType, fields.get("change_type", "updated"), "change_type"),
            fields.get("change_key") or None,
            fields.get("subscription_id") or None,
        )


@dataclass(frozen=True)
class LifecycleRef:
    """A lifecycle notification for one subscription of a mailbox."""

    tenant_id: str
    mailbox_id: str
    subscription_id: str
    event: LifecycleEvent

    def fields(self) -> dict[str, str]:
        return {
            "tenant_id": self.tenant_id,
            "mailbox_id": self.mailbox_id,
            "subscription_id": self.subscription_id,
            "reason": self.event.value,
        }

    @classmethod
    def parse(cls, fields: Mapping[str, str]) -> LifecycleRef:
        return cls(
            _needed(fields, "tenant_id"),
            _needed(fields, "mailbox_id"),
            _needed(fields, "subscription_id"),
            _member(LifecycleEvent, fields.get("reason", ""), "reason"),
        )


@dataclass(frozen=True)
class JobRef:
    """A job: its kind, its tenant, and for mailbox jobs the mailbox (``mailbox_kind`` user or room for an
    enable, ``operation`` when it is an item of a bulk operation); a sweep after an outage is ``recover``
    (its rounds spread over a minute, not the whole catch-up period)."""

    tenant_id: str
    kind: JobKind
    mailbox_id: str | None = None
    mailbox_kind: str = "user"
    operation: str | None = None
    recover: bool = False

    def fields(self) -> dict[str, str]:
        reason = self.mailbox_kind if self.kind is JobKind.ENABLE else "recover" if self.recover else None
        return _present(
            {
                "tenant_id": self.tenant_id,
                "kind": self.kind.value,
                "mailbox_id": self.mailbox_id,
                "reason": reason,
                "operation": self.operation,
            }
        )

    @classmethod
    def parse(cls, fields: Mapping[str, str]) -> JobRef:
        kind = _member(JobKind, fields.get("kind", ""), "kind")
        mailbox = fields.get("mailbox_id") or None
        if mailbox is None and kind in MAILBOX_JOBS:
            raise ValidationError(f"queue message: a {kind.value} job needs mailbox_id")
        reason = fields.get("reason") or ""
        if kind is JobKind.ENABLE and reason not in ("", "user", "room"):
            raise ValidationError("queue message: reason of an enable job must be user or room")
        return cls(
            _needed(fields, "tenant_id"),
            kind,
            mailbox,
            reason if kind is JobKind.ENABLE and reason else "user",
            fields.get("operation") or None,
            kind is JobKind.SWEEP and reason == "recover",
        )


MAILBOX_JOBS = frozenset({JobKind.ENABLE, JobKind.DISABLE, JobKind.CATCHUP, JobKind.RESUME, JobKind.PURGE})


def _needed(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise ValidationError(f"queue message: {name} is missing")
    return value


def _member(kind: type[E], value: str, name: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise ValidationError(
            f"queue message: {name} {value!r} is not one of {', '.join(m.value for m in kind)}"
        ) from None


def _present(fields: Mapping[str, str | None]) -> dict[str, str]:
    return {name: value for name, value in fields.items() if value}
