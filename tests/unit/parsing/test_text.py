"""Which hrefs the HTML reader puts into the stream, and the markup prefilters in front of lexbor."""

from __future__ import annotations

from urllib.parse import quote

from shared.parsing.text import HREF_START, html_to_stream

SAFE = "https://nam12.safelinks.protection.outlook.com/?url={}&data=05%7C02&reserved=0"


def _href(url: str) -> str:
    return f'<p>See <a href="{url}">this</a>.</p>'


def test_a_wrapped_ordinary_link_is_left_out_of_the_stream() -> None:
    document = SAFE.format(quote("https://contoso.sharepoint.com/sites/plan/Q1.docx", safe=""))
    assert HREF_START not in html_to_stream(_href(document))


def test_a_wrapped_join_link_and_a_wrapped_help_page_are_inlined() -> None:
    join = SAFE.format(quote("https://contoso.zoom.us/j/85551234567?pwd=abc", safe=""))
    help_page = SAFE.format(quote("https://support.zoom.us/hc/en-us", safe=""))
    stream = html_to_stream(_href(join) + _href(help_page))
    assert f"{HREF_START}{join}" in stream and f"{HREF_START}{help_page}" in stream


def test_a_wrapper_we_cannot_see_through_is_inlined() -> None:
    mimecast = "https://protect-us.mimecast.com/s/AbCdEfGh?domain=contoso.com"
    assert f"{HREF_START}{mimecast}" in html_to_stream(_href(mimecast))


def test_hidden_elements_are_dropped_whatever_their_case() -> None:
    markup = "<HTML><HEAD><TITLE>t-secret</TITLE><STYLE>p{}</STYLE></HEAD><BODY><SCRIPT>s-secret</SCRIPT>shown</BODY>"
    stream = html_to_stream(markup)
    assert "shown" in stream and "secret" not in stream and "p{}" not in stream


def test_wbr_in_any_case_joins_a_split_url() -> None:
    stream = html_to_stream("<p>https://contoso.zoom.us/j/<WBR>8555123<wbr/>4567</p>")
    assert "https://contoso.zoom.us/j/85551234567" in stream
