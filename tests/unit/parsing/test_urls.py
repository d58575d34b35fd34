"""Reading a gateway link's target without decoding it: never says "ordinary" of a target that could matter."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.parsing.urls import could_matter, split_url, unwrap, wraps_nothing_that_matters
from tests.unit.parsing.test_corpus import JOIN_URLS, SAFE

GATEWAYS = [
    SAFE,
    "https://www.google.com/url?q={}&sa=D",
    "https://linkprotect.cudasvc.com/url?a={}&c=E,1",
    "https://clicktime.symantec.com/3abc?u={}",
]
TARGETS = [url for _, url in JOIN_URLS] + [
    "https://contoso.sharepoint.com/sites/plan/Shared%20Documents/Q1.docx?web=1",
    "https://meet.contoso-video.org/hc-0123456789abcdef0123",
    "https://cms.contoso.com/invited.sf?id=123456",
    "https://video.contoso.com/webapp/conference/room1",
    "https://meet.contoso.com/jane/AB12CD34",
    "https://support.zoom.us/hc/en-us",
    "https://ZOOM.US./j/1234567890",
    "https://user@zoom.us:443/j/1234567890",
    SAFE.format(quote("https://zoom.us/j/1234567890", safe="")),
    "https://urldefense.com/v3/__https://zoom.us/j/1234567890__;!!AbC!",
]


def _encoded(url: str, picks: set[int], lower_hex: bool) -> str:
    """``url`` encoded as a gateway carries it, with the characters at ``picks`` encoded too."""
    out = [f"%{ord(c):02X}" if i in picks and ord(c) < 128 else quote(c, safe="") for i, c in enumerate(url)]
    value = "".join(out)
    return value.lower() if lower_hex else value


def _decision_by_decoding(href: str) -> bool:
    """What reading the target the long way says: could the innermost target matter?"""
    unwrapped = unwrap(href)
    target = unwrapped.parts if unwrapped.wrappers and not unwrapped.unresolved else None
    return target is None or could_matter(target[1], target[2])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gateway=st.sampled_from(GATEWAYS),
    url=st.one_of(st.sampled_from(TARGETS), st.text(max_size=60)),
    picks=st.sets(st.integers(0, 60), max_size=4),
    lower_hex=st.booleans(),
)
@example(gateway=SAFE, url="https://zoom.us/j/1234567890", picks={8}, lower_hex=False)
@example(gateway=SAFE, url="https://meet.contoso-video.org/hc-0123456789abcdef0123", picks=set(), lower_hex=True)
def test_an_ordinary_verdict_is_never_given_to_a_target_that_could_matter(
    gateway: str, url: str, picks: set[int], lower_hex: bool
) -> None:
    href = gateway.format(_encoded(url, picks, lower_hex))
    parts = split_url(href)
    assert parts is not None
    if wraps_nothing_that_matters(parts):
        assert _decision_by_decoding(href) is False


@pytest.mark.parametrize(
    "target",
    [
        "https://contoso.sharepoint.com/sites/plan/Shared%20Documents/Q1.docx?web=1",
        "https://www.linkedin.com/company/contoso",
        "http://intranet.contoso.com:8080/wiki/Standup",
    ],
)
def test_an_ordinary_target_is_read_without_decoding(target: str) -> None:
    assert wraps_nothing_that_matters(split_url(SAFE.format(quote(target, safe=""))))


@pytest.mark.parametrize(
    "value",
    [
        quote("https://zoom.us/j/1234567890", safe=""),
        quote("https://meet.contoso-video.org/hc-0123456789abcdef0123", safe=""),
        "https%3A%2F%2Fzoo%6D.us%2Fj%2F1234567890",
        "https%3A%2F%2Fcontoso.sharepoint.com%2F%68c-0123456789abcdef0123",
        quote("https://user@zoom.us:443/j/1", safe=""),
        quote("https://zoom%2Eus/j/1", safe=""),
        quote(SAFE.format(quote("https://contoso.sharepoint.com/", safe="")), safe=""),
        "%20https%3A%2F%2Fcontoso.sharepoint.com%2F",
    ],
)
def test_anything_that_needs_decoding_is_decoded(value: str) -> None:
    """A catalogue host, a path hint, an encoded letter, an encoded host part, a nested wrapper, a space."""
    assert not wraps_nothing_that_matters(split_url(SAFE.format(value)))


def test_only_gateways_that_carry_the_target_in_a_parameter_are_read_this_way() -> None:
    proofpoint = "https://urldefense.com/v3/__https://contoso.sharepoint.com/x__;!!AbC!"
    assert not wraps_nothing_that_matters(split_url(proofpoint))
    assert not wraps_nothing_that_matters(split_url("https://contoso.sharepoint.com/?url=https%3A%2F%2Fx.org"))


_PLAIN = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://([^/?#\\]*)(.*)$", re.DOTALL)


def _split_plainly(url: str) -> tuple[str, str, str] | None:
    match = _PLAIN.match(url)
    if not match:
        return None
    authority = match.group(2).rsplit("@", 1)[-1]
    host = authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority
    return match.group(1).lower(), host.lower().rstrip("."), match.group(3)


@settings(max_examples=400, deadline=None)
@given(
    url=st.lists(
        st.sampled_from(
            [
                "https",
                "HTTP",
                "zoommtg",
                "x+y",
                "1a",
                "://",
                ":",
                "/",
                "?",
                "#",
                "\\",
                "@",
                ".",
                "Zoom.US",
                "[::1]",
                "8443",
                "\n",
                "é",
                "İ",
            ]
        ),
        max_size=12,
    ).map("".join)
)
def test_split_url_reads_as_one_plain_regex(url: str) -> None:
    """Scheme and host are cached per origin; the split is the same as reading the URL whole."""
    assert split_url(url) == _split_plainly(url)


def test_host_lookup_in_one_pass_finds_what_trying_every_entry_finds() -> None:
    """``_entries_for_host`` answers as the plain scan would, cut after the first specific entry."""
    from shared.parsing.catalogue import PROVIDERS, _entries_for_host
    from tests.unit.parsing.test_corpus import ALL_CASES

    hosts = {
        split_url(url)[1]
        for case in ALL_CASES
        for url in re.findall(r"https?://[^\s\"'<>]+", case.body)
        if split_url(url)
    }
    hosts |= {
        "meet.contoso.com",
        "join.contoso.com",
        "bbb.example.edu",
        "www.example.com",
        "zoom.us",
        "a.b.c.zoom.us",
        "meet.lync.com",
        "acme.webex.com",
        "www.webex.com",
        "whereby.com",
        "docs.whereby.com",
        "x",
        "",
    }
    for host in sorted(hosts):
        scanned: list = []
        for provider in PROVIDERS:
            if provider.hosts.fullmatch(host):
                scanned.append(provider)
                if not provider.generic:
                    break
        assert _entries_for_host(host) == tuple(scanned), host


@settings(max_examples=300, deadline=None)
@given(
    rest=st.lists(st.sampled_from(["?", "&", "=", "url", "u", "x", "#", "/", "%3A", "a=b"]), max_size=12).map("".join),
    name=st.sampled_from(["url", "u", "x"]),
)
def test_query_parameter_is_read_as_splitting_the_query_would(rest: str, name: str) -> None:
    from shared.parsing.urls import _param

    query = rest.split("?", 1)[1] if "?" in rest else None
    expected = None
    for part in query.split("&") if query is not None else []:
        key, _, value = part.partition("=")
        if key == name:
            expected = value
            break
    assert _param(rest, name) == expected
