"""The Graph operations the product uses, over :class:`GraphTransport` with :class:`GraphAuth` tokens.

Each call names its tenant and, for mailbox calls, the mailbox, so tokens come from the right
cloud and the 4-requests-per-mailbox limit is kept. Times go out and come back in UTC
(``Prefer: outlook.timezone="UTC"``) and ids are immutable (``Prefer: IdType="ImmutableId"``).
Deletes are idempotent: deleting what Graph no longer has is success.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode

from shared.errors import HybridCalendarError, NotFoundError
from shared.graph.auth import GraphAuth
from shared.graph.batch import BatchRequest, BatchResult, run_batch
from shared.graph.paging import DeltaRound, iterate_pages
from shared.graph.transport import PREFER_DEFAULTS, GraphTransport

API_VERSION = "v1.0"
PAGE_SIZE = 100
"""Items asked per page of a listing (Graph's default is 10; bodies make a page of events heavy, so not 1,000)."""
EVENT_CHANGE_TYPES = "created,updated,deleted"
RESPONSES = ("accept", "decline", "tentativelyAccept")


def graph_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as Graph's query parameters and subscriptions take it."""
    if moment.tzinfo is None:
        raise ValueError("times sent to Graph must be timezone-aware")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?\s*(Z|z|[+-]\d{2}:?\d{2})?")


def parse_graph_time(text: str) -> datetime:
    """A timestamp as Graph writes it, as an aware UTC datetime: ``...0000000Z``, ``+00:00``, or another
    offset (``+05:30``, ``-08:00``; Graph's own examples use them), up to 7 fractional digits, or no zone
    at all (then UTC, as Graph means it). ValueError for anything else."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a Graph timestamp ({len(text)} characters)")
    base, fraction, zone = match.groups()
    offset = "+00:00" if zone in (None, "Z", "z") else (zone if ":" in zone else f"{zone[:3]}:{zone[3:]}")
    moment = datetime.fromisoformat(f"{base}.{(fraction or '0')[:6].ljust(6, '0')}{offset}")
    return moment.astimezone(timezone.utc)


def _segment(value: str) -> str:
    return quote(value, safe="@")


def _body_or_error(result: BatchResult) -> Any:
    return result.body if result.ok else result.error


class GraphClient:
    """Microsoft Graph for one app registration, across tenants and clouds."""

    def __init__(self, auth: GraphAuth, transport: GraphTransport) -> None:
        self.auth, self.transport = auth, transport

    def url(self, tenant_id: str, path: str, params: Mapping[str, Any] | None = None) -> str:
        query = f"?{urlencode(params, quote_via=quote, safe='$,()=/:')}" if params else ""
        return f"{self.auth.cloud(tenant_id).graph_url}/{API_VERSION}{path}{query}"

    def call(
        self,
        tenant_id: str,
        method: str,
        url_or_path: str,
        *,
        what: str,
        mailbox: str | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        prefer: Iterable[str] = (),
        user_id: str | None = None,
        whole_mailbox: bool = False,
    ) -> Any:
        """One request; ``user_id`` uses that user's delegated token instead of the app's."""
        url = (
            url_or_path
            if url_or_path.startswith("https://") or url_or_path.startswith("http://")
            else self.url(tenant_id, url_or_path, params)
        )
        token = self.auth.user_token(tenant_id, user_id) if user_id else self.auth.app_token(tenant_id)
        return self.transport.request(
            method,
            url,
            token=token,
            what=what,
            mailbox=mailbox,
            json=json,
            headers=headers,
            prefer=prefer,
            whole_mailbox=whole_mailbox,
        ).body

    # events -------------------------------------------------------------------------------------

    def create_event(
        self, tenant_id: str, mailbox: str, event: Mapping[str, Any], *, transaction_id: str | None = None
    ) -> dict[str, Any]:
        """POST an event; ``transaction_id`` makes a retried create idempotent on Graph's side."""
        body = dict(event) | ({"transactionId": transaction_id} if transaction_id else {})
        return self.call(
            tenant_id, "POST", f"/users/{_segment(mailbox)}/events", json=body, mailbox=mailbox, what="create event"
        )

    def get_event(
        self,
        tenant_id: str,
        mailbox: str,
        event_id: str,
        *,
        select: Sequence[str] = (),
        extended_property: str | None = None,
        body_type: str = "html",
    ) -> dict[str, Any]:
        """One event, optionally with one single-value extended property expanded in the same GET."""
        params: dict[str, str] = {"$select": ",".join(select)} if select else {}
        if extended_property:
            params["$expand"] = f"singleValueExtendedProperties($filter=id eq '{extended_property}')"
        return self.call(
            tenant_id,
            "GET",
            f"/users/{_segment(mailbox)}/events/{_segment(event_id)}",
            params=params,
            mailbox=mailbox,
            prefer=[f'outlook.body-content-type="{body_type}"'],
            what="get event",
        )

    def get_events(
        self,
        tenant_id: str,
        mailbox: str,
        event_ids: Sequence[str],
        *,
        select: Sequence[str] = (),
        body_type: str = "html",
    ) -> dict[str, dict[str, Any] | HybridCalendarError]:
        """Several events of one mailbox in ``$batch`` calls of 20: each id maps to its event, or to the
        typed error of its item (a 404 is ``NotFoundError``). One HTTP request instead of 20; Graph still
        works on at most 4 of a mailbox's items at a time (Graph's per-mailbox concurrency) and retries nothing
        itself, so
        throttled items are sent again here (``run_batch``). Inner requests do not inherit the outer
        request's headers: each carries the ``Prefer`` values that :meth:`get_event` sends."""
        query = f"?{urlencode({'$select': ','.join(select)}, quote_via=quote, safe='$,')}" if select else ""
        prefer = ", ".join((*PREFER_DEFAULTS, f'outlook.body-content-type="{body_type}"'))
        requests = [
            BatchRequest(
                str(i),
                "GET",
                f"/users/{_segment(mailbox)}/events/{_segment(event_id)}{query}",
                headers={"Prefer": prefer},
            )
            for i, event_id in enumerate(event_ids)
        ]
        results = self.batch(tenant_id, requests, mailbox=mailbox)
        return {event_id: _body_or_error(results[str(i)]) for i, event_id in enumerate(event_ids)}

    def update_event(
        self, tenant_id: str, mailbox: str, event_id: str, changes: Mapping[str, Any], *, etag: str | None = None
    ) -> dict[str, Any]:
        """PATCH an event (extended properties included); with ``etag`` a concurrent edit is a ConflictError."""
        headers = {"If-Match": etag} if etag else None
        return self.call(
            tenant_id,
            "PATCH",
            f"/users/{_segment(mailbox)}/events/{_segment(event_id)}",
            json=dict(changes),
            headers=headers,
            mailbox=mailbox,
            what="update event",
        )

    def delete_event(self, tenant_id: str, mailbox: str, event_id: str) -> None:
        try:
            self.call(
                tenant_id,
                "DELETE",
                f"/users/{_segment(mailbox)}/events/{_segment(event_id)}",
                mailbox=mailbox,
                what="delete event",
            )
        except NotFoundError as error:
            if error.details and error.details.code != "ErrorItemNotFound":
                raise

    def respond(
        self,
        tenant_id: str,
        mailbox: str,
        event_id: str,
        response: str,
        *,
        comment: str = "",
        send_response: bool = True,
    ) -> None:
        """accept / decline / tentativelyAccept (202, no body)."""
        if response not in RESPONSES:
            raise ValueError(f"response must be one of {', '.join(RESPONSES)}")
        self.call(
            tenant_id,
            "POST",
            f"/users/{_segment(mailbox)}/events/{_segment(event_id)}/{response}",
            json={"comment": comment, "sendResponse": send_response},
            mailbox=mailbox,
            what=response,
        )

    def cancel_event(self, tenant_id: str, mailbox: str, event_id: str, *, comment: str = "") -> None:
        """The organizer cancels a meeting (202): attendees get the cancellation with ``comment``; Graph refuses an
        attendee's copy with 400 ("You need to be an organizer to cancel a meeting")."""
        self.call(
            tenant_id,
            "POST",
            f"/users/{_segment(mailbox)}/events/{_segment(event_id)}/cancel",
            json={"comment": comment},
            mailbox=mailbox,
            what="cancel",
        )

    def list_instances(
        self,
        tenant_id: str,
        mailbox: str,
        series_master_id: str,
        *,
        start: datetime,
        end: datetime,
        select: Sequence[str] = (),
        page_size: int | None = PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Occurrences and exceptions of a series in [start, end) (cancelled ones are not returned); Graph's
        pages hold 10 unless asked for more (``Prefer: odata.maxpagesize``), so a daily series over the
        window is one request, not four."""
        params = {"startDateTime": graph_time(start), "endDateTime": graph_time(end)} | (
            {"$select": ",".join(select)} if select else {}
        )
        path = f"/users/{_segment(mailbox)}/events/{_segment(series_master_id)}/instances"
        return self._pages(tenant_id, mailbox, self.url(tenant_id, path, params), "list instances", page_size)

    def list_calendar_view(
        self,
        tenant_id: str,
        mailbox: str,
        *,
        start: datetime,
        end: datetime,
        select: Sequence[str] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Occurrences, exceptions and single events in [start, end), page by page."""
        params = {"startDateTime": graph_time(start), "endDateTime": graph_time(end)} | (
            {"$select": ",".join(select)} if select else {}
        )
        url = self.url(tenant_id, f"/users/{_segment(mailbox)}/calendarView", params)
        return self._pages(tenant_id, mailbox, url, "list calendar view", page_size)

    def calendar_view_delta(
        self,
        tenant_id: str,
        mailbox: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        delta_link: str | None = None,
        page_size: int | None = None,
    ) -> DeltaRound:
        """One delta round: from ``delta_link`` when given, else a new round over [start, end)."""
        if delta_link is None:
            if start is None or end is None:
                raise ValueError("a new delta round needs start and end")
            params = {"startDateTime": graph_time(start), "endDateTime": graph_time(end)}
            delta_link = self.url(tenant_id, f"/users/{_segment(mailbox)}/calendarView/delta", params)
        prefer = [f"odata.maxpagesize={page_size}"] if page_size else []
        return DeltaRound(
            delta_link,
            lambda url: self.call(tenant_id, "GET", url, mailbox=mailbox, prefer=prefer, what="calendar view delta"),
        )

    def get_schedule(
        self,
        tenant_id: str,
        mailbox: str,
        schedules: Sequence[str],
        *,
        start: datetime,
        end: datetime,
        interval_minutes: int = 30,
    ) -> list[dict[str, Any]]:
        body = {
            "schedules": list(schedules),
            "availabilityViewInterval": interval_minutes,
            "startTime": {"dateTime": graph_time(start)[:-1], "timeZone": "UTC"},
            "endTime": {"dateTime": graph_time(end)[:-1], "timeZone": "UTC"},
        }
        answer = self.call(
            tenant_id,
            "POST",
            f"/users/{_segment(mailbox)}/calendar/getSchedule",
            json=body,
            mailbox=mailbox,
            what="get schedule",
        )
        return list(answer.get("value", []))

    def get_mailbox_settings(self, tenant_id: str, mailbox: str) -> dict[str, Any]:
        """Time zone, locale, working hours and automatic replies (out of office)."""
        return self.call(
            tenant_id,
            "GET",
            f"/users/{_segment(mailbox)}/mailboxSettings",
            mailbox=mailbox,
            what="get mailbox settings",
        )

    def get_user(self, tenant_id: str, user: str, *, select: Sequence[str] = ()) -> dict[str, Any]:
        params = {"$select": ",".join(select)} if select else None
        return self.call(tenant_id, "GET", f"/users/{_segment(user)}", params=params, what="get user")

    # subscriptions ------------------------------------------------------------------------------

    def create_subscription(
        self,
        tenant_id: str,
        mailbox: str,
        *,
        notification_url: str,
        lifecycle_url: str,
        client_state: str,
        expires: datetime,
    ) -> dict[str, Any]:
        """Subscribe to a mailbox's events; the returned ``expirationDateTime`` is the one to store."""
        if len(client_state) > 128:
            raise ValueError("clientState is at most 128 characters")
        body = {
            "changeType": EVENT_CHANGE_TYPES,
            "notificationUrl": notification_url,
            "lifecycleNotificationUrl": lifecycle_url,
            "resource": f"/users/{mailbox}/events",
            "expirationDateTime": graph_time(expires),
            "clientState": client_state,
            "latestSupportedTlsVersion": "v1_2",
        }
        return self.call(tenant_id, "POST", "/subscriptions", json=body, what="create subscription")

    def renew_subscription(self, tenant_id: str, subscription_id: str, *, expires: datetime) -> dict[str, Any]:
        return self.call(
            tenant_id,
            "PATCH",
            f"/subscriptions/{_segment(subscription_id)}",
            json={"expirationDateTime": graph_time(expires)},
            what="renew subscription",
        )

    def reauthorize_subscription(self, tenant_id: str, subscription_id: str) -> None:
        self.call(
            tenant_id,
            "POST",
            f"/subscriptions/{_segment(subscription_id)}/reauthorize",
            what="reauthorize subscription",
        )

    def delete_subscription(self, tenant_id: str, subscription_id: str) -> None:
        try:
            self.call(tenant_id, "DELETE", f"/subscriptions/{_segment(subscription_id)}", what="delete subscription")
        except NotFoundError:
            pass

    def list_subscriptions(self, tenant_id: str) -> Iterator[dict[str, Any]]:
        return self._pages(tenant_id, None, self.url(tenant_id, "/subscriptions"), "list subscriptions")

    # batching and paging ------------------------------------------------------------------------

    def batch(
        self, tenant_id: str, requests: Sequence[BatchRequest], *, mailbox: str | None = None
    ) -> dict[str, BatchResult]:
        """Any number of requests, 20 per ``$batch``; inner 429/503 retried; results by id.

        ``mailbox``: every item is for that mailbox; Graph counts each item as one of the mailbox's concurrent
        requests (up to 4 at once), so the batch takes all of this process's slots for the mailbox."""

        def send(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            answer = self.call(
                tenant_id,
                "POST",
                "/$batch",
                json={"requests": items},
                what="batch",
                mailbox=mailbox,
                whole_mailbox=True,
            )
            return list(answer.get("responses", []))

        policy = self.transport.retry
        return run_batch(
            requests,
            send,
            max_attempts=policy.max_attempts,
            max_total_seconds=policy.max_total_seconds,
            sleep=self.transport._sleep,
        )

    def _pages(
        self, tenant_id: str, mailbox: str | None, url: str, what: str, page_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        prefer = [f"odata.maxpagesize={page_size}"] if page_size else []
        return iterate_pages(
            url, lambda next_url: self.call(tenant_id, "GET", next_url, mailbox=mailbox, prefer=prefer, what=what)
        )
