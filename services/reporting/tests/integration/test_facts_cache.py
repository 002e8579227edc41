"""Reports reload only the projections written since they last loaded them, and always see
every write (``handlers/reports.facts_at_position``: a position per projection table)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.uow import UnitOfWorkFactory
from shulian_reporting import repository
from shulian_reporting.consumers import SOURCES
from shulian_reporting.domain.compute import compute_all
from shulian_reporting.domain.facts import Facts
from shulian_reporting.domain.scope import scope_of
from shulian_reporting.handlers import reports
from shulian_reporting.orm import MIGRATIONS


@pytest.fixture
async def uow_factory(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    engine = create_engine(database_url)
    await migrate(engine, MIGRATIONS)
    reports.clear_cache()
    try:
        yield UnitOfWorkFactory(create_session_factory(engine), source="/nodes/510000/reporting")
    finally:
        reports.clear_cache()
        await engine.dispose()


def _supplier(sid: str, version: int = 1, status: str = "listed") -> dict[str, Any]:
    return {
        "id": sid, "owner_node": "510000", "version": version, "city_code": "511500",
        "county_code": "511502", "high_end": False, "listing_status": status,
        "listed_on": date(2024, 3, 1) if status == "listed" else None, "industries": [],
        "listing_industries": [], "figures": [],
    }  # fmt: skip


def _registration(rid: str) -> dict[str, Any]:
    return {
        "id": rid, "owner_node": "510000", "version": 1, "activity_id": "a1",
        "occurrence_key": "once", "participant_kind": "supplier", "participant_id": "s1",
        "status": "checked_in", "attendees": 0, "checked_in_on": date(2024, 5, 6),
    }  # fmt: skip


async def _write(uow_factory: UnitOfWorkFactory, table: str, row: dict[str, Any]) -> None:
    async with uow_factory() as uow:
        await repository.upsert_projection(uow.session, table, row)
        await uow.commit()


async def _facts(uow_factory: UnitOfWorkFactory) -> Facts:
    async with uow_factory() as uow:
        return await reports.facts_at_position(uow.session)


async def test_a_report_reloads_only_the_projections_written_since(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await _write(uow_factory, "p_suppliers", _supplier("s1"))
    first = await _facts(uow_factory)
    assert await _facts(uow_factory) is first  # nothing written: the same facts

    await _write(uow_factory, "p_registrations", _registration("r1"))
    second = await _facts(uow_factory)
    assert [r.id for r in second.registrations] == ["r1"]  # the write is seen
    assert second.suppliers is first.suppliers  # and the suppliers were not loaded again

    await _write(uow_factory, "p_suppliers", _supplier("s1", version=2, status="delisted"))
    third = await _facts(uow_factory)
    assert [(s.id, s.listing_status) for s in third.suppliers] == [("s1", "delisted")]
    assert third.registrations is second.registrations
    assert third.network is first.network

    async with uow_factory() as uow:  # a rebuild's start: every projection emptied
        await repository.clear_projections(uow.session)
        await uow.commit()
    cleared = await _facts(uow_factory)
    assert cleared.suppliers == ()
    assert cleared.registrations == ()


async def test_a_batch_writing_several_projections_advances_each(
    uow_factory: UnitOfWorkFactory,
) -> None:
    before = await _facts(uow_factory)
    async with uow_factory() as uow:
        await repository.upsert_projection(uow.session, "p_suppliers", _supplier("s2"))
        await repository.upsert_projection(uow.session, "p_registrations", _registration("r2"))
        await uow.commit()
    after = await _facts(uow_factory)
    assert [s.id for s in after.suppliers] == ["s2"]
    assert [r.id for r in after.registrations] == ["r2"]
    assert after.orders is before.orders
    async with uow_factory() as uow:
        positions = await repository.projection_positions(uow.session)
    assert positions.parts["p_suppliers"] == positions.parts["p_registrations"] == 1
    assert positions.parts["p_orders"] == 0
    assert positions.seq == 1


def _id(fact: Any) -> str:
    return str(fact.id)


def _figures(facts: Facts) -> list[Any]:
    """Every indicator for the province and one city, as a report computes them."""
    return [
        compute_all(facts, scope=scope_of(code), year=2024, today=date(2024, 6, 30),
                    targets={}, sources=SOURCES)
        for code in ("510000", "511500")
    ]  # fmt: skip


async def test_a_supplier_write_reads_only_the_rows_written_and_gives_the_cold_figures(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    for sid in ("s1", "s2", "s3"):
        await _write(uow_factory, "p_suppliers", _supplier(sid))
    await _write(uow_factory, "p_registrations", _registration("r1"))
    await _facts(uow_factory)  # loaded, then held

    reads: list[tuple[str, int | None, int]] = []
    load = repository.load_fact_part

    async def counted(session: Any, table: str, *, written_after: int | None = None) -> Any:
        got = await load(session, table, written_after=written_after)
        reads.append((table, written_after, len(got)))
        return got

    monkeypatch.setattr(repository, "load_fact_part", counted)
    async with uow_factory() as uow:  # one transaction: a supplier changed and one added
        await repository.upsert_projection(
            uow.session, "p_suppliers", _supplier("s2", version=2, status="delisted")
        )
        await repository.upsert_projection(uow.session, "p_suppliers", _supplier("s4"))
        await uow.commit()
    await _write(uow_factory, "p_suppliers", _supplier("s1", version=1))  # stale: no change
    patched = await _facts(uow_factory)
    # Only the two rows that transaction wrote were read (the stale snapshot wrote nothing),
    # and only from the suppliers.
    assert [(table, rows) for table, _, rows in reads] == [("p_suppliers", 2)]
    assert reads[0][1] is not None

    reports.clear_cache()
    cold = await _facts(uow_factory)
    assert sorted(patched.suppliers, key=_id) == sorted(cold.suppliers, key=_id)
    assert [(s.id, s.listing_status) for s in patched.suppliers] == [
        ("s1", "listed"), ("s2", "delisted"), ("s3", "listed"), ("s4", "listed"),
    ]  # fmt: skip
    assert _figures(patched) == _figures(cold)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables ``load_fact_part`` reads from now on, one entry per read."""
    reads: list[str] = []
    load = repository.load_fact_part

    async def counted(session: Any, table: str, *, written_after: int | None = None) -> Any:
        reads.append(table)
        return await load(session, table, written_after=written_after)

    monkeypatch.setattr(repository, "load_fact_part", counted)
    return reads


