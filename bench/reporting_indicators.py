"""Time to compute every indicator for the province (and for all 21 cities) from projections.

    uv run python bench/reporting_indicators.py [--suppliers 20000] [--network 10000]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/DB]

Fills reporting's projections with ``--suppliers`` suppliers (most listed, with business
figures) and ``--network`` network records spread over the 21 cities, then times what
``GET /v1/indicators?scope=510000`` does (load the projections and targets, compute the 20
indicators with their breakdowns by city, industry and month), and the supervision notice
(all 21 cities). The aim is under a second for the province. Each round times the cold path
(the projections loaded afresh: the baseline), a request at an unchanged projection position
(the facts cached per position), and the first request after a consumer batch wrote one
registration, then one supplier (only the rows written since are read again: each row's write
stamp), and prints the ratios to the cold path.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.reference import cities
from shulian_common.uow import UnitOfWorkFactory
from shulian_reporting import repository
from shulian_reporting.handlers import reports
from shulian_reporting.handlers.targets import seed_targets
from shulian_reporting.orm import MIGRATIONS

CITIES = [city.code for city in cities()]
INDUSTRIES = ["electronic_information", "power_batteries", "digital_economy", "culture_tourism"]
KINDS = ["park", "market", "station", "scenario", "pairing", "platform"]
LEVELS = ["national", "provincial", "city", "county"]


async def fill(uow_factory: UnitOfWorkFactory, suppliers: int, network: int) -> None:
    rng = random.Random(20230920)
    start = date(2023, 9, 20)
    async with uow_factory() as uow:
        for i in range(suppliers):
            city = rng.choice(CITIES)
            listed = rng.random() < 0.8
            await repository.upsert_supplier(uow.session, {
                "id": f"s{i}", "owner_node": "510000", "version": 1, "city_code": city,
                "county_code": city[:4] + "02", "high_end": False,
                "listing_status": "listed" if listed else "applied",
                "listed_on": start + timedelta(days=rng.randrange(800)) if listed else None,
                "industries": [rng.choice(INDUSTRIES)],
                "listing_industries": [rng.choice(INDUSTRIES)],
                "figures": [{"year": 2024, "service_line": "headhunting", "revenue_yuan": 100,
                             "trade_volume_yuan": 10}],
            })  # fmt: skip
        for i in range(network):
            city = rng.choice(CITIES)
            await repository.upsert_network(uow.session, {
                "id": f"n{i}", "owner_node": "510000", "version": 1, "kind": rng.choice(KINDS),
                "subtype": rng.choice(["professional_market", "workstation", "supplier_area"]),
                "level": rng.choice(LEVELS), "county_code": city[:4] + "02", "city_code": city,
                "since": start + timedelta(days=rng.randrange(800)), "supplier_id": f"s{i}",
                "industries": [rng.choice(INDUSTRIES)], "linked_platforms": rng.randrange(80),
                "key_service_objects": rng.randrange(600),
            })  # fmt: skip
        await uow.commit()


def registration(rid: str) -> dict[str, object]:
    return {
        "id": rid, "owner_node": "510000", "version": 1, "activity_id": "a1",
        "occurrence_key": "once", "participant_kind": "supplier", "participant_id": "s1",
        "status": "checked_in", "attendees": 0, "checked_in_on": date(2025, 5, 6),
    }  # fmt: skip


def supplier(sid: str) -> dict[str, object]:
    return {
        "id": sid, "owner_node": "510000", "version": 1, "city_code": CITIES[0],
        "county_code": CITIES[0][:4] + "02", "high_end": False, "listing_status": "listed",
        "listed_on": date(2025, 5, 6), "industries": [], "listing_industries": [], "figures": [],
    }  # fmt: skip


async def write(uow_factory: UnitOfWorkFactory, table: str, row: dict[str, object]) -> None:
    """What a consumer batch does: one projected row, committed."""
    async with uow_factory() as uow:
        await repository.upsert_projection(uow.session, table, row)
        await uow.commit()


async def main(suppliers: int, network: int, database_url: str | None, rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="shulian-bench-indicators-"))
    engine = create_engine(database_url or f"sqlite+aiosqlite:///{tmp}/reporting.db")
    await migrate(engine, MIGRATIONS)
    uow_factory = UnitOfWorkFactory(
        create_session_factory(engine), source="/nodes/510000/reporting"
    )
    await seed_targets(uow_factory, node_id="510000")
    await fill(uow_factory, suppliers, network)
    sessions = create_session_factory(engine)
    today = date(2025, 6, 30)
    for label, work in (
        ("province, 20 indicators", lambda s: reports.indicators(
            s, scope_code="510000", year=2025, today=today)),
        ("supervision notice, 21 cities", lambda s: reports.supervision(
            s, year=2025, today=today)),
    ):  # fmt: skip
        modes = ("cold", "cached", "after a registration", "after a supplier")
        timings: dict[str, list[float]] = {mode: [] for mode in modes}
        for n in range(rounds):
            for mode in modes:
                if mode == "cold":  # the baseline: projections loaded afresh, as before
                    reports.clear_cache()
                elif mode == "after a registration":
                    await write(uow_factory, "p_registrations", registration(f"{label}{n}"))
                elif mode == "after a supplier":
                    await write(uow_factory, "p_suppliers", supplier(f"{label}{n}"))
                async with sessions() as session:
                    started = time.perf_counter()
                    await work(session)
                    timings[mode].append(time.perf_counter() - started)
        best = {mode: min(values) for mode, values in timings.items()}
        print(f"{label} ({suppliers} suppliers, {network} network records), best of {rounds}:")
        for mode in modes:
            print(f"  {mode}: {best[mode] * 1000:.0f} ms, cold / this "
                  f"{best['cold'] / best[mode]:.1f}×")  # fmt: skip
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suppliers", type=int, default=20_000)
    parser.add_argument("--network", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    asyncio.run(main(args.suppliers, args.network, args.database_url, args.rounds))
