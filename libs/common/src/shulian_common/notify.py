"""``LISTEN`` on a dedicated asyncpg connection, calling back on each notification.

Two channels, both sent inside the transaction whose commit they announce, so a notification
arrives when the commit is visible, in whichever process listens:

- ``shulian_outbox`` (``uow.NOTIFY_CHANNEL``): a unit of work appended outbox rows; relays wake and
  publish them.
- ``shulian_feed`` (``FEED_CHANNEL``): a relay gave rows their ``position``; the partner feed's long
  polls and live tails in every process wake and read them.

The listener is best effort: polling remains the fallback, so a listener that cannot connect (or
whose connection drops) only makes its waiters slower until ``ensure`` reconnects it, at most once
per ``RECONNECT_INTERVAL``; on (re)connecting it calls every callback, since commits may have
happened while nobody listened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

FEED_CHANNEL = "shulian_feed"  # relays NOTIFY here in the transaction that assigns positions
RECONNECT_INTERVAL = 5.0  # seconds between attempts to (re)open the LISTEN connection
CONNECT_TIMEOUT = 5.0


class NotifyListener:
    """Calls ``callbacks[channel]`` whenever a ``NOTIFY`` on ``channel`` reaches the database."""

    def __init__(self, engine: AsyncEngine, callbacks: Mapping[str, Callable[[], None]]) -> None:
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._callbacks = dict(callbacks)
        self._connection: Any = None
        self._tried_at: float | None = None

    @property
    def listening(self) -> bool:
        """Whether the ``LISTEN`` connection is open."""
        return self._connection is not None and not self._connection.is_closed()

    async def ensure(self) -> None:
        """Open the ``LISTEN`` connection unless it is open or was tried a moment ago."""
        if self.listening:
            return
        now = time.monotonic()
        if self._tried_at is not None and now - self._tried_at < RECONNECT_INTERVAL:
            return
        self._tried_at = now
        import asyncpg  # type: ignore[import-untyped]

        try:
            connection = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT)
            for channel in self._callbacks:
                await connection.add_listener(channel, self._notified)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            logger.warning("LISTEN unavailable, polling: %s: %s", type(exc).__name__, exc)
            return
        self._connection = connection
        for callback in self._callbacks.values():
            callback()  # commits may have happened while nobody listened

    async def close(self) -> None:
        """Close the ``LISTEN`` connection."""
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            await connection.close(timeout=CONNECT_TIMEOUT)

    def _notified(self, _connection: object, _pid: int, channel: str, _payload: str) -> None:
        callback = self._callbacks.get(channel)
        if callback is not None:
            callback()
