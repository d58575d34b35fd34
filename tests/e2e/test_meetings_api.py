"""The meetings API over HTTP: users' tokens from the stand-in, room device credentials, paging,
joinable-now, every error with its status and message, tenant status and health."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from local.graphsim.store import Tenant, User
from shared.api import OPENAPI_PATH
from tests.e2e.conftest import PAGE_SIZE, Stack, eventually
from tests.e2e.test_sync import enabled, mailbox

AUDIENCE = "api://hybrid-calendar"
SCHEMAS = json.loads(OPENAPI_PATH.read_text())["components"]


def conforms(body: Any, schema: str) -> Any:
    """``body`` checked against a schema of the OpenAPI description (JSON Schema 2020-12)."""
    from jsonschema import Draft202012Validator

    Draft202012Validator({"$ref": f"#/components/schemas/{schema}", "components": SCHEMAS}).validate(body)
    return body


def token(stack: Stack, user: User, **claims: Any) -> str:
    """An access token for this API, as Entra issues it to the user's app (the stand-in's control API)."""
    answer = requests.post(
        f"{stack.sim.url}/_sim/api-token",
        json={"user": user.id, "audience": AUDIENCE, **claims},
        verify=stack.sim.ca_bundle,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def signed(stack: Stack, user: User, **changes: Any) -> str:
    """A token signed by the stand-in's current key with chosen claims (what a confused issuer would send)."""
    now = int(time.time())
    claims = {
        "aud": AUDIENCE,
        "iss": f"{stack.sim.url}/{user.tenant_id}/v2.0",
        "tid": user.tenant_id,
        "oid": user.id,
        "scp": "Meetings.Read",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "ver": "2.0",
    } | changes
    return stack.sim.app.signin.keys.sign({k: v for k, v in claims.items() if v is not None})


