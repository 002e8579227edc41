"""Traces continue the caller's trace; logs carry the trace and request ids; metrics helpers."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.types import ASGIApp, Scope

from shulian_common.app import create_service_app
from shulian_common.app.dispatch import ExactRoutes
from shulian_common.logs import configure_logging
from shulian_common.settings import Settings
from shulian_common.telemetry import (
    Telemetry,
    _exporter_choice,
    configure_telemetry,
    consumer_lag,
    observe_outbox_backlog,
    outbox_backlog,
    set_consumer_lag,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def _settings(**extra: object) -> Settings:
    # A fresh service name per test: telemetry providers are cached per (service, node). On
    # explicitly: no exporter is configured here, the tests add their own span processors.
    extra.setdefault("telemetry_enabled", True)
    return Settings(env="test", service=f"t{uuid.uuid4().hex[:8]}", node_id="510100", **extra)  # type: ignore[arg-type]


def _router(telemetry: Telemetry) -> APIRouter:
    router = APIRouter()
    tracer = telemetry.tracer_provider.get_tracer("test")

    @router.get("/work")
    async def work() -> dict[str, str]:
        with tracer.start_as_current_span("inner"):
            logging.getLogger("test.route").info("doing the work", extra={"order_id": "O-1"})
        return {"ok": "yes"}

    return router


@pytest.fixture
def spans() -> Iterator[tuple[Settings, Telemetry, InMemorySpanExporter]]:
    settings = _settings()
    telemetry = configure_telemetry(settings)
    assert telemetry is not None
    exporter = InMemorySpanExporter()
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield settings, telemetry, exporter
    exporter.shutdown()


async def _get(
    settings: Settings, telemetry: Telemetry, url: str, headers: dict[str, str]
) -> httpx.Response:
    app = create_service_app(
        settings=settings, title="t", description="t", routers=[_router(telemetry)]
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(url, headers=headers)


def _by_kind(spans: tuple[ReadableSpan, ...], kind: trace.SpanKind) -> list[ReadableSpan]:
    return [s for s in spans if s.kind is kind]


async def test_request_span_continues_the_incoming_traceparent(
    spans: tuple[Settings, Telemetry, InMemorySpanExporter],
) -> None:
    settings, telemetry, exporter = spans
    response = await _get(settings, telemetry, "/work", {"traceparent": TRACEPARENT})
    assert response.status_code == 200
    finished = exporter.get_finished_spans()
    [server] = _by_kind(finished, trace.SpanKind.SERVER)
    [inner] = [s for s in finished if s.name == "inner"]
    assert f"{server.context.trace_id:032x}" == TRACE_ID
    assert server.parent is not None
    assert f"{server.parent.span_id:016x}" == PARENT_ID
    assert inner.context.trace_id == server.context.trace_id
    assert inner.parent is not None
    assert inner.parent.span_id == server.context.span_id
    assert server.resource.attributes["service.name"] == f"shulian-{settings.service}"
    assert server.resource.attributes["shulian.node"] == "510100"


async def test_the_server_span_names_the_route_however_the_request_reached_it(
    spans: tuple[Settings, Telemetry, InMemorySpanExporter], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An exact path goes straight to its route (``app.dispatch``), unless FastAPI's own
    # telemetry observes the request (on once a global provider is set): then its router, which
    # names the route for it, does. The instrumentation's span names the route either way.
    settings, telemetry, exporter = spans
    reached: list[tuple[bool, bool]] = []
    app_for = ExactRoutes.app_for

    def recorded(self: ExactRoutes, scope: Scope) -> ASGIApp | None:
        observed = scope.get("fastapi.telemetry") is not None
        app = app_for(self, scope)
        reached.append((app is not None, observed))
        return app

    monkeypatch.setattr(ExactRoutes, "app_for", recorded)
    response = await _get(settings, telemetry, "/work", {})
    assert response.status_code == 200
    [(directly, observed)] = reached
    assert directly is not observed
    [server] = _by_kind(exporter.get_finished_spans(), trace.SpanKind.SERVER)
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/work"


async def test_probes_are_not_traced(
    spans: tuple[Settings, Telemetry, InMemorySpanExporter],
) -> None:
    settings, telemetry, exporter = spans
    response = await _get(settings, telemetry, "/healthz", {"traceparent": TRACEPARENT})
    assert response.status_code == 200
    assert exporter.get_finished_spans() == ()


async def test_configure_is_idempotent(
    spans: tuple[Settings, Telemetry, InMemorySpanExporter],
) -> None:
    settings, telemetry, exporter = spans
    assert configure_telemetry(settings) is telemetry
    app = create_service_app(
        settings=settings, title="t", description="t", routers=[_router(telemetry)]
    )
    configure_telemetry(settings, app=app)  # a second instrumentation would double the spans
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        await client.get("/work")
    assert len(_by_kind(exporter.get_finished_spans(), trace.SpanKind.SERVER)) == 1


def test_telemetry_can_be_turned_off() -> None:
    assert configure_telemetry(_settings(telemetry_enabled=False)) is None


@pytest.fixture
def log_stream(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging(request.getfixturevalue("spans")[0], stream=stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


async def test_logs_in_a_request_carry_trace_and_request_ids(
    spans: tuple[Settings, Telemetry, InMemorySpanExporter], log_stream: io.StringIO
) -> None:
    settings, telemetry, exporter = spans
    headers = {"traceparent": TRACEPARENT, "X-Request-ID": "req-42"}
    response = await _get(settings, telemetry, "/work", headers)
    assert response.headers["x-request-id"] == "req-42"
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    [record] = [line for line in lines if line["message"] == "doing the work"]
    [inner] = [s for s in exporter.get_finished_spans() if s.name == "inner"]
    assert record["trace_id"] == TRACE_ID
    assert record["span_id"] == f"{inner.context.span_id:016x}"
    assert record["request_id"] == "req-42"
    assert (record["service"], record["node"], record["level"]) == (
        settings.service,
        "510100",
        "INFO",
    )
    assert record["logger"] == "test.route"
    assert record["order_id"] == "O-1"
    [access] = [line for line in lines if line["logger"] == "shulian.access"]
    assert (access["request_id"], access["http_status"]) == ("req-42", 200)


def test_plain_logs_when_json_is_off() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(_settings(log_json=False), stream=stream)
    try:
        logging.getLogger("test.plain").warning("注意")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    line = stream.getvalue()
    assert re.search(r"WARNING +test\.plain .*注意", line)
    assert not line.startswith("{")


def test_outbox_backlog_gauge_reports_registered_readings_until_unregistered() -> None:
    backlog = {"n": 7}
    service = f"s{uuid.uuid4().hex[:6]}"
    unregister = observe_outbox_backlog(lambda: backlog["n"], service=service, node="510100")
    mine = {"service": service, "node": "510100"}
    assert (7, mine) in outbox_backlog.values()
    backlog["n"] = 3
    assert (3, mine) in outbox_backlog.values()
    unregister()
    assert all(attributes != mine for _, attributes in outbox_backlog.values())


def test_consumer_lag_keeps_the_latest_value_per_partition() -> None:
    group = f"g{uuid.uuid4().hex[:6]}"
    set_consumer_lag(group=group, topic="shulian.x.y.v1", partition=0, lag=10)
    set_consumer_lag(group=group, topic="shulian.x.y.v1", partition=0, lag=2)
    set_consumer_lag(group=group, topic="shulian.x.y.v1", partition=1, lag=5)
    mine = sorted(
        (attributes["partition"], value)
        for value, attributes in consumer_lag.values()
        if attributes["group"] == group
    )
    assert mine == [("0", 2), ("1", 5)]


@pytest.mark.parametrize(
    ("env", "choice"),
    [
        ({}, "none"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "none"),
    ],
)
def test_traces_leave_the_process_only_when_configured(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], choice: str
) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_TRACES_EXPORTER",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _exporter_choice("traces") == choice


def _no_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_TRACES_EXPORTER",
        "OTEL_METRICS_EXPORTER",
    ):
        monkeypatch.delenv(name, raising=False)


def test_nothing_is_instrumented_when_nothing_is_exported(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_exporter(monkeypatch)
    settings = _settings(telemetry_enabled=None)
    app = create_service_app(settings=settings, title="t", description="t")
    assert configure_telemetry(settings) is None
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)


@pytest.mark.parametrize("signal", ["TRACES", "METRICS"])
def test_an_exporter_turns_telemetry_on(monkeypatch: pytest.MonkeyPatch, signal: str) -> None:
    _no_exporter(monkeypatch)
    monkeypatch.setenv(f"OTEL_{signal}_EXPORTER", "console")
    settings = _settings(telemetry_enabled=None)
    app = create_service_app(settings=settings, title="t", description="t")
    assert getattr(app, "_is_instrumented_by_opentelemetry", False)
    telemetry = configure_telemetry(settings)
    assert telemetry is not None
    telemetry.tracer_provider.shutdown()
    telemetry.meter_provider.shutdown()
