"""Reading what comes from outside (HTTP bodies, query parameters, queue messages) strictly, once.

Every input path turns bad input into a :class:`~shared.errors.ValidationError` that names the
problem (a 400, or the poison queue), never into an exception from deeper down:

* JSON nested deeper than ``MAX_DEPTH`` levels is "nested too deeply", found before it is parsed
  (``json.loads`` raises ``RecursionError`` at about 1,000 levels on Python 3.11, and parses far
  deeper on 3.13: either way nothing below should meet such a document). The nesting is measured
  on the document's brackets alone, strings removed, by C-level passes: a megabyte costs a few
  milliseconds.
* JSON may spell a lone UTF-16 surrogate (``"\\ud800"``); Python keeps it in the string, and the
  storage SDK, ``requests`` and every encoder fail on it later (``UnicodeEncodeError``). A
  surrogate can only arrive through such an escape (raw UTF-8 cannot carry one), so a body
  without ``\\uD8``-``\\uDF`` escapes is not walked for them at all.
* Text that becomes part of a storage key or a URL must not hold control characters either.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shared.errors import ValidationError

MAX_DEPTH = 32
"""Levels of nesting accepted in a JSON body; ours are at most 4 deep."""
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_INNERMOST = re.compile(rb"\[\]|\{\}")
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'[]{}"\\')
"""Every byte but brackets, quotes and backslashes: what ``bytes.translate`` deletes first."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def load_json(data: bytes | str, *, what: str, max_depth: int = MAX_DEPTH, walk: bool = True) -> Any:
    """``data`` as JSON; ValidationError naming ``what`` when it is not JSON, is nested too deeply or
    holds a lone surrogate. ``walk=False`` skips the depth walk for large bodies whose callers read
    fixed fields only (the webhook); surrogates are still refused."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if _deeper_than(raw, max_depth):
        raise ValidationError(f"{what} is nested too deeply (at most {max_depth} levels)")
    try:
        document = json.loads(raw)
    except RecursionError:
        raise ValidationError(f"{what} is nested too deeply (at most {max_depth} levels)") from None
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(f"{what} is not JSON") from None
    if walk or _SURROGATE_ESCAPE.search(raw):
        _walk(document, what, max_depth if walk else None)
    return document


def _deeper_than(raw: bytes, levels: int) -> bool:
    """Whether the brackets of ``raw`` (outside strings) nest deeper than ``levels``. A run of more than
    ``levels`` openings settles it at once; otherwise each pass removes the innermost pairs (a document
    of depth d is gone after d passes) and looks for such a run again."""
    run = re.compile(rb"[\[{]{%d}" % (levels + 1))
    reduced = raw.translate(None, _NOT_STRUCTURE).replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = b"".join(reduced.split(b'"')[::2]).replace(b"\\", b"")
    for _ in range(levels):
        if run.search(skeleton):
            return True
        shorter = _INNERMOST.sub(b"", skeleton)
        if not shorter or shorter == skeleton:
            return False
        skeleton = shorter
    return bool(skeleton)


def _walk(document: Any, what: str, max_depth: int | None) -> None:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            check_text(value, what=what, controls=False)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if max_depth is not None and depth > max_depth:
            raise ValidationError(f"{what} is nested too deeply (at most {max_depth} levels)")
        if isinstance(value, dict):
            stack += [(key, depth) for key in value]
            stack += [(item, depth + 1) for item in value.values()]
        else:
            stack += [(item, depth + 1) for item in value]


def check_text(value: str, *, what: str, controls: bool = True) -> str:
    """``value`` unchanged if it is valid Unicode text (and, with ``controls``, holds no control
    character); ValidationError naming ``what`` otherwise."""
    if _SURROGATE.search(value):
        raise ValidationError(f"{what} holds text that is not valid Unicode (a lone surrogate)")
    if controls and _CONTROL.search(value):
        raise ValidationError(f"{what} holds a control character")
    return value
