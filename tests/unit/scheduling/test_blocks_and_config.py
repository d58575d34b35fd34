"""The join block (placed, replaced, removed, nothing else touched), Location rewriting, tenant config."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import ValidationError
from shared.parsing.keywords import keyword_span
from shared.platforms.base import DialIn, PlatformMeeting
from shared.scheduling.blocks import HTML_START, TEXT_START, location_with_link, with_block, without_block
from shared.scheduling.config import SchedulingConfig, load_config, parse_config

MEETING = PlatformMeeting(
    "webex",
    "m1",
    "https://contoso.webex.com/j.php?MTID=m1&x=<y>",
    "scheduled",
    "123@contoso.webex.com",
    "123 456 789",
    "p@ss",
    (DialIn("US Toll", "+1-415-555-0100"),),
)
TEAMS = (
    '<div><a href="https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0">Join the meeting '
    "now</a><br>Meeting ID: 123 456 789 012</div>"
)


def test_the_block_goes_before_the_last_body_end_and_nothing_else_changes() -> None:
    body = f"<html><head><style>p{{margin:0}}</style></head><body><p>Agenda</p>{TEAMS}</BODY ></html>"
    written = with_block(body, MEETING, content_type="html")
    head, rest = written.split(HTML_START)
    assert head == body[: body.index("</BODY >")] and rest.endswith("</BODY ></html>")
    assert "x=&lt;y&gt;" in rest and "<y>" not in rest and "p@ss" in rest and "+1-415-555-0100" in rest
    assert with_block(written, MEETING, content_type="html") == written
    assert without_block(written, content_type="html") == body


def test_malformed_html_still_gets_a_whole_block_and_text_bodies_get_marker_lines() -> None:
    broken = '<div><p>unclosed <a href="x'
    written = with_block(broken, MEETING, content_type="html")
    assert written.startswith(broken) and written.endswith("<!--hc:join:end-->")
    text = with_block("Notes\n", MEETING, content_type="text")
    assert text.startswith("Notes\n\n\n" + TEXT_START) and "Meeting number: 123 456 789" in text
    assert without_block(text, content_type="text") == "Notes\n"
    assert with_block("", MEETING, content_type="text").startswith(TEXT_START)


@given(st.text(max_size=300))
def test_any_body_round_trips_through_adding_and_removing_the_block(body: str) -> None:
    for content_type in ("html", "text"):
        if HTML_START in body or TEXT_START in body:
            continue
        assert without_block(with_block(body, MEETING, content_type=content_type), content_type=content_type) == body


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("@webex", "L"),
        ("Board room; @WEBEX:myroom", "Board room; L"),
        ("@meet, Room 2", "L, Room 2"),
        ("team@webex.com", "team@webex.com"),
        ("@webex:other", "@webex:other"),
        ("", ""),
    ],
)
def test_the_keyword_and_only_it_becomes_the_link(location: str, expected: str) -> None:
    assert location_with_link(location, keyword_span(location), "L") == expected


def test_configuration_is_validated_and_keeps_what_is_not_sent() -> None:
    from shared.scheduling.config import WebexConfig, load_config

    assert (
        SchedulingConfig().kind_of("myroom") == "personal_room" and SchedulingConfig().platform_of("@meet") == "builtin"
    )
    service_app = {
        "clientId": "C1",
        "clientSecret": "s",
        "refreshToken": "r",
        "checkHost": "alice@contoso.example",
        "siteUrl": "Contoso.webex.com",
    }
    config, setup = parse_config({"keywords": {"@webex": "webex"}, "webex": service_app})
    assert (
        config.webex is None and setup is not None and (setup.client_id, setup.site_url) == ("C1", "contoso.webex.com")
    )
    assert "alice@" not in repr(setup) and "refresh_token" not in repr(setup)
    held = SchedulingConfig({"@webex": "webex", "@meet": "builtin"}, webex=WebexConfig("C1", "s", None))
    kept, none = parse_config({"modifiers": {"space": "scheduled"}}, current=held)
    assert kept.webex == held.webex and none is None
    moved, _ = parse_config({"webex": {"siteUrl": "eu.webex.com"}}, current=held)
    assert moved.webex is not None and (moved.webex.client_id, moved.webex.site_url) == ("C1", "eu.webex.com")
    assert load_config(moved.to_json()) == moved and moved.public()["webex"]["clientSecret"] == "set"
    assert '"s"' not in str(moved.public())
    legacy = load_config('{"keywords": {"@webex": "webex"}, "modifiers": {}, "webexToken": "t"}')
    assert legacy.webex_token == "t" and legacy.public()["webexToken"] == "set"
    assert parse_config({"webexToken": None, "keywords": {"@webex": "builtin"}}, current=legacy)[0].webex_token is None
    for bad in (
        {"keywords": {"@webex": "zoom"}},
        {"modifiers": {"other": "scheduled"}},
        {"extra": 1},
        [],
        {"keywords": {"@webex": "webex"}},
        {"webexToken": "t"},
        {"webex": {}},
        {"webex": []},
        {"webex": {"siteUrl": "x.webex.com"}},
        {"webex": service_app | {"checkHost": "nobody"}},
        {"webex": service_app | {"siteUrl": "https://x.webex.com/"}},
        {"webex": service_app | {"clientSecret": ""}},
        {"webex": service_app | {"refreshToken": "a b"}},
        {"webex": service_app | {"clientId": "x" * 5000}},
        {"webex": service_app | {"extra": 1}},
        {"webex": {k: v for k, v in service_app.items() if k != "refreshToken"}},
    ):
        with pytest.raises(ValidationError):
            parse_config(bad)


def test_a_tenant_template_shapes_the_block_with_escaped_values() -> None:
    templates = {
        "html": '<p>Join: <a href="$join_url">$join_url</a></p><p>Phone:<br>$dial_in</p>',
        "text": "Webex: $join_url\nPIN $password",
    }
    written = with_block("<body></body>", MEETING, content_type="html", templates=templates)
    assert 'href="https://contoso.webex.com/j.php?MTID=m1&amp;x=&lt;y&gt;"' in written
    assert "Phone:<br>US Toll: +1-415-555-0100" in written
    text = with_block("", MEETING, content_type="text", templates=templates)
    assert "Webex: https://contoso.webex.com/j.php?MTID=m1&x=<y>\nPIN p@ss" in text
    config = parse_config({"templates": templates})[0]
    assert config.templates == templates and parse_config({"templates": {"html": None}}, current=config)[
        0
    ].templates == {"text": templates["text"]}
    for bad, message in (
        ({"html": "<p>$subject $join_url</p>"}, "unknown placeholders"),
        ({"text": "no link"}, r"must contain \$join_url"),
        ({"text": "$ $join_url"}, "placeholders only"),
        ({"rtf": "$join_url"}, "templates maps"),
    ):
        with pytest.raises(ValidationError, match=message):
            parse_config({"templates": bad})


def test_the_organizers_language_picks_its_templates_and_times_show_in_the_organizers_zone() -> None:
    from datetime import datetime, timezone

    from shared.scheduling.blocks import BlockTime

    german = {"html": "<p>Beitreten: $join_url am $start ($time_zone)</p>"}
    config, _ = parse_config(
        {
            "templates": {"html": "<p>Join: $join_url</p>"},
            "languageTemplates": {"de": german, "fr-CA": {"text": "Joindre : $join_url"}},
        }
    )
    assert config.templates_for("de-DE") == {"html": "<p>Beitreten: $join_url am $start ($time_zone)</p>"}
    assert config.templates_for("DE") == config.templates_for("de-AT") == config.templates_for("de-DE")
    assert config.templates_for("fr-FR") == config.templates == config.templates_for(None), "no fr, only fr-CA"
    assert config.templates_for("fr-CA") == {"text": "Joindre : $join_url"}
    when = BlockTime(
        datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc),
        datetime(2026, 7, 1, 13, 0, tzinfo=timezone.utc),
        "W. Europe Standard Time",
    )
    written = with_block("", MEETING, content_type="html", templates=config.templates_for("de-DE"), when=when)
    assert "am 2026-07-01 14:00 (W. Europe Standard Time)" in written, "summer time in Berlin: UTC+2"
    winter = BlockTime(datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc), None, "W. Europe Standard Time")
    assert winter.values()["start"] == "2026-12-01 13:00"
    assert BlockTime(when.start, when.end, "Mars Standard Time").values() == {
        "start": "2026-07-01 12:00",
        "end": "2026-07-01 13:00",
        "time_zone": "UTC",
    }, "a zone not known shows UTC"
    assert parse_config({"languageTemplates": {"de": None}}, current=config)[0].language_templates == {
        "fr-CA": {"text": "Joindre : $join_url"}
    }
    assert load_config(config.to_json()) == config


@pytest.mark.parametrize(
    "bad",
    [
        {"languageTemplates": []},
        {"languageTemplates": {"german!": {"html": "$join_url"}}},
        {"languageTemplates": {"de": {"html": "no link"}}},
        {"languageTemplates": {"de": {"rtf": "$join_url"}}},
        {"languageTemplates": {"d\u0435": {"html": "$join_url"}}},
        {"languageTemplates": {f"x{n:02d}": {"html": "$join_url"} for n in range(41)}},
    ],
)
def test_language_templates_that_cannot_be_used_are_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        parse_config(bad)
