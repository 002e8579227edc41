"""Ranking an order's candidates over a replica of 100,000 suppliers.

    uv run python bench/matching_ranking.py [--suppliers 100000] [--runs 20] [--database-url URL]

Fills matching's supplier replica (and its facet index) on a fresh database (a SQLite file by
default, or an empty PostgreSQL database) with suppliers spread over the 21 cities, 11 service
lines and 22 industries (3 lines and 2 industries each, 85 % listed), then times
``handlers.ranking.candidates`` — SQL eligibility on the facet index plus the explainable scores
of every eligible supplier — for a province-wide order and an own-city order. Prints p50 and
p99 over ``--runs`` calls, the CPU time of this process per call (SQLite's work included; on
PostgreSQL the server's is not), and how many suppliers were eligible; and, measured in the same
run on the same database, the raw baseline (the eligible count and a first page of 20 ids in two
hand-written SQL statements) with the ratio of ranking to it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Column, Index, MetaData, String, Table, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.reference import cities
from shulian_common.testing.postgres import sqlite_url
from shulian_matching.handlers.ranking import candidates
from shulian_matching.orm import MIGRATIONS, Order, Supplier, SupplierEligibility
from shulian_matching.repository import eligibility_rows

LINES = [
    "recruitment",
    "labour_dispatch",
    "outsourcing",
    "training",
    "headhunting",
    "assessment",
    "consulting",
    "payroll_social_insurance",
    "flexible_employment",
    "hr_software",
    "labour_services",
]
INDUSTRIES = [
    "liquor_food",
    "energy_chemicals",
    "electronic_information",
    "major_equipment",
    "culture_tourism",
    "advanced_materials",
    "modern_services",
    "modern_agriculture",
    "lantern_making",
    "new_energy",
    "new_chemicals",
    "drones_aviation",
    "vanadium_titanium",
    "green_aluminium",
    "silicon_materials",
    "autos_parts",
    "oil_gas_chemicals",
    "digital_economy",
    "power_batteries",
    "crystalline_pv",
    "lithium_materials",
    "sichuan_tibet_railway",
]


def suppliers(
    count: int,
) -> tuple[list[dict[str, object]], list[dict[str, str]], list[dict[str, str]]]:
    """Replica rows, their eligibility index rows and the former facet rows (for the old raw
    baseline) of ``count`` generated suppliers."""
    rng = random.Random(7)
    codes = [c.code for c in cities()]
    now = datetime.now(UTC)
    rows, index, facets = [], [], []
    for i in range(count):
        sid = f"{i:032x}"
        lines, industries = rng.sample(LINES, 3), rng.sample(INDUSTRIES, 2)
        city = codes[i % len(codes)]
        row: dict[str, object] = {
            "id": sid,
            "owner_node": city,
            "version": 1,
            "updated_at": now,
            "name": f"机构{i}",
            "city_code": city,
            "listing_status": "listed" if rng.random() < 0.85 else "applied",
            "high_end": False,
            "service_lines": lines,
            "industries": industries,
        }
        rows.append(row)
        index += eligibility_rows(row)
        facets += [{"supplier_id": sid, "facet": f"line:{x}"} for x in lines]
        facets += [{"supplier_id": sid, "facet": f"industry:{x}"} for x in industries]
    return rows, index, facets


def order(visibility: str, industry: str | None) -> Order:
    """An unsaved order to rank for."""
    return Order(
        id="o",
        owner_node="511500",
        kind="service",
        city_code="511500",
        county_code="511502",
        service_line="recruitment",
        industry=industry,
        visibility=visibility,
        visible_cities=[],
        skills=[],
        slots=1,
        head_count=10,
        deadline=date.today(),
        status="open",
    )


async def run(count: int, runs: int, url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(url or sqlite_url(Path(tmp)))
        await migrate(engine, MIGRATIONS)
        rows, index, facets = suppliers(count)
        async with engine.begin() as connection:
            await connection.run_sync(lambda c: OLD_FACETS.metadata.create_all(c))
            for start in range(0, count, 5000):
                await connection.execute(insert(Supplier), rows[start : start + 5000])
            for start in range(0, len(index), 20000):
                await connection.execute(insert(SupplierEligibility), index[start : start + 20000])
            for start in range(0, len(facets), 20000):
                await connection.execute(insert(OLD_FACETS), facets[start : start + 20000])
        if engine.dialect.name == "postgresql":
            # Statistics and the visibility map, as autovacuum makes them on a live database after
            # a load (index-only scans need the latter).
            async with engine.connect() as connection:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(
                    text("VACUUM ANALYZE suppliers, supplier_eligibility, bench_old_facets")
                )
        sessions = create_session_factory(engine)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"matching ranking: {count} suppliers, {engine.dialect.name}, load average {load}")
        cases = [
            ("province, line + industry", order("province", "power_batteries")),
            ("province, line only", order("province", None)),
            ("own city, line + industry", order("own_city", "power_batteries")),
        ]
        for label, wanted in cases:
            times, cpu, eligible = [], [], 0
            raw: dict[str, list[float]] = {"old": [], "new": []}
            raw_cpu: dict[str, list[float]] = {"old": [], "new": []}
            for _ in range(runs):
                async with sessions() as session:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    eligible, _, _ = await candidates(session, order=wanted, award_cap=5, limit=20)
                    times.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - cpu_started)
                for kind, baseline in (("old", raw_page_old), ("new", raw_page)):
                    async with engine.connect() as connection:
                        started, cpu_started = time.perf_counter(), time.process_time()
                        await baseline(connection, wanted)
                        raw[kind].append(time.perf_counter() - started)
                        raw_cpu[kind].append(time.process_time() - cpu_started)
            p50, p99 = pct(times, 0.5), pct(times, 0.99)
            print(
                f"  {label:28} eligible {eligible:6}  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"
                f"  CPU {mean(cpu):6.1f} ms/op"
            )
            for kind, name in (("old", "raw, facets (before)"), ("new", "raw, eligibility index")):
                r50, r99 = pct(raw[kind], 0.5), pct(raw[kind], 0.99)
                print(
                    f"    {name:26} {'':15} p50 {r50:7.1f} ms  p99 {r99:7.1f} ms"
                    f"  CPU {mean(raw_cpu[kind]):6.1f} ms/op"
                    f"  → ranking/raw p50 {p50 / r50:.2f}× p99 {p99 / r99:.2f}×"
                )
        await engine.dispose()


def mean(values: list[float]) -> float:
    """The mean of ``values``, in milliseconds."""
    return sum(values) / len(values) * 1000


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values``, in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# The supplier replica's former facet index (``line:…``, ``industry:…``, dropped by matching's
# migration 0008), kept here only for the raw baseline the earlier figures were measured against.
OLD_FACETS = Table(
    "bench_old_facets",
    MetaData(),
    Column("supplier_id", String(32), primary_key=True),
    Column("facet", String(50), primary_key=True),
    Index("ix_bench_old_facets_facet", "facet", "supplier_id"),
)
OLD_FROM = (
    " FROM bench_old_facets f JOIN suppliers s ON s.id = f.supplier_id"
    " WHERE f.facet = :line AND s.listing_status = 'listed'"
)


async def raw_page_old(connection: AsyncConnection, wanted: Order) -> None:
    """The raw baseline before the eligibility index: the eligible count and a first page of 20
    ids as two hand-written SQL statements over the facets and the replica."""
    where = OLD_FROM
    params: dict[str, object] = {"line": f"line:{wanted.service_line}"}
    if wanted.industry is not None:
        where += (
            " AND EXISTS (SELECT 1 FROM bench_old_facets i"
            " WHERE i.supplier_id = s.id AND i.facet = :industry)"
        )
        params["industry"] = f"industry:{wanted.industry}"
    if wanted.visibility == "own_city":
        where += " AND s.city_code = :city"
        params["city"] = wanted.city_code
    await connection.execute(text("SELECT count(*)" + where), params)
    page = text("SELECT s.id, s.name, s.city_code" + where + " ORDER BY f.supplier_id LIMIT 20")
    (await connection.execute(page, params)).all()


async def raw_page(connection: AsyncConnection, wanted: Order) -> None:
    """The raw baseline on the eligibility index: the eligible count and a first page of 20 ids
    (with names) as two hand-written SQL statements, without ORM, tiers or scores."""
    where = " FROM supplier_eligibility e WHERE e.service_line = :line AND e.industry = :industry"
    params: dict[str, object] = {"line": wanted.service_line, "industry": wanted.industry or "*"}
    if wanted.visibility == "own_city":
        where += " AND e.city_code = :city"
        params["city"] = wanted.city_code
    await connection.execute(text("SELECT count(*)" + where), params)
    page = text(
        "SELECT s.id, s.name, s.city_code FROM suppliers s JOIN (SELECT e.supplier_id"
        + where
        + " ORDER BY e.supplier_id LIMIT 20) p ON p.supplier_id = s.id"
    )
    (await connection.execute(page, params)).all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(run(args.suppliers, args.runs, args.database_url))


if __name__ == "__main__":
    main()
