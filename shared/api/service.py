"""What the meetings API and its admin routes do, behind the thin HTTP triggers.

* Users: a bearer token for this API (see :mod:`shared.api.tokens`) names the tenant and the
  user; the user's mailbox must be enabled.
* Rooms: a device credential ``hcd1.<tenant>.<id>.<secret>`` that a tenant admin issued for
  one room. Only a SHA-256 of the secret is stored (the secret is 256 random bits, so a slow
  hash adds nothing); it is shown once, and revoking it takes effect on the next request.
* Admins: issue, list and revoke device credentials; a tenant's status per mailbox.

The tenant and mailbox checks are cached for ``KNOWN_FOR_SECONDS``, and a user's presence for the
lists for ``PRESENCE_FOR_SECONDS``, so that a warm meetings request costs exactly one storage query
(the meetings range).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.api.meetings import MeetingsService
from shared.api.tokens import ApiTokenValidator, bearer_token, is_guid
from shared.cache import TtlCache
from shared.errors import (
    CredentialRevokedError,
    ForbiddenError,
    InvalidParameterError,
    InvalidTokenError,
    LimitReachedError,
    MailboxNotEnabledError,
    NotFoundError,
    TenantNotFoundError,
    describe_code,
)
from shared.storage.operations import OperationStatus
from shared.storage.records import DeviceCredential, Mailbox, digest
from shared.storage.stores import Stores

if TYPE_CHECKING:
    from shared.delivery.registry import EndpointRegistry
    from shared.presence.model import PresenceRecord
from shared.timezones import utc_text, utcnow

KNOWN_FOR_SECONDS = 60.0
PRESENCE_FOR_SECONDS = 30.0
"""The lists' ``outOfOffice`` is read from the presence row at most this often per user, so a warm list
stays one storage query; ``GET /api/me/presence`` always reads the row."""
CREDENTIAL_PREFIX = "hcd1"
_CREDENTIAL = re.compile(r"^hcd1\.([0-9a-f-]{36})\.([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$")
SOON = timedelta(hours=24)
MAX_ACTIVE_CREDENTIALS = 10
"""Active credentials per room: its devices (a codec, a touch panel, a panel outside the door) and a
spare while one is being replaced. More is a script gone wrong, not a room."""
CREDENTIALS_PAGE = 100
_CREDENTIAL_ID = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class IssuedCredential:
    """A new device credential; ``credential`` is the only time the secret is seen."""

    credential_id: str
    room_id: str
    credential: str
    created: datetime


class MeetingsApi:
    """Authenticates callers and answers the meetings, credential and status routes."""

    def __init__(
        self,
        stores: Stores,
        service: MeetingsService,
        validator: ApiTokenValidator,
        *,
        registry: EndpointRegistry | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.stores, self.service, self.validator, self.now = stores, service, validator, now
        self.registry = registry
        self._mailboxes: TtlCache[Mailbox | None] = TtlCache(ttl=KNOWN_FOR_SECONDS)
        self._presence: TtlCache[PresenceRecord | None] = TtlCache(ttl=PRESENCE_FOR_SECONDS)

    # users and rooms ----------------------------------------------------------------------------

    def user_meetings(self, authorization: str | None, params: Mapping[str, str]) -> dict[str, Any]:
        """The user's meetings, with whether the user is out of office now and until when."""
        tenant_id, mailbox_id = self.user(authorization)
        page = self.service.page(tenant_id, mailbox_id, params)
        presence = self._presence.get_or_load(
            (tenant_id, mailbox_id), lambda: self.stores.presence.get(tenant_id, mailbox_id)
        )
        out = presence is not None and presence.presence.out_of_office
        return page | {"outOfOffice": out, "until": _iso(presence.presence.until) if out and presence else None}

    def user_presence(self, authorization: str | None) -> dict[str, Any]:
        """The user's own presence from their automatic replies, with the reply message (no one else's)."""
        return presence_body(self.stores.presence.get(*self.user(authorization)))

    def room_meetings(self, room_id: str, authorization: str | None, params: Mapping[str, str]) -> dict[str, Any]:
        tenant_id, room = self.room_device(room_id, authorization)
        return self.service.page(tenant_id, room, params, room=True)

    def room_join_button(self, room_id: str, authorization: str | None) -> tuple[dict[str, Any], int]:
        return self._buttons(*self.room_device(room_id, authorization), room=True)

    def room_device(self, room_id: str, authorization: str | None) -> tuple[str, str]:
        """(tenant, room) of a device whose credential is valid, for this room, and whose room is enabled."""
        credential = self._device(bearer_token(authorization))
        if credential.room_id != room_id.lower():
            raise ForbiddenError("the device credential is for another room")
        self._enabled(credential.tenant_id, credential.room_id, "room")
        return credential.tenant_id, credential.room_id

    def user_join_button(self, authorization: str | None) -> tuple[dict[str, Any], int]:
        return self._buttons(*self.user(authorization), room=False)

    def _buttons(self, tenant_id: str, mailbox_id: str, *, room: bool) -> tuple[dict[str, Any], int]:
        shown, max_age = self.service.join_buttons(tenant_id, mailbox_id, room=room)
        return {"value": shown, "nextCheckSeconds": max_age}, max_age

    def user(self, authorization: str | None) -> tuple[str, str]:
        """(tenant, mailbox) of a user whose token is valid and whose mailbox is enabled."""
        caller = self.validator.validate(bearer_token(authorization))
        self._enabled(caller.tenant_id, caller.object_id, "user")
        return caller.tenant_id, caller.object_id

    def room(self, tenant_id: str, room_id: str) -> str:
        """An enabled room of the tenant (for its admin routes); NotFoundError otherwise."""
        room = self.stores.mailboxes.get(tenant_id, room_id)
        if room is None or not room.enabled or room.kind != "room":
            raise NotFoundError("no enabled room mailbox with this id in the tenant; enable it with kind=room first")
        return room_id

    def _enabled(self, tenant_id: str, mailbox_id: str, kind: str) -> Mailbox:
        mailbox = self._mailboxes.get_or_load(
            (tenant_id, mailbox_id),
            lambda: self.stores.mailboxes.get(tenant_id, mailbox_id),
            keep=lambda found: found is not None and found.enabled,
        )
        if mailbox is None or not mailbox.enabled:
            raise MailboxNotEnabledError(
                f"this {kind}'s mailbox is not enabled in Hybrid Calendar; ask your administrator"
            )
        return mailbox

    def _device(self, presented: str) -> DeviceCredential:
        match = _CREDENTIAL.match(presented)
        if match is None or not is_guid(match.group(1)):
            raise InvalidTokenError("the device credential is malformed (expected hcd1.<tenant>.<id>.<secret>)")
        tenant_id, credential_id, secret = match.groups()
        credential = self.stores.devices.get(tenant_id, credential_id)
        if credential is None or not credential.accepts(secret):
            raise InvalidTokenError("the device credential is not known")
        if credential.revoked is not None:
            raise CredentialRevokedError("the device credential was revoked")
        return credential

    # admin: device credentials -------------------------------------------------------------------

    def issue_credential(self, tenant_id: str, room_id: str) -> IssuedCredential:
        """A new credential for an enabled room; NotFoundError if the room is not enabled as a room,
        LimitReachedError when it already has ``MAX_ACTIVE_CREDENTIALS`` that are not revoked."""
        self.room(tenant_id, room_id)
        if self.stores.devices.count_active(tenant_id, room_id) >= MAX_ACTIVE_CREDENTIALS:
            raise LimitReachedError(
                f"this room already has {MAX_ACTIVE_CREDENTIALS} active credentials; revoke one "
                "it no longer needs before issuing another"
            )
        credential_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        created = self.now()
        self.stores.devices.add(DeviceCredential(tenant_id, credential_id, room_id, digest(secret), created))
        return IssuedCredential(
            credential_id, room_id, f"{CREDENTIAL_PREFIX}.{tenant_id}.{credential_id}.{secret}", created
        )

    def list_credentials(self, tenant_id: str, room_id: str, params: Mapping[str, str]) -> dict[str, Any]:
        """A page of the room's credentials by id: ``top`` (1-1000, default 100) after the id ``after``;
        ``after`` of the next page when more follow."""
        top = _whole(params.get("top"), "top", 1, 1000, CREDENTIALS_PAGE)
        after = params.get("after")
        if after is not None and not _CREDENTIAL_ID.match(after):
            raise InvalidParameterError("after", "must be a credential id (16 hexadecimal digits) from a previous page")
        found = self.stores.devices.list_credentials(tenant_id, room_id, after=after, limit=top + 1)
        page: dict[str, Any] = {"value": [credential_json(c) for c in found[:top]]}
        if len(found) > top:
            page["after"] = found[top - 1].credential_id
        return page

    def served_tenant(self, tenant_id: str) -> str:
        """``tenant_id`` when this deployment serves it (has its row, enabled); TenantNotFoundError otherwise."""
        tenant = self.stores.tenants.get(tenant_id)
        if tenant is None or not tenant.enabled:
            raise TenantNotFoundError("this deployment does not serve this tenant; enable a mailbox of it first")
        return tenant_id

    def revoke_credential(self, tenant_id: str, room_id: str, credential_id: str) -> DeviceCredential:
        """Revoke (idempotent: revoking twice keeps the first time); NotFoundError if not this room's."""
        held = self.stores.devices.get(tenant_id, credential_id)
        if held is None or held.room_id != room_id:
            raise NotFoundError("no credential with this id for this room")
        return self.stores.devices.revoke(tenant_id, credential_id, self.now()) or held

    # admin: status -------------------------------------------------------------------------------

    def tenant_status(self, tenant_id: str) -> dict[str, Any]:
        """Per mailbox: enabled, subscription expiry, last notification, last sync, last error; and totals."""
        now = self.now()
        expiries = {s.mailbox_id: s.expires for s in self.stores.subscriptions.list_subscriptions(tenant_id)}
        mailboxes = sorted(self.stores.mailboxes.list_mailboxes(tenant_id), key=lambda m: (m.kind, m.mailbox_id))
        rows = [_mailbox_status(m, expiries.get(m.mailbox_id)) for m in mailboxes]
        if not rows and self.stores.tenants.get(tenant_id) is None:
            raise NotFoundError("this tenant has no enabled mailboxes in this deployment")
        live = [e for e in expiries.values() if e > now]
        endpoints = self.stores.endpoints.list_tenant(tenant_id)
        presence = self.stores.presence.list_tenant(tenant_id)
        return {
            "tenant": tenant_id,
            "generatedAt": _iso(now),
            "totals": {
                "mailboxes": len(rows),
                "enabled": sum(m.enabled for m in mailboxes),
                "users": sum(m.kind == "user" for m in mailboxes),
                "rooms": sum(m.kind == "room" for m in mailboxes),
                "withErrors": sum(1 for m in mailboxes if m.last_error),
                "subscriptions": len(expiries),
                "subscriptionsExpired": len(expiries) - len(live),
                "subscriptionsExpiringWithin24h": sum(1 for e in live if e - now <= SOON),
                "nearestSubscriptionExpiry": _iso(min(expiries.values(), default=None)),
                "lastNotification": _iso(
                    max((m.last_notification for m in mailboxes if m.last_notification), default=None)
                ),
                "endpoints": len(endpoints),
                "endpointsFailing": sum(1 for e in endpoints if e.enabled and e.failing_since),
                "endpointsDisabled": sum(1 for e in endpoints if not e.enabled),
                "outOfOffice": sum(1 for p in presence if p.presence.out_of_office),
                "presenceErrors": sum(1 for p in presence if p.error),
            },
            "mailboxes": rows,
            "presenceErrors": [
                {
                    "mailbox": p.mailbox_id,
                    "code": p.error,
                    "description": describe_code(p.error),
                    "since": _iso(p.error_since),
                }
                for p in presence
                if p.error
            ],
            "disabledEndpoints": [
                {
                    "id": e.endpoint_id,
                    "mailbox": e.mailbox_id,
                    "kind": e.kind,
                    "reason": e.disabled_reason,
                    "failingSince": _iso(e.failing_since),
                }
                for e in sorted(endpoints, key=lambda e: (e.mailbox_id, e.endpoint_id))
                if not e.enabled
            ],
        }


