"""The supplier replica's eligibility index (what ranking counts and pages) follows every snapshot
the replica keeps, and migration 0008 fills it from the replica rows an upgraded node holds (and
its downgrade rebuilds the former facets)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from shulian_common.db import alembic_config, create_engine, migrate
from shulian_common.records import Json
from shulian_matching.orm import MIGRATIONS
from shulian_matching.testing import YIBIN, Matching, place, publish, service_order, supplier_event

Row = tuple[str, str, str, str]  # service line, industry, city, supplier
ROWS = "SELECT service_line, industry, city_code, supplier_id FROM supplier_eligibility"


async def _index(node: Matching) -> set[Row]:
    async with node.runtime.engine.connect() as connection:
        rows = await connection.execute(sa.text(ROWS))
        return {(r[0], r[1], r[2], r[3]) for r in rows}


async def _eligible(node: Matching, order_id: str) -> int:
    response = await node.client.get(f"/v1/orders/{order_id}/candidates", headers=node.province)
    assert response.status_code == 200, response.text
    return int(response.json()["eligible"])


async def test_the_index_follows_listing_and_service_changes(yibin: Matching) -> None:
    sid = "a" * 32
    order = await place(yibin, service_order(industry="power_batteries"), YIBIN)

    await publish(yibin, supplier_event(sid, industries=("power_batteries",), version=1))
    await yibin.drain()
    assert await _index(yibin) == {
        ("recruitment", "*", "511500", sid),
        ("recruitment", "power_batteries", "511500", sid),
    }
    assert await _eligible(yibin, order["id"]) == 1

    delisted = supplier_event(
        sid, industries=("power_batteries",), listing_status="suspended", version=2
    )
    await publish(yibin, delisted)
    await yibin.drain()
    assert await _index(yibin) == set()
    assert await _eligible(yibin, order["id"]) == 0

    relisted = supplier_event(
        sid,
        county="510104",
        service_lines=("training", "recruitment"),
        industries=("new_energy", "power_batteries"),
        version=3,
    )
    await publish(yibin, relisted)
    await yibin.drain()
    relisted_rows = {
        (line, industry, "510100", sid)
        for line in ("recruitment", "training")
        for industry in ("*", "new_energy", "power_batteries")
    }
    assert await _index(yibin) == relisted_rows
    assert await _eligible(yibin, order["id"]) == 1

    # Lines and industries changed: the rows of what it no longer serves go.
    await publish(yibin, supplier_event(sid, service_lines=("training",), version=4))
    await yibin.drain()
    assert await _index(yibin) == {("training", "*", "511500", sid)}
    assert await _eligible(yibin, order["id"]) == 0

    # A late older snapshot changes neither the replica nor its index.
    await publish(yibin, relisted)
    await yibin.drain()
    assert await _index(yibin) == {("training", "*", "511500", sid)}


SUPPLIERS = sa.table(
    "suppliers",
    sa.column("id", sa.String()),
    sa.column("owner_node", sa.String()),
    sa.column("version", sa.Integer()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("name", sa.String()),
    sa.column("city_code", sa.String()),
    sa.column("listing_status", sa.String()),
    sa.column("high_end", sa.Boolean()),
    sa.column("service_lines", Json),
    sa.column("industries", Json),
)


def _supplier(
    sid: str, city: str, status: str, lines: list[str], industries: list[str]
) -> dict[str, object]:
    return {
        "id": sid,
        "owner_node": city,
        "version": 1,
        "updated_at": datetime.now(UTC),
        "name": f"机构{sid[:4]}",
        "city_code": city,
        "listing_status": status,
        "high_end": False,
        "service_lines": lines,
        "industries": industries,
    }


async def test_the_migration_fills_the_index_from_the_replica(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine, MIGRATIONS, "0007")
        listed, other, unlisted = "1" * 32, "2" * 32, "3" * 32
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(SUPPLIERS),
                [
                    _supplier(
                        listed, "511500", "listed", ["recruitment", "training"], ["liquor_food"]
                    ),
                    _supplier(other, "510100", "listed", ["outsourcing"], []),
                    _supplier(unlisted, "511500", "suspended", ["recruitment"], ["liquor_food"]),
                ],
            )

        await migrate(engine, MIGRATIONS)

        async with engine.connect() as connection:
            rows = await connection.execute(sa.text(ROWS))
            tables = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
        assert {tuple(r) for r in rows} == {
            ("recruitment", "*", "511500", listed),
            ("recruitment", "liquor_food", "511500", listed),
            ("training", "*", "511500", listed),
            ("training", "liquor_food", "511500", listed),
            ("outsourcing", "*", "510100", other),
        }
        assert "supplier_facets" not in tables

        # The downgrade rebuilds the former facets of every replicated supplier.
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade, database_url, "0007")
            facets = await connection.execute(
                sa.text("SELECT supplier_id, facet FROM supplier_facets")
            )
            tables = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
        assert {tuple(r) for r in facets} == {
            (listed, "line:recruitment"),
            (listed, "line:training"),
            (listed, "industry:liquor_food"),
            (other, "line:outsourcing"),
            (unlisted, "line:recruitment"),
            (unlisted, "industry:liquor_food"),
        }
        assert "supplier_eligibility" not in tables
    finally:
        await engine.dispose()


def _downgrade(connection: sa.Connection, url: str, revision: str) -> None:
    config = alembic_config(MIGRATIONS, url)
    config.attributes["connection"] = connection
    command.downgrade(config, revision)