async def test_reports_arriving_during_a_load_share_it(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    for sid in ("s1", "s2"):
        await _write(uow_factory, "p_suppliers", _supplier(sid))
    reads = _counting(monkeypatch)

    first, second, third = await asyncio.gather(*(_facts(uow_factory) for _ in range(3)))

    assert first is second is third  # one load, shared
    assert sorted(reads) == sorted(repository.FACT_PARTS.values())  # each table read once


async def test_a_service_loads_the_facts_at_start_up(
    database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first report after a start finds the facts loaded (no request pays the whole load)."""
    import asyncio

    from shulian_reporting.testing import reporting_settings_for, running

    settings = reporting_settings_for(database_url, tmp_path)
    async with running(settings):
        pass  # migrated
    engine = create_engine(database_url)
    factory = UnitOfWorkFactory(create_session_factory(engine), source="/nodes/510000/reporting")
    for sid in ("s1", "s2", "s3"):
        await _write(factory, "p_suppliers", _supplier(sid))
    await engine.dispose()
    reports.clear_cache()
    reads = _counting(monkeypatch)

    async with running(settings) as node:
        for _ in range(200):  # the start-up load runs beside the service
            if len(reads) == len(repository.FACT_PARTS):
                break
            await asyncio.sleep(0.05)
        loaded_at_start = len(reads)
        response = await node.client.get(
            "/v1/indicators", params={"year": 2024, "scope": "510000"}, headers=node.province
        )
        assert response.status_code == 200

    assert loaded_at_start == len(repository.FACT_PARTS)
    assert len(reads) == loaded_at_start  # the report read nothing more