def _mailbox_status(mailbox: Mailbox, expires: datetime | None) -> dict[str, Any]:
    error = (
        {"code": mailbox.last_error, "description": describe_code(mailbox.last_error)} if mailbox.last_error else None
    )
    warning = (
        {"code": mailbox.last_warning, "description": describe_code(mailbox.last_warning)}
        if mailbox.last_warning
        else None
    )
    return {
        "id": mailbox.mailbox_id,
        "kind": mailbox.kind,
        "address": mailbox.address,
        "displayName": mailbox.display_name,
        "enabled": mailbox.enabled,
        "subscriptionExpires": _iso(expires),
        "lastNotification": _iso(mailbox.last_notification),
        "lastSync": _iso(mailbox.last_sync),
        "lastError": error,
        "lastWarning": warning,
    }


def _iso(moment: datetime | None) -> str | None:
    return utc_text(moment) if moment else None


def _whole(text: str | None, name: str, low: int, high: int, default: int) -> int:
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise InvalidParameterError(name, f"must be a whole number from {low} to {high}")
    return int(text)


def operation_json(status: OperationStatus) -> dict[str, Any]:
    """A bulk operation as the admin API shows it: counts, and each finished item's result."""
    return {
        "id": status.operation.operation_id,
        "kind": status.operation.kind,
        "created": _iso(status.operation.created),
        "complete": status.complete,
        **status.counts(),
        "items": [
            {
                "mailbox": r.mailbox_id,
                "kind": r.kind,
                "state": r.state,
                "finished": _iso(r.finished),
                "error": {"code": r.error, "description": describe_code(r.error)} if r.error else None,
            }
            for r in sorted(status.results, key=lambda r: r.mailbox_id)
        ],
    }


