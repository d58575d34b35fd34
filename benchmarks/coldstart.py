"""Cold-start cost of ``import function_app``, next to the bare libraries it needs.

Graph gives a webhook 10 s to answer its validation handshake, and a cold start
spends part of that importing the app. Each figure is the median of RUNS fresh
interpreter processes, measured in the same run so machine noise hits both.

Targets (issue 2): ``import function_app`` under 0.8 s and at most 1.3 times the
bare import of the Azure and HTTP libraries the app needs.

    python benchmarks/coldstart.py        # prints the figures, writes benchmarks/results/coldstart.md
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
BARE = "import azure.functions, azure.core, azure.data.tables, azure.storage.queue, requests"
APP = "import function_app"
TARGET_SECONDS = 0.8
TARGET_RATIO = 1.3


def time_import(statement: str) -> float:
    """Seconds one fresh interpreter spends on ``statement`` (interpreter start-up excluded)."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HC_")} | {"PYTHONDONTWRITEBYTECODE": "0"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def medians(statements: list[str]) -> list[float]:
    """Median per statement, samples interleaved so that machine noise hits each alike."""
    for statement in statements:
        time_import(statement)  # warm the bytecode cache once, as a deployed app has its .pyc files
    samples: list[list[float]] = [[] for _ in statements]
    for _ in range(RUNS):
        for i, statement in enumerate(statements):
            samples[i].append(time_import(statement))
    return [statistics.median(s) for s in samples]


def main() -> int:
    bare, app = medians([BARE, APP])
    ratio = app / bare
    ok = app < TARGET_SECONDS and ratio <= TARGET_RATIO
    lines = [
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        f"bare libraries ({BARE[7:]}): median {bare * 1000:.0f} ms of {RUNS}",
        f"import function_app: median {app * 1000:.0f} ms of {RUNS}",
        f"ratio app/bare: {ratio:.2f} (target <= {TARGET_RATIO}); absolute target < {TARGET_SECONDS * 1000:.0f} ms",
        f"verdict: {'PASS' if ok else 'FAIL'}",
    ]
    print("\n".join(lines))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "coldstart.md").write_text("# coldstart\n\n" + "\n".join(f"- {line}" for line in lines) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
