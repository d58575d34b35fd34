"""What telemetry costs: the product's CPU per change with telemetry off and on, side by side in one run.

The whole pipeline runs on this machine (``benchmarks/stack.py``, the dev host in this process): bursts of
changes go Graph stand-in -> webhook -> queue -> Graph -> rows. Bursts alternate between telemetry off
(nothing recorded, as with no connection string) and on: the OpenTelemetry SDK recording every span and
metric the product makes, spans exported by a batch processor that serialises each one to JSON and discards
it, which is the CPU an exporter spends without the network. Reported per change, for each mode: CPU inside
the app's functions (the invoking threads, as the dev host counts them), this process's CPU (the export
thread included; the load generator's share is alike in both modes), and the spans recorded.

Target: with telemetry on, at most 1.25 times the functions' CPU per change with it off.

    python benchmarks/telemetry.py        # TELEMETRY_ROUNDS (3) pairs of bursts of TELEMETRY_BURST per mailbox
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PIPELINE_MAILBOXES", "10")
os.environ.setdefault("PIPELINE_EVENTS", "5")
os.environ.setdefault("PIPELINE_BURST", os.environ.get("TELEMETRY_BURST", "20"))

from benchmarks.pipeline import BURST, MAILBOXES, Pipeline  # noqa: E402
from benchmarks.stack import cpu_seconds, function_cpu_seconds, on_local_stack, report  # noqa: E402

ROUNDS = int(os.environ.get("TELEMETRY_ROUNDS", "3"))
TARGET_RATIO = 1.25


class CountingExporter:
    """Serialises each span as an exporter would, keeps only the count."""

    def __init__(self) -> None:
        from opentelemetry.sdk.trace.export import SpanExportResult

        self.spans = 0
        self._ok = SpanExportResult.SUCCESS

    def export(self, spans: Sequence[Any]) -> Any:
        for span in spans:
            span.to_json()
            self.spans += 1
        return self._ok

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def recording() -> tuple[Any, CountingExporter]:
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

    from shared.telemetry import sdk

    exporter = CountingExporter()
    devnull = open(os.devnull, "w")  # noqa: SIM115 (open for the process's life)
    reader = PeriodicExportingMetricReader(ConsoleMetricExporter(out=devnull), export_interval_millis=5000)
    return sdk(exporter, reader, batch=True), exporter  # type: ignore[arg-type]  # duck-typed SpanExporter


def run(host_url: str, sim_url: str, ca: str) -> list[str]:
    import time

    from shared.telemetry import NoTelemetry, install

    pipeline = Pipeline(host_url, sim_url, ca)
    pipeline.seed()
    pipeline.enable()
    pipeline.burst("warm-up")
    on, exporter = recording()
    figures: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
    changes_on = 0
    for round_ in range(ROUNDS):
        for mode in ("off", "on"):
            install(on if mode == "on" else NoTelemetry())
            functions, process = sum(function_cpu_seconds().values()), cpu_seconds()["benchmark"]
            changes = pipeline.burst(f"{mode}{round_}")["changes"]
            changes_on += changes if mode == "on" else 0
            figures[mode].append(
                (
                    (sum(function_cpu_seconds().values()) - functions) / changes,
                    (cpu_seconds()["benchmark"] - process) / changes,
                )
            )
    install(None)
    time.sleep(6)  # the batch processor's last export
    off_fn, on_fn = (statistics.median(f[0] for f in figures[m]) for m in ("off", "on"))
    off_all, on_all = (statistics.median(f[1] for f in figures[m]) for m in ("off", "on"))
    ratio = on_fn / off_fn
    return [
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        f"{ROUNDS} rounds of {MAILBOXES * BURST} changes per mode ({MAILBOXES} mailboxes x {BURST}), off and on "
        "alternating; medians",
        f"functions' CPU per change: off {off_fn * 1000:.2f} ms, on {on_fn * 1000:.2f} ms",
        f"this process's CPU per change (export thread and load generator included): off {off_all * 1000:.2f} ms, "
        f"on {on_all * 1000:.2f} ms ({on_all / off_all:.2f}x)",
        f"spans exported per change with telemetry on: {exporter.spans / changes_on:.1f}",
        f"functions' CPU on/off: {ratio:.2f}x (target <= {TARGET_RATIO}): "
        f"{'PASS' if ratio <= TARGET_RATIO else 'FAIL'}",
    ]


def main() -> int:
    return report("telemetry", on_local_stack(run, function_key="benchmark-function-key-0001"))


if __name__ == "__main__":
    sys.exit(main())
