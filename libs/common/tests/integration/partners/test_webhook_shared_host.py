"""Endpoints on one host name do not wait for each other: the dispatcher's connections to a host
are not capped below what its endpoints may hold at once, so two slow endpoints keeping their
four requests each in flight leave a third endpoint of the same host its own connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kit_example.main import create_app
from partner.receiver import Receiver, serving
from starlette.requests import Request
from starlette.responses import Response

from shulian_common.settings import Settings
from shulian_common.testing.node import ServiceNode, run_node
from shulian_common.testing.partners import subscribe
from shulian_common.testing.reliability import wait_until

from .conftest import example_settings, write_notes

HELD_TIMEOUT = 120.0  # seconds an attempt may take here: far beyond the test's own deadlines


@dataclass
class Stalling(Receiver):
    """Answers its first request, then holds every later one until ``release`` is set (so the
    dispatcher, seeing it answer, keeps its full share of requests in flight to it)."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    calls: int = 0
    held: int = 0

    async def handle(self, request: Request) -> Response:
        self.calls += 1
        if self.calls > 1:
            self.held += 1
            await self.release.wait()
        return await super().handle(request)


@pytest.fixture
async def patient(database_url: str, tmp_path: Path) -> AsyncIterator[ServiceNode[Settings]]:
    """The example service whose attempts time out only after ``HELD_TIMEOUT``."""
    settings = example_settings(database_url, tmp_path, webhook_timeout_s=HELD_TIMEOUT)
    async with run_node(create_app, settings) as running:
        yield running


async def test_slow_endpoints_of_a_host_leave_its_other_endpoints_their_connections(
    patient: ServiceNode[Settings],
) -> None:
    node = patient
    in_flight = node.settings.webhook_endpoint_concurrency
    slow = [Stalling(secrets=[]), Stalling(secrets=[])]
    fast = Receiver(secrets=[])
    try:
        async with serving(slow[0]) as one, serving(slow[1]) as two, serving(fast) as three:
            for receiver, url in ((slow[0], one), (slow[1], two)):
                receiver.secrets = [(await subscribe(node, url))["secret"]]
            await write_notes(node, 2 * in_flight, per_commit=2 * in_flight)
            await wait_until(
                lambda: all(r.held == in_flight for r in slow),
                timeout=20,
                message="both slow endpoints hold their requests",
            )
            # Every endpoint here is on 127.0.0.1: one host name, as partners sharing a host.
            fast.secrets = [(await subscribe(node, three))["secret"]]
            written = await write_notes(node, 5)

            await wait_until(
                lambda: len(fast.events) == len(written),
                timeout=20,
                message="the fast endpoint served while the slow ones still hold",
            )
            still_held = [r.held for r in slow]
            for receiver in slow:
                receiver.release.set()
    finally:
        for receiver in slow:
            receiver.release.set()

    assert sorted(p["id"] for p in fast.events.values()) == sorted(written)
    assert fast.rejected == 0
    assert still_held == [in_flight, in_flight]
