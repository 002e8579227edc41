"""A pulse: many waiters woken together each time something happens (an ``asyncio.Event`` that
re-arms itself, so a waiter never misses a pulse that comes after it started waiting)."""

from __future__ import annotations

import asyncio
from contextlib import suppress


class Pulse:
    """Wakes every current waiter on ``fire``; later waiters wait for the next one."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake everyone waiting now."""
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, timeout: float) -> bool:  # noqa: ASYNC109 - the timeout is the point
        """Wait for the next pulse up to ``timeout`` seconds; whether it came."""
        event = self._event
        with suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=timeout)
        return event.is_set()