def me(stack: Stack, bearer: str | None, **params: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return requests.get(f"{stack.url}/api/me/meetings", headers=headers, params=params, timeout=30)


def room_list(stack: Stack, room: str, credential: str, **params: str) -> requests.Response:
    return requests.get(
        f"{stack.url}/api/rooms/{room}/meetings",
        headers={"Authorization": f"Bearer {credential}"},
        params=params,
        timeout=30,
    )


def every_meeting(stack: Stack, bearer: str, **params: str) -> list[dict[str, Any]]:
    """Every page of the user's list, following nextLink."""
    answer, meetings = me(stack, bearer, **params), []
    while True:
        assert answer.status_code == 200, answer.text
        meetings += answer.json()["value"]
        if "nextLink" not in answer.json():
            return meetings
        answer = requests.get(answer.json()["nextLink"], headers={"Authorization": f"Bearer {bearer}"}, timeout=30)


def at(minutes: float) -> dict[str, str]:
    moment = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def invite(*people: User) -> list[dict[str, Any]]:
    return [
        {
            "emailAddress": {"address": p.mail, "name": p.display_name},
            "type": "resource" if p.kind == "room" else "required",
        }
        for p in people
    ]


def error_of(answer: requests.Response, status: int) -> tuple[str, str]:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    error = conforms(answer.json(), "Error")["error"]
    return error["code"], error["message"]


def subjects(answer: requests.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [m["subject"] for m in conforms(answer.json(), "MeetingsPage")["value"]]


def issue(stack: Stack, room: User) -> dict[str, Any]:
    answer = stack.admin("POST", f"tenants/{stack.demo.tenant_id}/rooms/{room.id}/credentials")
    assert answer.status_code == 201, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    return conforms(answer.json(), "IssuedCredential")


def test_each_user_and_the_room_see_exactly_their_meetings(stack: Stack) -> None:
    alice, bob, room = enabled(stack), enabled(stack), enabled(stack, "room")
    body = {
        "contentType": "html",
        "content": '<p><a href="https://contoso.zoom.us/j/987654321?pwd=abc">Join Zoom</a>'
        "</p><p>Meeting ID: 987 654 321</p>",
    }
    stack.sim.app.store.create_event(
        alice.id,
        {
            "subject": "Shared review",
            "start": at(60),
            "end": at(90),
            "body": body,
            "attendees": invite(bob, room),
            "originalStartTimeZone": "W. Europe Standard Time",
        },
    )
    stack.sim.app.store.create_event(alice.id, {"subject": "Alice alone", "start": at(120), "end": at(150)})
    stack.sim.app.store.create_event(bob.id, {"subject": "Bob alone", "start": at(30), "end": at(45)})
    assert eventually(lambda: subjects(me(stack, token(stack, alice))) == ["Shared review", "Alice alone"])
    assert eventually(lambda: subjects(me(stack, token(stack, bob))) == ["Bob alone", "Shared review"])
    credential = issue(stack, room)["secret"]
    assert eventually(lambda: subjects(room_list(stack, room.id, credential)) == ["Shared review"])
    copies = [
        next(m for m in answer.json()["value"] if m["subject"] == "Shared review")
        for answer in (
            me(stack, token(stack, alice)),
            me(stack, token(stack, bob)),
            room_list(stack, room.id, credential),
        )
    ]
    own = [(c.pop("isOrganizer"), c.pop("response")) for c in copies]
    assert own == [(True, "organizer"), (False, "notResponded"), (False, "accepted")], "each copy answers for its own"
    assert copies[0] == copies[1] == {**copies[2], "invitees": [bob.display_name]}
    assert copies[2]["inviteeCount"] == 1 and "invitees" not in copies[2], "a room counts invitees, never names them"
    assert copies[0]["provider"] == "zoom" and copies[0]["joinUrl"] == "https://contoso.zoom.us/j/987654321?pwd=abc"
    assert copies[0]["isOnline"] and not copies[0]["isCancelled"] and not copies[0]["joinableNow"]
    assert copies[0]["organizerName"] == alice.display_name and copies[0]["start"].endswith("Z")


def test_tokens_that_must_not_read_a_mailbox(stack: Stack) -> None:
    alice, stranger = enabled(stack), mailbox(stack)
    other_tenant = stack.sim.app.store.add_tenant(Tenant(str(uuid.uuid4()), "fabrikam.example", "Fabrikam"))
    outsider = stack.sim.app.store.add_user(User(str(uuid.uuid4()), other_tenant.id, "eve@fabrikam.example", "Eve"))
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = token(stack, alice)
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "==")) | {"oid": stranger.id}
    swapped = ".".join((header, base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("="), signature))
    cases = {
        "the token is for another audience": token(stack, alice, audience="api://someone-else"),
        "the token has expired": token(stack, alice, issuedOffsetSeconds=-7200, expiresIn=3600),
        "the token is not valid yet (nbf or iat in the future)": token(stack, alice, issuedOffsetSeconds=600),
        "the token's signature does not verify": swapped,
        "the token is signed by a key its tenant does not publish": jwt.encode(
            jwt.decode(good, options={"verify_signature": False}),
            foreign_key,
            algorithm="RS256",
            headers={"kid": "not-published"},
        ),
        "the token's issuer is not its tenant's sign-in service": signed(
            stack, alice, iss=f"{stack.sim.url}/{other_tenant.id}/v2.0"
        ),
        "the token's tenant is not served by this deployment": token(stack, outsider),
        "the token lacks a required claim (exp, nbf, iss, aud, tid, oid)": signed(stack, alice, nbf=None),
        "the bearer token is not a JWT": "not-a-jwt",
    }
    for message, bearer in cases.items():
        answer = me(stack, bearer)
        assert error_of(answer, 401) == ("invalid_token", message), message
        assert (
            answer.headers["WWW-Authenticate"]
            == f'Bearer realm="hybrid-calendar", error="invalid_token", error_description="{message}"'
        )
    missing = me(stack, None)
    assert error_of(missing, 401)[0] == "invalid_token"
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="hybrid-calendar"'
    basic = requests.get(f"{stack.url}/api/me/meetings", headers={"Authorization": "Basic YWxpY2U6cHc="}, timeout=30)
    assert basic.status_code == 401 and basic.headers["WWW-Authenticate"] == 'Bearer realm="hybrid-calendar"'
    no_scope = me(stack, token(stack, alice, scope="Calendars.Read"))
    assert error_of(no_scope, 403)[0] == "insufficient_scope"
    assert 'error="insufficient_scope"' in no_scope.headers["WWW-Authenticate"]
    assert (
        error_of(me(stack, signed(stack, alice, scp=None, roles=["Meetings.Read.All"])), 403)[0] == "insufficient_scope"
    )
    assert error_of(me(stack, token(stack, stranger)), 403) == (
        "mailbox_not_enabled",
        "this user's mailbox is not enabled in Hybrid Calendar; ask your administrator",
    )
    assert me(stack, good).status_code == 200


