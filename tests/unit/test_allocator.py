"""The allocator settings: parsing invitation after invitation maps no new memory once they are applied."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.allocator import _is_glibc

ROOT = Path(__file__).resolve().parents[2]
PARSE_AND_COUNT_FAULTS = """
import resource, sys
from shared.allocator import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, keep_parser_memory
from shared.parsing import extract_join_info
from tests.unit.parsing import invites
if sys.argv[1] == "glibc defaults, held":
    import ctypes
    libc = ctypes.CDLL(None)
    applied = libc.mallopt(M_TRIM_THRESHOLD, 128 * 1024) == libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1
else:
    applied = keep_parser_memory()
body = invites.OUTLOOK_HEAD + invites.filler(16_000) + invites.TEAMS_HTML + invites.SIGNATURE_HTML
for _ in range(20):
    extract_join_info("Room 4B", body)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    extract_join_info("Room 4B", body)
print(applied, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50)
"""


def _faults_per_document(mode: str, **env: str) -> tuple[str, float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    done = subprocess.run(
        [sys.executable, "-c", PARSE_AND_COUNT_FAULTS, mode],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    applied, faults = done.stdout.split()
    return applied, float(faults)


def test_parsing_maps_no_new_memory_per_document_once_applied() -> None:
    """Against glibc's default thresholds held fixed: left alone, glibc raises them itself after a
    large block is freed, so whether a process faults depends on what it did before."""
    if not _is_glibc():
        assert _faults_per_document("tuned")[0] == "False"
        return
    applied, tuned = _faults_per_document("tuned")
    held, untuned = _faults_per_document("glibc defaults, held")
    assert applied == held == "True"
    assert tuned < 1 < untuned


def test_an_operators_own_settings_of_the_same_tunables_win() -> None:
    assert _faults_per_document("tuned", MALLOC_TOP_PAD_="131072")[0] == "False"
    assert _faults_per_document("tuned", GLIBC_TUNABLES="glibc.malloc.trim_threshold=131072")[0] == "False"


def test_other_allocator_settings_are_no_reason_to_stand_back() -> None:
    assert _faults_per_document("tuned", MALLOC_ARENA_MAX="2")[0] == str(_is_glibc())
