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
