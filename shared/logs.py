"""Log-safe descriptions of failures.

Exception messages and source lines may carry tokens, subjects or addresses, so
what reaches a log is the exception class and where it happened (file, line,
function), never ``str(exc)`` or the source text.
"""

from __future__ import annotations

import traceback


def describe_exception(exc: BaseException) -> str:
    """``ClassName at file:line in function <- ...``, innermost frame first."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}" for f in reversed(frames))
    return f"{type(exc).__name__} at {where}" if where else type(exc).__name__


def describe_outcome(outcome: object) -> str:
    """What a unit of work returned, for a log line: a word, a number or counts as they are; anything
    else (a mailbox record, an event) only by its type, since its fields may hold addresses and names."""
    if isinstance(outcome, str) and outcome.replace("_", "").isalnum() and len(outcome) <= 40:
        return outcome
    if isinstance(outcome, bool) or outcome is None:
        return str(outcome)
    if isinstance(outcome, int):
        return str(outcome)
    if isinstance(outcome, dict) and all(
        isinstance(k, str) and describe_outcome(k) == k and isinstance(v, int) for k, v in outcome.items()
    ):
        return "{" + ", ".join(f"{k}: {v}" for k, v in outcome.items()) + "}"
    return type(outcome).__name__
