"""A tenant's Webex Service App tokens: refreshed before they expire and once after a 401, a refusal kept."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.errors import DependencyUnavailableError, WebexReauthorizationRequiredError
from shared.platforms.webex_auth import (
    REFRESH_MARGIN,
    ServiceApp,
    ServiceAppTokens,
    WebexGrant,
    grant_status,
    refused_refresh,
)

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


class Store:
    def __init__(self, grant: WebexGrant | None) -> None:
        self.grant, self.saves = grant, 0

    def load(self) -> WebexGrant | None:
        return self.grant

    def save(self, grant: WebexGrant) -> None:
        self.grant, self.saves = WebexGrant.from_json(grant.to_json()), self.saves + 1


def grant(access_left: timedelta, refresh_left: timedelta = timedelta(days=60)) -> WebexGrant:
    return WebexGrant("at-1", NOW + access_left, "rt-1", NOW + refresh_left)


def tokens(store: Store, answers: list[Any]) -> tuple[ServiceAppTokens, list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []

    def refresher(app: ServiceApp, refresh_token: str) -> dict[str, Any]:
        calls.append((app.client_id, refresh_token))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return ServiceAppTokens(
        ServiceApp("client", "secret"), load=store.load, save=store.save, refresher=refresher, clock=lambda: NOW
    ), calls


FRESH = {
    "access_token": "at-2",
    "expires_in": 1209599,
    "refresh_token": "rt-1",
    "refresh_token_expires_in": 5000000,
    "token_type": "Bearer",
}


def test_a_token_is_used_until_shortly_before_it_expires_then_refreshed_and_stored() -> None:
    store = Store(grant(REFRESH_MARGIN + timedelta(minutes=1)))
    source, calls = tokens(store, [FRESH])
    assert source.token() == "at-1" and calls == []
    store.grant = grant(REFRESH_MARGIN - timedelta(minutes=1))
    assert source.token() == "at-2" and calls == [("client", "rt-1")] and store.saves == 1
    assert store.grant is not None and store.grant.access_expires == NOW + timedelta(seconds=1209599)
    assert store.grant.refresh_expires == NOW + timedelta(seconds=5000000)


def test_after_a_401_a_token_another_worker_stored_is_taken_without_refreshing() -> None:
    store = Store(grant(timedelta(days=10)))
    source, calls = tokens(store, [FRESH])
    assert source.after_unauthorized("at-0") == "at-1" and calls == []
    assert source.after_unauthorized("at-1") == "at-2" and len(calls) == 1


def test_a_refused_refresh_is_kept_so_no_worker_asks_again_until_an_admin_acts() -> None:
    store = Store(grant(timedelta(minutes=5)))
    refusal = refused_refresh(400, {"error": "invalid_grant", "error_description": "revoked"}, {})
    source, calls = tokens(store, [refusal])
    with pytest.raises(WebexReauthorizationRequiredError):
        source.token()
    assert store.grant is not None and store.grant.refused == "invalid_grant"
    with pytest.raises(WebexReauthorizationRequiredError, match="invalid_grant"):
        source.token()
    assert len(calls) == 1
    assert grant_status(store.grant, NOW)["state"] == "refused"  # type: ignore[index]


def test_an_unreachable_token_endpoint_is_transient_and_stores_nothing() -> None:
    store = Store(grant(timedelta(minutes=5)))
    source, _ = tokens(store, [DependencyUnavailableError("webex token refresh: unreachable")])
    with pytest.raises(DependencyUnavailableError):
        source.token()
    assert store.saves == 0 and store.grant is not None and store.grant.refused is None


def test_a_malformed_token_answer_stores_nothing() -> None:
    store = Store(grant(timedelta(minutes=5)))
    source, _ = tokens(store, [{"access_token": "x"}])
    with pytest.raises(DependencyUnavailableError):
        source.token()
    assert store.saves == 0


def test_the_status_warns_two_weeks_before_the_refresh_token_runs_out() -> None:
    assert grant_status(grant(timedelta(days=10)), NOW)["state"] == "ok"  # type: ignore[index]
    shown = grant_status(grant(timedelta(days=10), timedelta(days=13)), NOW)
    assert shown is not None and shown["state"] == "expiring" and shown["refreshExpires"] == "2026-12-14T08:00:00Z"
    assert grant_status(grant(timedelta(days=1), timedelta(days=-1)), NOW)["state"] == "expired"  # type: ignore[index]
    assert "at-1" not in str(shown) and "rt-1" not in str(shown)
    assert grant_status(None, NOW) is None
