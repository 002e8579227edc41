"""OpenTelemetry: traces across HTTP → database → outbox → bus → consumer, and the platform metrics.

Exporting follows the standard ``OTEL_*`` variables, with one rule added so a laptop run stays
quiet: spans and metrics leave the process over OTLP/HTTP only when an OTLP endpoint is set
(``OTEL_EXPORTER_OTLP_ENDPOINT`` or the per-signal ``…_TRACES_ENDPOINT``/``…_METRICS_ENDPOINT``);
``OTEL_TRACES_EXPORTER=console`` (or ``OTEL_METRICS_EXPORTER=console``) prints them instead, and
``none`` turns a signal off. There is no ``/metrics`` endpoint: metrics are pushed over OTLP to
the collector, which serves Prometheus if an operator wants to scrape.

Several services may share one process (``shulian up``), so each (service, node) gets its own
providers and resource; the first one configured also becomes the global provider, which is
what ``tracer()`` and ``meter()`` (used by the outbox relay and consumers) draw from.
"""

from __future__ import annotations

import os
import socket
import threading
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from fastapi import FastAPI
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import CallbackOptions, Counter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.settings import Settings

INSTRUMENTATION_NAME = "shulian"
# Probes hit these every few seconds; tracing them would drown the real traffic.
_UNTRACED_URLS = "/healthz,/readyz"


@dataclass(frozen=True, slots=True)
class Telemetry:
    """The providers of one (service, node)."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def force_flush(self) -> None:
        """Export what is buffered (on shutdown)."""
        self.tracer_provider.force_flush()
        self.meter_provider.force_flush()


_lock = threading.Lock()
_by_service: dict[tuple[str, str], Telemetry] = {}
_traced_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def configure_telemetry(
    settings: Settings, app: FastAPI | None = None, engine: AsyncEngine | None = None
) -> Telemetry | None:
    """Set up this service's providers and instrument ``app`` and ``engine``; idempotent.

    Returns ``None``, instrumenting nothing, when telemetry is off (``telemetry_active``).
    """
    if not telemetry_active(settings):
        return None
    telemetry = _telemetry_for(settings)
    if app is not None:
        _instrument_app(app, telemetry)
    if engine is not None:
        _instrument_engine(engine, telemetry)
    return telemetry


def telemetry_active(settings: Settings) -> bool:
    """Whether this service records telemetry: as ``telemetry_enabled`` says, and by default
    only when an exporter will carry traces or metrics out of the process.

    Instrumenting with nowhere to send the result is not free: the request middleware, a span
    per request and per statement, and the metric points cost ≈ 1.5 ms of CPU per search
    (docs/benchmarks.md), which no one would ever see.
    """
    if settings.telemetry_enabled is not None:
        return settings.telemetry_enabled
    return _exporter_choice("traces") != "none" or _exporter_choice("metrics") != "none"


def tracer(name: str = INSTRUMENTATION_NAME) -> trace.Tracer:
    """A tracer from the global provider."""
    return trace.get_tracer(name)


def meter(name: str = INSTRUMENTATION_NAME) -> metrics.Meter:
    """A meter from the global provider."""
    return metrics.get_meter(name)


def shutdown_telemetry() -> None:
    """Flush and stop every provider (at process exit)."""
    with _lock:
        for telemetry in _by_service.values():
            telemetry.tracer_provider.shutdown()
            telemetry.meter_provider.shutdown()
        _by_service.clear()


# --- providers ---------------------------------------------------------------------------------


def _telemetry_for(settings: Settings) -> Telemetry:
    key = (settings.service, settings.node_id)
    with _lock:
        telemetry = _by_service.get(key)
        if telemetry is None:
            telemetry = _new_telemetry(settings)
            if not _by_service:
                _make_global(telemetry)
            _by_service[key] = telemetry
        return telemetry


def _resource(settings: Settings) -> Resource:
    return Resource.create(
        {
            "service.name": f"shulian-{settings.service}",
            "service.namespace": "shulian",
            "service.instance.id": f"{settings.node_id}/{socket.gethostname()}/{os.getpid()}",
            "deployment.environment.name": str(settings.env),
            "shulian.node": settings.node_id,
        }
    )


def _new_telemetry(settings: Settings) -> Telemetry:
    resource = _resource(settings)
    tracer_provider = TracerProvider(resource=resource)
    for processor in _span_processors():
        tracer_provider.add_span_processor(processor)
    meter_provider = MeterProvider(resource=resource, metric_readers=_metric_readers())
    return Telemetry(tracer_provider, meter_provider)


def _make_global(telemetry: Telemetry) -> None:
    trace.set_tracer_provider(telemetry.tracer_provider)
    metrics.set_meter_provider(telemetry.meter_provider)
    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=telemetry.tracer_provider)


def _exporter_choice(signal: str) -> str:
    """``otlp``, ``console`` or ``none`` for ``signal`` (``traces`` or ``metrics``)."""
    choice = os.environ.get(f"OTEL_{signal.upper()}_EXPORTER", "otlp").strip().lower()
    if choice == "console":
        return "console"
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"
    )
    return "otlp" if choice == "otlp" and endpoint else "none"


def _span_processors() -> list[SpanProcessor]:
    choice = _exporter_choice("traces")
    if choice == "console":
        return [SimpleSpanProcessor(ConsoleSpanExporter())]
    if choice == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return [BatchSpanProcessor(OTLPSpanExporter())]
    return []


def _metric_readers() -> list[MetricReader]:
    choice = _exporter_choice("metrics")
    exporter: MetricExporter
    if choice == "console":
        exporter = ConsoleMetricExporter()
    elif choice == "otlp":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter()
    else:
        return []
    return [PeriodicExportingMetricReader(exporter)]


# --- instrumentation ---------------------------------------------------------------------------


def _instrument_app(app: FastAPI, telemetry: Telemetry) -> None:
    # Must run before the app's first ASGI call: the middleware stack is built then.
    if getattr(app, "_is_instrumented_by_opentelemetry", False):
        return
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        excluded_urls=_UNTRACED_URLS,
    )


def _instrument_engine(engine: AsyncEngine, telemetry: Telemetry) -> None:
    # EngineTracer instruments one engine; SQLAlchemyInstrumentor().instrument() would also
    # patch create_engine process-wide and works only once per process.
    sync_engine = engine.sync_engine
    with _lock:
        if sync_engine in _traced_engines:
            return
        _traced_engines.add(sync_engine)
    connections = telemetry.meter_provider.get_meter(INSTRUMENTATION_NAME).create_up_down_counter(
        "db.client.connections.usage", unit="connections"
    )
    EngineTracer(  # type: ignore[no-untyped-call]
        telemetry.tracer_provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"),
        sync_engine,
        connections,
    )


# --- metrics -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Instruments:
    """The platform's counters; attributes name topics and groups, never personal data."""

    events_published: Counter
    dlt_messages: Counter


