"""The code is type-checked as part of the suite, with the repository's own mypy.ini.

A type error anywhere in the product or the local stack fails `make test` (and so CI), with
mypy's report as the failure message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_type_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mypy import api

    monkeypatch.chdir(ROOT)

    report, errors, status = api.run(["--config-file", str(ROOT / "mypy.ini"), "--cache-dir", str(tmp_path),
                                      "--no-error-summary"])
    assert status == 0, report + errors
