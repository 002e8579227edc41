"""Request on any node, the owner decides (``shulian_common.commands``), through the kit example:
seat requests for a note, sent from two nodes on one bus, decided by the note's owner node."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from kit_example.contracts import SERVICE, SeatRequested
from kit_example.main import create_app
from kit_example.orm import MIGRATIONS, Seat, metadata
from sqlalchemy import select, update

from shulian_common.auth import Role
from shulian_common.commands import Request, new_request_id, send_command
from shulian_common.messaging import outbox
from shulian_common.settings import Settings
from shulian_common.testing.kafka import KafkaBroker
from shulian_common.testing.migrations import assert_no_migration_drift
from shulian_common.testing.node import ServiceNode, drain, node_settings, run_node
from shulian_common.testing.postgres import sqlite_url

OWNER, OTHER = "510100", "510000"  # Chengdu owns the notes; the province asks too
Node = ServiceNode[Settings]


def _start(database_url: str, tmp_path: Path, node: str, **overrides: Any) -> Any:
    settings = node_settings(
        Settings,
        database_url=database_url,
        tmp_path=tmp_path,
        node=node,
        service=SERVICE,
        **overrides,
    )
    started: AbstractAsyncContextManager[Node] = run_node(create_app, settings)
    return started


@pytest.fixture
async def nodes(
    database_url: str, other_database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Node, Node]]:
    """The owner node and another node of the example, on one local bus, moved by ``drain``."""
    async with (
        _start(database_url, tmp_path, OWNER) as owner,
        _start(other_database_url, tmp_path, OTHER) as other,
    ):
        await owner.stop_workers()
        await other.stop_workers()
        yield owner, other


def _writer(node: Node) -> dict[str, str]:
    if node.settings.node_id == OWNER:
        return node.auth(Role.CITY_OPERATOR, OWNER)
    return node.province


async def _note(owner: Node, seats: int) -> str:
    response = await owner.client.post(
        "/v1/notes", json={"title": "讲座", "seats": seats}, headers=_writer(owner)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _ask(
    node: Node, note_id: str, party: str = "甲", owner: str = OWNER, **headers: str
) -> httpx.Response:
    return await node.client.post(
        f"/v1/notes/{note_id}/seats",
        json={"owner_node": owner, "party": party},
        headers={**_writer(node), **headers},
    )


async def _request_id(node: Node, note_id: str, party: str = "甲", owner: str = OWNER) -> str:
    response = await _ask(node, note_id, party, owner)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending"
    assert response.headers["Location"] == f"/v1/seat-requests/{body['id']}"
    return str(body["id"])


async def _follow(node: Node, request_id: str) -> dict[str, Any]:
    response = await node.client.get(f"/v1/seat-requests/{request_id}", headers=_writer(node))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _decisions(owner: Node) -> list[dict[str, Any]]:
    return [e["data"] for e in await owner.events("seat.decided")]


async def _seats(node: Node) -> list[tuple[str, int]]:
    async with node.runtime.engine.connect() as connection:
        rows = await connection.execute(select(Seat.request_id, Seat.seat).order_by(Seat.seat))
        return [(r.request_id, r.seat) for r in rows]


async def test_requests_from_both_nodes_are_decided_by_the_owner_and_followed(
    nodes: tuple[Node, Node],
) -> None:
    owner, other = nodes
    note = await _note(owner, seats=1)
    asked_there = await _request_id(other, note, "乙")
    # The other node's command reaches the log first: the owner's own request has no shortcut.
    await other.runtime.relay.drain()
    asked_here = await _request_id(owner, note, "甲")

    assert (await _follow(other, asked_there))["status"] == "pending"
    await drain(owner, other)

    there, here = await _follow(other, asked_there), await _follow(owner, asked_here)
    assert there["status"] == "decided"
    assert there["outcome"] == "accepted"
    assert there["result"] == {"seat": 1}
    assert there["owner_node"] == OWNER
    assert there["decided_at"] is not None
    assert here["outcome"] == "rejected"
    assert here["reason"] == "no_seats_left"
    assert "座位已满" in here["reason_text"]
    assert await _seats(owner) == [(asked_there, 1)]
    # Each node holds only its own requests; the owner published one decision per request.
    assert await other.count("requests") == 1
    assert await owner.count("requests") == 1
    assert [d["request_id"] for d in await _decisions(owner)] == [asked_there, asked_here]
    assert await other.events("seat.decided") == []


async def test_sixty_requests_from_two_nodes_for_twenty_seats(nodes: tuple[Node, Node]) -> None:
    owner, other = nodes
    note = await _note(owner, seats=20)

    asked = await asyncio.gather(
        *(_request_id(node, note, f"人{i}") for i in range(30) for node in (owner, other))
    )
    await drain(owner, other)

    decisions = await _decisions(owner)
    assert sorted(d["request_id"] for d in decisions) == sorted(asked)
    # In log order: the first twenty get the seats, every later one is refused.
    assert [d["outcome"] for d in decisions] == ["accepted"] * 20 + ["rejected"] * 40
    assert {d["reason"] for d in decisions[20:]} == {"no_seats_left"}
    assert [d["result"]["seat"] for d in decisions[:20]] == list(range(1, 21))
    assert [seat for _, seat in await _seats(owner)] == list(range(1, 21))
    outcomes: Counter[str] = Counter()
    for node in (owner, other):
        for request_id in await _held(node):
            body = await _follow(node, request_id)
            assert body["status"] == "decided"
            outcomes[body["outcome"]] += 1
    assert outcomes == {"accepted": 20, "rejected": 40}


async def _held(node: Node) -> list[str]:
    async with node.runtime.engine.connect() as connection:
        return list(await connection.scalars(select(Request.id)))


async def test_a_command_delivered_twice_is_decided_once(nodes: tuple[Node, Node]) -> None:
    owner, other = nodes
    note = await _note(owner, seats=5)
    request_id = await _request_id(other, note)
    await drain(owner, other)
    # The relay publishes the command again (as after a crash before marking it published).
    async with other.runtime.engine.begin() as connection:
        await connection.execute(
            update(outbox)
            .where(outbox.c.type.like("%seat.requested%"))
            .values(published_at=None, position=None)
        )
    duplicates = owner.runtime.consumers.duplicates if owner.runtime.consumers else -1
    await drain(owner, other)

    assert owner.runtime.consumers is not None
    assert owner.runtime.consumers.duplicates == duplicates + 1
    assert [d["request_id"] for d in await _decisions(owner)] == [request_id]
    assert await _seats(owner) == [(request_id, 1)]
    assert (await _follow(other, request_id))["outcome"] == "accepted"


async def test_a_command_for_an_unknown_target_is_rejected(nodes: tuple[Node, Node]) -> None:
    owner, other = nodes
    missing = "f" * 32
    request_id = await _request_id(other, missing)
    await drain(owner, other)

    body = await _follow(other, request_id)
    assert body["outcome"] == "rejected"
    assert body["reason"] == "unknown_target"
    assert body["reason_text"]
    assert owner.runtime.consumers is not None
    assert owner.runtime.consumers.dead_lettered == 0


async def test_only_the_named_owner_decides(nodes: tuple[Node, Node]) -> None:
    owner, other = nodes
    note = await _note(owner, seats=5)
    # The request names the province as owner: Chengdu ignores it, the province knows no such
    # note and refuses it; nobody hands out a seat.
    request_id = await _request_id(owner, note, owner=OTHER)
    await drain(owner, other)

    assert await _decisions(owner) == []
    decided = [e["data"] for e in await other.events("seat.decided")]
    assert [(d["request_id"], d["reason"]) for d in decided] == [(request_id, "unknown_target")]
    assert await _seats(owner) == []
    assert (await _follow(owner, request_id))["reason"] == "unknown_target"


async def test_an_idempotency_key_sends_one_command(nodes: tuple[Node, Node]) -> None:
    owner, other = nodes
    note = await _note(owner, seats=5)
    first = await _ask(other, note, **{"Idempotency-Key": "k-1"})
    again = await _ask(other, note, **{"Idempotency-Key": "k-1"})
    changed = await _ask(other, note, "丙", **{"Idempotency-Key": "k-1"})

    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert changed.status_code == 422
    assert len(await other.events("seat.requested")) == 1
    assert await other.count("requests") == 1


async def test_an_unknown_request_is_a_404_problem(nodes: tuple[Node, Node]) -> None:
    owner, _ = nodes
    response = await owner.client.get("/v1/seat-requests/nope", headers=_writer(owner))

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


async def test_a_pending_request_shows_its_age(nodes: tuple[Node, Node]) -> None:
    _, other = nodes
    request_id = await _request_id(other, "a" * 32)  # never relayed: it stays pending
    body = await _follow(other, request_id)

    assert body["status"] == "pending"
    assert body["outcome"] is None
    assert body["decided_at"] is None
    assert body["age_seconds"] >= 0
    assert body["overdue"] is False


async def test_the_migrations_match_the_declared_tables(database_url: str) -> None:
    await assert_no_migration_drift(database_url, MIGRATIONS, metadata)


@pytest.mark.kafka
async def test_two_nodes_over_kafka(kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    for node in (OWNER, OTHER):
        (tmp_path / node).mkdir()
    overrides = {
        "bus_url": f"kafka://{kafka_broker.bootstrap}",
        "kafka_enable_idempotence": kafka_broker.idempotence,
    }
    async with (
        _start(sqlite_url(tmp_path / OWNER), tmp_path, OWNER, **overrides) as owner,
        _start(sqlite_url(tmp_path / OTHER), tmp_path, OTHER, **overrides) as other,
    ):
        note = await _note(owner, seats=3)
        asked = [await _request_id(node, note, "人") for node in (other, owner, other, owner)]
        await drain(owner, other, timeout=90)

        decisions = [d for d in await _decisions(owner) if d["target_id"] == note]
        assert sorted(d["request_id"] for d in decisions) == sorted(asked)
        assert [d["outcome"] for d in decisions] == ["accepted"] * 3 + ["rejected"]
        for node, request_id in zip((other, owner, other, owner), asked, strict=True):
            assert (await _follow(node, request_id))["status"] == "decided"


async def test_a_command_from_a_node_posing_as_another_is_dead_lettered(
    nodes: tuple[Node, Node],
) -> None:
    owner, other = nodes
    note = await _note(owner, seats=5)
    forged = SeatRequested(
        request_id=new_request_id(),
        requester_node=OWNER,  # sent by the province, claiming to be Chengdu asking
        target_id=note,
        target_owner_node=OWNER,
        party="冒充",
    )
    async with other.runtime.uow_factory() as uow:
        await send_command(uow, forged, kind="seat", requester_sub="op")
        await uow.commit()
    await drain(owner, other)

    assert owner.runtime.consumers is not None
    assert owner.runtime.consumers.dead_lettered == 1
    assert await _decisions(owner) == []
    assert await _seats(owner) == []
