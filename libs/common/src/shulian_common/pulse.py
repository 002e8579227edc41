"""A pulse: many waiters woken together each time something happens (an ``asyncio.Event`` that
re-arms itself, so a waiter never misses a pulse that comes after it started waiting).

A waiter that checks some state and then waits takes ``arm()`` before the check and waits with
``since=`` it, so a pulse fired between the check and the wait still wakes it at once."""

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

    def arm(self) -> asyncio.Event:
        """What the next pulse sets: take it before checking the state a pulse announces."""
        return self._event

    async def wait(
        self,
        timeout: float,  # noqa: ASYNC109 - the timeout is the point
        *,
        since: asyncio.Event | None = None,
    ) -> bool:
        """Wait for the next pulse (or one fired since ``since`` was armed) up to ``timeout``
        seconds; whether it came."""
        event = self._event if since is None else since
        with suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=timeout)
        return event.is_set()
