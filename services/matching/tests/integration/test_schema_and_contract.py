"""Matching's migrations create exactly its ORM's tables plus the kit's, and the contract it
serves is the one it commits."""

from __future__ import annotations

import json
from pathlib import Path

from shulian_common.messaging import kit_tables_drift
from shulian_common.testing.migrations import assert_no_migration_drift
from shulian_matching.orm import MIGRATIONS, metadata
from shulian_matching.testing import Matching

COMMITTED = Path(__file__).resolve().parents[2] / "asyncapi.json"


async def test_migrations_and_orm_agree(database_url: str) -> None:
    await assert_no_migration_drift(database_url, MIGRATIONS, metadata)


async def test_the_kit_tables_are_the_kits(yibin: Matching) -> None:
    async with yibin.runtime.engine.connect() as connection:
        assert await connection.run_sync(kit_tables_drift) == []


async def test_the_served_asyncapi_document_is_the_committed_contract(yibin: Matching) -> None:
    served = await yibin.client.get("/v1/events/asyncapi.json")

    assert served.status_code == 200
    assert served.json() == json.loads(COMMITTED.read_text(encoding="utf-8"))
