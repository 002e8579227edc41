"""The registry's migrations create exactly the tables its ORM declares, plus the kit's."""

from __future__ import annotations

import random

from sqlalchemy import insert, text

from shulian_common.db import create_engine, migrate
from shulian_common.testing.migrations import assert_no_migration_drift
from shulian_registry import orm
from shulian_registry.demo import generate
from shulian_registry.demo.bulk import supplier_row
from shulian_registry.orm import MIGRATIONS, metadata


async def test_migrations_and_orm_agree(database_url: str) -> None:
    await assert_no_migration_drift(database_url, MIGRATIONS, metadata)


async def test_0004_indexes_local_suppliers_by_owner_and_marks_old_replicas_for_replacement(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine, MIGRATIONS, "0003")
        row = supplier_row(next(generate(1, seed=1)), node_id="510100", rng=random.Random(1))
        at = row["created_at"]
        async with engine.begin() as connection:
            await connection.execute(insert(orm.Supplier.__table__).values(**row))
            await connection.execute(
                text(
                    "INSERT INTO remote_suppliers (id, owner_node, name, county_code, city_code,"
                    " listing_status, version, updated_at)"
                    " VALUES ('r1', '511500', '宜宾某人力资源有限公司', '511502', '511500',"
                    " 'listed', 7, :at)"
                ),
                {"at": at},
            )
        await migrate(engine, MIGRATIONS, "0004")
        async with engine.connect() as connection:
            terms = (
                await connection.execute(
                    text("SELECT term FROM supplier_terms WHERE supplier_id = :id"),
                    {"id": row["id"]},
                )
            ).scalars()
            old = (
                await connection.execute(
                    text("SELECT version, uscc, service_lines FROM remote_suppliers")
                )
            ).one()
    finally:
        await engine.dispose()

    assert list(terms) == ["o:510100"]  # 0003 held no terms for it: only the backfill's
    assert (old.version, old.uscc) == (0, "")  # any snapshot of the owner replaces it whole
    assert old.service_lines in ([], "[]")
