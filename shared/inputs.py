"""Reading what comes from outside (HTTP bodies, query parameters, queue messages) strictly, once.

Every input path turns bad input into a :class:`~shared.errors.ValidationError` that names the
problem (a 400, or the poison queue), never into an exception from deeper down:

* JSON nested deeper than Python's recursion limit makes ``json.loads`` raise ``RecursionError``;
  here it is "nested too deeply". Bodies we walk are also refused past ``MAX_DEPTH`` levels.
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
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def load_json(data: bytes | str, *, what: str, max_depth: int = MAX_DEPTH, walk: bool = True) -> Any:
    """``data`` as JSON; ValidationError naming ``what`` when it is not JSON, is nested too deeply or
    holds a lone surrogate. ``walk=False`` skips the depth walk for large bodies whose callers read
    fixed fields only (the webhook); surrogates are still refused."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    try:
        document = json.loads(raw)
    except RecursionError:
        raise ValidationError(f"{what} is nested too deeply (at most {max_depth} levels)") from None
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(f"{what} is not JSON") from None
    if walk or _SURROGATE_ESCAPE.search(raw):
        _walk(document, what, max_depth if walk else None)
    return document


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
