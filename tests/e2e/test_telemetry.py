"""Telemetry end to end: one change followed by its trace from Graph's webhook POST through the queue to the
worker, its Graph calls and storage writes; the metrics an operator watches; log lines with their ids.

The stack records through the OpenTelemetry SDK with in-memory exporters (``shared.telemetry.sdk``), installed
for each test only, so what is counted is what the test caused (the module's own stack runs nothing else).
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared.health import QUEUES, record_queue_depths
from shared.telemetry import JsonFormatter, LogContext, install, sdk
from tests.e2e.conftest import Stack, eventually
from tests.e2e.test_sync import enabled, outlook, stored


@dataclass
class Recorded:
    spans: InMemorySpanExporter
    reader: InMemoryMetricReader

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """The data points of metric ``name``: (attributes, point), cumulative since the test began."""
        data = self.reader.get_metrics_data()
        return [
            (dict(point.attributes or {}), point)
            for resource in (data.resource_metrics if data else [])
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def total(self, name: str, **attributes: Any) -> float:
        return sum(point.value for shown, point in self.points(name) if attributes.items() <= shown.items())


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    previous = install(sdk(spans, reader))
    try:
        yield Recorded(spans, reader)
    finally:
        install(previous)


def _trace_of_the_change(recorded: Recorded, tenant: str) -> tuple[ReadableSpan, ReadableSpan, list[ReadableSpan]]:
    """The webhook's server span, the worker's span that continued it, and every span of that trace."""
    spans = recorded.finished()
    servers = {s.context.span_id: s for s in spans if s.name == "POST /api/graph/notifications"}
    consumers = [
        s
        for s in spans
        if s.name == "process hc-changes"
        and s.attributes.get("hc.tenant_id") == tenant
        and s.parent is not None
        and s.parent.span_id in servers
    ]
    assert consumers, "no worker span continued a webhook span"
    consumer = consumers[0]
    assert consumer.parent is not None
    return (
        servers[consumer.parent.span_id],
        consumer,
        [s for s in spans if s.context.trace_id == consumer.context.trace_id],
    )


def test_a_change_is_followed_from_the_webhook_through_the_queue_to_its_row(stack: Stack, recorded: Recorded) -> None:
    tenant = stack.demo.tenant_id
    user = enabled(stack)
    recorded.spans.clear()
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.addFilter(LogContext())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("hybridcalendar")
    level, logger.level = logger.level, logging.INFO
    logger.addHandler(handler)
    try:
        outlook(stack, user, subject="Traced planning", location={"displayName": "Room 1"})
        assert eventually(lambda: [r.subject for r in stored(stack, user)] == ["Traced planning"])
        server, consumer, trace = eventually(lambda: _trace_of_the_change(recorded, tenant))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)

    assert server.kind is SpanKind.SERVER and consumer.kind is SpanKind.CONSUMER
    assert server.attributes["http.response.status_code"] == 202
    assert consumer.attributes["messaging.destination.name"] == "hc-changes"
    parents = {s.context.span_id: s for s in trace}

    def under_consumer(span: ReadableSpan) -> bool:
        while span.parent is not None and span.parent.span_id in parents:
            span = parents[span.parent.span_id]
            if span is consumer:
                return True
        return False

    graph = [s for s in trace if s.name.startswith("graph ") and under_consumer(s)]
    writes = [
        s
        for s in trace
        if s.name.startswith("table ")
        and under_consumer(s)
        and s.attributes["db.operation.name"] in ("upsert", "replace", "insert", "transaction", "create", "update")
    ]
    assert graph and all(s.kind is SpanKind.CLIENT and s.attributes["http.response.status_code"] == 200 for s in graph)
    assert writes and {s.attributes["db.collection.name"] for s in writes} >= {"meetings"}
    queued = [s for s in trace if s.name == "send hc-changes" and s.kind is SpanKind.PRODUCER]
    assert queued and all(s.context.trace_id == server.context.trace_id for s in queued)

    shown = json.dumps([[s.name, dict(s.attributes or {})] for s in trace])
    assert user.mail not in shown and user.id not in shown and "Traced planning" not in shown

    assert recorded.total("hc.notifications.received", webhook="notifications") >= 1
    assert recorded.total("hc.queue.references", queue="hc-changes", outcome="stored") >= 1
    lag = [point for _, point in recorded.points("hc.change.lag")]
    assert lag and lag[0].count >= 1 and 0 <= lag[0].sum / lag[0].count < 20
    assert recorded.total("hc.graph.requests", status=200) >= 1

    worker_lines = [json.loads(line) for line in lines.getvalue().splitlines() if "hc-changes message" in line]
    ours = [entry for entry in worker_lines if entry.get("trace_id") == f"{consumer.context.trace_id:032x}"]
    assert ours and all(entry["tenant_id"] == tenant and entry["invocation_id"] for entry in ours)
    assert user.mail not in lines.getvalue() and "Traced planning" not in lines.getvalue()


def test_a_graph_429_is_counted_with_its_retry_after_and_the_change_still_lands(
    stack: Stack, recorded: Recorded
) -> None:
    sim, user = stack.sim, enabled(stack)
    requests.post(
        f"{sim.url}/_sim/faults/throttle",
        json={"mailbox": user.id, "retryAfter": "1", "count": 2},
        verify=sim.ca_bundle,
        timeout=10,
    )
    try:
        outlook(stack, user, subject="Throttled")
        assert eventually(lambda: [r.subject for r in stored(stack, user)] == ["Throttled"], timeout=40)
    finally:
        requests.post(f"{sim.url}/_sim/faults/clear", verify=sim.ca_bundle, timeout=10)

    throttled = recorded.points("hc.graph.throttled")
    assert recorded.total("hc.graph.requests", status=429) == 2
    assert sum(point.count for _, point in throttled) == 2 and sum(point.sum for _, point in throttled) == 2
    assert all(shown["operation"] for shown, _ in throttled)
    assert recorded.total("hc.queue.references", queue="hc-changes", outcome="stored") >= 1


def test_refusals_queues_keys_and_renewals_are_measured(stack: Stack, recorded: Recorded) -> None:
    tenant = stack.demo.tenant_id
    forged = {
        "value": [
            {
                "subscriptionId": str(uuid.uuid4()),
                "tenantId": tenant,
                "clientState": "x",
                "changeType": "created",
                "resource": "Users/x/Events/y",
                "resourceData": {"id": "y"},
            }
        ]
    }
    answer = requests.post(f"{stack.url}/api/graph/notifications", json=forged, timeout=30)
    assert answer.status_code == 202
    assert recorded.total("hc.notifications.refused", reason="unknown_subscription") == 1

    assert record_queue_depths(stack.settings)
    depths = {shown["queue"] for shown, _ in recorded.points("hc.queue.depth")}
    poison = {shown["queue"] for shown, _ in recorded.points("hc.queue.poison")}
    assert depths == poison == set(QUEUES)

    answer = stack.admin("POST", f"tenants/{tenant}/keys/rotate")
    assert answer.status_code in (200, 202), answer.text
    assert recorded.total("hc.keys.calls", operation="wrap", result="ok") >= 1
    assert recorded.total("hc.keys.calls", result="error") == 0

    user = enabled(stack)
    for subscription in stack.stores.subscriptions.list_subscriptions(tenant):
        if subscription.mailbox_id == user.id:
            stack.stores.subscriptions.save(
                replace(subscription, etag=None, expires=datetime.now(timezone.utc) + timedelta(hours=1))
            )
    counts = stack.engine.renew_due(tenant)
    assert counts["renewed"] >= 1
    assert {name: recorded.total("hc.subscriptions.renewals", result=name) for name in counts} == counts
