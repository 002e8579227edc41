"""Registration decisions under contention: 300 requests from three nodes for 100 places.

    uv run python bench/events_registrations.py [--database-url URL] [--requests 300]
        [--places 100] [--rounds 3]

Three calendar nodes (Yibin 511500 owns the activity; Chengdu 510100 and the province 510000
ask too) run in-process on one local bus, each on its own database — SQLite files by default, or
fresh databases on the PostgreSQL server of ``--database-url``. Each round schedules an activity
on Yibin and fires the requests concurrently through the three APIs (round robin), with the
background relays and consumers running as in production. Printed per round: the API's 202
latency (p50/p99), the request → decision latency as the requester sees it (the kit's
``requests.decided_at`` − ``created_at``: command relayed, decided by the owner in log order,
decision relayed back and applied), the owner's decision throughput, and a check that exactly
``--places`` were confirmed. Then the decision alone: every request queued on the command log
first, the owner's consumer timed deciding them (``--batch`` sets the consumers' batch size),
beside the raw floor measured in the same run on the same database: the same rows written
straight through SQLAlchemy Core (per ``--batch`` requests one transaction: the participants read,
the inbox rows and the registrations, one statement each; no kit, no ORM, no events), and the
ratio of the two.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select, text

from shulian_common.auth import Role
from shulian_common.commands import Request
from shulian_common.messaging import inbox, outbox
from shulian_common.testing.node import node_settings, run_node
from shulian_events.contracts import REGISTRATION_REQUEST_DECIDED
from shulian_events.main import create_app
from shulian_events.orm import Participant, Registration
from shulian_events.settings import EventsSettings
from shulian_events.testing import Events, activity_body, publish_participants

OWNER, OTHERS = "511500", ("510100", "510000")
BATCH = 1  # the consumers' batch size (--batch)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@contextlib.asynccontextmanager
async def network(tmp: Path, server_url: str | None) -> AsyncIterator[list[Events]]:
    """The three nodes on one local bus, each on a database of its own."""
    urls = []
    for node in (OWNER, *OTHERS):
        if server_url is None:
            urls.append(f"sqlite+aiosqlite:///{tmp / f'{node}.db'}")
        else:
            urls.append(await _fresh_database(server_url, f"bench_events_{node}"))
    async with contextlib.AsyncExitStack() as stack:
        nodes = []
        for node, url in zip((OWNER, *OTHERS), urls, strict=True):
            settings = node_settings(
                EventsSettings,
                database_url=url,
                tmp_path=tmp,
                node=node,
                log_level="ERROR",
                consumer_batch_size=BATCH,
            )
            nodes.append(await stack.enter_async_context(run_node(create_app, settings)))
        yield nodes


async def _fresh_database(server_url: str, name: str) -> str:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


async def ask(node: Events, activity_id: str, supplier: str) -> float:
    """One request through a node's API; its latency in ms."""
    started = time.perf_counter()
    response = await node.client.post(
        f"/v1/activities/{activity_id}/registrations",
        json={"participant_kind": "supplier", "participant_id": supplier},
        headers=node.auth(Role.SUPPLIER, supplier_id=supplier),
    )
    assert response.status_code == 202, response.text
    return (time.perf_counter() - started) * 1000


async def decided(
    nodes: list[Events], activity_id: str, total: int, deadline: float
) -> list[float]:
    """Wait until every node's requests for the activity are decided; their latencies in ms."""
    while True:
        latencies: list[float] = []
        for node in nodes:
            async with node.runtime.session_factory() as session:
                rows = (
                    await session.execute(
                        select(Request.created_at, Request.decided_at).where(
                            Request.target_id == activity_id, Request.decided_at.is_not(None)
                        )
                    )
                ).all()
            latencies += [(d - c).total_seconds() * 1000 for c, d in rows]
        if len(latencies) >= total:
            return latencies
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(latencies)} of {total} requests decided")
        await asyncio.sleep(0.05)


async def seen_everywhere(nodes: list[Events], activity_id: str, last_supplier: str) -> None:
    """Wait until every node shows the activity and the owner knows the last supplier."""
    from shulian_events.orm import Activity, Participant

    async def ready() -> bool:
        for node in nodes:
            async with node.runtime.session_factory() as session:
                if await session.get(Activity, activity_id) is None:
                    return False
        async with nodes[0].runtime.session_factory() as session:
            return await session.get(Participant, ("supplier", last_supplier)) is not None

    deadline = time.monotonic() + 60
    while not await ready():
        if time.monotonic() > deadline:
            raise TimeoutError("the activity or the suppliers never reached every node")
        await asyncio.sleep(0.05)


async def confirmed(owner: Events, activity_id: str) -> int:
    async with owner.runtime.session_factory() as session:
        stmt = select(func.count()).where(
            Registration.activity_id == activity_id, Registration.status == "confirmed"
        )
        return int(await session.scalar(stmt) or 0)


