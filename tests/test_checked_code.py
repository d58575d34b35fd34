"""The code is checked as part of the suite: types with the repository's mypy.ini, lint and format with its ruff.toml.

A type error in the product or the local stack, or a lint finding or unformatted file anywhere in the code
and its tests, fails `make test` (and so CI), with the tool's report as the failure message.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_type_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mypy import api

    monkeypatch.chdir(ROOT)

    report, errors, status = api.run(
        ["--config-file", str(ROOT / "mypy.ini"), "--cache-dir", str(tmp_path), "--no-error-summary"]
    )
    assert status == 0, report + errors


CHECKED = ["shared", "functions", "local", "hybridcal", "tests", "benchmarks", "function_app.py"]


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache", *CHECKED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ruff_finds_nothing() -> None:
    checked = _ruff("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_ruff_format_would_change_nothing() -> None:
    checked = _ruff("format", "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