def test_a_token_of_one_tenant_never_reads_another_tenants_mailbox(stack: Stack) -> None:
    from local.graphsim.demo import CLIENT_ID
    from local.graphsim.signin import CLOUD_FIELDS

    alice = enabled(stack)
    stack.sim.app.store.create_event(alice.id, {"subject": "Contoso only", "start": at(60), "end": at(90)})
    fabrikam = stack.sim.app.store.add_tenant(
        Tenant(str(uuid.uuid4()), "fabrikam.example", "Fabrikam", dict(CLOUD_FIELDS["Worldwide"]), {CLIENT_ID})
    )
    frank = stack.sim.app.store.add_user(User(str(uuid.uuid4()), fabrikam.id, "frank@fabrikam.example", "Frank"))
    answer = stack.admin("POST", f"tenants/{fabrikam.id}/mailboxes/{frank.id}")
    assert answer.status_code == 200, answer.text
    stack.sim.app.store.create_event(frank.id, {"subject": "Fabrikam only", "start": at(60), "end": at(90)})
    assert eventually(lambda: subjects(me(stack, token(stack, frank))) == ["Fabrikam only"])
    assert eventually(lambda: subjects(me(stack, token(stack, alice))) == ["Contoso only"])
    as_alice_in_fabrikam = signed(stack, frank, oid=alice.id)
    assert error_of(me(stack, as_alice_in_fabrikam), 403)[0] == "mailbox_not_enabled"
    fabrikam_issuer_for_contoso = signed(stack, alice, iss=f"{stack.sim.url}/{fabrikam.id}/v2.0")
    assert error_of(me(stack, fabrikam_issuer_for_contoso), 401)[0] == "invalid_token"


def test_signing_key_rollover_is_picked_up(stack: Stack) -> None:
    alice = enabled(stack)
    assert me(stack, token(stack, alice)).status_code == 200
    old = token(stack, alice)
    requests.post(f"{stack.sim.url}/_sim/keys/rollover", json={}, verify=stack.sim.ca_bundle, timeout=10)
    rolled = token(stack, alice)
    assert jwt.get_unverified_header(rolled)["kid"] != jwt.get_unverified_header(old)["kid"]
    assert eventually(lambda: me(stack, rolled).status_code == 200, timeout=15)
    assert me(stack, old).status_code == 200


def test_room_credentials_issue_use_and_revoke(stack: Stack) -> None:
    room, other_room, user = enabled(stack, "room"), enabled(stack, "room"), enabled(stack)
    stack.sim.app.store.create_event(
        user.id, {"subject": "Room booking", "start": at(60), "end": at(90), "attendees": invite(room)}
    )
    issued = issue(stack, room)
    credential = issued["secret"]
    assert credential.startswith(f"hcd1.{stack.demo.tenant_id}.{issued['id']}.")
    assert eventually(lambda: subjects(room_list(stack, room.id, credential)) == ["Room booking"])
    assert error_of(room_list(stack, other_room.id, credential), 403) == (
        "forbidden",
        "the device credential is for another room",
    )
    listed = stack.admin("GET", f"tenants/{stack.demo.tenant_id}/rooms/{room.id}/credentials")
    assert conforms(listed.json(), "DeviceCredentialList")["value"] == [
        {"id": issued["id"], "room": room.id, "created": issued["created"], "revoked": None}
    ]
    assert credential.rsplit(".", 1)[1] not in listed.text
    wrong_secret = credential[:-4] + ("AAAA" if not credential.endswith("AAAA") else "BBBB")
    assert error_of(room_list(stack, room.id, wrong_secret), 401) == (
        "invalid_token",
        "the device credential is not known",
    )
    assert error_of(room_list(stack, room.id, "hcd1.nonsense"), 401)[1].startswith("the device credential is malformed")
    revoked = stack.admin("DELETE", f"tenants/{stack.demo.tenant_id}/rooms/{room.id}/credentials/{issued['id']}")
    assert revoked.status_code == 200 and conforms(revoked.json(), "DeviceCredential")["revoked"]
    again = stack.admin("DELETE", f"tenants/{stack.demo.tenant_id}/rooms/{room.id}/credentials/{issued['id']}")
    assert again.json() == revoked.json()
    assert error_of(room_list(stack, room.id, credential), 403) == (
        "credential_revoked",
        "the device credential was revoked",
    )
    assert room_list(stack, room.id, issue(stack, room)["secret"]).status_code == 200
    assert (
        error_of(stack.admin("POST", f"tenants/{stack.demo.tenant_id}/rooms/{user.id}/credentials"), 404)[0]
        == "not_found"
    )
    assert (
        error_of(
            stack.admin("DELETE", f"tenants/{stack.demo.tenant_id}/rooms/{other_room.id}/credentials/{issued['id']}"),
            404,
        )[0]
        == "not_found"
    )
    assert (
        requests.post(
            f"{stack.url}/api/tenants/{stack.demo.tenant_id}/rooms/{room.id}/credentials", timeout=30
        ).status_code
        == 401
    )


