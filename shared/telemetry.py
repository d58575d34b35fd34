"""Traces, metrics and log context with OpenTelemetry, chosen once per process from the settings.

* ``APPLICATIONINSIGHTS_CONNECTION_STRING`` set: Azure Monitor, through the
  ``azure-monitor-opentelemetry`` distro (traces, metrics, and the ``hybridcalendar`` logs with the
  trace id as their operation id). The distro's automatic instrumentations (HTTP libraries, the
  Azure SDK, web frameworks) are turned off: they record whole URLs, and a Graph URL may name a
  mailbox by its address. The product's own spans name an operation and ids, never addresses,
  subjects or bodies.
* ``HC_TELEMETRY=console``: the OpenTelemetry SDK prints spans and metrics (local use).
* otherwise: nothing is recorded and no OpenTelemetry module is imported. The distro alone takes
  about 0.8 s to import and the API 0.1 s, so nothing here is imported before the first invocation
  that records something (cold start; see ``benchmarks/coldstart.py``).

A change is followed across the queue by its W3C ``traceparent``: the webhook writes the one of its
request span into each reference it queues (with ``received``, the receipt time in milliseconds, for
the lag histogram), and the worker's span for the message continues that trace. ``METRICS`` is the
catalogue of what is measured; docs/operations.md lists it with the queries an operator runs.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import TracerProvider

    from shared.config import Settings

SCOPE = "hybridcalendar"
LOGGER = "hybridcalendar"
SpanKind = Literal["internal", "server", "client", "producer", "consumer"]
Attribute = str | int | float | bool


@dataclass(frozen=True)
class Metric:
    """One measurement the product records: its OpenTelemetry name, instrument, unit and meaning."""

    name: str
    instrument: Literal["counter", "histogram", "gauge"]
    unit: str
    description: str
    buckets: tuple[float, ...] = ()


NOTIFICATIONS_RECEIVED = Metric(
    "hc.notifications.received",
    "counter",
    "{notification}",
    "Notifications in Graph's webhook POSTs, by webhook (changes, lifecycle).",
)
NOTIFICATIONS_REFUSED = Metric(
    "hc.notifications.refused",
    "counter",
    "{notification}",
    "Notifications refused by the webhook, by reason (unknown_subscription, client_state_mismatch, malformed, ...).",
)
REFERENCES_HANDLED = Metric(
    "hc.queue.references",
    "counter",
    "{reference}",
    "References a queue worker handled, by queue and outcome: the sync decision for hc-changes (stored, deleted, "
    "unchanged, stale, duplicate, ...), shown or withdrawn for Join buttons (hc-timeline), polled or unchanged for "
    "presence (hc-presence), deferred, dropped, poisoned.",
)
CHANGE_LAG = Metric(
    "hc.change.lag",
    "histogram",
    "s",
    "From the webhook's receipt of a change notification to its row stored or deleted.",
    (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)
GRAPH_REQUESTS = Metric(
    "hc.graph.requests",
    "counter",
    "{request}",
    "Graph requests sent (each retry counted), by operation and HTTP status (0: no answer).",
)
GRAPH_RETRY_AFTER = Metric(
    "hc.graph.throttled",
    "histogram",
    "s",
    "Graph 429 answers, each with its Retry-After in seconds (0 when Graph gave none), by operation.",
    (0, 1, 2, 5, 10, 30, 60, 120, 300),
)
QUEUE_DEPTH = Metric("hc.queue.depth", "gauge", "{message}", "Messages waiting in each work queue, read every minute.")
QUEUE_POISON = Metric(
    "hc.queue.poison",
    "gauge",
    "{message}",
    "Messages in each work queue's poison queue (work that failed every attempt), read every minute.",
)
KEY_CALLS = Metric(
    "hc.keys.calls",
    "counter",
    "{call}",
    "Key-provider calls (wrap, unwrap), by provider and result (ok, error): what Key Vault bills and throttles.",
)
RENEWALS = Metric(
    "hc.subscriptions.renewals",
    "counter",
    "{subscription}",
    "Graph subscriptions due for renewal, by result (renewed, recreated, failed).",
)

METRICS: tuple[Metric, ...] = (
    NOTIFICATIONS_RECEIVED,
    NOTIFICATIONS_REFUSED,
    REFERENCES_HANDLED,
    CHANGE_LAG,
    GRAPH_REQUESTS,
    GRAPH_RETRY_AFTER,
    QUEUE_DEPTH,
    QUEUE_POISON,
    KEY_CALLS,
    RENEWALS,
)

_NOTHING: AbstractContextManager[None] = nullcontext()
_tenant: contextvars.ContextVar[str | None] = contextvars.ContextVar("hc_tenant", default=None)
_invocation: contextvars.ContextVar[str | None] = contextvars.ContextVar("hc_invocation", default=None)


class Telemetry(Protocol):
    """What the product records through; :class:`NoTelemetry` or :class:`OpenTelemetry`."""

    enabled: bool

    def span(
        self,
        name: str,
        *,
        kind: SpanKind = "internal",
        parent: str | None = None,
        links: Sequence[str] = (),
        tenant_id: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ) -> AbstractContextManager[Any]: ...

    def traceparent(self) -> str | None: ...

    def record(self, metric: Metric, value: float = 1, **attributes: Attribute) -> None: ...

    def ids(self) -> tuple[str, str] | None: ...


class NoTelemetry:
    """Records nothing and imports nothing: the default where no exporter is configured."""

    enabled = False

    def span(
        self,
        name: str,
        *,
        kind: SpanKind = "internal",
        parent: str | None = None,
        links: Sequence[str] = (),
        tenant_id: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ) -> AbstractContextManager[None]:
        """No span; log records inside still carry ``tenant_id``. Costs next to nothing on the hot paths."""
        return tenant_context(tenant_id) if tenant_id else _NOTHING

    def traceparent(self) -> str | None:
        return None

    def record(self, metric: Metric, value: float = 1, **attributes: Attribute) -> None:
        return None

    def ids(self) -> tuple[str, str] | None:
        return None


class OpenTelemetry:
    """Spans and metrics through OpenTelemetry's API, on the given providers (the global ones by default).

    A span that ends in an exception is marked as an error with the exception's class name only: an
    exception's message may carry what must not leave the process.
    """

    enabled = True

    def __init__(
        self, *, tracer_provider: TracerProvider | None = None, meter_provider: MeterProvider | None = None
    ) -> None:
        from opentelemetry import metrics, trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self._trace = trace
        self._tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer(SCOPE)
        self._meter = (meter_provider or metrics.get_meter_provider()).get_meter(SCOPE)
        self._propagator = TraceContextTextMapPropagator()
        self._instruments: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._kinds = {
            "internal": trace.SpanKind.INTERNAL,
            "server": trace.SpanKind.SERVER,
            "client": trace.SpanKind.CLIENT,
            "producer": trace.SpanKind.PRODUCER,
            "consumer": trace.SpanKind.CONSUMER,
        }

    @contextmanager
    def span(
        self,
        name: str,
        *,
        kind: SpanKind = "internal",
        parent: str | None = None,
        links: Sequence[str] = (),
        tenant_id: str | None = None,
        attributes: Mapping[str, Attribute] | None = None,
    ) -> Iterator[Any]:
        """A span, current inside the block; ``parent`` and ``links`` are W3C traceparents (from a message)."""
        trace = self._trace
        context = self._propagator.extract({"traceparent": parent}) if parent else None
        linked = [trace.Link(c) for c in (self._span_context(link) for link in links) if c is not None]
        shown = dict(attributes or {}) | ({"hc.tenant_id": tenant_id} if tenant_id else {})
        with (
            tenant_context(tenant_id),
            self._tracer.start_as_current_span(
                name,
                context=context,
                kind=self._kinds[kind],
                links=linked,
                attributes=shown,
                record_exception=False,
                set_status_on_exception=False,
            ) as span,
        ):
            try:
                yield span
            except BaseException as error:
                span.set_status(trace.Status(trace.StatusCode.ERROR, type(error).__name__))
                span.set_attribute("error.type", type(error).__name__)
                raise

    def traceparent(self) -> str | None:
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier)
        return carrier.get("traceparent")

    def record(self, metric: Metric, value: float = 1, **attributes: Attribute) -> None:
        instrument = self._instrument(metric)
        if metric.instrument == "counter":
            instrument.add(value, attributes)
        elif metric.instrument == "histogram":
            instrument.record(value, attributes)
        else:
            instrument.set(value, attributes)

    def ids(self) -> tuple[str, str] | None:
        context = self._trace.get_current_span().get_span_context()
        if not context.is_valid:
            return None
        return f"{context.trace_id:032x}", f"{context.span_id:016x}"

    def _span_context(self, traceparent: str) -> Any:
        context = self._propagator.extract({"traceparent": traceparent})
        span_context = self._trace.get_current_span(context).get_span_context()
        return span_context if span_context.is_valid else None

    def _instrument(self, metric: Metric) -> Any:
        with self._lock:
            instrument = self._instruments.get(metric.name)
            if instrument is None:
                meter = self._meter
                if metric.instrument == "counter":
                    instrument = meter.create_counter(metric.name, metric.unit, metric.description)
                elif metric.instrument == "histogram":
                    instrument = meter.create_histogram(
                        metric.name,
                        metric.unit,
                        metric.description,
                        explicit_bucket_boundaries_advisory=list(metric.buckets) or None,
                    )
                else:
                    instrument = meter.create_gauge(metric.name, metric.unit, metric.description)
                self._instruments[metric.name] = instrument
            return instrument


_chosen: Telemetry | None = None
_choosing = threading.Lock()


def telemetry() -> Telemetry:
    """The process's telemetry, set up from the settings on first use."""
    global _chosen
    if _chosen is None:
        with _choosing:
            if _chosen is None:
                from shared.config import get_settings

                _chosen = from_settings(get_settings())
    return _chosen