@cache
def instruments() -> Instruments:
    """The counters, created once on the global meter: ``events_published.add(n, {"topic": t})``."""
    m = meter()
    return Instruments(
        events_published=m.create_counter(
            "shulian.events.published", unit="{event}", description="events the relay published"
        ),
        dlt_messages=m.create_counter(
            "shulian.dlt.messages",
            unit="{message}",
            description="records sent to a dead-letter topic",
        ),
    )


Reading = Callable[[], float | None]


class ObservedGauge:
    """An observable gauge fed by registered readings (the SDK calls them from its own thread,
    so a reading returns a number already in memory; it must not do I/O)."""

    def __init__(self, name: str, *, unit: str, description: str) -> None:
        self._name, self._unit, self._description = name, unit, description
        self._readings: dict[Hashable, tuple[Reading, dict[str, str]]] = {}
        self._lock = threading.Lock()
        self._created = False

    def register(self, read: Reading, *, attributes: Mapping[str, str]) -> Callable[[], None]:
        """Observe ``read()`` under ``attributes`` until the returned function is called."""
        token = object()
        self._put(token, read, attributes)
        return lambda: self._drop(token)

    def set(self, value: float, *, attributes: Mapping[str, str]) -> None:
        """Report ``value`` under ``attributes`` until it is set again."""
        self._put(frozenset(attributes.items()), lambda: value, attributes)

    def _put(self, key: Hashable, read: Reading, attributes: Mapping[str, str]) -> None:
        with self._lock:
            self._readings[key] = (read, dict(attributes))
            if not self._created:
                meter().create_observable_gauge(
                    self._name, [self._observe], unit=self._unit, description=self._description
                )
                self._created = True

    def _drop(self, key: Hashable) -> None:
        with self._lock:
            self._readings.pop(key, None)

    def _observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(value, attributes) for value, attributes in self.values()]

    def values(self) -> list[tuple[float, dict[str, str]]]:
        """What the next collection will report (also for tests)."""
        with self._lock:
            readings = list(self._readings.values())
        current = [(read(), attributes) for read, attributes in readings]
        return [(value, attributes) for value, attributes in current if value is not None]


outbox_backlog = ObservedGauge(
    "shulian.outbox.backlog", unit="{event}", description="outbox rows not yet published"
)
outbox_oldest_age = ObservedGauge(
    "shulian.outbox.oldest_unsent_age",
    unit="s",
    description="age of the oldest outbox row not yet published",
)
bus_up = ObservedGauge(
    "shulian.bus.up", unit="1", description="1 when the last ping of the bus answered, else 0"
)
consumer_lag = ObservedGauge(
    "shulian.consumer.lag", unit="{message}", description="records behind the log end"
)


def observe_outbox_backlog(read: Reading, *, service: str, node: str) -> Callable[[], None]:
    """Report the relay's last known backlog; returns the function that stops reporting."""
    return outbox_backlog.register(read, attributes={"service": service, "node": node})


def observe_outbox_oldest_age(read: Reading, *, service: str, node: str) -> Callable[[], None]:
    """Report the age of the oldest unsent outbox row; returns the function that stops it."""
    return outbox_oldest_age.register(read, attributes={"service": service, "node": node})


def observe_bus_up(read: Reading, *, service: str, node: str) -> Callable[[], None]:
    """Report whether the bus answered its last ping; returns the function that stops it."""
    return bus_up.register(read, attributes={"service": service, "node": node})


def set_consumer_lag(*, group: str, topic: str, partition: int, lag: int) -> None:
    """Report how far a consumer group is behind on one partition."""
    consumer_lag.set(lag, attributes={"group": group, "topic": topic, "partition": str(partition)})
