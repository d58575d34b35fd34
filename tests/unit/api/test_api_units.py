"""Pure logic of the meetings API: ranges, continuation tokens, joinable-now, token-key caching."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.storage.records import digest
from shared.api.meetings import MeetingsService, Position, meeting_id, parse_moment, parse_range
from shared.api.tokens import REFRESH_EVERY, ApiTokenValidator
from shared.cache import TtlCache
from shared.errors import InsufficientScopeError, InvalidParameterError, InvalidTokenError, describe_code
from shared.storage.meetings import MeetingRecord
from shared.sync.window import Window

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
WINDOW = Window(7, 31)
LOW, HIGH = WINDOW.bounds(NOW)
inside = st.datetimes(
    min_value=LOW.replace(tzinfo=None), max_value=HIGH.replace(tzinfo=None), timezones=st.just(timezone.utc)
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_any_text_is_a_moment_or_an_error_naming_the_parameter(text: str) -> None:
    try:
        moment = parse_moment("from", text)
    except InvalidParameterError as error:
        assert error.parameter == "from" and str(error).startswith("from: ")
    else:
        assert moment.tzinfo is timezone.utc


@given(inside, offsets)
def test_a_moment_in_any_offset_reads_back_as_the_same_instant(moment: datetime, zone: timezone) -> None:
    assert parse_moment("to", moment.astimezone(zone).isoformat()) == moment


@given(inside, inside)
def test_ranges_inside_the_window_are_accepted_in_order_and_refused_reversed(a: datetime, b: datetime) -> None:
    params = {"from": a.isoformat(), "to": b.isoformat()}
    if a < b:
        assert parse_range(params, now=NOW, window=WINDOW) == (a, b)
    else:
        with pytest.raises(InvalidParameterError, match="^to: must be after from$"):
            parse_range(params, now=NOW, window=WINDOW)


@given(st.datetimes(max_value=LOW.replace(tzinfo=None) - timedelta(microseconds=1), timezones=st.just(timezone.utc)))
def test_a_start_before_the_window_is_refused(moment: datetime) -> None:
    with pytest.raises(InvalidParameterError) as raised:
        parse_range({"from": moment.isoformat()}, now=NOW, window=WINDOW)
    assert raised.value.parameter == "from" and "retention window" in str(raised.value)


def test_defaults_are_an_hour_back_to_a_week_ahead_and_an_unencoded_plus_is_read() -> None:
    assert parse_range({}, now=NOW, window=WINDOW) == (NOW - timedelta(hours=1), NOW + timedelta(days=7, hours=-1))
    assert parse_moment("from", "2026-11-25T13:00:00 01:00") == NOW
    with pytest.raises(InvalidParameterError, match="has no time zone"):
        parse_moment("from", "2026-11-25T13:00:00")


@given(inside, inside, st.from_regex(r"[0-9a-f]{32}", fullmatch=True))
def test_continuations_round_trip(a: datetime, b: datetime, digest_part: str) -> None:
    assume(a < b)
    position = Position(a, b, f"m|{a.strftime('%Y%m%dT%H%M%SZ')}|{digest_part}")
    assert Position.decode(position.encode()) == position


@given(inside, inside, st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(timezone.utc)))
def test_a_continuation_naming_a_meeting_outside_its_range_is_refused(a: datetime, b: datetime, at: datetime) -> None:
    assume(a < b and not a - timedelta(days=14) <= at.replace(microsecond=0) < b)
    token = Position(a, b, f"m|{at.strftime('%Y%m%dT%H%M%SZ')}|{'0' * 32}").encode()
    with pytest.raises(InvalidParameterError, match="outside its own range") as raised:
        Position.decode(token)
    assert raised.value.parameter == "continuation"


@given(st.text(max_size=600))
def test_anything_else_is_not_a_continuation(token: str) -> None:
    try:
        Position.decode(token)
    except InvalidParameterError as error:
        assert error.parameter == "continuation"


class Rows:
    """The meetings repository's paging contract over a list: row-key order, after a key, a limit."""

    def __init__(self, records: list[MeetingRecord]) -> None:
        self.rows = sorted((f"m|{r.start.strftime('%Y%m%dT%H%M%SZ')}|{digest(r.event_id)[:32]}", r) for r in records)
        self.queries = 0

    def page_meetings(
        self,
        tenant_id: str,
        mailbox_id: str,
        *,
        start: datetime,
        end: datetime,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, MeetingRecord]]:
        self.queries += 1
        found = [(k, r) for k, r in self.rows if r.start < end and r.end > start and (after is None or k > after)]
        return found[:limit]


def record(minutes: float, length: float = 30, **fields: Any) -> MeetingRecord:
    start = NOW + timedelta(minutes=minutes)
    return MeetingRecord(
        f"event{minutes}",
        start,
        start + timedelta(minutes=length),
        ical_uid=f"uid{minutes}",
        join_url="https://meet.google.com/abc-defg-hij",
        **fields,
    )


def service(records: list[MeetingRecord], page_size: int = 2) -> MeetingsService:
    return MeetingsService(Rows(records), WINDOW, timedelta(minutes=5), page_size, now=lambda: NOW)  # type: ignore[arg-type]


def test_joinable_from_the_lead_before_start_until_the_end() -> None:
    api = service([])
    item = lambda r, now: api.item(meeting_id(r), r, now)  # noqa: E731
    meeting = record(30)
    assert item(meeting, meeting.start - timedelta(minutes=5))["joinableNow"]
    assert not item(meeting, meeting.start - timedelta(minutes=5, microseconds=1))["joinableNow"]
    assert item(meeting, meeting.end - timedelta(microseconds=1))["joinableNow"]
    assert not item(meeting, meeting.end)["joinableNow"]
    assert not item(record(30, is_cancelled=True), meeting.start)["joinableNow"]
    assert not item(MeetingRecord("x", meeting.start, meeting.end), meeting.start)["joinableNow"]


