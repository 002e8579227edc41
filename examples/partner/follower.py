"""A partner that follows a Shulian service's changes feed with httpx.

It long-polls ``GET /v1/feed`` from its saved cursor and saves the new cursor only after it has
handled a batch, so a restart resumes where it stopped: nothing is skipped, and at worst the last
batch is seen again (handle events idempotently, by ``id``). ``tail`` follows the SSE live tail
instead, resuming with ``Last-Event-ID``.

    python examples/partner/follower.py http://127.0.0.1:8000 "$TOKEN" .cursor
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

NEXT_CURSOR = "Feed-Next-Cursor"


@dataclass
class Batch:
    """Events of one read, and the cursor after them."""

    events: list[dict[str, Any]]
    cursor: str


@dataclass
class FeedFollower:
    """Reads a service's feed from ``cursor`` on (``None``: from the beginning)."""

    client: httpx.AsyncClient
    token: str
    cursor: str | None = None
    types: Sequence[str] = ()
    city: str | None = None
    limit: int = 500
    wait: float = 20.0
    _headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self._headers = {"Authorization": f"Bearer {self.token}"}

    async def read(self, *, wait: float | None = None) -> Batch:
        """One batch after the cursor (holding up to ``wait`` seconds for something new)."""
        params: dict[str, Any] = {"limit": self.limit, "wait": self.wait if wait is None else wait}
        if self.cursor:
            params["after"] = self.cursor
        if self.types:
            params["types"] = ",".join(self.types)
        if self.city:
            params["city"] = self.city
        response = await self.client.get("/v1/feed", params=params, headers=self._headers)
        response.raise_for_status()
        return Batch(events=response.json(), cursor=response.headers[NEXT_CURSOR])

    async def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        """Batches forever; the cursor moves once the caller asks for the next one."""
        while True:
            batch = await self.read()
            if batch.events:
                yield batch.events
            self.cursor = batch.cursor  # handled: the next read starts after it


async def tail(
    client: httpx.AsyncClient, token: str, last_event_id: str | None = None
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """``(id, event)`` from the SSE live tail, after ``last_event_id``; comment lines skipped."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    async with client.stream("GET", "/v1/feed/stream", headers=headers) as response:
        response.raise_for_status()
        event_id, data = None, []
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line == "" and data:
                yield event_id or "", json.loads("\n".join(data))
                event_id, data = None, []


async def main(base_url: str, token: str, cursor_file: Path) -> None:
    """Print every event, keeping the cursor in ``cursor_file``."""
    saved = await asyncio.to_thread(lambda: cursor_file.exists() and cursor_file.read_text())
    cursor = saved.strip() if saved else None
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        follower = FeedFollower(client, token, cursor=cursor)
        async for events in follower.batches():
            for event in events:
                print(event["type"], event["id"], event.get("subject", ""))  # noqa: T201
            await asyncio.to_thread(cursor_file.write_text, events[-1]["feedcursor"])


if __name__ == "__main__":
    asyncio.run(
        main(sys.argv[1], sys.argv[2], Path(sys.argv[3] if len(sys.argv) > 3 else ".cursor"))
    )