def install(chosen: Telemetry | None) -> Telemetry | None:
    """Use ``chosen`` from now on (None: choose from the settings again); returns what was in use."""
    global _chosen
    with _choosing:
        previous, _chosen = _chosen, chosen
    return previous


def from_settings(settings: Settings) -> Telemetry:
    """Azure Monitor when a connection string is set, the console when asked, else nothing."""
    if settings.appinsights_connection:
        return azure_monitor(settings.appinsights_connection)
    if settings.telemetry == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return sdk(ConsoleSpanExporter(), PeriodicExportingMetricReader(ConsoleMetricExporter()), batch=True)
    return NoTelemetry()


def azure_monitor(connection_string: str) -> Telemetry:
    """The distro with every automatic instrumentation off (whole URLs may hold addresses); our logs exported."""
    from azure.monitor.opentelemetry import configure_azure_monitor

    off = {"enabled": False}
    configure_azure_monitor(
        connection_string=connection_string,
        logger_name=LOGGER,
        instrumentation_options={
            name: off
            for name in ("azure_sdk", "django", "fastapi", "flask", "psycopg2", "requests", "urllib", "urllib3")
        },
    )
    for handler in logging.getLogger(LOGGER).handlers:
        handler.addFilter(LogContext())
    return OpenTelemetry()


