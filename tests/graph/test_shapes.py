"""The stand-in's answers against the shapes documented by Microsoft for Graph, read over raw HTTP.

Each DOCUMENTED example is copied from Graph's documentation (values shortened); the stand-in's answer
must have the same keys with the same casing and JSON types, recursively. The client is not
used here, so the stand-in cannot drift into agreeing with a wrong client.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from local.graphsim.demo import Demo
from local.graphsim.server import GraphSim
from tests.graph.conftest import Receiver, control, new_user

SUBSCRIPTION = {
    "@odata.context": "",
    "id": "",
    "resource": "",
    "applicationId": "",
    "changeType": "",
    "clientState": "",
    "notificationUrl": "",
    "notificationQueryOptions": None,
    "lifecycleNotificationUrl": "",
    "expirationDateTime": "",
    "creatorId": "",
    "includeResourceData": None,
    "latestSupportedTlsVersion": "",
    "encryptionCertificate": None,
    "encryptionCertificateId": None,
    "notificationUrlAppId": None,
}
NOTIFICATION = {
    "subscriptionId": "",
    "subscriptionExpirationDateTime": "",
    "changeType": "created",
    "resource": "",
    "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": "", "@odata.etag": "", "id": ""},
    "clientState": "",
    "tenantId": "",
}
LIFECYCLE = {
    "subscriptionId": "",
    "subscriptionExpirationDateTime": "",
    "tenantId": "",
    "clientState": "",
    "lifecycleEvent": "missed",
}
ERROR = {"error": {"code": "", "message": "", "innerError": {"date": "", "request-id": "", "client-request-id": ""}}}
REMOVED = {"@odata.type": "#microsoft.graph.event", "id": "", "@removed": {"reason": "deleted"}}
EVENT_KEYS = {
    "@odata.etag",
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "iCalUId",
    "subject",
    "body",
    "start",
    "end",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "isAllDay",
    "isCancelled",
    "isOrganizer",
    "type",
    "seriesMasterId",
    "recurrence",
    "responseStatus",
    "location",
    "locations",
    "attendees",
    "organizer",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "onlineMeeting",
}
MAILBOX_SETTINGS = {
    "@odata.context",
    "timeZone",
    "delegateMeetingMessageDeliveryOptions",
    "dateFormat",
    "timeFormat",
    "userPurpose",
    "automaticRepliesSetting",
    "language",
    "workingHours",
}
REPLIES = {
    "status",
    "externalAudience",
    "internalReplyMessage",
    "externalReplyMessage",
    "scheduledStartDateTime",
    "scheduledEndDateTime",
}
TOKEN = {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": ""}
TOKEN_ERROR = {
    "error": "",
    "error_description": "",
    "error_codes": [0],
    "timestamp": "",
    "trace_id": "",
    "correlation_id": "",
}
GRAPH_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")


def same_shape(documented: Any, actual: Any, path: str = "$") -> list[str]:
    """Differences in keys and JSON types between a documented example and an answer."""
    if isinstance(documented, dict):
        if not isinstance(actual, dict):
            return [f"{path}: object expected"]
        problems = [f"{path}: missing {k}" for k in documented if k not in actual]
        problems += [f"{path}: unexpected {k}" for k in actual if k not in documented]
        return problems + [
            p
            for k in documented
            if k in actual and documented[k] is not None
            for p in same_shape(documented[k], actual[k], f"{path}.{k}")
        ]
    if isinstance(documented, list):
        return [] if isinstance(actual, list) else [f"{path}: array expected"]
    if isinstance(documented, bool) or isinstance(actual, bool):
        return [] if type(documented) is type(actual) else [f"{path}: boolean mismatch"]
    kinds = (str,) if isinstance(documented, str) else (int, float)
    return [] if isinstance(actual, kinds) else [f"{path}: {type(documented).__name__} expected"]


def app_token(sim: GraphSim, demo: Demo) -> str:
    form = {
        "client_id": demo.client_id,
        "client_secret": demo.client_secret,
        "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default",
    }
    answer = requests.post(f"{sim.url}/{demo.tenant_id}/oauth2/v2.0/token", data=form, verify=sim.ca_bundle, timeout=10)
    assert same_shape(TOKEN, answer.json()) == []
    return answer.json()["access_token"]


@pytest.fixture(scope="module")
def graph(sim: GraphSim):
    demo = Demo()
    token = app_token(sim, demo)

    def call(method: str, path: str, **options: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} | options.pop("headers", {})
        return requests.request(
            method, f"{sim.url}/v1.0{path}", headers=headers, verify=sim.ca_bundle, timeout=10, **options
        )

    return call


def test_token_errors_have_entras_shape(sim: GraphSim, demo: Demo) -> None:
    form = {
        "client_id": demo.client_id,
        "client_secret": "wrong",
        "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default",
    }
    answer = requests.post(f"{sim.url}/{demo.tenant_id}/oauth2/v2.0/token", data=form, verify=sim.ca_bundle, timeout=10)
    body = answer.json()
    assert (
        answer.status_code == 401 and same_shape(TOKEN_ERROR, {k: v for k, v in body.items() if k != "error_uri"}) == []
    )
    assert body["error_description"].startswith("AADSTS7000215:") and body["error_codes"] == [7000215]


def test_openid_configuration_has_the_cloud_fields(sim: GraphSim, demo: Demo) -> None:
    document = requests.get(
        f"{sim.url}/{demo.tenant_id}/v2.0/.well-known/openid-configuration", verify=sim.ca_bundle, timeout=10
    ).json()
    assert {
        "token_endpoint",
        "authorization_endpoint",
        "issuer",
        "jwks_uri",
        "tenant_region_scope",
        "tenant_region_sub_scope",
        "cloud_instance_name",
        "msgraph_host",
    } <= set(document)
    assert document["issuer"] == f"{sim.url}/{demo.tenant_id}/v2.0"
    keys = requests.get(document["jwks_uri"], verify=sim.ca_bundle, timeout=10).json()["keys"]
    assert {"kty", "use", "kid", "n", "e"} <= set(keys[0])


def test_event_shape_and_times(sim: GraphSim, demo: Demo, graph) -> None:
    mailbox = new_user(sim, demo)
    body = {
        "subject": "Shape",
        "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "Pacific Standard Time"},
        "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "Pacific Standard Time"},
    }
    created = graph("POST", f"/users/{mailbox.id}/events", json=body)
    assert created.status_code == 201
    event = created.json()
    assert EVENT_KEYS <= set(event) and event["@odata.etag"] == f'W/"{event["changeKey"]}"'
    assert GRAPH_TIME.match(event["start"]["dateTime"]) and event["start"]["timeZone"] == "UTC"
    assert event["responseStatus"] == {"response": "organizer", "time": "0001-01-01T00:00:00Z"}


def test_error_bodies_and_throttling_headers(sim: GraphSim, demo: Demo, graph) -> None:
    missing = graph("GET", f"/users/{demo.alice}/events/AAMkAGnothere=")
    assert missing.status_code == 404 and same_shape(ERROR, missing.json()) == []
    assert missing.json()["error"]["code"] == "ErrorItemNotFound" and missing.headers["request-id"]
    mailbox = new_user(sim, demo)
    control(sim, "/_sim/faults/throttle", {"mailbox": mailbox.id, "retryAfter": "10", "count": 1})
    throttled = graph("GET", f"/users/{mailbox.id}/mailboxSettings")
    assert (throttled.status_code, throttled.headers["Retry-After"], throttled.json()["error"]["code"]) == (
        429,
        "10",
        "TooManyRequests",
    )


def test_mailbox_settings_shape(sim: GraphSim, demo: Demo, graph) -> None:
    settings = graph("GET", f"/users/{demo.alice}/mailboxSettings").json()
    assert set(settings) == MAILBOX_SETTINGS and set(settings["automaticRepliesSetting"]) == REPLIES


def test_delta_pages_and_removed_items(sim: GraphSim, demo: Demo, graph) -> None:
    mailbox = new_user(sim, demo)
    ids = [
        graph(
            "POST",
            f"/users/{mailbox.id}/events",
            json={
                "subject": f"D{i}",
                "start": {"dateTime": f"2026-12-0{i + 1}T10:00:00", "timeZone": "UTC"},
                "end": {"dateTime": f"2026-12-0{i + 1}T11:00:00", "timeZone": "UTC"},
            },
        ).json()["id"]
        for i in range(2)
    ]
    window = {"startDateTime": "2026-11-25T00:00:00Z", "endDateTime": "2026-12-31T00:00:00Z"}
    first = graph(
        "GET", f"/users/{mailbox.id}/calendarView/delta", params=window, headers={"Prefer": "odata.maxpagesize=1"}
    ).json()
    assert set(first) == {"@odata.context", "@odata.nextLink", "value"} and "$skiptoken=" in first["@odata.nextLink"]
    last = requests.get(
        first["@odata.nextLink"],
        headers={"Authorization": app_header(sim, demo), "Prefer": "odata.maxpagesize=1"},
        verify=sim.ca_bundle,
        timeout=10,
    ).json()
    assert set(last) == {"@odata.context", "@odata.deltaLink", "value"}
    graph("DELETE", f"/users/{mailbox.id}/events/{ids[0]}")
    changes = requests.get(
        last["@odata.deltaLink"], headers={"Authorization": app_header(sim, demo)}, verify=sim.ca_bundle, timeout=10
    ).json()
    assert [same_shape(REMOVED, item) for item in changes["value"]] == [[]]


def app_header(sim: GraphSim, demo: Demo) -> str:
    return f"Bearer {app_token(sim, demo)}"


def test_subscription_notification_and_lifecycle_shapes(sim: GraphSim, demo: Demo, graph, receiver: Receiver) -> None:
    mailbox = new_user(sim, demo)
    expires = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    answer = graph(
        "POST",
        "/subscriptions",
        json={
            "changeType": "created,updated,deleted",
            "notificationUrl": receiver.url,
            "lifecycleNotificationUrl": receiver.url,
            "resource": f"/users/{mailbox.mail}/events",
            "expirationDateTime": expires,
            "clientState": "k9Qw7m2ZrT4vXb1n8Lp3",
            "latestSupportedTlsVersion": "v1_2",
        },
    )
    assert answer.status_code == 201 and same_shape(SUBSCRIPTION, answer.json()) == []
    assert answer.json()["changeType"] == "created,updated,deleted"
    assert "+" in receiver.validations[0] or " " in receiver.validations[0]
    graph(
        "POST",
        f"/users/{mailbox.id}/events",
        json={
            "subject": "n",
            "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"},
        },
    )
    item = receiver.wait_for(1)[0]
    assert same_shape(NOTIFICATION, item) == []
    assert re.fullmatch(r"Users/[0-9a-f-]{36}/Events/\S+", item["resource"])
    control(sim, f"/_sim/subscriptions/{answer.json()['id']}/lifecycle", {"event": "missed"})
    assert same_shape(LIFECYCLE, receiver.wait_for(2)[1]) == []


def test_batch_shape_with_inner_throttling(sim: GraphSim, demo: Demo, graph) -> None:
    mailbox = new_user(sim, demo)
    control(sim, "/_sim/faults/throttle", {"mailbox": mailbox.id, "retryAfter": "10", "count": 1})
    answer = graph(
        "POST",
        "/$batch",
        json={
            "requests": [
                {"id": "1", "method": "GET", "url": f"/users/{mailbox.id}/mailboxSettings/"},
                {"id": "2", "method": "GET", "url": f"/users/{demo.alice}"},
                {"id": "3", "method": "GET", "url": f"/users/{demo.alice}", "dependsOn": ["1"]},
            ]
        },
    )
    assert answer.status_code == 200
    items = {r["id"]: r for r in answer.json()["responses"]}
    assert (items["1"]["status"], items["1"]["headers"]["Retry-After"], items["2"]["status"], items["3"]["status"]) == (
        429,
        "10",
        200,
        424,
    )
    assert same_shape(ERROR, items["1"]["body"]) == [] and set(items["2"]) == {"id", "status", "headers", "body"}