def test_pages_cover_every_meeting_once_in_start_order() -> None:
    api = service([record(m) for m in (90, 10, 50, 30, 70)])
    page, seen = api.page("t", "m", {}), []
    while True:
        seen += [m["start"] for m in page["value"]]
        if "continuation" not in page:
            break
        page = api.page("t", "m", {"continuation": page["continuation"]})
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 5
    assert api.meetings.queries == 3  # type: ignore[attr-defined]


def test_copies_of_one_meeting_share_an_id() -> None:
    organizer, attendee = (
        record(30),
        MeetingRecord("another-event-id", record(30).start, record(30).end, ical_uid="uid30"),
    )
    assert meeting_id(organizer) == meeting_id(attendee)


def test_a_ttl_cache_expires_and_stays_bounded() -> None:
    clock = [0.0]
    cache: TtlCache[int] = TtlCache(ttl=10, maxsize=2, clock=lambda: clock[0])
    loads = []
    load = lambda value: lambda: loads.append(value) or value  # noqa: E731
    assert cache.get_or_load("a", load(1)) == 1 and cache.get_or_load("a", load(2)) == 1
    clock[0] = 10.0
    assert cache.get_or_load("a", load(3)) == 3
    cache.get_or_load("b", load(4)), cache.get_or_load("c", load(5))
    assert cache.get_or_load("a", load(6)) == 6 and loads == [1, 3, 4, 5, 6]
    assert cache.get_or_load("z", load(None), keep=lambda v: v is not None) is None
    assert cache.get_or_load("z", load(7)) == 7


def test_a_claim_is_won_once_until_released_expired_or_pushed_out() -> None:
    clock = [0.0]
    claims: TtlCache[bool] = TtlCache(ttl=300, maxsize=3, clock=lambda: clock[0])
    assert claims.add("a", True) and not claims.add("a", True)
    claims.discard("a")
    assert claims.add("a", True) and not claims.add("a", True)
    clock[0] = 300.0
    assert claims.add("a", True) and not claims.add("a", True)
    assert all(claims.add(key, True) for key in "bcd")
    assert claims.add("a", True) and not claims.add("d", True)


def test_error_codes_are_described_for_admins() -> None:
    assert describe_code("access_policy_denied").startswith("An Exchange application access policy")
    assert describe_code("mailbox_not_found").startswith("The mailbox is unknown")
    assert describe_code("no_such_code") is None


TENANT, USER = "72f988bf-86f1-41af-91ab-2d7cd011db47", "a1b2c3d4-0000-4000-8000-000000000001"
ISSUER = f"https://login.example/{TENANT}/v2.0"


class SignIn:
    """A sign-in service whose key set and discovery calls a test controls and counts."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.published = {"k1": self.key}
        self.fetches = 0
        self.clock = 0.0

    def jwks(self, url: str) -> dict[str, Any]:
        self.fetches += 1
        return {
            "keys": [
                {**jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key(), as_dict=True), "kid": kid}
                for kid, k in self.published.items()
            ]
        }

    def token(self, kid: str = "k1", key: Any = None, **changes: Any) -> str:
        claims = {
            "aud": "api://hc",
            "iss": ISSUER,
            "tid": TENANT,
            "oid": USER,
            "scp": "Meetings.Read",
            "iat": 1_700_000_000,
            "nbf": 1_700_000_000,
            "exp": 4_000_000_000,
        } | changes
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})

    def validator(self, served: bool = True) -> ApiTokenValidator:
        return ApiTokenValidator(
            audiences=("api://hc",),
            scope="Meetings.Read",
            discover=lambda t: {"issuer": f"https://login.example/{t}/v2.0", "jwks_uri": "https://login.example/keys"},
            fetch_json=self.jwks,
            is_served=lambda t: served,
            clock=lambda: self.clock,
        )


def test_unknown_keys_refresh_the_key_set_at_most_once_per_interval() -> None:
    signin = SignIn()
    validator = signin.validator()
    assert validator.validate(signin.token()).object_id == USER and signin.fetches == 1
    forged = signin.token(kid="forged", key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    for _ in range(5):
        with pytest.raises(InvalidTokenError, match="does not publish"):
            validator.validate(forged)
    assert signin.fetches == 1
    signin.clock += REFRESH_EVERY
    signin.published["k2"] = signin.key
    assert validator.validate(signin.token(kid="k2")).tenant_id == TENANT and signin.fetches == 2


def test_tenants_not_served_are_refused_without_any_sign_in_call() -> None:
    signin = SignIn()
    with pytest.raises(InvalidTokenError, match="not served"):
        signin.validator(served=False).validate(signin.token())
    assert signin.fetches == 0


def test_a_token_without_the_scope_is_forbidden_not_unauthorized() -> None:
    signin = SignIn()
    with pytest.raises(InsufficientScopeError):
        signin.validator().validate(signin.token(scp="User.Read"))
    with pytest.raises(InvalidTokenError, match="not a JWT"):
        signin.validator().validate("a.b.c")
    with pytest.raises(InvalidTokenError, match="RS256"):
        signin.validator().validate(
            jwt.encode({"tid": TENANT}, "secret-secret-secret-secret-32b!", algorithm="HS256", headers={"kid": "k1"})
        )