def sdk(span_exporter: SpanExporter, metric_reader: MetricReader, *, batch: bool = False) -> OpenTelemetry:
    """The OpenTelemetry SDK with these exporters, on providers of its own (the global ones are left alone, so
    tests can set this up more than once)."""
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = Resource.create({"service.name": "hybrid-calendar"})
    tracer_provider = SdkTracerProvider(resource=resource)
    processor = BatchSpanProcessor(span_exporter) if batch else SimpleSpanProcessor(span_exporter)
    tracer_provider.add_span_processor(processor)
    meter_provider = SdkMeterProvider(resource=resource, metric_readers=[metric_reader])
    return OpenTelemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)


@contextmanager
def tenant_context(tenant_id: str | None) -> Iterator[None]:
    """Log records written inside the block carry ``tenant_id`` (unchanged when None)."""
    if tenant_id is None:
        yield
        return
    token = _tenant.set(tenant_id)
    try:
        yield
    finally:
        _tenant.reset(token)


@contextmanager
def invocation_context(invocation_id: str | None) -> Iterator[None]:
    """Log records written inside the block carry the Functions invocation id."""
    token = _invocation.set(invocation_id)
    try:
        yield
    finally:
        _invocation.reset(token)


class LogContext(logging.Filter):
    """Adds ``invocation_id``, ``tenant_id``, ``trace_id`` and ``span_id`` to each record (empty when unknown).

    Ids only: what reaches a log is decided by the code that logs, which writes ids and counts.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.invocation_id = _invocation.get() or ""
        record.tenant_id = _tenant.get() or ""
        ids = _chosen.ids() if _chosen is not None else None
        record.trace_id, record.span_id = ids or ("", "")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the ids :class:`LogContext` adds."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("invocation_id", "tenant_id", "trace_id", "span_id"):
            value = getattr(record, name, "")
            if value:
                entry[name] = value
        if record.exc_info and record.exc_info[1] is not None:
            from shared.logs import describe_exception

            entry["exception"] = describe_exception(record.exc_info[1])
        return json.dumps(entry, ensure_ascii=False)


def milliseconds_now() -> str:
    """``received`` for a queued reference: the time in whole milliseconds since the epoch."""
    return str(int(time.time() * 1000))


def lag_seconds(received: str | None, *, now: float | None = None) -> float | None:
    """Seconds since a reference's ``received`` (None when it has none or it is not a time)."""
    if not received or not received.isdigit():
        return None
    return max(0.0, (now if now is not None else time.time()) - int(received) / 1000)
