"""What an operator does to a whole tenant through the admin API (and so the ops CLI): list, renew, catch up,
purge, and the tenant's data keys. Each returns the counts the answer shows; none returns personal data."""

from __future__ import annotations

from typing import Any

from shared.errors import ValidationError

KEY_ACTIONS = ("rotate", "rewrap", "shred")


def list_tenants(stores: Any) -> dict[str, Any]:
    """Every tenant of the deployment with its cloud, whether it is served, and its mailboxes' count."""
    return {
        "value": [
            {
                "id": tenant_id,
                "cloud": cloud,
                "enabled": enabled,
                "mailboxes": len(stores.mailboxes.list_ids(tenant_id)),
            }
            for tenant_id, cloud, enabled in sorted(stores.tenants.list_unsealed())
        ]
    }


def renew(engine: Any, tenant_id: str) -> dict[str, Any]:
    """What the renewal timer does, now: subscriptions expiring within the margin renewed (or recreated)."""
    return {"tenant": tenant_id, **engine.renew_due(tenant_id)}


def catch_up(engine: Any, tenant_id: str, mailbox_id: str | None) -> dict[str, Any]:
    """One mailbox: a delta round now, with its counts. The whole tenant: a round queued for every mailbox at
    once (each runs on a queue worker, within Graph's per-mailbox limits)."""
    from datetime import timedelta

    if mailbox_id is not None:
        return {"tenant": tenant_id, "mailbox": mailbox_id, **engine.catch_up(tenant_id, mailbox_id)}
    return {"tenant": tenant_id, "queued": engine.sweep(tenant_id, within=timedelta(0))}


def purge(engine: Any, stores: Any, tenant_id: str) -> dict[str, Any]:
    """What the daily purge does, now: rows that slid out of the retention window, and data keys past theirs."""
    mailboxes = stores.mailboxes.list_ids(tenant_id)
    rows = sum(engine.purge(tenant_id, mailbox_id) for mailbox_id in mailboxes)
    return {
        "tenant": tenant_id,
        "mailboxes": len(mailboxes),
        "rowsRemoved": rows,
        "dataKeysDeleted": stores.keyring.purge_expired(tenant_id),
    }


def keys(stores: Any, tenant_id: str, action: str, *, confirm: str | None) -> dict[str, Any]:
    """``rotate``: a new data key for new writes. ``rewrap``: every data key wrapped again under the newest
    version of the KEK (after rotating the KEK). ``shred``: every data key deleted, so that all the tenant's
    stored data is unreadable from then on (offboarding); it takes ``confirm`` equal to the tenant id."""
    if action not in KEY_ACTIONS:
        raise ValidationError(f"action must be one of {', '.join(KEY_ACTIONS)}")
    if action == "rotate":
        return {"tenant": tenant_id, "keyId": stores.keyring.rotate(tenant_id)}
    if action == "rewrap":
        return {"tenant": tenant_id, "rewrapped": stores.keyring.rewrap(tenant_id)}
    if confirm is None or confirm.lower() != tenant_id.lower():
        raise ValidationError(
            "shredding makes all the tenant's data unreadable for good: repeat the tenant id in ?confirm= to do it"
        )
    return {"tenant": tenant_id, "shredded": stores.keyring.shred(tenant_id)}