def credential_json(credential: DeviceCredential) -> dict[str, Any]:
    return {
        "id": credential.credential_id,
        "room": credential.room_id,
        "created": _iso(credential.created),
        "revoked": _iso(credential.revoked),
    }


def check_guid(name: str, value: str) -> str:
    """A route or query id that must be an Entra object or tenant id; lower-cased."""
    if not is_guid(value):
        raise InvalidParameterError(name, "must be an Entra object id (a GUID)")
    return value.lower()


def check_credential_id(value: str) -> str:
    """A device credential's id as the admin API lists it (16 hexadecimal digits); lower-cased."""
    if not _CREDENTIAL_ID.match(value.lower()):
        raise InvalidParameterError("credential", "must be a credential id (16 hexadecimal digits)")
    return value.lower()


def build_api(settings: Any, stores: Stores, graph: Any) -> MeetingsApi:
    """The API over the process's stores and Graph sign-in discovery, as the settings describe."""
    from shared.sync.window import Window

    auth = graph.auth
    service = MeetingsService(
        stores.meetings,
        Window(settings.window_past_days, settings.window_future_days),
        timedelta(minutes=settings.join_lead_minutes),
        settings.meetings_page_size,
    )
    tenants: TtlCache[bool] = TtlCache(ttl=KNOWN_FOR_SECONDS)

    def is_served(tenant_id: str) -> bool:
        return tenants.get_or_load(tenant_id, lambda: _served(stores, tenant_id))

    validator = ApiTokenValidator(
        audiences=settings.api_audiences,
        scope=settings.api_scope,
        discover=auth.openid_configuration,
        fetch_json=lambda url: auth.sign_in_document(url, what="sign-in keys"),
        is_served=is_served,
    )
    from shared.config import loopback_storage_ports
    from shared.delivery.registry import EndpointRegistry

    registry = EndpointRegistry(
        stores.endpoints,
        stores.deliveries,
        overlap=timedelta(hours=settings.secret_overlap_hours),
        local=loopback_storage_ports(settings.storage_connection) is not None,
    )
    return MeetingsApi(stores, service, validator, registry=registry)


def _served(stores: Stores, tenant_id: str) -> bool:
    tenant = stores.tenants.get(tenant_id)
    return tenant is not None and tenant.enabled


def presence_body(record: PresenceRecord | None) -> dict[str, Any]:
    """``GET /api/me/presence``: ``known`` false until the first poll has read the mailbox."""
    if record is None:
        return {
            "known": False,
            "outOfOffice": False,
            "since": None,
            "until": None,
            "automaticReplies": None,
            "language": None,
            "timeZone": None,
            "error": None,
        }
    replies, presence = record.replies, record.presence
    return {
        "known": True,
        "outOfOffice": presence.out_of_office,
        "since": _iso(presence.since),
        "until": _iso(presence.until),
        "automaticReplies": {
            "status": replies.status,
            "scheduledStart": _iso(replies.start),
            "scheduledEnd": _iso(replies.end),
            "message": replies.message,
        },
        "language": record.language,
        "timeZone": record.time_zone,
        "error": record.error,
        "errorSince": _iso(record.error_since),
    }
