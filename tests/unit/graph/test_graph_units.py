"""Graph client pieces without a network: clouds, Retry-After, error classes, back-off, batches, paging."""

from __future__ import annotations

import random
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest

from shared import errors
from shared.graph.batch import BatchRequest, run_batch
from shared.graph.clouds import CLOUDS, cloud_for, instance_of, with_base_url
from shared.graph.errors import graph_error, retry_after_seconds
from shared.graph.paging import DeltaRound, iterate_pages
from shared.graph.transport import RetryPolicy

ROWS = [  # OpenID configuration values observed per national cloud
    (
        {
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "msgraph_host": "graph.microsoft.com",
        },
        "Worldwide",
    ),
    (
        {
            "tenant_region_scope": "NA",
            "tenant_region_sub_scope": "GCC",
            "cloud_instance_name": "microsoftonline.com",
            "msgraph_host": "graph.microsoft.com",
        },
        "GCC",
    ),
    (
        {
            "tenant_region_scope": "USGov",
            "tenant_region_sub_scope": "DODCON",
            "cloud_instance_name": "microsoftonline.us",
            "msgraph_host": "graph.microsoft.us",
        },
        "GCCHigh",
    ),
    (
        {
            "tenant_region_scope": "USG",
            "tenant_region_sub_scope": "DODCON",
            "cloud_instance_name": "microsoftonline.us",
        },
        "GCCHigh",
    ),
    (
        {"tenant_region_scope": "USGov", "tenant_region_sub_scope": "DOD", "cloud_instance_name": "microsoftonline.us"},
        "DoD",
    ),
    (
        {
            "tenant_region_scope": "AS",
            "cloud_instance_name": "partner.microsoftonline.cn",
            "msgraph_host": "microsoftgraph.chinacloudapi.cn",
        },
        "China",
    ),
    ({"cloud_instance_name": "microsoftonline.de"}, "Germany"),
]


@pytest.mark.parametrize(("document", "instance"), ROWS)
def test_instance_from_openid_configuration(document: dict, instance: str) -> None:
    assert instance_of(document) == instance


@pytest.mark.parametrize(
    ("deployment", "instance", "served"),
    [
        ("commercial", "Worldwide", True),
        ("commercial", "GCC", False),
        ("commercial", "GCCHigh", False),
        ("government", "GCC", True),
        ("government", "GCCHigh", True),
        ("government", "Worldwide", False),
        ("commercial", "DoD", False),
        ("government", "China", False),
        ("government", "Germany", False),
    ],
)
def test_which_deployment_serves_which_instance(deployment: str, instance: str, served: bool) -> None:
    document = next(d for d, i in ROWS if i == instance)
    if served:
        assert cloud_for(document, deployment=deployment).instance == instance
    else:
        with pytest.raises(errors.CloudNotSupportedError, match=f"in the {instance} instance"):
            cloud_for(document, deployment=deployment)


def test_cloud_hosts_and_scopes() -> None:
    assert CLOUDS["GCC"].graph_url == CLOUDS["Worldwide"].graph_url == "https://graph.microsoft.com"
    assert CLOUDS["GCCHigh"].scope == "https://graph.microsoft.us/.default"
    assert CLOUDS["DoD"].graph_url == "https://dod-graph.microsoft.us"
    local = with_base_url(CLOUDS["GCCHigh"], "https://127.0.0.1:9999/")
    assert (local.graph_url, local.login_url, local.scope) == (
        "https://127.0.0.1:9999",
        "https://127.0.0.1:9999",
        "https://graph.microsoft.us/.default",
    )


@pytest.mark.parametrize(
    ("value", "seconds"), [("10", 10.0), ("2.128", 2.128), ("0", 0.0), (None, None), ("soon", None), ("-3", 0.0)]
)
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value) == seconds


def test_retry_after_http_date() -> None:
    moment = datetime(2026, 11, 25, 12, 0, 30, tzinfo=timezone.utc)
    assert retry_after_seconds(format_datetime(moment, usegmt=True), now=moment.timestamp() - 30) == pytest.approx(30)


