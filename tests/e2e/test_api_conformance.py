"""The served OpenAPI description and the server agree: schemathesis generates requests for every
operation (valid and invalid, with the credentials each security scheme needs and without any) against
the whole local stack, and checks every answer against the description: no 5xx, documented statuses,
content types, headers and bodies, auth enforced, invalid data refused, valid data accepted.

Valid data is accepted everywhere but in three operations whose validity depends on the clock or on
what is stored, which no schema can say: the two meetings lists (``from``, ``to`` and a continuation
must lie in the retention window around now) and ``PUT .../scheduling`` (a keyword may use webex only
with a Webex token, sent now or stored before). There every other check runs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from shared.api import OPENAPI_PATH
from tests.e2e.conftest import FUNCTION_KEY, Stack
from tests.e2e.test_meetings_api import issue, token
from tests.e2e.test_sync import enabled

DOCUMENT = json.loads(OPENAPI_PATH.read_text())
STATEFUL = {
    ("GET", "/api/me/meetings"),
    ("GET", "/api/rooms/{room}/meetings"),
    ("PUT", "/api/tenants/{tenant}/scheduling"),
    ("POST", "/api/me/endpoints"),
    ("PATCH", "/api/me/endpoints/{endpoint}"),
    ("POST", "/api/tenants/{tenant}/rooms/{room}/endpoints"),
    ("PATCH", "/api/tenants/{tenant}/rooms/{room}/endpoints/{endpoint}"),
    ("GET", "/api/me/availability"),
    ("POST", "/api/me/meetings/{meeting}/response"),
    ("POST", "/api/me/meetings"),
    ("GET", "/api/me/meetings/{meeting}"),
    ("PATCH", "/api/me/meetings/{meeting}"),
    ("DELETE", "/api/me/meetings/{meeting}"),
    ("POST", "/api/rooms/{room}/meetings"),
}
"""Operations whose valid input depends on more than the schema: the range in the retention window, the
platform's token, an endpoint URL that resolves to an address deliveries may reach, an availability
period that ends after it starts and within 42 days, a meeting that is in the caller's calendar (or, to
create one, times in the retention window), a room free at the moment of booking."""
SLOW = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture]

REFUSALS = [400, 401, 403, 404, 405, 413, 415, 422]
"""What refusing invalid data may answer: 413 too, for a collection over its maximum of items."""
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}),
)


@pytest.fixture(scope="module")
def credentials(stack: Stack) -> dict[str, str]:
    user, room = enabled(stack), enabled(stack, "room")
    return {"user": token(stack, user), "device": issue(stack, room)["secret"], "room": room.id}


def _headers(case: Any, credentials: dict[str, str]) -> dict[str, str]:
    """The credential of the operation's security scheme, given to the call so that the checks know it is
    a real one and try the operation without it too; a room's list asks for the room of its credential."""
    schemes = {name for requirement in case.operation.definition.raw.get("security", []) for name in requirement}
    if "userToken" in schemes:
        return {"Authorization": f"Bearer {credentials['user']}"}
    if "deviceCredential" in schemes:
        if "room" in (case.path_parameters or {}):
            case.path_parameters = {**case.path_parameters, "room": credentials["room"]}
        return {"Authorization": f"Bearer {credentials['device']}"}
    if "functionKey" in schemes:
        return {"x-functions-key": FUNCTION_KEY}
    return {}


def test_the_served_description_is_the_one_tested(stack: Stack) -> None:
    assert requests.get(f"{stack.url}/api/openapi.json", timeout=10).json() == DOCUMENT


UNDONE = {("GET", "/api/rooms/{room}/join-button")}
"""Operations whose only invalid inputs (a room id, a missing credential) ``_headers`` puts right again."""


def _excluded(case: Any) -> list[Any]:
    from schemathesis.specs.openapi.checks import negative_data_rejection

    key = (case.method.upper(), case.path)
    return [positive_data_acceptance] * (key in STATEFUL) + [negative_data_rejection] * (key in UNDONE)


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=SLOW)
def test_every_operation_answers_as_described(case: Any, stack: Stack, credentials: dict[str, str]) -> None:
    case.call_and_validate(base_url=stack.url, headers=_headers(case, credentials), excluded_checks=_excluded(case))


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True, suppress_health_check=SLOW)
def test_every_operation_answers_as_described_without_credentials(case: Any, stack: Stack) -> None:
    case.call_and_validate(base_url=stack.url, excluded_checks=_excluded(case))
