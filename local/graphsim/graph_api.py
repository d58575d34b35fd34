"""The Graph v1.0 endpoints the product calls, with Graph's shapes, statuses and error bodies.

Users and rooms; events (create, get with ``$select``/``$expand`` of a single-value extended
property, update with ``If-Match``, delete, accept/decline/tentativelyAccept, cancel); ``instances``,
``calendarView`` and ``calendarView/delta`` (``@odata.nextLink`` paging with
``Prefer: odata.maxpagesize`` or ``$top``, ``@removed`` entries, 410 after the sync state was
reset); ``getSchedule`` (see ``schedule``); ``mailboxSettings`` (see ``settings``); subscriptions
(validation handshake, 7-day limit, duplicates 409, application access policy 403 ``ExtensionError``);
``$batch`` (20 requests, ``dependsOn``, per-item statuses inside a 200).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from local.graphsim.store import Event, GraphFault, Store, Subscription, User, graph_datetime, split_occurrence_id, utc
from local.graphsim import schedule
from local.graphsim.settings import apply_patch, settings_body
from local.graphsim.web import Request, Response

MAX_SUBSCRIPTION_MINUTES = 10080
MIN_SUBSCRIPTION_MINUTES = 45
DEFAULT_PAGE = 10
MAX_PAGE = 1000
MAX_BATCH = 20
RESPONSES = {"accept": "accepted", "decline": "declined", "tentativelyaccept": "tentativelyAccepted"}


def context_url(request: Request, fragment: str) -> str:
    return f"{request.base_url}/v1.0/$metadata#{fragment}"


def _select(item: dict[str, Any], request: Request) -> dict[str, Any]:
    fields = [f.strip() for f in request.query.get("$select", "").split(",") if f.strip()]
    if not fields:
        return item
    keep = {f.lower() for f in fields} | {"id", "@odata.etag", "@odata.type", "@removed"}
    return {k: v for k, v in item.items() if k.lower() in keep}


def _window(request: Request) -> tuple[datetime, datetime]:
    try:
        start, end = utc(request.query["startDateTime"]), utc(request.query["endDateTime"])
    except KeyError as missing:
        raise GraphFault(
            400,
            "ErrorInvalidParameter",
            f"This request requires a time window specified by the query "
            f"string parameters StartDateTime and EndDateTime. Missing "
            f"{missing}.",
        ) from None
    except ValueError:
        raise GraphFault(
            400, "ErrorInvalidParameter", "The value of StartDateTime or EndDateTime is not a valid date."
        ) from None
    return start, end


def _page_size(request: Request) -> int:
    raw = request.query.get("$top") or request.prefer("odata.maxpagesize")
    return max(1, min(MAX_PAGE, int(raw))) if raw and raw.isdigit() else DEFAULT_PAGE


def _token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _untoken(text: str) -> dict[str, Any]:
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        raise GraphFault(400, "ErrorInvalidUrlQuery", "The delta or skip token is malformed.") from None


class GraphApi:
    """Handlers for ``/v1.0/...``; ``request.context`` holds the caller's tenant and app from the token."""

    def __init__(self, store: Store, *, validate: Callable[[str], None]) -> None:
        self.store = store
        self.validate = validate
        self.offset: timedelta | None = None
        """When set, subscription expiries are written with this UTC offset (``+05:30``), as Graph's own
        examples write them; the product must read the offset, not assume UTC."""

    # helpers ------------------------------------------------------------------------------------

    def mailbox(self, request: Request) -> User:
        key = request.params.get("user") or request.context.get("user_id") or ""
        return self.store.user(request.context["tenant_id"], key)

    def _paged(self, request: Request, items: list[dict[str, Any]], fragment: str) -> Response:
        size, skip = _page_size(request), int(request.query.get("$skip") or 0)
        page = [_select(item, request) for item in items[skip : skip + size]]
        body: dict[str, Any] = {"@odata.context": context_url(request, fragment), "value": page}
        if skip + size < len(items):
            query = dict(request.query) | {"$skip": str(skip + size)}
            body["@odata.nextLink"] = f"{request.base_url}/v1.0{request.path}?{urlencode(query)}"
        return Response(200, body)

    # users, settings, schedule ------------------------------------------------------------------

    def get_user(self, request: Request) -> Response:
        user = self.mailbox(request)
        item: dict[str, Any] = {
            "id": user.id,
            "displayName": user.display_name,
            "mail": user.mail,
            "userPrincipalName": user.mail,
            "businessPhones": [],
            "givenName": None,
            "surname": None,
            "jobTitle": None,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": "en-US",
        }
        return Response(200, {"@odata.context": context_url(request, "users/$entity"), **_select(item, request)})

    def mailbox_settings(self, request: Request) -> Response:
        user = self.mailbox(request)
        return Response(
            200, {"@odata.context": context_url(request, f"users('{user.id}')/mailboxSettings"), **settings_body(user)}
        )

    def update_mailbox_settings(self, request: Request) -> Response:
        user = self.mailbox(request)
        body = request.json()
        with self.store.lock:
            apply_patch(user, body)
            answer = settings_body(user)
        changed = {k: answer[k] for k in body if k in answer}
        return Response(200, {"@odata.context": context_url(request, f"users('{user.id}')/mailboxSettings"), **changed})

    def get_schedule(self, request: Request) -> Response:
        """Free/busy of up to 100 mailboxes in one call (see ``schedule``)."""
        self.mailbox(request)
        body = request.json() or {}
        from local.graphsim.store import parse_datetime_tz

        start, _ = parse_datetime_tz(body.get("startTime"), "startTime")
        end, _ = parse_datetime_tz(body.get("endTime"), "endTime")
        schedules = body.get("schedules") or []
        minutes = schedule.check_request(schedules, start, end, body.get("availabilityViewInterval"))
        return Response(
            200,
            {
                "@odata.context": context_url(request, "Collection(microsoft.graph.scheduleInformation)"),
                "value": [self._schedule(request, str(a), start, end, minutes) for a in schedules],
            },
        )

    def _schedule(self, request: Request, address: str, start: datetime, end: datetime, minutes: int) -> dict[str, Any]:
        user = self.store.user_by_mail(address)
        if user is None or user.tenant_id != request.context["tenant_id"]:
            return schedule.unknown(address)
        return schedule.schedule(
            address,
            self.store.calendar_view(user.id, start, end),
            start,
            end,
            minutes,
            settings_body(user)["workingHours"],
        )

    # events -------------------------------------------------------------------------------------

    def create_event(self, request: Request) -> Response:
        user = self.mailbox(request)
        event = self.store.create_event(user.id, _object(request))
        return Response(
            201,
            {"@odata.context": context_url(request, f"users('{user.id}')/events/$entity"), **self.store.render(event)},
        )

    def get_event(self, request: Request) -> Response:
        user = self.mailbox(request)
        event_id = request.params["event"]
        occurrence = split_occurrence_id(event_id)
        event = self.store.event(user.id, occurrence[0] if occurrence else event_id)
        item = self.store.render(event, occurrence[1] if occurrence else None)
        item = self._extended(request, event, _select(item, request))
        return Response(200, {"@odata.context": context_url(request, f"users('{user.id}')/events/$entity"), **item})

    def _extended(self, request: Request, event: Event, item: dict[str, Any]) -> dict[str, Any]:
        expand = request.query.get("$expand", "")
        if not expand.lower().startswith("singlevalueextendedproperties"):
            return item
        wanted = expand.split("id eq '", 1)[1].rsplit("'", 1)[0] if "id eq '" in expand else None
        values = [{"id": key, "value": value} for key, value in event.extended.items() if wanted in (None, key)]
        if values:
            item["singleValueExtendedProperties"] = values
        return item

    def update_event(self, request: Request) -> Response:
        user = self.mailbox(request)
        event = self.store.update_event(
            user.id, request.params["event"], _object(request), if_match=request.headers.get("if-match")
        )
        occurrence = split_occurrence_id(request.params["event"])
        return Response(
            200,
            {
                "@odata.context": context_url(request, f"users('{user.id}')/events/$entity"),
                **self.store.render(event, occurrence[1] if occurrence else None),
            },
        )

    def delete_event(self, request: Request) -> Response:
        user = self.mailbox(request)
        self.store.delete_event(user.id, request.params["event"])
        return Response(204)

    def respond(self, request: Request) -> Response:
        user = self.mailbox(request)
        action = request.params["action"].lower()
        body = request.json() or {}
        if body.get("proposedNewTime") and action != "accept":
            event = self.store.event(user.id, request.params["event"])
            if event.data.get("allowNewTimeProposals") is False:
                raise GraphFault(400, "ErrorInvalidRequest", "New time proposals are not allowed for this meeting.")
        self.store.respond(user.id, request.params["event"], RESPONSES[action])
        return Response(202)

    def cancel(self, request: Request) -> Response:
        """The organizer cancels: attendees' and rooms' copies are marked cancelled, the organizer's goes."""
        user = self.mailbox(request)
        body = request.json() or {}
        if not isinstance(body, dict) or not isinstance(body.get("comment", ""), str):
            raise GraphFault(400, "ErrorInvalidRequest", "comment must be a string.")
        self.store.cancel(user.id, request.params["event"])
        return Response(202)

    def instances(self, request: Request) -> Response:
        user = self.mailbox(request)
        event = self.store.event(user.id, request.params["event"])
        start, end = _window(request)
        if not event.is_series:
            raise GraphFault(400, "ErrorInvalidRequest", "The item is not a recurring series master.")
        return self._paged(request, self.store.instances(event, start, end), f"users('{user.id}')/events")

    def calendar_view(self, request: Request) -> Response:
        user = self.mailbox(request)
        start, end = _window(request)
        return self._paged(request, self.store.calendar_view(user.id, start, end), f"users('{user.id}')/calendarView")

    def list_events(self, request: Request) -> Response:
        user = self.mailbox(request)
        with self.store.lock:
            items = [self.store.render(e) for e in self.store.events.get(user.id, {}).values()]
        return self._paged(request, items, f"users('{user.id}')/events")

    def delta(self, request: Request) -> Response:
        """calendarView delta: pages (``$skiptoken``) of a round, then a ``$deltatoken`` for the next one."""
        user = self.mailbox(request)
        generation = self.store.delta_generation.get(user.id, 0)
        state = self._delta_state(request, user, generation)
        start, end = utc(state["s"]), utc(state["e"])
        if "since" in state:
            items = self._delta_changes(user, state["since"], start, end)
        else:
            items = self.store.delta_items(user.id, start, end)
        size, offset = _page_size(request), int(state.get("o", 0))
        body: dict[str, Any] = {
            "@odata.context": context_url(request, "Collection(event)"),
            "value": items[offset : offset + size],
        }
        path = f"{request.base_url}/v1.0/users/{user.id}/calendarView/delta"
        if offset + size < len(items):
            body["@odata.nextLink"] = f"{path}?$skiptoken={_token(state | {'o': offset + size})}"
        else:
            token = _token({"s": state["s"], "e": state["e"], "seq": state["seq"], "g": generation})
            body["@odata.deltaLink"] = f"{path}?$deltatoken={token}"
        return Response(200, body)

    def _delta_state(self, request: Request, user: User, generation: int) -> dict[str, Any]:
        token = request.query.get("$deltatoken") or request.query.get("$skiptoken")
        if not token:
            start, end = _window(request)
            return {"s": start.isoformat(), "e": end.isoformat(), "seq": self.store.current_seq(), "g": generation}
        state = _untoken(token)
        if state.get("g", 0) != generation:
            fresh = f"{request.base_url}/v1.0/users/{user.id}/calendarView/delta?" + urlencode(
                {"startDateTime": state.get("s", ""), "endDateTime": state.get("e", "")}
            )
            raise GraphFault(
                410,
                "syncStateNotFound",
                "The sync state generation is not found. The delta token is expired.",
                {"Location": fresh},
            )
        if "$deltatoken" in request.query:
            return {
                "s": state["s"],
                "e": state["e"],
                "since": state["seq"],
                "seq": self.store.current_seq(),
                "g": generation,
            }
        return state

    def _delta_changes(self, user: User, since: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """What changed since a delta token: each changed event as a fresh round has it (a series: master and
        stubs); an event deleted, or with nothing left in the window, as ``@removed``. A cancelled occurrence
        gets no ``@removed`` of its own (observed: only its absence from the series' stubs tells)."""
        items: list[dict[str, Any]] = []
        for event_id in self.store.changed_since(user.id, since):
            event = self.store.events.get(user.id, {}).get(event_id)
            current = self.store.delta_items(user.id, start, end, only=[event]) if event is not None else []
            if current:
                items += current
            else:
                items.append(
                    {"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}}
                )
        return items

    # subscriptions ------------------------------------------------------------------------------

    def create_subscription(self, request: Request, *, denied: Callable[[str], bool]) -> Response:
        body = _object(request)
        for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
            if not body.get(name):
                raise GraphFault(400, "InvalidRequest", f"{name} is a required property for subscription creation.")
        tenant_id = request.context["tenant_id"]
        user = self._resource_user(tenant_id, str(body["resource"]), request)
        change_types = frozenset(c.strip() for c in str(body["changeType"]).split(","))
        if not change_types <= {"created", "updated", "deleted"}:
            raise GraphFault(400, "InvalidRequest", "changeType must be created, updated and/or deleted.")
        expires = self._expiry(str(body["expirationDateTime"]))
        if body.get("clientState") and len(str(body["clientState"])) > 128:
            raise GraphFault(400, "InvalidRequest", "clientState must be at most 128 characters.")
        urls = [str(body["notificationUrl"])] + (
            [str(body["lifecycleNotificationUrl"])] if body.get("lifecycleNotificationUrl") else []
        )
        if any(not _acceptable_url(url) for url in urls):
            raise GraphFault(400, "InvalidRequest", "The notification URL must be an HTTPS URL.")
        if denied(user.id):
            raise GraphFault(
                403,
                "ExtensionError",
                "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access to OData is disabled.]",
            )
        app_id = request.context["app_id"]
        for existing in self.store.subscriptions.values():
            if (
                existing.app_id == app_id
                and existing.mailbox == user.id
                and existing.change_types == change_types
                and existing.expires > datetime.now(timezone.utc)
            ):
                raise GraphFault(
                    409, "Conflict", f"Subscription Id {existing.id} already exists for the requested combination"
                )
        for url in urls:
            self.validate(url)
        subscription = Subscription(
            str(uuid.uuid4()),
            tenant_id,
            app_id,
            user.id,
            str(body["resource"]),
            change_types,
            urls[0],
            urls[1] if len(urls) > 1 else None,
            body.get("clientState"),
            expires,
            str(body.get("latestSupportedTlsVersion") or "v1_2"),
            request.context.get("oid", ""),
        )
        with self.store.lock:
            self.store.subscriptions[subscription.id] = subscription
        return Response(
            201,
            {"@odata.context": context_url(request, "subscriptions/$entity"), **self.render_subscription(subscription)},
        )

    def _resource_user(self, tenant_id: str, resource: str, request: Request) -> User:
        parts = [p for p in resource.strip("/").split("/") if p]
        if [p.lower() for p in parts] == ["me", "events"] and request.context.get("user_id"):
            return self.store.user(tenant_id, request.context["user_id"])
        if len(parts) != 3 or parts[0].lower() != "users" or parts[2].lower() != "events":
            raise GraphFault(400, "InvalidRequest", f"Resource '{resource}' of parameter 'Resource' is not supported.")
        return self.store.user(tenant_id, parts[1])

    @staticmethod
    def _expiry(text: str) -> datetime:
        try:
            expires = utc(text)
        except ValueError:
            raise GraphFault(
                400, "InvalidRequest", "expirationDateTime is a required property for subscription creation."
            ) from None
        now = datetime.now(timezone.utc)
        if expires > now + timedelta(minutes=MAX_SUBSCRIPTION_MINUTES):
            raise GraphFault(
                400,
                "InvalidRequest",
                f"Subscription expiration can only be {MAX_SUBSCRIPTION_MINUTES} minutes in the future.",
            )
        return max(expires, now + timedelta(minutes=MIN_SUBSCRIPTION_MINUTES))

    def render_subscription(self, subscription: Subscription) -> dict[str, Any]:
        return {
            "id": subscription.id,
            "resource": subscription.resource,
            "applicationId": subscription.app_id,
            "changeType": ",".join(sorted(subscription.change_types, key=["created", "updated", "deleted"].index)),
            "clientState": subscription.client_state,
            "notificationUrl": subscription.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": subscription.lifecycle_url,
            "expirationDateTime": _with_offset(subscription.expires, self.offset),
            "creatorId": subscription.creator_id,
            "includeResourceData": None,
            "latestSupportedTlsVersion": subscription.tls,
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }

    def subscription(self, request: Request) -> Subscription:
        found = self.store.subscriptions.get(request.params["subscription"])
        if found is None or found.app_id != request.context["app_id"] or found.expires <= datetime.now(timezone.utc):
            raise GraphFault(404, "ResourceNotFound", "The object was not found.")
        return found

    def renew_subscription(self, request: Request) -> Response:
        subscription = self.subscription(request)
        body = _object(request)
        if "expirationDateTime" in body:
            subscription.expires = self._expiry(str(body["expirationDateTime"]))
        if "notificationUrl" in body:
            self.validate(str(body["notificationUrl"]))
            subscription.notification_url = str(body["notificationUrl"])
        return Response(
            200,
            {"@odata.context": context_url(request, "subscriptions/$entity"), **self.render_subscription(subscription)},
        )

    def reauthorize_subscription(self, request: Request) -> Response:
        self.subscription(request)
        return Response(204)

    def delete_subscription(self, request: Request) -> Response:
        subscription = self.subscription(request)
        with self.store.lock:
            self.store.subscriptions.pop(subscription.id, None)
        return Response(204)

    def list_subscriptions(self, request: Request) -> Response:
        now = datetime.now(timezone.utc)
        items = [
            self.render_subscription(s)
            for s in self.store.subscriptions.values()
            if s.app_id == request.context["app_id"] and s.tenant_id == request.context["tenant_id"] and s.expires > now
        ]
        return self._paged(request, items, "subscriptions")


def _object(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        raise GraphFault(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is "
            "set and payload is of valid JSON format.",
        ) from None
    if not isinstance(body, dict):
        raise GraphFault(400, "BadRequest", "The request body must be a JSON object.")
    return body


def _with_offset(moment: datetime, offset: timedelta | None) -> str:
    if offset is None:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    return moment.astimezone(timezone(offset)).isoformat(timespec="microseconds")


def _acceptable_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost"))


def batch_items(body: Any) -> list[dict[str, Any]]:
    """The requests of a ``$batch`` body; GraphFault 400 for a malformed batch (then nothing runs)."""
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests:
        raise GraphFault(400, "BadRequest", "Invalid batch payload format.")
    if len(requests) > MAX_BATCH:
        raise GraphFault(400, "BadRequest", f"Number of batch request steps exceeds the maximum of {MAX_BATCH}.")
    ids = [str(r.get("id", "")).lower() for r in requests if isinstance(r, dict)]
    if len(ids) != len(requests) or "" in ids or len(set(ids)) != len(ids):
        raise GraphFault(400, "BadRequest", "Batch request ids must be present and unique.")
    for item in requests:
        if item.get("body") is not None and "content-type" not in {k.lower() for k in (item.get("headers") or {})}:
            raise GraphFault(400, "BadRequest", "Content-Type header is required when the request has a body.")
    return requests


def split_relative(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url if url.startswith("/") else "/" + url)
    return parts.path, {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}


__all__ = ["GraphApi", "batch_items", "graph_datetime", "split_relative"]
