"""A service built only from the kit (``kit_example``) behaves as the registry does: created
records carry ETag and Location, Idempotency-Key replays, If-Match guards changes, lists page
by cursor, writes reach the outbox, and its consumer applies each event once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from kit_example.contracts import NOTES_TOPIC, SERVICE
from kit_example.main import create_app
from kit_example.orm import Note, NoteSeen, metadata
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from shulian_common.app import ServiceRuntime, runtime_of
from shulian_common.auth import Role, mint_token
from shulian_common.bus.base import OutgoingMessage
from shulian_common.envelope import CloudEvent
from shulian_common.messaging import idempotency_keys, kit_tables_drift, outbox
from shulian_common.settings import Settings
from shulian_common.testing.reliability import wait_until

NODE = "510100"
NOTE_SAVED = "cn.sichuan.shulian.kitexample.note.saved.v1"


@dataclass
class Node:
    """The example running in-process, a client on it, and who is calling."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings

    @property
    def runtime(self) -> ServiceRuntime:
        return runtime_of(self.app)

    def auth(self, sub: str = "operator-1") -> dict[str, str]:
        token = mint_token(
            self.settings, role=Role.CITY_OPERATOR, node=NODE, division=NODE, sub=sub
        )
        return {"Authorization": f"Bearer {token}"}

    async def count(self, table: Any) -> int:
        async with self.runtime.engine.connect() as connection:
            found = await connection.scalar(select(func.count()).select_from(table))
        return int(found or 0)


@pytest.fixture
async def node(database_url: str, tmp_path: Path) -> AsyncIterator[Node]:
    settings = Settings(
        env="test",
        service=SERVICE,
        node_id=NODE,
        data_dir=tmp_path,
        database_url=database_url,
        bus_url=f"local://{tmp_path / 'bus.db'}",
        telemetry_enabled=False,
        log_json=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://example") as client:
            yield Node(app, client, settings)


async def _create(node: Node, title: str = "第一条", **headers: str) -> httpx.Response:
    return await node.client.post(
        "/v1/notes", json={"title": title}, headers={**node.auth(), **headers}
    )


async def test_a_create_answers_201_with_etag_and_location_and_reads_back(node: Node) -> None:
    created = await _create(node)

    assert created.status_code == 201, created.text
    note = created.json()
    assert (note["title"], note["version"], note["owner_node"]) == ("第一条", 1, NODE)
    assert created.headers["etag"] == '"1"'
    assert created.headers["location"] == f"/v1/notes/{note['id']}"
    assert "idempotent-replayed" not in created.headers
    read = await node.client.get(created.headers["location"], headers=node.auth())
    assert (read.status_code, read.json(), read.headers["etag"]) == (200, note, '"1"')


async def test_the_same_key_replays_and_another_body_is_refused(node: Node) -> None:
    key = {"Idempotency-Key": "note-1"}

    first = await _create(node, **key)
    replay = await _create(node, **key)
    changed = await _create(node, "另一条", **key)
    other_caller = await node.client.post(
        "/v1/notes", json={"title": "第一条"}, headers={**node.auth("operator-2"), **key}
    )

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert (replay.headers["etag"], replay.headers["location"]) == (
        first.headers["etag"],
        first.headers["location"],
    )
    assert (changed.status_code, changed.json()["code"]) == (422, "idempotency_key_reused")
    assert other_caller.status_code == 201
    assert other_caller.json()["id"] != first.json()["id"]
    assert await node.count(Note.__table__) == 2
    assert await node.count(outbox) == 2


async def test_concurrent_duplicates_create_one_note(node: Node) -> None:
    key = {"Idempotency-Key": "raced"}

    responses = await asyncio.gather(*(_create(node, **key) for _ in range(4)))

    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum("idempotent-replayed" in r.headers for r in responses) == 3
    assert await node.count(Note.__table__) == 1
    assert await node.count(idempotency_keys) == 1
    assert await node.count(outbox) == 1


async def test_changes_need_a_current_if_match(node: Node) -> None:
    note = (await _create(node)).json()
    url, change = f"/v1/notes/{note['id']}", {"title": "改名"}

    missing = await node.client.patch(url, json=change, headers=node.auth())
    stale = await node.client.patch(url, json=change, headers={**node.auth(), "If-Match": '"7"'})
    current = await node.client.patch(url, json=change, headers={**node.auth(), "If-Match": '"1"'})
    again = await node.client.patch(url, json=change, headers={**node.auth(), "If-Match": '"1"'})

    assert (missing.status_code, missing.json()["code"]) == (428, "precondition_required")
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
    assert (current.status_code, current.json()["title"]) == (200, "改名")
    assert current.headers["etag"] == '"2"'
    assert (again.status_code, again.json()["code"]) == (412, "precondition_failed")


async def test_lists_page_by_cursor(node: Node) -> None:
    ids = sorted([(await _create(node, f"笔记{n}")).json()["id"] for n in range(5)])

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await node.client.get("/v1/notes", params=params, headers=node.auth())).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    garbage = await node.client.get("/v1/notes?cursor=%%%", headers=node.auth())

    assert (seen, pages) == (ids, 3)
    assert (garbage.status_code, garbage.json()["code"]) == (400, "invalid_cursor")


async def test_a_create_records_its_event_in_the_outbox(node: Node) -> None:
    note = (await _create(node)).json()

    async with node.runtime.engine.connect() as connection:
        rows = (await connection.execute(select(outbox))).mappings().all()

    assert [(r["type"], r["topic"], r["key"]) for r in rows] == [
        (NOTE_SAVED, NOTES_TOPIC, note["id"])
    ]
    assert rows[0]["data"]["title"] == "第一条"


async def test_the_consumer_applies_an_event_once(node: Node) -> None:
    consumers = node.runtime.consumers
    assert consumers is not None
    await _create(node)
    await wait_until(lambda: consumers.processed == 1, message="the event applied")
    async with node.runtime.engine.connect() as connection:
        row = (await connection.execute(select(outbox))).mappings().one()
    event = CloudEvent(
        id=row["event_id"],
        source=row["source"],
        type=row["type"],
        partitionkey=row["key"],
        data=row["data"],
    )

    message = OutgoingMessage(
        topic=NOTES_TOPIC,
        key=event.partitionkey,
        value=event.to_value(),
        headers=event.to_headers(),
    )
    await node.runtime.publisher.publish([message])
    await wait_until(lambda: consumers.duplicates == 1, message="the duplicate seen")

    assert consumers.processed == 1
    assert await node.count(NoteSeen.__table__) == 1


def _own_tables_drift(connection: Connection) -> list[Any]:
    def own(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "table" or name in metadata.tables

    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": own}
    )
    return list(compare_metadata(context, metadata))


async def test_the_migrations_create_the_declared_tables(node: Node) -> None:
    async with node.runtime.engine.connect() as connection:
        assert await connection.run_sync(kit_tables_drift) == []
        assert await connection.run_sync(_own_tables_drift) == []
