"""Properties of join-info detection that hold for any input (hypothesis)."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.parsing import extract_join_info
from shared.parsing.extract import (
    FOLDING,
    _DETAILS,
    _DOMAIN_AFTER_AT,
    _VTC_HEADING,
    _address,
    _address_candidates,
    _has_details,
    _headings,
    _inside_url,
    _url_spans,
    _user_before,
    _video_users,
)
from shared.parsing.urls import MAX_LAYERS, decode_entities, split_url, unwrap
from tests.unit.parsing.test_corpus import INVITE_CASES, JOIN_URLS, PROVIDER_CASES, RULE_CASES, SAFE

URLS = [url for _, url in JOIN_URLS]
PIECES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(URLS),
    st.sampled_from(
        [
            "<p>",
            "</p>",
            "<div>",
            "<br>",
            '<a href="',
            '">',
            "</a>",
            "&amp;",
            "&nbsp;",
            "&lt;",
            "Meeting ID: 123",
            "Passcode: 9",
            "@webex",
            "@meet:space",
            "sip:",
            "@",
            "://",
            "\n",
            " ",
            "123456@contoso.com",
            "jane@contoso.com",
            "<wbr>",
            "<!--",
            "-->",
            "<script>",
            "'",
            '"',
        ]
    ),
)
FIELD = st.lists(PIECES, max_size=25).map("".join)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    location=st.one_of(st.none(), st.text()),
    body=st.one_of(st.none(), st.text()),
    body_type=st.sampled_from(["html", "text", "HTML", "weird"]),
    online=st.one_of(st.none(), st.text()),
)
def test_never_raises_on_any_text(location, body, body_type, online) -> None:
    result = extract_join_info(location, body, body_type, online)
    assert result.join_url is None or isinstance(result.join_url, str)


@SETTINGS
@given(location=FIELD, body=FIELD, body_type=st.sampled_from(["html", "text"]))
def test_deterministic(location: str, body: str, body_type: str) -> None:
    assert extract_join_info(location, body, body_type) == extract_join_info(location, body, body_type)


@SETTINGS
@given(location=FIELD, body=FIELD, body_type=st.sampled_from(["html", "text"]))
@example(location="", body="HTTP://ZOOM.US/J/00000000\x000", body_type="html")  # a NUL must not glue a link
@example(location="", body="\n<HTTP://ZOOM.US/J/00000000\r0>", body_type="text")  # a wrapped <URL> is joined
def test_join_url_and_sip_occur_in_the_decoded_input(location: str, body: str, body_type: str) -> None:
    result = extract_join_info(location, body, body_type)
    if body_type == "html":  # attribute values live in the markup; visible text is the markup without its tags
        decoded_body = html.unescape(body) + "\n" + html.unescape(re.sub(r"<[^<>]*>", "", body))
    else:
        decoded_body = decode_entities(body)
    decoded = (decode_entities(location) + "\n" + decoded_body).replace("\u00a0", " ")
    decoded = decoded.replace("\u00ad", "").replace("\u200b", "")
    decoded += "\n" + re.sub(r"<[^<>]*>", lambda m: re.sub(r"\s", "", m.group()), decoded)  # RFC 3986 C: <URL> may wrap
    if result.join_url is not None:
        assert result.join_url in decoded
    if result.sip_uri is not None:
        assert result.sip_uri in decoded


SIGNATURES = st.sampled_from(
    [
        '<div>--<br>Bob Example<br>My room: <a href="{url}">{url}</a></div>',
        "\n--\nBob Example | Principal Engineer\nPersonal room: {url}\n",
        '<p>Sent from my phone</p><p><a href="{url}">Join me anytime</a></p>',
    ]
)
WINNING_CASES = [c for c in PROVIDER_CASES + INVITE_CASES + RULE_CASES if c.join and not c.online and not c.location]


@SETTINGS
@given(case=st.sampled_from(WINNING_CASES), signature=SIGNATURES, text=st.text(max_size=200))
def test_an_unrelated_signature_link_never_changes_the_winner(case, signature: str, text: str) -> None:
    url = "https://meet.jit.si/BobsRoom" if case.provider != "jitsi" else "https://zoom.us/my/bob.example"
    before = extract_join_info(case.location, case.body, case.body_type)
    padding = html.escape(text) if case.body_type == "html" else text
    after = extract_join_info(case.location, case.body + "\n" + padding + signature.format(url=url), case.body_type)
    assert (after.provider, after.join_url) == (before.provider, before.join_url)


WRAPPED = st.recursive(
    st.one_of(st.sampled_from(URLS), st.text(max_size=60)),
    lambda inner: inner.map(lambda url: SAFE.format(quote(url, safe=""))),
    max_leaves=4,
)


def _nested(url: str, layers: int) -> str:
    for _ in range(layers):
        url = SAFE.format(quote(url, safe=""))
    return url


@SETTINGS
@given(url=WRAPPED)
@example(url=_nested("https://zoom.us/j/1234567890", MAX_LAYERS + 1))
@example(url="https://protect-eu.mimecast.com/s/AbCdEf?domain=zoom.us")
def test_unwrap_hands_back_the_innermost_url_split(url: str) -> None:
    """Callers classify ``Unwrapped.parts`` instead of splitting the innermost URL again."""
    unwrapped = unwrap(url)
    assert unwrapped.parts == split_url(unwrapped.url)
    assert unwrap(url, split_url(url)) == unwrapped


USER_PIECES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "sip:",
                "SIP:",
                "sips:",
                "sIpS:",
                ":",
                "@",
                ".",
                "-",
                "ſip:",
                "K",
                "a",
                "7",
                " ",
                "\n",
                "1" * 127,
                "9" * 128,
                "b" * 130,
                "@zoomcrc.com",
                "@contoso.com",
            ]
        ),
        st.text(alphabet="0123456789abcXYZ._%+-@: ", max_size=20),
    ),
    max_size=20,
).map("".join)


@SETTINGS
@given(stream=USER_PIECES)
@example(stream="x" + "1" * 127 + "@zoomcrc.com")
@example(stream="x" + "1" * 129 + "@zoomcrc.com")
@example(stream="sip:" + "b" * 128 + "@contoso.com")
def test_video_users_are_the_addresses_whose_user_is_digits_or_sip(stream: str) -> None:
    """The one-pass prefilter reads each ``@`` exactly as the per-address reading does."""
    expected = set()
    for at in (i for i, c in enumerate(stream) if c == "@"):
        user = _user_before(stream, at)
        if user is not None and (user[1] or user[2].isdigit()):
            expected.add(at)
    assert _video_users(stream) == expected


def _url_spans_plainly(stream: str) -> list[tuple[int, int]]:
    """The scheme read as a lower-cased look behind each ``://``, then its own start checked."""
    spans = []
    for match in re.finditer(r"://[^\s<>\"'`\x00-\x1f\x7f]+", stream):
        at = match.start()
        before = stream[max(0, at - 8) : at].lower()
        scheme = next((s for s in ("https", "http", "zoommtg", "msteams") if before.endswith(s)), None)
        if scheme and (at - len(scheme) == 0 or not stream[at - len(scheme) - 1].isalnum()):
            spans.append((at - len(scheme), match.end()))
    return spans