def test_paging_follows_next_links_to_every_meeting(stack: Stack) -> None:
    alice = enabled(stack)
    for i in range(2 * PAGE_SIZE + 2):
        stack.sim.app.store.create_event(
            alice.id, {"subject": f"Slot {i:02d}", "start": at(60 + 30 * i), "end": at(80 + 30 * i)}
        )
    bearer = token(stack, alice)
    eventually(lambda: len(every_meeting(stack, bearer, to=_iso(hours=40))) == 2 * PAGE_SIZE + 2)
    pages, answer = [], me(stack, bearer, to=_iso(hours=40))
    while True:
        page = conforms(answer.json(), "MeetingsPage")
        pages.append([m["subject"] for m in page["value"]])
        if "nextLink" not in page:
            break
        answer = requests.get(page["nextLink"], headers={"Authorization": f"Bearer {bearer}"}, timeout=30)
        assert answer.status_code == 200, answer.text
    assert [len(p) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 2]
    assert sum(pages, []) == [f"Slot {i:02d}" for i in range(2 * PAGE_SIZE + 2)]
    assert [m["subject"] for m in every_meeting(stack, bearer, to=_iso(hours=40))] == sum(pages, [])
    continuation = me(stack, bearer, to=_iso(hours=40)).json()["nextLink"].split("continuation=")[1]
    assert error_of(me(stack, bearer, continuation=continuation, to=_iso(hours=40)), 400) == (
        "invalid_parameter",
        "continuation: cannot be combined with from or to; follow nextLink as it is",
    )
    assert error_of(me(stack, bearer, continuation="bm90LWEtdG9rZW4"), 400)[1].startswith("continuation: ")


def test_joinable_now_at_the_boundaries(stack: Stack) -> None:
    alice, organizer = enabled(stack), mailbox(stack)
    link = {"contentType": "html", "content": '<a href="https://meet.google.com/abc-defg-hij">Join</a>'}
    lead = stack.settings.join_lead_minutes
    cases = {
        "Starts after the lead": (lead + 2, lead + 30, link, False),
        "Starts within the lead": (lead - 2, lead + 30, link, True),
        "In progress": (-10, 20, link, True),
        "Ended": (-40, -2, link, False),
        "In progress, no link": (-10, 20, None, False),
    }
    for subject, (start, end, body, _) in cases.items():
        stack.sim.app.store.create_event(
            alice.id, {"subject": subject, "start": at(start), "end": at(end), **({"body": body} if body else {})}
        )
    cancelled = stack.sim.app.store.create_event(
        organizer.id,
        {
            "subject": "In progress, cancelled",
            "start": at(-10),
            "end": at(20),
            "body": link,
            "attendees": invite(alice),
        },
    )
    stack.sim.app.store.delete_event(organizer.id, cancelled.id)
    bearer = token(stack, alice)
    listed = eventually(
        lambda: (
            {m["subject"]: m for m in every_meeting(stack, bearer)}
            if len(every_meeting(stack, bearer)) > len(cases)
            else None
        )
    )
    for subject, (_, _, _, joinable) in cases.items():
        assert listed[subject]["joinableNow"] is joinable, subject
    assert listed["In progress, cancelled"]["isCancelled"] and not listed["In progress, cancelled"]["joinableNow"]


