"""Telemetry's rules without the stack: what is chosen from the settings, what a span and a log line carry,
and that a stamped reference is still the same work."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from shared.config import load_settings
from shared.storage.queues import GroupSender, parse_references
from shared.telemetry import (
    JsonFormatter,
    LogContext,
    NoTelemetry,
    OpenTelemetry,
    from_settings,
    install,
    invocation_context,
    lag_seconds,
    sdk,
)

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = Path("/nonexistent/local.settings.json")
TENANT = "6f1c2d3e-0000-4000-8000-000000000001"
REFERENCE = {
    "tenant_id": TENANT,
    "mailbox_id": "a1b2c3d4-0000-4000-8000-00000000000a",
    "event_id": "AAMk=",
    "change_type": "updated",
}


def _python(code: str, **environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HC_", "APPLICATIONINSIGHTS"))} | environment
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_with_nothing_configured_nothing_is_recorded_and_opentelemetry_is_never_imported() -> None:
    shown = _python(
        "import sys, function_app; from shared.telemetry import telemetry; t = telemetry();\n"
        "with t.span('x', tenant_id='t'): pass\n"
        "print(type(t).__name__, t.traceparent(), any(m.startswith('opentelemetry') for m in sys.modules))"
    )
    assert shown == "NoTelemetry None False"


def test_console_telemetry_uses_the_sdk() -> None:
    chosen = from_settings(load_settings({"HC_TELEMETRY": "console"}, local_settings=NOWHERE))
    assert isinstance(chosen, OpenTelemetry) and chosen.enabled
    assert isinstance(from_settings(load_settings({}, local_settings=NOWHERE)), NoTelemetry)


def test_azure_monitor_is_set_up_with_the_url_recording_instrumentations_off() -> None:
    code = (
        "import logging, requests, urllib3\n"
        "from shared.config import get_settings\n"
        "from shared.telemetry import LogContext, from_settings\n"
        "chosen = from_settings(get_settings())\n"
        "handlers = logging.getLogger('hybridcalendar').handlers\n"
        "wrapped = hasattr(requests.Session.send, '__wrapped__') or hasattr(urllib3.PoolManager.urlopen, "
        "'__wrapped__')\n"
        "print(type(chosen).__name__, bool(handlers), all(any(isinstance(f, LogContext) for f in h.filters) "
        "for h in handlers), wrapped)"
    )
    nowhere = "http://127.0.0.1:9/"
    shown = _python(
        code,
        APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=00000000-0000-4000-8000-"
        f"000000000000;IngestionEndpoint={nowhere};LiveEndpoint={nowhere}",
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
    )
    assert shown == "OpenTelemetry True True False"


@pytest.fixture
def recorded() -> tuple[OpenTelemetry, InMemorySpanExporter, InMemoryMetricReader]:
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    return sdk(spans, reader), spans, reader


def test_a_span_continues_a_traceparent_links_the_others_and_ignores_garbage(recorded) -> None:
    chosen, spans, _ = recorded
    with chosen.span("webhook", kind="server"):
        first = chosen.traceparent()
    with chosen.span("webhook", kind="server"):
        second = chosen.traceparent()
    assert first and second and first.startswith("00-") and first != second
    with chosen.span("process", kind="consumer", parent=first, links=[second, "00-zz-yy-01"], tenant_id=TENANT):
        pass
    with chosen.span("process", kind="consumer", parent="not-a-traceparent"):
        pass
    continued, fresh = spans.get_finished_spans()[2:]
    assert f"{continued.context.trace_id:032x}" == first.split("-")[1]
    assert f"{continued.parent.span_id:016x}" == first.split("-")[2]
    assert [f"{link.context.trace_id:032x}" for link in continued.links] == [second.split("-")[1]]
    assert continued.attributes["hc.tenant_id"] == TENANT
    assert fresh.parent is None


def test_a_failing_span_names_the_exception_class_only(recorded) -> None:
    chosen, spans, _ = recorded
    with pytest.raises(ValueError), chosen.span("graph get event", kind="client"):
        raise ValueError("alice@contoso.com's Board meeting")
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR and span.status.description == "ValueError"
    assert span.attributes["error.type"] == "ValueError" and not span.events
    assert "alice" not in json.dumps(dict(span.attributes))


def test_log_lines_carry_invocation_tenant_and_trace_ids_as_json(recorded) -> None:
    chosen = recorded[0]
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(LogContext())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("hybridcalendar.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    previous = install(chosen)
    try:
        with invocation_context("inv-1"), chosen.span("process", tenant_id=TENANT) as span:
            logger.info("hc-changes message %s: %d stored", "m-1", 1)
        try:
            raise KeyError("secret-subject")
        except KeyError:
            logger.exception("failed")
        logger.info("outside")
    finally:
        install(previous)
        logger.removeHandler(handler)
    inside, failed, outside = (json.loads(line) for line in out.getvalue().splitlines())
    assert inside["message"] == "hc-changes message m-1: 1 stored" and inside["invocation_id"] == "inv-1"
    assert inside["tenant_id"] == TENANT and inside["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert inside["time"].endswith("Z") and inside["level"] == "INFO"
    assert failed["exception"].startswith("KeyError at ") and "secret-subject" not in out.getvalue()
    assert "tenant_id" not in outside and "trace_id" not in outside


def test_metrics_of_each_instrument_kind(recorded) -> None:
    from shared.telemetry import CHANGE_LAG, QUEUE_DEPTH, REFERENCES_HANDLED

    chosen, _, reader = recorded
    chosen.record(REFERENCES_HANDLED, 2, queue="hc-changes", outcome="stored")
    chosen.record(CHANGE_LAG, 0.3)
    chosen.record(QUEUE_DEPTH, 7, queue="hc-changes")
    chosen.record(QUEUE_DEPTH, 4, queue="hc-changes")
    metrics = {
        m.name: m.data.data_points[0]
        for r in reader.get_metrics_data().resource_metrics
        for s in r.scope_metrics
        for m in s.metrics
    }
    assert metrics["hc.queue.references"].value == 2
    assert metrics["hc.change.lag"].count == 1 and metrics["hc.change.lag"].explicit_bounds[0] == 0.1
    assert metrics["hc.queue.depth"].value == 4


def test_references_that_differ_only_in_their_stamps_are_written_once() -> None:
    sent: list[str] = []
    GroupSender(sent.append).submit(
        [
            REFERENCE | {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01", "received": "1700000000000"},
            REFERENCE | {"traceparent": "00-" + "c" * 32 + "-" + "d" * 16 + "-01", "received": "1700000000500"},
        ]
    )
    (message,) = sent
    (kept,) = parse_references(message)
    assert kept["received"] == "1700000000000"


@pytest.mark.parametrize(
    ("received", "expected"), [("1000", 1.5), (None, None), ("", None), ("12ab", None), ("-5", None), ("9999999", 0.0)]
)
def test_lag_is_read_from_the_receipt_time(received: str | None, expected: float | None) -> None:
    assert lag_seconds(received, now=2.5) == expected