@SETTINGS
@given(
    stream=st.lists(
        st.sampled_from(
            [
                "https",
                "HTTP",
                "Zoommtg",
                "msTeams",
                "http",
                "s",
                "://",
                "x",
                "_",
                "é",
                "İ",
                "K",
                "1",
                " ",
                "\n",
                "\x02",
                "/j/1",
                "ſ",
            ]
        ),
        max_size=16,
    ).map("".join)
)
def test_url_spans_find_each_scheme_we_read(stream: str) -> None:
    assert list(_url_spans(stream)) == _url_spans_plainly(stream)


def _addresses_plainly(stream: str) -> list:
    """Every ``@`` read in full, none left out beforehand."""
    headings = [m.end() for m in _VTC_HEADING.finditer(stream)]
    found = []
    for at in _DOMAIN_AFTER_AT.finditer(stream):
        user = _user_before(stream, at.start())
        candidate = _address(stream, user, at, "body", headings) if user is not None else None
        if candidate is not None and not _inside_url(stream, user[0]):
            found.append(candidate)
    return found


ADDRESS_PIECES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "Join with a video conferencing device",
                "JOIN FROM A VIDEO SYSTEM",
                "video",
                "\n",
                " " * 300,
                "jane@contoso.com",
                "123456@contoso.com",
                "sip:room@contoso.com",
                "x@ACME.WEBEX.COM",
                "1@zoomcrc.com",
                "room@teams.bjn.vc",
                "a@m.webex.com.example.org",
                "https://x.org/?a@zoomcrc.com",
                "mailto:",
                "@",
                ".",
                "7",
                "sip:",
            ]
        ),
        st.text(alphabet="abc019@.:- ", max_size=12),
    ),
    max_size=14,
).map("".join)


@SETTINGS
@given(stream=ADDRESS_PIECES)
@example(stream="Join with a video conferencing device" + " " * 395 + "conference-room@video.contoso.com")
def test_addresses_left_out_beforehand_are_none_the_full_reading_takes(stream: str) -> None:
    assert _address_candidates(stream, "body") == _addresses_plainly(stream)


@SETTINGS
@given(
    window=st.lists(
        st.sampled_from(
            [
                "meeting",
                " id",
                "meeting#",
                " 4",
                "pass",
                "code",
                "word",
                "access",
                "pin",
                "spin",
                "pins",
                "conference",
                "webinar",
                " ",
                "\n",
                "x",
                "ſ",
                "é",
                ":",
                "·",
                "paſſcode",
                "\u0131",
                "\u212a",
                "\u00a0",
            ]
        ),
        max_size=12,
    ).map("".join)
)
@example(window="meeting # : 4")
@example(window="paſſcode")
def test_details_are_found_where_the_plain_search_finds_them(window: str) -> None:
    window = window.lower()
    assert _has_details(window) == (_DETAILS.search(window) is not None)


def test_folding_names_every_character_a_case_insensitive_pattern_matches_to_an_ascii_letter() -> None:
    letter = re.compile("[a-z]", re.IGNORECASE)
    assert tuple(chr(c) for c in range(128, 0x110000) if letter.match(chr(c))) == FOLDING


@SETTINGS
@given(
    stream=st.lists(
        st.sampled_from(
            [
                "Join with a video conferencing device",
                "JOIN FROM A VIDEO SYSTEM",
                "join",
                "jOiN  wItH\na VIDEO device",
                "j",
                "J",
                " ",
                "video",
                "with a video system",
                "Join with a video conferencing\u00a0device",
            ]
        ),
        max_size=10,
    ).map("".join)
)
def test_headings_are_the_ones_the_pattern_finds_anywhere(stream: str) -> None:
    assert _headings(stream) == [m.end() for m in _VTC_HEADING.finditer(stream)]