async def owner_alone(nodes: list[Events], activity_id: str, suppliers: list[str]) -> None:
    """The decision itself: with the workers stopped, queue every request on the command log
    first, then time the owner's consumer deciding them all (per-decision service time from the
    decision events' commit times, in log order)."""
    for node in nodes:
        await node.stop_workers()
    await asyncio.gather(*(ask(nodes[i % 3], activity_id, s) for i, s in enumerate(suppliers)))
    for node in nodes:
        await node.runtime.relay.drain(timeout=120)
    owner = nodes[0]
    assert owner.runtime.consumers is not None
    started = time.monotonic()
    await owner.runtime.consumers.drain(timeout=300)
    elapsed = time.monotonic() - started
    async with owner.runtime.engine.connect() as connection:
        times = list(
            await connection.scalars(
                select(outbox.c.time)
                .where(outbox.c.type == REGISTRATION_REQUEST_DECIDED, outbox.c.key == activity_id)
                .order_by(outbox.c.seq)
            )
        )
    gaps = [(b - a).total_seconds() * 1000 for a, b in itertools.pairwise(times)]
    rate = len(times) / elapsed
    print(
        f"owner alone: {len(times)} decisions in {elapsed:.2f} s ({rate:.0f}/s), "
        f"per decision p50 {statistics.median(gaps):.1f} ms, p99 {percentile(gaps, 99):.1f} ms, "
        f"confirmed {await confirmed(owner, activity_id)}"
    )
    raw = await raw_decisions(owner, suppliers, places=await capacity(owner, activity_id))
    print(f"raw floor: {raw:.0f}/s; owner alone / raw = {rate / raw:.3f}")


async def capacity(owner: Events, activity_id: str) -> int:
    from shulian_events.orm import Activity

    async with owner.runtime.session_factory() as session:
        activity = await session.get(Activity, activity_id)
    assert activity is not None
    return activity.capacity


async def raw_decisions(owner: Events, suppliers: list[str], *, places: int) -> float:
    """The floor under the owner's decisions: the same rows written with SQLAlchemy Core on the
    owner's database (for another activity id), per ``BATCH`` requests one transaction of three
    statements (the participants read, the inbox rows, the registrations); decisions per
    second."""
    activity_id, now = uuid.uuid4().hex, datetime.now(UTC)
    taken = 0
    started = time.monotonic()
    async with owner.runtime.engine.connect() as connection:
        for first in range(0, len(suppliers), BATCH):
            chunk = suppliers[first : first + BATCH]
            async with connection.begin():
                found = await connection.execute(
                    select(Participant.id, Participant.name).where(
                        Participant.kind == "supplier", Participant.id.in_(chunk)
                    )
                )
                names = {row.id: row.name for row in found}
                inbox_rows = [
                    {"consumer": "raw", "source": "raw", "event_id": uuid.uuid4().hex}
                    for _ in chunk
                ]
                await connection.execute(insert(inbox), inbox_rows)
                rows = []
                for seq, supplier in enumerate(chunk, first + 1):
                    status = "confirmed" if taken < places else "waitlisted"
                    taken += status == "confirmed"
                    rows.append(
                        {
                            "id": uuid.uuid4().hex,
                            "owner_node": OWNER,
                            "version": 1,
                            "created_at": now,
                            "updated_at": now,
                            "activity_id": activity_id,
                            "occurrence_key": "once",
                            "participant_kind": "supplier",
                            "participant_id": supplier,
                            "participant_name": names.get(supplier),
                            "requester_node": OWNER,
                            "status": status,
                            "seq": seq,
                            "hr_managers": 0,
                            "attendees": 0,
                            "reason_code": None,
                            "reason": None,
                            "checked_in_at": None,
                        }
                    )
                await connection.execute(insert(Registration), rows)
    return len(suppliers) / (time.monotonic() - started)


async def main(server_url: str | None, requests: int, places: int, rounds: int, batch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with network(Path(tmp), server_url) as nodes:
            owner = nodes[0]
            print(
                f"{requests} requests from 3 nodes for {places} places, "
                f"{'PostgreSQL' if server_url else 'SQLite'}, local bus, consumer batch {batch}"
            )
            print(
                f"{'round':<7}{'202 p50':>9}{'202 p99':>9}{'decide p50':>12}{'decide p99':>12}"
                f"{'decided/s':>11}{'confirmed':>11}"
            )
            for n in range(1, rounds + 1):
                suppliers = [uuid.uuid4().hex for _ in range(requests)]
                await publish_participants(owner, suppliers)
                created = await owner.client.post(
                    "/v1/activities",
                    json=activity_body(capacity=places, venue=f"场馆{n}"),
                    headers=owner.province,
                )
                activity_id = created.json()["id"]
                await seen_everywhere(nodes, activity_id, suppliers[-1])
                started = time.monotonic()
                api = await asyncio.gather(
                    *(ask(nodes[i % 3], activity_id, s) for i, s in enumerate(suppliers))
                )
                latencies = await decided(nodes, activity_id, requests, started + 300)
                elapsed = time.monotonic() - started
                print(
                    f"{n:<7}{statistics.median(api):>9.1f}{percentile(api, 99):>9.1f}"
                    f"{statistics.median(latencies):>12.1f}{percentile(latencies, 99):>12.1f}"
                    f"{requests / elapsed:>11.0f}{await confirmed(owner, activity_id):>11}"
                )
            suppliers = [uuid.uuid4().hex for _ in range(requests)]
            await publish_participants(owner, suppliers)
            created = await owner.client.post(
                "/v1/activities",
                json=activity_body(capacity=places, venue="场馆0"),
                headers=owner.province,
            )
            activity_id = created.json()["id"]
            await seen_everywhere(nodes, activity_id, suppliers[-1])
            await owner_alone(nodes, activity_id, suppliers)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--places", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1, help="consumer batch size")
    args = parser.parse_args()
    BATCH = args.batch
    asyncio.run(main(args.database_url, args.requests, args.places, args.rounds, args.batch))