def body(code: str, message: str = "m") -> dict:
    return {"error": {"code": code, "message": message, "innerError": {"request-id": "rid-1"}}}


@pytest.mark.parametrize(
    ("status", "code", "message", "kind"),
    [
        (429, "TooManyRequests", "m", errors.ThrottledError),
        (503, "ServiceNotAvailable", "m", errors.DependencyUnavailableError),
        (504, "GatewayTimeout", "m", errors.DependencyUnavailableError),
        (500, "generalException", "m", errors.DependencyUnavailableError),
        (410, "syncStateNotFound", "m", errors.ResyncRequiredError),
        (400, "resyncRequired", "m", errors.ResyncRequiredError),
        (401, "InvalidAuthenticationToken", "m", errors.AuthError),
        (403, "ErrorAccessDenied", "Access to OData is disabled.", errors.AccessPolicyDeniedError),
        (
            403,
            "ExtensionError",
            "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access to OData is disabled.]",
            errors.AccessPolicyDeniedError,
        ),
        (403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.", errors.AccessDeniedError),
        (404, "ErrorInvalidUser", "The requested user 'x@y' is invalid.", errors.MailboxNotFoundError),
        (404, "MailboxNotEnabledForRESTAPI", "m", errors.MailboxNotFoundError),
        (404, "ErrorItemNotFound", "m", errors.NotFoundError),
        (412, "ErrorIrresolvableConflict", "m", errors.ConflictError),
        (409, "Conflict", "m", errors.ConflictError),
        (400, "ErrorInvalidRequest", "m", errors.ValidationError),
        (405, "MethodNotAllowed", "m", errors.PermanentError),
    ],
)
def test_error_classes(status: int, code: str, message: str, kind: type) -> None:
    error = graph_error(status, body(code, message), {"Retry-After": "3"}, what="op")
    assert type(error) is kind
    assert (error.details.status, error.details.code, error.details.request_id) == (status, code, "rid-1")
    assert str(error) == f"op: Graph answered {status} {code} (request-id rid-1)"
    assert error.details.message == message


def test_error_bodies_that_are_not_json() -> None:
    error = graph_error(502, None, {"request-id": "h-1"}, what="op")
    assert isinstance(error, errors.DependencyUnavailableError) and error.details.code == "http502"
    assert error.details.request_id == "h-1"


def test_backoff_doubles_with_jitter_and_a_ceiling() -> None:
    policy, rng = RetryPolicy(base_delay=1, max_delay=8), random.Random(1)
    waits = [policy.backoff(attempt, rng) for attempt in range(1, 7)]
    assert all(0.5 * min(8, 2 ** (a - 1)) <= w <= min(8, 2 ** (a - 1)) for a, w in zip(range(1, 7), waits))


def test_batch_retries_only_throttled_items_after_the_longest_retry_after() -> None:
    calls: list[list[str]] = []
    slept: list[float] = []

    def send(items: list[dict]) -> list[dict]:
        calls.append([i["id"] for i in items])
        if len(calls) == 1:
            return [
                {"id": "1", "status": 200, "body": {}},
                {"id": "2", "status": 429, "headers": {"Retry-After": "2"}},
                {"id": "3", "status": 503, "headers": {"retry-after": "5"}},
            ]
        return [{"id": i["id"], "status": 200, "body": {"again": True}} for i in items]

    requests = [BatchRequest(str(i), "GET", "/me") for i in (1, 2, 3)]
    results = run_batch(requests, send, sleep=slept.append)
    assert calls == [["1", "2", "3"], ["2", "3"]] and slept == [5.0]
    assert all(r.ok for r in results.values()) and results["3"].body == {"again": True}


def test_batch_gives_up_within_its_budget_with_typed_errors() -> None:
    def send(items: list[dict]) -> list[dict]:
        return [
            {"id": i["id"], "status": 429, "headers": {"Retry-After": "100"}, "body": body("TooManyRequests")}
            for i in items
        ]

    results = run_batch([BatchRequest("a", "GET", "/me")], send, max_total_seconds=10, sleep=lambda s: None)
    assert isinstance(results["a"].error, errors.ThrottledError) and results["a"].error.retry_after == 100


def test_batch_chunks_of_twenty_and_request_rules() -> None:
    sizes: list[int] = []

    def send(items: list[dict]) -> list[dict]:
        sizes.append(len(items))
        return [{"id": i["id"], "status": 204} for i in items]

    run_batch([BatchRequest(str(i), "DELETE", f"/subscriptions/{i}") for i in range(45)], send)
    assert sizes == [20, 20, 5]
    with pytest.raises(errors.ValidationError, match="unique"):
        run_batch([BatchRequest("A", "GET", "/me"), BatchRequest("a", "GET", "/me")], send)
    with pytest.raises(errors.ValidationError, match="one batch of 20"):
        run_batch([BatchRequest(str(i), "GET", "/me", depends_on=("0",) if i else ()) for i in range(21)], send)
    patch = BatchRequest("p", "PATCH", "/me/events/1", body={"subject": "x"}).to_json()
    assert patch["headers"] == {"Content-Type": "application/json"}


def test_paging_follows_next_links_through_empty_pages() -> None:
    pages = {
        "u1": {"value": [1], "@odata.nextLink": "u2"},
        "u2": {"value": [], "@odata.nextLink": "u3"},
        "u3": {"value": [2, 3]},
    }
    assert list(iterate_pages("u1", pages.__getitem__)) == [1, 2, 3]


def test_delta_round_reports_removals_and_the_final_link() -> None:
    pages = {
        "d1": {"value": [{"id": "a", "subject": "A"}], "@odata.nextLink": "d2"},
        "d2": {"value": [{"id": "b", "@removed": {"reason": "deleted"}}], "@odata.deltaLink": "next-round"},
    }
    round_ = DeltaRound("d1", pages.__getitem__)
    items = list(round_)
    assert [(i.id, i.removed, i.removed_reason) for i in items] == [("a", False, None), ("b", True, "deleted")]
    assert (round_.delta_link, round_.pages) == ("next-round", 2)


def test_graph_times_must_carry_a_zone() -> None:
    from shared.graph.client import graph_time

    assert (
        graph_time(datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone(timedelta(hours=1))))
        == "2026-01-02T02:04:05.678Z"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        graph_time(datetime(2026, 1, 2))


def test_events_fetched_in_a_batch_carry_their_own_prefer_header() -> None:
    """Inner requests of a $batch do not inherit the outer request's headers (Graph's JSON batching documentation)."""
    from shared.graph.batch import BatchResult
    from shared.graph.client import GraphClient

    class Recording(GraphClient):
        def batch(self, tenant_id: str, requests, *, mailbox: str | None = None) -> dict:
            self.seen = (list(requests), mailbox)
            return {
                r.id: BatchResult(r.id, 200, {"id": r.url}, {})
                if r.id == "0"
                else BatchResult(r.id, 404, None, {}, errors.NotFoundError("gone"))
                for r in requests
            }

    client = Recording(auth=None, transport=None)  # type: ignore[arg-type]
    got = client.get_events("t", "m@contoso.example", ["AAMk/1=", "AAMk2"], select=["subject", "start"])
    requests, mailbox = client.seen
    assert [r.url for r in requests] == [
        "/users/m@contoso.example/events/AAMk%2F1%3D?$select=subject,start",
        "/users/m@contoso.example/events/AAMk2?$select=subject,start",
    ]
    assert requests[0].headers == {
        "Prefer": 'IdType="ImmutableId", outlook.timezone="UTC", outlook.body-content-type="html"'
    }
    assert mailbox == "m@contoso.example"
    assert got["AAMk/1="] == {"id": requests[0].url} and isinstance(got["AAMk2"], errors.NotFoundError)
