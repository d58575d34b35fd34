"""What an attacker or a fuzzer sends, over HTTP: each gets a 4xx naming the problem (or a quiet 202 on
Graph's anonymous webhook), costs no storage read it need not, and writes nothing."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import requests

from shared.api.service import MAX_ACTIVE_CREDENTIALS
from shared.runtime import get_runtime
from shared.sync.notifications import MAX_ITEMS, MAX_UNKNOWN
from tests.e2e.conftest import Stack
from tests.e2e.test_meetings_api import conforms, error_of, issue, me, token
from tests.e2e.test_sync import enabled

DEEP = ("[" * 1000 + "]" * 1000).encode()


def notify(stack: Stack, body: bytes | dict[str, Any], path: str = "graph/notifications") -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(f"{stack.url}/api/{path}", data=data, headers={"Content-Type": "application/json"}, timeout=30)


def item(tenant: str, subscription: str, **more: Any) -> dict[str, Any]:
    return {
        "tenantId": tenant,
        "subscriptionId": subscription,
        "clientState": "x",
        "changeType": "updated",
        "resource": "Users/x/Events/y",
        "resourceData": {"id": "AAMkAGI2="},
    } | more


def test_ids_not_shaped_as_graph_sends_them_are_refused_without_a_read(stack: Stack) -> None:
    verifier, tenant = get_runtime().verifier, stack.demo.tenant_id
    before = verifier.lookups
    raw = (
        '{"value": [{"tenantId": "\\ud800", "subscriptionId": "%s"}, {"tenantId": "%s", "subscriptionId": '
        '"\\udfff-0000"}]}' % (uuid.uuid4(), tenant)
    ).encode()
    assert (
        error_of(notify(stack, raw), 400)[1] == "notification body holds text that is not valid Unicode (a lone "
        "surrogate)"
    )
    answer = notify(
        stack,
        {
            "value": [
                item("a/b", str(uuid.uuid4())),
                item(tenant, "../../x"),
                item(tenant, "0"),
                item(tenant, str(uuid.uuid4()), resourceData={"id": "a#b?c"}),
                "not an item",
            ]
        },
    )
    assert answer.status_code == 202
    assert verifier.lookups - before == 1, "only the well-formed pair (with a bad event id) was looked up"


def test_a_flood_of_forged_notifications_costs_one_read_per_pair(stack: Stack) -> None:
    verifier, tenant, forged = get_runtime().verifier, stack.demo.tenant_id, str(uuid.uuid4())
    before = verifier.lookups
    assert notify(stack, {"value": [item(tenant, forged)] * MAX_ITEMS}).status_code == 202
    assert notify(stack, {"value": [item(tenant, forged.upper())] * 10}).status_code == 202
    assert verifier.lookups - before == 1
    strangers = [item(tenant, str(uuid.uuid4())) for _ in range(MAX_UNKNOWN * 3)]
    assert notify(stack, {"value": strangers}).status_code == 202
    assert verifier.lookups - before == 1 + MAX_UNKNOWN


def test_more_notifications_than_allowed_in_one_post_is_a_413(stack: Stack) -> None:
    code, message = error_of(notify(stack, {"value": [{}] * (MAX_ITEMS + 1)}), 413)
    assert code == "payload_too_large" and f"at most {MAX_ITEMS}" in message


def test_json_nested_too_deeply_is_a_400_on_every_json_input(stack: Stack) -> None:
    tenant, _ = stack.demo.tenant_id, enabled(stack)
    for path in ("graph/notifications", "graph/lifecycle"):
        assert (
            error_of(notify(stack, DEEP, path), 400)[1] == "notification body is nested too deeply (at most 32 levels)"
        )
    for method, path in (("PUT", f"tenants/{tenant}/scheduling"), ("POST", f"tenants/{tenant}/mailboxes")):
        answer = stack.admin(method, path, data=DEEP)
        assert error_of(answer, 400)[1] == "body is nested too deeply (at most 32 levels)"
    nested: object = "x"
    for _ in range(40):
        nested = [nested]
    shallow_but_deep = json.dumps({"templates": {"html": nested}})
    answer = stack.admin("PUT", f"tenants/{tenant}/scheduling", data=shallow_but_deep)
    assert error_of(answer, 400)[1] == "body is nested too deeply (at most 32 levels)"


def test_lone_surrogates_are_a_400_never_a_500(stack: Stack) -> None:
    tenant, alice = stack.demo.tenant_id, enabled(stack)
    answer = stack.admin("PUT", f"tenants/{tenant}/scheduling", data=b'{"templates": {"text": "join \\ud800"}}')
    assert error_of(answer, 400)[1] == "body holds text that is not valid Unicode (a lone surrogate)"
    bulk = stack.admin("POST", f"tenants/{tenant}/mailboxes", data=b'{"mailboxes": [{"id": "\\udc00"}]}')
    assert error_of(bulk, 400)[0] == "invalid_request"
    forged = base64.urlsafe_b64encode(b'["2026-12-01T00:00:00+00:00", "2026-12-02T00:00:00+00:00", "m|\\ud800"]')
    bearer = token(stack, alice)
    for continuation in (forged.decode().rstrip("="), "%ED%A0%80", "\u00e9"):
        answer = requests.get(
            f"{stack.url}/api/me/meetings?continuation={continuation}",
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=30,
        )
        assert error_of(answer, 400)[0] == "invalid_parameter", continuation


def test_an_edited_continuation_is_refused_not_clamped(stack: Stack) -> None:
    alice = enabled(stack)
    bearer = token(stack, alice)
    start, end = me(stack, bearer).json()["from"], me(stack, bearer).json()["to"]
    for low, high in (("2019-01-01T00:00:00+00:00", end), (start, "2999-01-01T00:00:00+00:00")):
        edited = base64.urlsafe_b64encode(json.dumps([low, high, "m|20261201T000000Z|" + "0" * 32]).encode())
        code, message = error_of(me(stack, bearer, continuation=edited.decode().rstrip("=")), 400)
        assert code == "invalid_parameter" and message.startswith("continuation:"), message


def test_keys_of_storage_cannot_be_injected_through_ids(stack: Stack) -> None:
    for tenant in ("a%2Fb", "..", "%23x", "a%5Cb"):
        answer = stack.admin("POST", f"tenants/{tenant}/mailboxes/{uuid.uuid4()}")
        assert answer.status_code in (400, 404), answer.text
        if answer.status_code == 400:
            assert error_of(answer, 400)[0] == "invalid_request"
    assert error_of(stack.admin("POST", f"tenants/{stack.demo.tenant_id}/mailboxes/0"), 400)[0] == "invalid_request"


def test_a_tenant_microsoft_does_not_know_is_a_404_not_a_401(stack: Stack) -> None:
    nobody = str(uuid.uuid4())
    code, message = error_of(stack.admin("POST", f"tenants/{nobody}/mailboxes/{uuid.uuid4()}"), 404)
    assert code == "tenant_not_found", message
    assert stack.stores.tenants.get(nobody) is None


def test_scheduling_is_refused_for_a_tenant_not_served_and_makes_no_data_key(stack: Stack) -> None:
    stranger = str(uuid.uuid4())
    for method in ("GET", "PUT"):
        answer = stack.admin(method, f"tenants/{stranger}/scheduling", json={"keywords": {"@meet": "builtin"}})
        assert error_of(answer, 404)[0] == "tenant_not_found"
    assert stack.stores.data_keys.list_keys(stranger) == []


def test_a_room_has_at_most_so_many_active_credentials_and_they_list_by_page(stack: Stack) -> None:
    room, tenant = enabled(stack, "room"), stack.demo.tenant_id
    issued = [issue(stack, room) for _ in range(MAX_ACTIVE_CREDENTIALS)]
    code, message = error_of(stack.admin("POST", f"tenants/{tenant}/rooms/{room.id}/credentials"), 409)
    assert code == "limit_reached" and "revoke" in message
    assert stack.admin("DELETE", f"tenants/{tenant}/rooms/{room.id}/credentials/{issued[0]['id']}").status_code == 200
    issue(stack, room)
    seen, url = [], f"{stack.url}/api/tenants/{tenant}/rooms/{room.id}/credentials?top=4"
    while url:
        page = conforms(
            requests.get(url, headers={"x-functions-key": "e2e-function-key-000001"}, timeout=30).json(),
            "DeviceCredentialList",
        )
        assert len(page["value"]) <= 4
        seen += [c["id"] for c in page["value"]]
        url = page.get("nextLink")
    assert len(seen) == len(set(seen)) == MAX_ACTIVE_CREDENTIALS + 1 and seen == sorted(seen)
    assert error_of(stack.admin("GET", f"tenants/{tenant}/rooms/{room.id}/credentials", params={"top": "0"}), 400)[
        1
    ].startswith("top:")


def test_every_answer_says_nosniff_and_no_store(stack: Stack) -> None:
    alice = enabled(stack)
    answers = [
        requests.post(f"{stack.url}/api/graph/notifications", params={"validationToken": "<b>hi</b>"}, timeout=10),
        notify(stack, {"value": []}),
        notify(stack, b"{"),
        requests.get(f"{stack.url}/api/health", timeout=10),
        requests.get(f"{stack.url}/api/openapi.json", timeout=10),
        me(stack, token(stack, alice)),
        me(stack, None),
        requests.get(f"{stack.url}/api/tenants/{stack.demo.tenant_id}/status", timeout=10),
        requests.get(f"{stack.url}/api/nothing-here", timeout=10),
        stack.admin("GET", "tenants/x/status"),
    ]
    for answer in answers:
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", answer.url
        assert answer.headers.get("Cache-Control") == "no-store", answer.url
    assert answers[0].text == "<b>hi</b>" and answers[0].headers["Content-Type"].startswith("text/plain")
    long = requests.post(f"{stack.url}/api/graph/notifications", params={"validationToken": "x" * 1025}, timeout=10)
    assert error_of(long, 400)[1] == "validationToken is longer than 1024 characters"
    mixed = requests.post(f"{stack.url}/api/graph/notifications", params={"validationToken": "t"}, json=[1], timeout=10)
    assert error_of(mixed, 400)[0] == "invalid_request"
