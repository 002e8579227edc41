"""The SSE live tail over a real HTTP server: events as published, resumable, heart-beating."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from partner.follower import tail
from partner.receiver import bound_port, serve, stop

from shulian_common import feed_api
from shulian_common.settings import Settings
from shulian_common.testing.node import ServiceNode

from .conftest import partner, write_notes


@pytest.fixture
async def http(node: ServiceNode[Settings]) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the node served by uvicorn on loopback (streams are not buffered)."""
    server = await serve(node.app)
    try:
        base = f"http://127.0.0.1:{bound_port(server)}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            yield client
    finally:
        await stop(server)


def _token(node: ServiceNode[Settings]) -> str:
    return partner(node)["Authorization"].removeprefix("Bearer ")


async def _take(
    stream: AsyncIterator[tuple[str, dict[str, object]]], count: int
) -> list[tuple[str, dict[str, object]]]:
    taken = []
    async for item in stream:
        taken.append(item)
        if len(taken) == count:
            break
    return taken


async def test_the_tail_resumes_after_the_last_event_id(
    node: ServiceNode[Settings], http: httpx.AsyncClient
) -> None:
    first_ids = await write_notes(node, 3)
    first = await asyncio.wait_for(_take(tail(http, _token(node)), 3), timeout=10)
    later_ids = await write_notes(node, 4)  # published while nobody listens

    resumed = await asyncio.wait_for(
        _take(tail(http, _token(node), last_event_id=first[-1][0]), 4), timeout=10
    )

    assert [event["id"] for _, event in first] == first_ids
    assert [event["id"] for _, event in resumed] == later_ids
    assert all(sse_id == event["feedcursor"] for sse_id, event in first + resumed)


async def test_a_live_tail_gets_new_events_and_heartbeats(
    node: ServiceNode[Settings], http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_api, "HEARTBEAT", 0.2)
    headers = {**partner(node), "Accept": "text/event-stream"}
    lines: list[str] = []

    async def listen() -> None:
        async with http.stream("GET", "/v1/feed/stream", headers=headers) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                lines.append(line)
                if (
                    line.startswith("data: ")
                    and len([x for x in lines if x.startswith("data: ")]) == 2
                ):
                    return

    listening = asyncio.create_task(listen())
    await asyncio.sleep(0.6)  # quiet: heartbeats only
    ids = await write_notes(node, 2)
    await asyncio.wait_for(listening, timeout=10)

    assert lines[0] == "retry: 3000"
    assert ": heartbeat" in lines
    assert [line for line in lines if line.startswith("data: ")] == [
        line for line in lines if line.startswith("data: ") and any(i in line for i in ids)
    ]


async def test_a_bad_last_event_id_is_a_400_problem(
    node: ServiceNode[Settings], http: httpx.AsyncClient
) -> None:
    response = await http.get(
        "/v1/feed/stream", headers={**partner(node), "Last-Event-ID": "garbage"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_feed_cursor"
