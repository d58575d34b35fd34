"""Bodies to one text stream in document order, with each link's href inline.

HTML is read with selectolax (lexbor): entities decoded, ``<wbr>`` dropped
before parsing (so a URL split by it is whole again), scripts and styles
removed, text nodes separated by line breaks (text of adjacent cells never glues
onto a URL), and every ``<a href>`` of a scheme we care about inserted as
``HREF_START + href + HREF_END`` just before its anchor text, so the href
outranks the text on document order. Plain text
gets the same entity decoding a careless HTML-to-text conversion leaves behind.
Markup nested so deeply that the DOM parser would take quadratic time is read
by a bounded regex pass instead (same stream, fewer niceties). Non-breaking
spaces become spaces. URLs inside ``<...>`` broken over lines are
joined again.
"""

from __future__ import annotations

import html
import re

from shared.parsing.urls import could_matter, decode_entities, host_role, split_url, unwrap, wraps_nothing_that_matters

HREF_START, HREF_END = "\x02", "\x03"
MAX_NESTING_COST = 16_000_000
MANY_TAGS = 1000
_WBR = re.compile(r"<wbr\s*/?>", re.IGNORECASE)
HIDDEN_TAGS = ("script", "style", "head", "title")
"""Elements whose text is never shown."""
_HIDDEN = re.compile(r"<(?:[sS][cC][rR]|[sS][tT][yY]|[hH][eE][aA]|[tT][iI][tT])")
_BRACKETED = re.compile(r"<((?:https?|zoommtg|msteams)://[^<>]{1,8192}?)>", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_SCOPE_CHECKING = (
    "<div",
    "<section",
    "<article",
    "<blockquote",
    "<ul",
    "<ol",
    "<dl",
    "<center",
    "<fieldset",
    "<header",
    "<footer",
    "<nav",
    "<main",
    "<aside",
    "<figure",
    "<details",
    "<summary",
    "<pre",
    "<address",
    "<menu",
    "<dir",
    "<figcaption",
    "<hgroup",
    "<listing",
)
_ANCHOR = re.compile(
    r"""<a\s[^<>]{0,2048}?href\s*=\s*(?:"([^"<>]{0,8192})"|'([^'<>]{0,8192})'|"""
    r"""([^\s"'<>]{1,8192}))[^<>]{0,2048}>""",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^<>]{0,4096}>")


def html_to_stream(markup: str) -> str:
    """Visible text of an HTML body with hrefs inline, in document order.

    NUL characters become spaces first: the HTML parser drops them from text, which would glue
    the pieces around one into a link the invitation never contained.
    """
    markup = markup.replace("\x00", " ") if "\x00" in markup else markup
    markup = _WBR.sub("", markup) if _WBR.search(markup) else markup
    tags = markup.count("<")
    lowered = markup.lower() if tags > MANY_TAGS else None
    if lowered is not None and _nesting_cost(lowered, tags) > MAX_NESTING_COST:
        return _normalise(_bounded_html_to_text(markup))
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(markup)
    if _has_hidden(markup, lowered):
        tree.strip_tags(list(HIDDEN_TAGS))
    for anchor in tree.tags("a"):
        href = (anchor.attrs.get("href") or "").strip()
        if _worth_inlining(href):
            anchor.insert_before(f" {HREF_START}{href}{HREF_END} ")
    root = tree.body or tree.root
    return _normalise(root.text(separator="\n", deep=True) if root is not None else "")


def _worth_inlining(href: str) -> bool:
    """Only hrefs that could be a meeting (or a wrapper around one, or a wrapper we cannot see through).

    Most links in an invitation are ordinary ones, many of them wrapped by a gateway; each href
    left out is one URL the extractor never unwraps and classifies again.
    """
    if href.startswith(("https://", "http://")):
        parts = split_url(href)
    else:
        lower = href[:10].lower()
        if lower.startswith(("sip:", "sips:", "zoommtg://", "msteams://")):
            return True
        parts = split_url(href) if lower.startswith(("http://", "https://")) else None
    if parts is None or not could_matter(parts[1], parts[2]):
        return False
    if not host_role(parts[1]).wrappers:
        return True
    if wraps_nothing_that_matters(parts):
        return False
    unwrapped = unwrap(href, parts)
    target = unwrapped.parts if unwrapped.wrappers and not unwrapped.unresolved else None
    return target is None or could_matter(target[1], target[2])


def _has_hidden(markup: str, lowered: str | None) -> bool:
    """Whether any element whose text is never shown may be present (a false positive only costs a strip)."""
    if lowered is None:
        return _HIDDEN.search(markup) is not None
    return any(f"<{tag}" in lowered for tag in HIDDEN_TAGS)


def _nesting_cost(lowered: str, tags: int) -> int:
    """An upper bound of lexbor's work on open-element scope checks: block openers x all tags (lower-cased markup).

    lexbor checks "a p element in button scope" by walking the stack of open
    elements for each block opener (div, section, ul, ...), so thousands of
    nested blocks cost quadratic time (20,000 nested divs: 1.3 s). Markup with
    at most ``MANY_TAGS`` tags is never lower-cased: on a 20 KB invitation that
    costs a third of lexbor's parse.
    """
    return tags * sum(lowered.count(opener) for opener in _SCOPE_CHECKING)


def _bounded_html_to_text(markup: str) -> str:
    """Linear regex reading for pathological markup: hrefs inline, tags become line breaks, entities decoded."""
    text = _ANCHOR.sub(
        lambda m: f" {HREF_START}{html.unescape(next(g for g in m.groups() if g is not None))}{HREF_END} ", markup
    )
    return html.unescape(_TAG.sub("\n", text))


def text_to_stream(text: str) -> str:
    """A plain-text body (or Location) prepared like an HTML one."""
    return _normalise(decode_entities(text))


def _normalise(text: str) -> str:
    text = text.replace("\u00a0", " ").replace("\u00ad", "").replace("\u200b", "")
    if "<" in text and "://" in text:
        text = _BRACKETED.sub(lambda m: "<" + _SPACES.sub("", m.group(1)) + ">", text)
    return text
