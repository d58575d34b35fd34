"""The C allocator's settings for this process: keep the HTML parser's memory mapped between documents.

lexbor, the HTML parser, allocates a few hundred KB for each invitation and frees all of it with
the tree. With glibc's defaults that memory goes back to the kernel after every document (the
heap is trimmed, and blocks over 128 KB are mmapped and unmapped) and is mapped again for the next
one, a page fault per 4 KB page: 26 per 20 KB invitation on the main thread and 13 on a worker
thread, 12-18% of the parser's throughput on the development machine (benchmarks/README.md).
A 1 MB pad at the top of the heap, and trimming or mmapping only above 4 MB, take that to none,
for at most a few MB more resident memory per allocator arena. The settings are process-wide, so
the app applies them once at start-up (``function_app.py``).
"""

from __future__ import annotations

import os

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
"""glibc's ``mallopt`` parameters (malloc.h)."""
SETTINGS = ((M_TOP_PAD, 1 << 20), (M_TRIM_THRESHOLD, 4 << 20), (M_MMAP_THRESHOLD, 4 << 20))
TUNABLES = ("MALLOC_TOP_PAD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")
"""The environment variables through which an operator sets the same three themselves."""


def keep_parser_memory() -> bool:
    """Apply ``SETTINGS`` through glibc's ``mallopt``; True when all took effect.

    Nothing changes where the C library is not glibc, or where an operator set any of the same
    three in the environment (``TUNABLES``, or ``GLIBC_TUNABLES=glibc.malloc...``): theirs win.
    Other allocator settings (``MALLOC_ARENA_MAX``, say) are no reason to stand back.
    """
    if not _is_glibc() or _set_by_operator():
        return False
    import ctypes

    libc = ctypes.CDLL(None)
    return all(libc.mallopt(option, value) == 1 for option, value in SETTINGS)


def _set_by_operator() -> bool:
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    return any(name in os.environ for name in TUNABLES) or any(
        f"glibc.malloc.{name}" in tunables for name in ("top_pad", "trim_threshold", "mmap_threshold")
    )


def _is_glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        return False
