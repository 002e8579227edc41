"""A scan of every event, log line and span of a run finds no talent's phone or ID number."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from shulian_common.messaging import outbox
from shulian_common.telemetry import configure_telemetry
from shulian_matching.testing import (
    YIBIN,
    job_order,
    matching_settings_for,
    operator,
    place,
    running,
)

pytestmark = pytest.mark.both_buses  # each test over the local log and over Kafka

PHONE, ID_NUMBER, NAME = "13955557777", "511502198805050011", "隐私测试人"
PERSONAL = (PHONE, ID_NUMBER, NAME)


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    yield memory
    memory.shutdown()


async def test_no_talent_phone_or_id_number_in_events_logs_or_spans(
    database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    exporter: InMemorySpanExporter,
    bus: dict[str, Any],
) -> None:
    settings = matching_settings_for(database_url, tmp_path, YIBIN, telemetry_enabled=True, **bus)
    telemetry = configure_telemetry(settings)
    assert telemetry is not None
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    caplog.set_level(logging.DEBUG)
    async with running(settings) as node:
        me = node.auth("talent", sub="privacy-talent")
        body = {
            "name": NAME,
            "phone": PHONE,
            "id_number": ID_NUMBER,
            "occupation_code": "6",
            "skills": ["电工"],
            "county_code": "511502",
        }
        created = await node.client.put("/v1/talents/me", json=body, headers=me)
        assert created.status_code == 201, created.text
        bad = await node.client.put(
            "/v1/talents/me", json={**body, "id_number": ID_NUMBER[:-1] + "9"}, headers=me
        )
        assert bad.status_code in (422, 428)
        order = await place(node, job_order(), YIBIN)
        applied = await node.client.post(f"/v1/orders/{order['id']}/applications", headers=me)
        await node.client.get(
            f"/v1/orders/{order['id']}/applications", headers=operator(node, YIBIN)
        )
        await node.client.get(f"/v1/orders/{order['id']}/candidates", headers=node.province)
        await node.client.post(
            f"/v1/orders/{order['id']}/applications/{applied.json()['id']}/decision",
            json={"accept": True},
            headers=operator(node, YIBIN),
        )
        await node.drain()
        async with node.runtime.engine.connect() as connection:
            rows = (await connection.execute(select(outbox))).mappings().all()
    telemetry.force_flush()

    events = [repr(dict(row)) for row in rows]
    logs = [f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records]
    spans = [
        f"{s.name} {dict(s.attributes or {})!r} {[dict(e.attributes or {}) for e in s.events]!r}"
        for s in exporter.get_finished_spans()
    ]
    # The scan has something to scan.
    assert len(events) >= 4
    assert logs
    assert spans
    for value in PERSONAL:
        assert [e for e in events if value in e] == []
        assert [line for line in logs if value in line] == []
        assert [s for s in spans if value in s] == []