def test_bad_ranges_are_refused_naming_the_parameter(stack: Stack) -> None:
    bearer = token(stack, enabled(stack))
    now = datetime.now(timezone.utc)
    cases = {
        ("from", "yesterday"): "from: must be an ISO 8601 date-time with a zone, e.g. 2026-12-01T09:00:00Z",
        ("to", "2026-13-45T00:00:00Z"): "to: must be an ISO 8601 date-time with a zone, e.g. 2026-12-01T09:00:00Z",
        ("from", now.strftime("%Y-%m-%dT%H:%M:%S")): "from: has no time zone; send an ISO 8601 date-time with a "
        "zone, e.g. 2026-12-01T09:00:00Z",
        ("from", (now - timedelta(days=30)).isoformat()): "from: is outside the retention window",
        ("to", (now + timedelta(days=90)).isoformat()): "to: is outside the retention window",
    }
    for (name, value), message in cases.items():
        code, text = error_of(me(stack, bearer, **{name: value}), 400)
        assert code == "invalid_parameter" and text.startswith(message), (name, value, text)
    reversed_range = me(stack, bearer, **{"from": _iso(hours=5), "to": _iso(hours=2)})
    assert error_of(reversed_range, 400) == ("invalid_parameter", "to: must be after from")
    plus = me(
        stack, bearer, **{"from": (now + timedelta(hours=1)).astimezone(timezone(timedelta(hours=2))).isoformat()}
    )
    assert plus.status_code == 200, plus.text


def test_tenant_status_reports_each_mailbox_and_totals(stack: Stack) -> None:
    healthy = enabled(stack)
    denied = mailbox(stack)
    requests.post(
        f"{stack.sim.url}/_sim/faults/access-policy", json={"deny": [denied.id]}, verify=stack.sim.ca_bundle, timeout=10
    )
    try:
        assert stack.admin("POST", f"tenants/{stack.demo.tenant_id}/mailboxes/{denied.id}").status_code == 403
    finally:
        requests.post(f"{stack.sim.url}/_sim/faults/clear", verify=stack.sim.ca_bundle, timeout=10)
    answer = stack.admin("GET", f"tenants/{stack.demo.tenant_id}/status")
    status = conforms(answer.json(), "TenantStatus")
    rows = {m["id"]: m for m in status["mailboxes"]}
    assert rows[healthy.id]["lastError"] is None and rows[healthy.id]["lastSync"]
    assert rows[healthy.id]["subscriptionExpires"] > status["generatedAt"]
    assert rows[healthy.id]["address"] == healthy.mail
    assert rows[denied.id]["lastError"]["code"] == "access_policy_denied"
    assert rows[denied.id]["lastError"]["description"].startswith("An Exchange application access policy")
    totals = status["totals"]
    assert totals["mailboxes"] == len(rows) and totals["withErrors"] >= 1
    assert totals["nearestSubscriptionExpiry"] and totals["subscriptions"] >= 1
    assert error_of(stack.admin("GET", f"tenants/{uuid.uuid4()}/status"), 404)[0] == "not_found"
    assert error_of(stack.admin("GET", "tenants/contoso/status"), 400) == (
        "invalid_parameter",
        "tenant: must be an Entra object id (a GUID)",
    )
    assert requests.get(f"{stack.url}/api/tenants/{stack.demo.tenant_id}/status", timeout=30).status_code == 401


def test_health_reports_queues_and_the_nearest_subscription_expiry(stack: Stack) -> None:
    enabled(stack)
    answer = requests.get(f"{stack.url}/api/health", timeout=30)
    checks = conforms(answer.json(), "Health")["checks"]
    assert set(checks["queues"]["queueDepth"]) == {
        "hc-changes",
        "hc-lifecycle",
        "hc-jobs",
        "hc-timeline",
        "hc-deliveries",
        "hc-presence",
    }
    assert isinstance(checks["queues"]["poisonMessages"], int)
    assert checks["subscriptions"]["subscriptions"] >= 1
    assert checks["subscriptions"]["nearestSubscriptionExpiry"] > datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M")


def test_the_app_serves_its_openapi_description(stack: Stack) -> None:
    answer = requests.get(f"{stack.url}/api/openapi.json", timeout=30)
    assert answer.status_code == 200 and answer.json() == json.loads(OPENAPI_PATH.read_text())


def _iso(**delta: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(autouse=True)
def _no_leftover_faults(stack: Stack) -> None:
    requests.post(f"{stack.sim.url}/_sim/faults/clear", verify=stack.sim.ca_bundle, timeout=10)
