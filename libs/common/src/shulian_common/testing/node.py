"""An in-process node of any service for tests: app, client, tokens, drain and event capture.

``run_node(create_app, settings)`` starts a service's app with its lifespan (migrations, bus,
relay, consumers) and yields a ``ServiceNode``: an ``httpx`` client over ``ASGITransport``, bearer
headers for any principal, the service's outbox in commit order, row counts, and ``drain()``.

Delivery is the production one (background relay and consumers) until a test first calls
``drain()``: from then on that node's workers are stopped and events move only when the test
drains, so a test waits for exactly what it wrote, never with sleeps. Nodes whose settings name
one local bus file (``node_settings`` puts it in the test's ``tmp_path``) form a network:
``drain(a, b)`` relays and consumes across all of them until nothing is left.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, table

from shulian_common.app import ServiceRuntime, runtime_of
from shulian_common.auth import Role, mint_token
from shulian_common.messaging import outbox
from shulian_common.reference import PROVINCE_CODE, DivisionLevel, city_of, get_division
from shulian_common.settings import Environment, Settings

S = TypeVar("S", bound=Settings)

DRAIN_TIMEOUT = 30.0  # seconds a drain may take before it reports what is stuck
TYPE_PREFIX = "cn.sichuan.shulian."


def node_settings(
    settings_type: type[S],
    *,
    database_url: str,
    tmp_path: Path,
    node: str = PROVINCE_CODE,
    **overrides: Any,
) -> S:
    """Settings of a test node: its database, the local bus every node of ``tmp_path`` shares."""
    values: dict[str, Any] = {
        "env": Environment.TEST,
        "node_id": node,
        "data_dir": tmp_path,
        "database_url": database_url,
        "bus_url": f"local://{tmp_path / 'bus.db'}",
        "telemetry_enabled": False,
        "log_json": False,
        **overrides,
    }
    return settings_type(**values)


def issuing_node(division: str) -> str:
    """The node that issues tokens for ``division``: the province, else the division's city."""
    if get_division(division).level is DivisionLevel.PROVINCE:
        return PROVINCE_CODE
    return city_of(division).code


@dataclass
class ServiceNode(Generic[S]):
    """One service of one node, running in-process, with a client talking to it."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: S
    _workers_stopped: bool = field(default=False, init=False, repr=False)

    @property
    def runtime(self) -> ServiceRuntime:
        """What the lifespan started: engine, bus, relay, consumers."""
        return runtime_of(self.app)

    def auth(
        self,
        role: Role | str,
        division: str | None = None,
        *,
        supplier_id: str | None = None,
        sub: str | None = None,
    ) -> dict[str, str]:
        """Bearer header for a principal; operators are issued by their division's city node."""
        token = mint_token(
            self.settings,
            role=Role(role),
            node=issuing_node(division) if division else self.settings.node_id,
            division=division,
            supplier_id=supplier_id,
            sub=sub,
        )
        return {"Authorization": f"Bearer {token}"}

    @property
    def province(self) -> dict[str, str]:
        """Bearer header of a province admin."""
        return self.auth(Role.PROVINCE_ADMIN, PROVINCE_CODE)

    async def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Outbox rows in ``seq`` order (commit order per key), ``type`` without the prefix.

        ``kind`` keeps one type: ``supplier.updated`` (any version) or ``supplier.updated.v1``.
        """
        prefix = f"{TYPE_PREFIX}{self.settings.service}."
        stmt = select(outbox.c.type, outbox.c.key, outbox.c.topic, outbox.c.data).order_by(
            outbox.c.seq
        )
        async with self.runtime.engine.connect() as connection:
            rows = (await connection.execute(stmt)).all()
        found = [
            {"type": r.type.removeprefix(prefix), "key": r.key, "topic": r.topic, "data": r.data}
            for r in rows
        ]
        return [e for e in found if kind is None or _is_kind(e["type"], kind)]

    async def count(self, table_name: str) -> int:
        """Rows in a table of the service's database."""
        stmt = select(func.count()).select_from(table(table_name))
        async with self.runtime.engine.connect() as connection:
            return int((await connection.execute(stmt)).scalar_one())

    async def drain(self, *others: ServiceNode[Any], timeout: float = DRAIN_TIMEOUT) -> int:  # noqa: ASYNC109 - spans many batches
        """Relay and consume here and on ``others`` until nothing is left; the records handled."""
        return await drain(self, *others, timeout=timeout)

    async def stop_workers(self) -> None:
        """Stop the background relay and consumers: from now on only ``drain()`` moves events."""
        if self._workers_stopped:
            return
        self._workers_stopped = True
        runtime = self.runtime
        runtime.stop_event.set()
        await asyncio.gather(*runtime.tasks, return_exceptions=True)

    async def _consume(self, deadline: float) -> int:
        consumers = self.runtime.consumers
        if consumers is None:
            return 0
        return await consumers.drain(timeout=max(0.0, deadline - time.monotonic()))

    async def _close(self) -> None:
        consumers = self.runtime.consumers
        if self._workers_stopped and consumers is not None:
            await consumers.stop()  # drain() joined the group; the lifespan no longer owns it


def _is_kind(event_type: str, kind: str) -> bool:
    return event_type == kind or event_type.rsplit(".v", 1)[0] == kind


async def drain(*nodes: ServiceNode[Any], timeout: float = DRAIN_TIMEOUT) -> int:  # noqa: ASYNC109 - spans many batches
    """Relay every node's outbox and run every node's consumers until a round handles nothing."""
    for node in nodes:
        await node.stop_workers()
    deadline = time.monotonic() + timeout
    total = 0
    while True:
        for node in nodes:
            await node.runtime.relay.drain(timeout=max(0.0, deadline - time.monotonic()))
        # Consumers may record events of their own: relay again until a round handles nothing.
        handled = 0
        for node in nodes:
            handled += await node._consume(deadline)
        if handled == 0:
            return total
        total += handled


@asynccontextmanager
async def run_node(
    create_app: Callable[[S], FastAPI], settings: S
) -> AsyncIterator[ServiceNode[S]]:
    """The service's app with its lifespan started (migrations, relay, consumers) and a client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        base_url = f"http://{settings.service}"
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            node = ServiceNode(app=app, client=client, settings=settings)
            try:
                yield node
            finally:
                await node._close()


# Starts the service as the node named by a GB/T 2260 code, e.g. ``start("510100")``.
NodeFactory = Callable[[str], AbstractAsyncContextManager[ServiceNode[S]]]
